"""Helpers shared by the benchmark runner: timed child processes, statistics, importtime, machine.

Nothing here needs more than the standard library: the runner works right after the
README's ``pip install .``.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    """One run of a child process.

    :ivar wall_s: wall-clock seconds from spawn to exit.
    :ivar cpu_s: user + system CPU seconds of the child (steadier than wall time on a busy machine).
    :ivar maxrss_mb: the child's peak resident set size, MiB.
    :ivar returncode: its exit status.
    """

    wall_s: float
    cpu_s: float
    maxrss_mb: float
    returncode: int


def bin_dir() -> Path:
    """The folder of this interpreter's scripts (``floe``, ``dbt``): the same venv as the runner."""
    return Path(sys.executable).parent


def script(name: str) -> list[str] | None:
    """The argv prefix of console script ``name`` in this interpreter's venv, or None."""
    path = bin_dir() / name
    return [str(path)] if path.is_file() and os.access(path, os.X_OK) else None


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for measured children: no PYTHONPATH/PYTHON* overrides, quiet logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("FLOE_STRICT_PLUGINS", None)
    env["FLOE_LOG_LEVEL"] = "warning"
    env.update(extra or {})
    return env


# The measured command is forked from this small launcher, not from the runner: Linux
# counts the memory of the process that forked (and, with vfork, of the parent itself)
# into the child's ru_maxrss, so a child of the runner would report at least the
# runner's size. The launcher (``python -S``, about 8.5 MB) is the floor instead; it
# times fork-exec-exit itself, so its own start-up is not counted.
LAUNCHER = """
import os, sys, time
argv = sys.argv[1:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_once(
    argv: Sequence[str], *, cwd: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> Sample:
    """Run ``argv`` once (output discarded) and measure it with ``wait4``'s per-child rusage."""
    done = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *argv],
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu, rss, code = done.stdout.split()
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    rss_mb = int(rss) / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return Sample(float(wall), float(cpu), rss_mb, int(code))


def run_checked(
    argv: Sequence[str], *, cwd: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> str:
    """Run ``argv`` once, unmeasured, and return its stdout; raise with its stderr on failure."""
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def interleaved(
    commands: Mapping[str, Sequence[str]],
    runs: int,
    *,
    cwd: str | os.PathLike[str],
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
) -> dict[str, list[Sample]]:
    """Run every command ``runs`` times, taking turns (A B A B ...) so drift hits all alike.

    ``warmup`` unmeasured rounds come first (bytecode caches, the page cache). A run that
    exits non-zero raises: a benchmark of a failing command measures nothing.
    """
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for round_no in range(warmup + runs):
        for name, argv in commands.items():
            sample = run_once(argv, cwd=cwd, env=env)
            if sample.returncode != 0:
                run_checked(argv, cwd=cwd, env=env)  # raises with the command's output
                raise RuntimeError(f"{name}: {' '.join(argv)} exited {sample.returncode} once")
            if round_no >= warmup:
                samples[name].append(sample)
    return samples


def stats(values: Iterable[float]) -> dict[str, Any]:
    """Median, min, max and count of ``values`` (and the values, rounded)."""
    data = list(values)
    return {
        "median": statistics.median(data),
        "min": min(data),
        "max": max(data),
        "n": len(data),
        "values": [round(v, 6) for v in data],
    }


def summarize(samples: Sequence[Sample]) -> dict[str, Any]:
    """Wall, CPU and peak-RSS statistics of a command's samples."""
    return {
        "wall_s": stats(s.wall_s for s in samples),
        "cpu_s": stats(s.cpu_s for s in samples),
        "maxrss_mb": stats(s.maxrss_mb for s in samples),
    }


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, rounded (inf when the denominator is 0)."""
    return round(numerator / denominator, 3) if denominator else float("inf")


# ---------------------------------------------------------------------- -X importtime


@dataclass(frozen=True)
class ImportEntry:
    """One line of ``python -X importtime``: a module, its own and cumulative microseconds."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int
    parent: str | None


def parse_importtime(text: str) -> list[ImportEntry]:
    """Parse ``-X importtime`` output (stderr) into entries, each knowing who imported it.

    A module's line comes after those of the modules it imported, indented one level
    deeper per nesting level; so a line's parent is the next line below it that is one
    level shallower.
    """
    rows: list[tuple[str, int, int, int]] = []
    for line in text.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name_part = parts[2]
        stripped = name_part.lstrip(" ")
        depth = (len(name_part) - len(stripped) - 1) // 2
        rows.append((stripped.strip(), int(parts[0]), int(parts[1]), depth))
    entries: list[ImportEntry] = []
    open_parents: dict[int, str] = {}
    for module, self_us, cumulative_us, depth in reversed(rows):
        open_parents[depth] = module
        parent = open_parents.get(depth - 1) if depth > 0 else None
        entries.append(ImportEntry(module, self_us, cumulative_us, depth, parent))
    entries.reverse()
    return entries


def median_imports(runs: Sequence[Sequence[ImportEntry]]) -> list[dict[str, Any]]:
    """Per module: median self and cumulative ms over ``runs``, and who imported it; biggest first."""
    by_module: dict[str, list[ImportEntry]] = {}
    for entries in runs:
        for entry in entries:
            by_module.setdefault(entry.module, []).append(entry)
    table = [
        {
            "module": module,
            "cumulative_ms": round(statistics.median(e.cumulative_us for e in found) / 1000, 2),
            "self_ms": round(statistics.median(e.self_us for e in found) / 1000, 2),
            "imported_by": found[0].parent or "(top level)",
        }
        for module, found in by_module.items()
    ]
    return sorted(table, key=lambda row: -row["cumulative_ms"])


# ---------------------------------------------------------------------- the machine


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _editable(distribution: str) -> bool | None:
    """Whether ``distribution`` is an editable install (PEP 660 ``direct_url.json``)."""
    import json
    from importlib import metadata

    try:
        text = metadata.distribution(distribution).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return False
    return bool(json.loads(text).get("dir_info", {}).get("editable", False))


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "loadavg_at_start": [round(x, 2) for x in load] if load else None,
        "floe_hooks_editable": _editable("floe-hooks"),
        "versions": {
            name: _version(name)
            for name in (
                "floe-hooks",
                "pluggy",
                "attrs",
                "cattrs",
                "duckdb",
                "PyYAML",
                "dbt-core",
                "dbt-duckdb",
            )
        },
    }
