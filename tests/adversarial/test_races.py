"""Races: concurrent compiles and compiles killed mid-write never cost a consistent output pair.

A pair is consistent when ``compiled_artifacts.json`` parses, names the same product as
``profiles.yml`` and records ``profile.sha256`` equal to the SHA-256 of ``profiles.yml``.

Two writers take turns (an exclusive ``flock`` on the output folder), so racing
compiles leave one writer's pair. Both files are links into one generation folder that a
single rename of ``.floe/current`` switches, so a compile killed (SIGKILL) at any
file-system step leaves the previous pair or the new one, whole; what it left half done
(an unfinished generation, a temporary link) is never an output, and the next compile
removes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from adversarial_harness import Site, environment, floe_command

MANIFEST = (
    "version: 1\ncompute:\n  default: warehouse\n  approved:\n"
    "    - duckdb\n    - {name: warehouse, type: duckdb}\n"
)


def product(name: str, transforms: int) -> str:
    """A floe.yaml called ``name`` with ``transforms`` transforms (a bigger artifact to write)."""
    lines = [f"name: {name}", "platform: manifest.yaml", "transforms:"]
    lines += [f"  - {{name: t{i}, path: models/t{i}, compute: duckdb}}" for i in range(transforms)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two products sharing a manifest, and an output folder holding alpha's compile."""
    (tmp_path / "manifest.yaml").write_text(MANIFEST)
    (tmp_path / "alpha.yaml").write_text(product("alpha", 300))
    (tmp_path / "beta.yaml").write_text(product("beta", 200))
    compiled = floe("compile", "alpha.yaml", "--out", "out", cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    return tmp_path


def floe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*floe_command(), *args], cwd=cwd, env=environment(), capture_output=True, text=True, check=False
    )


def pair(out: Path) -> tuple[str, bool]:
    """(product name, consistent) of the pair in ``out``."""
    profiles = (out / "profiles.yml").read_bytes()
    artifact = json.loads((out / "compiled_artifacts.json").read_text())
    name = artifact["product"]["name"]
    consistent = (
        artifact["profile"]["sha256"] == hashlib.sha256(profiles).hexdigest()
        and f"\n{name}:\n" in profiles.decode()
    )
    return name, consistent


def temporary_files(out: Path) -> list[str]:
    """Whatever is in ``out`` besides the two outputs and the live generation they link to."""
    left = sorted(
        p.name for p in out.iterdir() if p.name not in ("profiles.yml", "compiled_artifacts.json", ".floe")
    )
    data = out / ".floe"
    live = os.readlink(data / "current")
    left += sorted(f".floe/{p.name}" for p in data.iterdir() if p.name not in ("current", live))
    assert sorted(os.listdir(data / live)) == ["compiled_artifacts.json", "profiles.yml"]
    return left


LOOP = """
import sys
from floe_hooks.cli import main
for _ in range(int(sys.argv[2])):
    assert main(["compile", sys.argv[1], "--out", "out"]) == 0
"""


def test_two_compiles_racing_on_one_folder_never_leave_a_mixed_pair(project: Path) -> None:
    """Two processes compile different products into one folder, 25 times each, while a reader
    that takes the folder's shared lock checks every pair it sees."""
    import fcntl

    out = project / "out"
    seen: list[tuple[str, bool]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            fd = os.open(out, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)  # writers hold LOCK_EX while they write and rename
                seen.append(pair(out))
            finally:
                os.close(fd)
            time.sleep(0.002)

    watcher = threading.Thread(target=reader)
    watcher.start()
    try:
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", LOOP, f"{name}.yaml", "25"],
                cwd=project,
                env=environment({"FLOE_LOG_LEVEL": "error"}),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("alpha", "beta")
        ]
        for writer in writers:
            _, err = writer.communicate(timeout=300)
            assert writer.returncode == 0, err
    finally:
        stop.set()
        watcher.join()
    assert seen
    assert all(consistent for _, consistent in seen), [s for s in seen if not s[1]][:3]
    assert {name for name, _ in seen} <= {"alpha", "beta"}
    assert pair(out)[1]
    assert temporary_files(out) == []


KILLED_AT = """
import os, signal, sys
import floe_hooks._atomic as atomic
from floe_hooks.cli import main

kill_at = int(sys.argv[2])  # the file-system step to die at; -1: never, print how many there were
steps = 0
inside = False
real_publish = atomic.publish_files

def publishing(*args, **kwargs):
    global inside
    inside = True
    return real_publish(*args, **kwargs)

def step(name):
    real = getattr(os, name)
    def call(*args, **kwargs):
        global steps
        if inside:
            if steps == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            steps += 1
        return real(*args, **kwargs)
    return call

atomic.publish_files = publishing
for name in ("open", "write", "fchmod", "fsync", "close", "mkdir", "chmod", "symlink", "replace", "unlink"):
    setattr(os, name, step(name))
code = main(["compile", sys.argv[1], "--out", "out"])
print(steps, file=sys.stderr)
sys.exit(code)
"""


