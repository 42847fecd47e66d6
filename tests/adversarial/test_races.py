"""Races: concurrent compiles and compiles killed mid-write never cost a consistent output pair.

A pair is consistent when ``compiled_artifacts.json`` parses, names the same product as
``profiles.yml`` and records ``profile.sha256`` equal to the SHA-256 of ``profiles.yml``.

Two writers take turns (an exclusive ``flock`` on the output folder), so racing
compiles leave one writer's pair. A compile killed with SIGKILL leaves the previous pair,
or the new one, plus hidden temporary files that are not outputs and that the next
compile removes. The one window POSIX cannot close, a kill between the two renames,
leaves a new ``profiles.yml`` beside the old artifact: the digest tells, and the next
compile repairs it (``test_a_kill_between_the_two_renames_is_detected_and_repaired``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
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
    return sorted(p.name for p in out.iterdir() if p.name not in ("profiles.yml", "compiled_artifacts.json"))


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

point, count = sys.argv[2], int(sys.argv[3])
real = {name: getattr(os, name) for name in ("write", "fsync", "replace")}
calls = dict.fromkeys(real, 0)

def dying(name):
    def call(*args):
        calls[name] += 1
        if calls[name] > count:
            os.kill(os.getpid(), signal.SIGKILL)
        return real[name](*args)
    return call

setattr(atomic.os, point, dying(point))
main(["compile", sys.argv[1], "--out", "out"])
"""


@pytest.mark.parametrize(
    ("point", "count", "expected"),
    [
        ("write", 0, "alpha"),  # killed writing the first temporary file
        ("write", 1, "alpha"),  # killed writing the second, the first complete
        ("fsync", 1, "alpha"),  # the second written, not yet flushed
        ("replace", 0, "alpha"),  # both temporary files complete, not yet renamed
        ("fsync", 2, "beta"),  # both renamed, before the folder's fsync
    ],
)
def test_a_compile_killed_mid_write_leaves_a_consistent_pair(
    project: Path, point: str, count: int, expected: str
) -> None:
    out = project / "out"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AT, "beta.yaml", point, str(count)],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert pair(out) == (expected, True)
    if expected == "alpha":
        assert {name: (out / name).read_bytes() for name in before} == before
    leftovers = temporary_files(out)
    assert all(name.startswith(".") and name.endswith(".tmp") for name in leftovers), leftovers

    again = floe("compile", "alpha.yaml", "--out", "out", cwd=project)
    assert again.returncode == 0, again.stderr
    assert pair(out) == ("alpha", True)
    assert temporary_files(out) == []  # the next compile cleaned up


def test_a_kill_between_the_two_renames_is_detected_and_repaired(project: Path) -> None:
    out = project / "out"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AT, "beta.yaml", "replace", "1"],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    name, consistent = pair(out)
    assert (name, consistent) == ("alpha", False)  # beta's profiles.yml, alpha's artifact: the digest says so
    assert floe("compile", "beta.yaml", "--out", "out", cwd=project).returncode == 0
    assert pair(out) == ("beta", True)
    assert temporary_files(out) == []


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
        assert all(n.startswith(".") and n.endswith(".tmp") for n in leftovers), leftovers