def compile_killed_at(project: Path, step: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILLED_AT, "beta.yaml", str(step)],
        cwd=project,
        env=environment({"FLOE_LOG_LEVEL": "error"}),
        capture_output=True,
        text=True,
        check=False,
    )


def old_layout(out: Path) -> None:
    """Turn ``out`` into what an older floe wrote: two regular files, no generations."""
    for name in ("profiles.yml", "compiled_artifacts.json"):
        data = (out / name).read_bytes()
        (out / name).unlink()
        (out / name).write_bytes(data)
    shutil.rmtree(out / ".floe")


@pytest.mark.parametrize("layout", ["generations", "regular files from an older floe"])
def test_a_compile_killed_at_any_step_leaves_one_whole_pair(project: Path, layout: str) -> None:
    """Kill beta's compile at every file-system step of the write, one run per step. Each
    leaves alpha's pair or beta's, whole; alpha's up to one step, beta's from there on
    (the switch happens once); and the next compile cleans up after it."""
    out = project / "out"
    if layout != "generations":
        old_layout(out)
    pristine = project / "pristine"
    shutil.copytree(out, pristine, symlinks=True)
    total = compile_killed_at(project, -1)
    assert total.returncode == 0, total.stderr
    steps = int(total.stderr.split()[-1])
    assert steps > 10
    seen = []
    for step in range(steps):
        shutil.rmtree(out)
        shutil.copytree(pristine, out, symlinks=True)
        killed = compile_killed_at(project, step)
        assert killed.returncode == -signal.SIGKILL, (step, killed.stderr)
        name, consistent = pair(out)
        assert consistent, (step, name)
        seen.append(name)
        again = floe("compile", "alpha.yaml", "--out", "out", cwd=project)
        assert again.returncode == 0, again.stderr
        assert pair(out) == ("alpha", True)
        assert temporary_files(out) == [], step  # the next compile cleaned up
    switch = seen.index("beta")
    assert seen == ["alpha"] * switch + ["beta"] * (steps - switch), seen
    assert 0 < switch < steps


def test_a_reader_without_the_lock_reads_one_generation(project: Path) -> None:
    """``published_folder`` gives a lock-free reader both files of the same compile."""
    from floe_hooks._atomic import published_folder

    out = project / "out"
    writer = subprocess.Popen(
        [sys.executable, "-c", LOOP, "beta.yaml", "30"],
        cwd=project,
        env=environment({"FLOE_LOG_LEVEL": "error"}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[tuple[str, bool]] = []
    try:
        while writer.poll() is None:
            folder = published_folder(out)
            assert folder is not None
            try:
                seen.append(pair(folder))
            except FileNotFoundError:  # superseded and removed before we opened it: read again
                continue
    finally:
        _, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert seen
    assert all(consistent for _, consistent in seen)
    assert {name for name, _ in seen} <= {"alpha", "beta"}


# hand-written: installed on disk and loaded by a floe subprocess through its entry point
HANGS = """
import time
from floe_hooks import hookimpl, PluginMetadata, ResourceSpec, ConnectionResult

@hookimpl
def plugin_metadata():
    return PluginMetadata(name="sleepy", version="1.0", floe_api_version="1.0", compute_types=("sleepy",))

@hookimpl
def generate_profile(compute):
    time.sleep(float(compute.config["sleep"]))
    return {"type": "duckdb", "path": ":memory:"}

@hookimpl
def validate_connection():
    return ConnectionResult(status="healthy", latency_ms=0.1)

@hookimpl
def resource_requirements(compute):
    return ResourceSpec.resolve(compute.resources)
"""


def test_compiles_killed_at_random_moments_never_leave_a_torn_pair(project: Path, site: Site) -> None:
    """A plugin sleeping a random while inside generate_profile, then SIGKILL at a random moment:
    before, during or after the write. Every kill leaves a consistent pair, old or new."""
    site.install("floe-compute-sleepy", textwrap.dedent(HANGS), entry_point="sleepy")
    rng = random.Random(8)
    for round_ in range(12):
        sleep = rng.uniform(0.0, 0.3)
        (project / "manifest.yaml").write_text(
            MANIFEST + f"    - {{name: slow, type: sleepy, config: {{sleep: '{sleep:.3f}'}}}}\n"
        )
        name = ("alpha", "beta")[round_ % 2]
        process = subprocess.Popen(
            [*floe_command(), "compile", f"{name}.yaml", "--out", "out"],
            cwd=project,
            env=environment({"PYTHONPATH": str(site.root)}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        got, consistent = pair(project / "out")
        assert consistent, (round_, got)
        leftovers = temporary_files(project / "out")
        assert all(n.startswith(".") for n in leftovers), leftovers  # hidden: never taken for outputs
