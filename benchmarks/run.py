"""Run every benchmark of design.md's performance budget, side by side, and write a JSON result.

    python benchmarks/run.py                 # the published figures (1-2 minutes on 2 cores)
    python benchmarks/run.py --quick         # fewer runs (about 30 s; tox -e bench)
    python benchmarks/run.py --json out.json # default: benchmarks/results/latest.json
    python benchmarks/run.py --only cold_start dispatch

Measure in a non-editable install (``pip install .``): an editable install adds an
import hook to every interpreter start and distorts cold start. Every command is timed
in a child process of this interpreter's venv (the same ``python``, ``floe`` and
``dbt``), started in an empty temporary folder, commands taking turns so that a busy
machine slows them alike; medians are reported and each ratio compares figures of
this run. In-process benchmarks (dispatch, concurrency, compile phases) run in this
process. Peak memory is each child's ``ru_maxrss``.

The benchmarks:

* ``cold_start``: ``floe plugins`` against ``python -c "import pluggy"`` (goal < 1.6x), beside the
  floor (``import pluggy, attrs, argparse``: what no ``floe plugins`` can start without), and
  the ``-X importtime`` offenders of ``from floe_hooks.cli import main`` and of ``floe plugins``;
* ``health``: a one-shot ``floe validate`` of a DuckDB file against the bare
  ``duckdb.connect(path, read_only=True).execute('select 1')`` (goal < 1.15x) and against
  ``dbt debug --connection`` on the compiled profile when dbt is installed;
* ``concurrency``: 100 computes whose checks take 200 ms (goal < 1 s); a hung plugin
  returns at its timeout;
* ``compile``: 10/100/1,000 computes with 100/1,000/10,000 transforms, time per
  transform (goal: linear, the largest < 2 s), in process and as ``floe compile``;
* ``dispatch``: a capability through the manager against the hookimpl called directly
  (goal: < 10 us extra);
* ``memory``: peak RSS of ``floe compile`` on the largest case and of ``floe validate``;
* ``floe_run`` (needs dbt): ``floe run`` of the quickstart cold and warm against the same steps
  typed by hand as separate dbt commands (goals <= 0.5x, <= 0.15x) and against the same dbt
  invocations made in-process (goal <= 1.1x), peak memory of each, medians of three turns in the
  full run (``benchmarks/floe_run.py``);
* ``catalog`` (needs the ``duckdb-extension-ducklake`` wheel): a 1,000,000-row table handed
  from compute A to compute B through DuckLake against one Parquet file written by one
  process and read by another (goal <= 1.5x; ``benchmarks/catalog_handoff.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script or imported by the smoke test
    sys.path.insert(0, str(HERE))

import _common  # noqa: E402
from _common import interleaved, ratio, run_checked, script, summarize  # noqa: E402

SCHEMA_VERSION = 1
DEFAULT_JSON = HERE / "results" / "latest.json"
BENCHMARKS = ("cold_start", "health", "concurrency", "compile", "dispatch", "memory")
#: Run with the rest unless --tiny: they need dbt (``floe_run``) and DuckDB's ducklake wheel (``catalog``).
PIPELINE = ("floe_run", "catalog")

#: The budget of design.md, by goal id.
GOALS = {
    "cold_start_ratio": "floe plugins < 1.6x python -c 'import pluggy'",
    "validate_ratio": "floe validate < 1.15x bare duckdb connect + select 1",
    "concurrency_100x200ms": "100 checks of 200 ms < 1 s",
    "hung_overshoot": "a hung check returns at its timeout (< 0.1 s late)",
    "compile_largest_inprocess": "1,000 computes / 10,000 transforms < 2 s (in process)",
    "compile_largest_cli": "1,000 computes / 10,000 transforms < 2 s (floe compile, cold)",
    "compile_linear": "time per transform flat from 1,000 to 10,000 transforms (ratio < 1.25)",
    "dispatch_overhead": "manager dispatch < 10 us over a direct call",
    "run_cold_vs_by_hand": "floe run (cold) <= 0.5x the same steps as separate dbt commands",
    "run_warm_vs_by_hand": "floe run (warm, unchanged project) <= 0.15x the same steps by hand",
    "run_vs_dbt_in_process": "floe run <= 1.1x the same dbt invocations made in-process",
    "catalog_handoff": "1,000,000 rows A -> B through the catalog <= 1.5x one Parquet file written and read",
}


@dataclass(frozen=True)
class Settings:
    """How much to run: counts and sizes (``FULL``, ``QUICK``, and ``TINY`` for the smoke test)."""

    runs: int  # measured runs per command in the process benchmarks
    warmup: int
    importtime_runs: int
    dbt_runs: int  # 0: skip dbt debug
    concurrency_computes: int
    concurrency_runs: int
    hung_timeout_s: float
    hung_runs: int
    compile_sizes: tuple[tuple[int, int], ...]
    compile_runs: int
    compile_cli_runs: int
    dispatch_number: int
    dispatch_repeat: int


FULL = Settings(
    runs=20,
    warmup=2,
    importtime_runs=7,
    dbt_runs=5,
    concurrency_computes=100,
    concurrency_runs=7,
    hung_timeout_s=1.0,
    hung_runs=3,
    compile_sizes=((10, 100), (100, 1_000), (1_000, 10_000)),
    compile_runs=5,
    compile_cli_runs=5,
    dispatch_number=100_000,
    dispatch_repeat=5,
)
QUICK = replace(
    FULL,
    runs=7,
    warmup=1,
    importtime_runs=3,
    dbt_runs=2,
    concurrency_runs=3,
    hung_runs=1,
    compile_runs=2,
    compile_cli_runs=1,
    dispatch_number=50_000,
    dispatch_repeat=3,
)
TINY = Settings(
    runs=1,
    warmup=0,
    importtime_runs=1,
    dbt_runs=0,
    concurrency_computes=5,
    concurrency_runs=1,
    hung_timeout_s=0.3,
    hung_runs=1,
    compile_sizes=((2, 10), (3, 30)),
    compile_runs=1,
    compile_cli_runs=1,
    dispatch_number=500,
    dispatch_repeat=1,
)


def _floe() -> list[str]:
    return script("floe") or [sys.executable, "-m", "floe_hooks.cli"]


def _print(text: str = "") -> None:
    print(text, flush=True)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def _print_commands(results: dict[str, dict[str, Any]]) -> None:
    _print(f"  {'command':<58} {'median':>11} {'min':>11} {'cpu':>11} {'peak RSS':>10}")
    for name, r in results.items():
        _print(
            f"  {name:<58} {_ms(r['wall_s']['median'])} {_ms(r['wall_s']['min'])} "
            f"{_ms(r['cpu_s']['median'])} {r['maxrss_mb']['median']:7.1f} MB"
        )


# ---------------------------------------------------------------------- cold start

IMPORT_CLI = "from floe_hooks.cli import main"
IMPORT_PLUGINS = "from floe_hooks.cli import main; main(['plugins'])"


def bench_cold_start(settings: Settings, work: Path) -> dict[str, Any]:
    """``floe plugins`` against ``import pluggy``, with bare-interpreter and package baselines."""
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import pluggy'": [py, "-c", "import pluggy"],
        "python -c 'import floe_hooks'": [py, "-c", "import floe_hooks"],
        "floe plugins": [*_floe(), "plugins"],
        # the floor: pluggy (the hooks), attrs (the models a plugin returns), argparse (the command)
        FLOOR_PLUGINS: [py, "-c", "import pluggy, attrs, argparse"],
    }
    samples = interleaved(commands, settings.runs, cwd=work, warmup=settings.warmup)
    results = {name: summarize(s) for name, s in samples.items()}
    floe, pluggy_ = results["floe plugins"], results["python -c 'import pluggy'"]
    bare = results["python -c pass"]
    out = {
        "commands": results,
        "ratio_wall": ratio(floe["wall_s"]["median"], pluggy_["wall_s"]["median"]),
        "ratio_cpu": ratio(floe["cpu_s"]["median"], pluggy_["cpu_s"]["median"]),
        # Above the bare interpreter: what each really adds.
        "added_ms": {
            name: round((r["wall_s"]["median"] - bare["wall_s"]["median"]) * 1000, 1)
            for name, r in results.items()
            if name != "python -c pass"
        },
        "goal": 1.6,
        "floor_ratio_wall": ratio(results[FLOOR_PLUGINS]["wall_s"]["median"], pluggy_["wall_s"]["median"]),
        "floor_ratio_cpu": ratio(results[FLOOR_PLUGINS]["cpu_s"]["median"], pluggy_["cpu_s"]["median"]),
        # floe's own share: what `floe plugins` costs beyond the libraries it cannot start without
        "over_floor_ms": _over(floe, results[FLOOR_PLUGINS]),
    }
    out["importtime"] = {
        "cli_import": importtime(settings, work, IMPORT_CLI),
        "plugins": importtime(settings, work, IMPORT_PLUGINS),
    }
    for entry in out["importtime"].values():
        del entry["_table"]
    _print("cold start")
    _print_commands(results)
    _print(
        f"  floe plugins / import pluggy: {out['ratio_wall']:.2f}x wall, {out['ratio_cpu']:.2f}x CPU "
        f"(goal < 1.6x); the floor, {FLOOR_PLUGINS}: {out['floor_ratio_wall']:.2f}x wall, "
        f"{out['floor_ratio_cpu']:.2f}x CPU"
    )
    for title, key in (("from floe_hooks.cli import main", "cli_import"), ("floe plugins", "plugins")):
        _print(f"  -X importtime, {title}: {out['importtime'][key]['total_ms']:.1f} ms of imports; largest:")
        for row in out["importtime"][key]["floe_modules"][:10]:
            _print(f"    {row['cumulative_ms']:7.1f} ms  {row['module']}  (self {row['self_ms']:.1f} ms)")
    _print("  heaviest imports made by floe modules (``floe plugins``):")
    for row in out["importtime"]["plugins"]["imported_by_floe"][:10]:
        _print(f"    {row['cumulative_ms']:7.1f} ms  {row['module']}  <- {row['imported_by']}")
    heavy = out["importtime"]["plugins"]["heavy_loaded"]
    _print(
        "  never imported by `floe plugins`: "
        + (", ".join(name for name, loaded in heavy.items() if not loaded) or "-")
        + "; imported: "
        + (", ".join(name for name, loaded in heavy.items() if loaded) or "none")
    )
    out["discovery"] = discovery(settings, work)
    d = out["discovery"]
    _print(
        f"  discovery among {d['distributions']} distributions (CPU, fresh process): entry-point scanner "
        f"{d['scan_ms']:.2f} ms, importlib.metadata.entry_points {d['importlib_ms']:.2f} ms"
    )
    return out


DISCOVERY = {
    "scanner": "from floe_hooks._discovery import scan; found = scan('floe.computes')",
    "importlib": "from importlib.metadata import entry_points; found = entry_points(group='floe.computes')",
}
TIMED = (
    "import time, floe_hooks; start = time.process_time(); {code}; "
    "assert found; print((time.process_time() - start) * 1000)"
)


def discovery(settings: Settings, work: Path) -> dict[str, Any]:
    """floe's entry-point scanner against ``importlib.metadata.entry_points``, each in a fresh process.

    CPU milliseconds of discovery alone (``floe_hooks`` is imported first in both),
    including the import of ``importlib.metadata`` itself, as a cold ``floe`` pays it.
    """
    from importlib import metadata

    figures: dict[str, list[float]] = {name: [] for name in DISCOVERY}
    for _ in range(max(3, settings.importtime_runs)):
        for name, code in DISCOVERY.items():
            argv = [sys.executable, "-c", TIMED.format(code=code)]
            figures[name].append(float(run_checked(argv, cwd=work)))
    return {
        "distributions": sum(1 for _ in metadata.distributions()),
        "scan_ms": round(statistics.median(figures["scanner"]), 3),
        "importlib_ms": round(statistics.median(figures["importlib"]), 3),
    }


#: Libraries that ``floe plugins`` (discovery) must never import (design.md).
HEAVY = (
    "duckdb",
    "opentelemetry",
    "structlog",
    "yaml",
    "cattrs",
    "dbt",
    "floe_hooks.manifest",
    "floe_hooks.compile",
    "floe_hooks.models",
    "floe_hooks.secrets",
)
FLOE_PACKAGES = ("floe_hooks", "floe_duckdb")


def _importtime_runs(settings: Settings, work: Path, argv: Sequence[str]) -> list[list[_common.ImportEntry]]:
    import subprocess

    runs = []
    for _ in range(settings.importtime_runs + 1):  # the first one warms caches, and is dropped
        done = subprocess.run(argv, cwd=work, env=_common.clean_env(), capture_output=True, text=True)
        runs.append(_common.parse_importtime(done.stderr))
    return runs[1:] if len(runs) > 1 else runs


# -X importtime reports imports made by the import statement only: importlib.import_module
# goes around it, so the modules floe loads that way (entry points, sub-commands, lazy
# config classes) would go unreported and their own imports appear at top level. This
# prelude routes absolute import_module calls through __import__ for the measurement.
IMPORTTIME_PRELUDE = (
    "import importlib, sys\n"
    "_import_module = importlib.import_module\n"
    "def _reported(name, package=None):\n"
    "    if name.startswith('.'):\n"
    "        return _import_module(name, package)\n"
    "    __import__(name)\n"
    "    return sys.modules[name]\n"
    "importlib.import_module = _reported\n"
)


def importtime(settings: Settings, work: Path, code: str, *args: str) -> dict[str, Any]:
    """Median ``-X importtime`` figures of ``python -c code args``: floe's modules and what they pull in."""
    argv = [sys.executable, "-X", "importtime", "-c", IMPORTTIME_PRELUDE + code, *args]
    runs = _importtime_runs(settings, work, argv)
    table = _common.median_imports(runs)
    total = statistics.median(
        sum(e.cumulative_us for e in entries if e.depth == 0) / 1000 for entries in runs
    )
    loaded = {row["module"] for row in table}
    return {
        "command": f'python -X importtime -c "{code}"',
        "total_ms": round(total, 1),
        "modules": len(table),
        # The 10 largest cumulative entries of floe's own modules.
        "floe_modules": [r for r in table if r["module"].split(".")[0] in FLOE_PACKAGES][:10],
        # The heaviest libraries a floe module imports first (shared ones are charged to
        # whichever module imports them first).
        "imported_by_floe": [
            r
            for r in table
            if r["module"].split(".")[0] not in FLOE_PACKAGES
            and r["imported_by"].split(".")[0] in FLOE_PACKAGES
        ][:10],
        "heavy_loaded": {name: any(m == name or m.startswith(name + ".") for m in loaded) for name in HEAVY},
        "_table": table,
    }


def _over(command: dict[str, Any], floor: dict[str, Any]) -> dict[str, float]:
    """Milliseconds ``command`` takes beyond its floor, by median wall and CPU time."""
    return {
        kind: round((command[f"{kind}_s"]["median"] - floor[f"{kind}_s"]["median"]) * 1000, 1)
        for kind in ("wall", "cpu")
    }


# ---------------------------------------------------------------------- one-shot health check

BARE_DUCKDB = "import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True).execute('select 1')"
#: The floor of a one-shot check: the bare check plus the libraries no ``floe validate`` can do
#: without (pluggy for the hooks, attrs for the models, PyYAML for the manifest).
FLOOR_VALIDATE = BARE_DUCKDB + "; import pluggy, attrs, yaml"
FLOOR_PLUGINS = "python -c 'import pluggy, attrs, argparse'"
FLOOR_VALIDATE_NAME = "bare check + import pluggy, attrs, yaml"


def write_health_project(root: Path) -> dict[str, Path]:
    """A DuckDB file with a table, a manifest with one compute on it, a floe.yaml and a dbt project."""
    db = root / "warehouse.duckdb"
    run_checked(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "c.execute('create table orders as select range as id from range(1000)'); c.close()",
            str(db),
        ],
        cwd=root,
    )
    manifest = root / "manifest.yaml"
    manifest.write_text(
        "version: 1\ncompute:\n  default: warehouse\n  approved:\n"
        f"    - name: warehouse\n      type: duckdb\n      config: {{path: {json.dumps(str(db))}}}\n"
    )
    floe_yaml = root / "floe.yaml"
    floe_yaml.write_text("name: bench\nplatform: manifest.yaml\ntransforms:\n  - {name: all, path: models}\n")
    (root / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0'\nconfig-version: 2\nprofile: bench\nmodel-paths: [models]\n"
    )
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "one.sql").write_text("select 1 as id\n")  # compile checks paths against the project
    return {"db": db, "manifest": manifest, "floe_yaml": floe_yaml, "profiles_dir": root / "target" / "floe"}


def bench_health(settings: Settings, work: Path) -> dict[str, Any]:
    """One-shot ``floe validate`` against the bare driver call, and against ``dbt debug``."""
    paths = write_health_project(work)
    commands = {
        "floe validate manifest.yaml": [*_floe(), "validate", str(paths["manifest"])],
        "python -c 'duckdb.connect(read_only).execute(select 1)'": [
            sys.executable,
            "-c",
            BARE_DUCKDB,
            str(paths["db"]),
        ],
        FLOOR_VALIDATE_NAME: [sys.executable, "-c", FLOOR_VALIDATE, str(paths["db"])],
    }
    samples = interleaved(commands, settings.runs, cwd=work, warmup=settings.warmup)
    results = {name: summarize(s) for name, s in samples.items()}
    floe, bare, floor = (results[n] for n in commands)
    out: dict[str, Any] = {
        "commands": results,
        "ratio_wall": ratio(floe["wall_s"]["median"], bare["wall_s"]["median"]),
        "ratio_cpu": ratio(floe["cpu_s"]["median"], bare["cpu_s"]["median"]),
        "added_ms": round((floe["wall_s"]["median"] - bare["wall_s"]["median"]) * 1000, 1),
        "added_cpu_ms": round((floe["cpu_s"]["median"] - bare["cpu_s"]["median"]) * 1000, 1),
        "goal": 1.15,
        "floor_ratio_wall": ratio(floor["wall_s"]["median"], bare["wall_s"]["median"]),
        "floor_ratio_cpu": ratio(floor["cpu_s"]["median"], bare["cpu_s"]["median"]),
        "over_floor_ms": _over(floe, floor),
    }
    out["dbt_debug"] = _dbt_debug(settings, work, paths, floe)
    out["imports"] = _validate_imports(settings, work, paths)
    _print("one-shot health check")
    _print_commands(
        results | ({"dbt debug --connection": out["dbt_debug"]} if "wall_s" in out["dbt_debug"] else {})
    )
    _print(
        f"  floe validate / bare duckdb: {out['ratio_wall']:.2f}x wall (+{out['added_ms']:.0f} ms), "
        f"{out['ratio_cpu']:.2f}x CPU (+{out['added_cpu_ms']:.0f} ms) (goal < 1.15x); the floor, "
        f"{FLOOR_VALIDATE_NAME}: {out['floor_ratio_wall']:.2f}x wall, {out['floor_ratio_cpu']:.2f}x CPU"
    )
    dbt = out["dbt_debug"]
    if "speedup" in dbt:
        _print(f"  dbt debug --connection / floe validate: {dbt['speedup']:.1f}x slower than floe")
    else:
        _print(f"  dbt debug --connection: {dbt['status']}")
    imports = out["imports"]
    _print(
        f"  -X importtime: floe validate imports {imports['floe_only_count']} modules the bare script does "
        f"not, {imports['floe_only_self_ms']:.1f} ms of import (self times); by package:"
    )
    for package, ms in list(imports["floe_only_by_package"].items())[:8]:
        _print(f"    {ms:7.1f} ms  {package}")
    return out


def _validate_imports(settings: Settings, work: Path, paths: dict[str, Path]) -> dict[str, Any]:
    """What ``floe validate`` imports beyond the bare script: module self times, by top-level package."""
    floe = importtime(
        settings,
        work,
        "from floe_hooks.cli import main; main(['validate', __import__('sys').argv[1]])",
        str(paths["manifest"]),
    )
    bare = importtime(settings, work, BARE_DUCKDB, str(paths["db"]))
    bare_modules = {row["module"] for row in bare["_table"]}
    extra = [row for row in floe["_table"] if row["module"] not in bare_modules]
    by_package: dict[str, float] = {}
    for row in extra:
        package = row["module"].split(".")[0]
        if package in FLOE_PACKAGES:
            package = row["module"]
        by_package[package] = by_package.get(package, 0.0) + row["self_ms"]
    return {
        "floe_total_ms": floe["total_ms"],
        "bare_total_ms": bare["total_ms"],
        "floe_only_count": len(extra),
        "floe_only_self_ms": round(sum(row["self_ms"] for row in extra), 2),
        "floe_only_by_package": {
            k: round(v, 2) for k, v in sorted(by_package.items(), key=lambda item: -item[1])[:15]
        },
        "floe_modules": floe["floe_modules"],
    }


def _dbt_debug(
    settings: Settings, work: Path, paths: dict[str, Path], floe: dict[str, Any]
) -> dict[str, Any]:
    dbt = script("dbt")
    if dbt is None:
        return {"status": "not installed"}
    if settings.dbt_runs == 0:
        return {"status": "skipped"}
    run_checked([*_floe(), "compile", str(paths["floe_yaml"])], cwd=work)
    argv = [
        *dbt,
        "debug",
        "--connection",
        "--profiles-dir",
        str(paths["profiles_dir"]),
        "--profile",
        "bench",
        "--target",
        "warehouse",
    ]
    env = _common.clean_env({"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    samples = interleaved({"dbt": argv}, settings.dbt_runs, cwd=work, warmup=1, env=env)["dbt"]
    result: dict[str, Any] = {"status": "measured", "command": " ".join(argv[1:])} | summarize(samples)
    result["speedup"] = ratio(result["wall_s"]["median"], floe["wall_s"]["median"])
    return result


# ---------------------------------------------------------------------- concurrency


def _health_fixtures() -> Any:
    """benchmarks/health_concurrency.py: its fixture plugins (sleepy 200 ms, hung) and manager.

    Imported after the installed floe_hooks, and with ``sys.path`` restored afterwards:
    that script puts the source tree first on the path, and the runner measures the
    installed package.
    """
    import floe_duckdb  # noqa: F401  (installed copies first)
    import floe_hooks  # noqa: F401

    saved = list(sys.path)
    try:
        import health_concurrency
    finally:
        sys.path[:] = saved
    return health_concurrency


def bench_concurrency(settings: Settings, work: Path) -> dict[str, Any]:
    """``check_health`` over N computes whose checks sleep 200 ms; then with one of them hung."""
    from floe_hooks import ComputeConfig, check_health

    fixtures = _health_fixtures()
    pm = fixtures.manager()
    n = settings.concurrency_computes
    computes = [ComputeConfig(name=f"c{i:03d}", type="sleepy") for i in range(n)]
    check_health(computes[:2], manager=pm)  # warm: imports, dispatch caches
    walls = []
    for _ in range(settings.concurrency_runs):
        start = time.perf_counter()
        results = check_health(computes, manager=pm)
        walls.append(time.perf_counter() - start)
        assert all(r.status.value == "healthy" for r in results), results
    hung_walls = []
    for run in range(settings.hung_runs):  # n - 1 sleepy checks and a hung one
        # A new name each run: a compute whose abandoned check still hangs is not started again.
        stuck = ComputeConfig(name=f"stuck{run}", type="hung", timeout_seconds=settings.hung_timeout_s)
        start = time.perf_counter()
        # First in the list: a check's clock starts with its thread, and starting a hundred
        # threads takes a while; the figure is then the supervisor's lateness alone.
        results = check_health([stuck, *computes[1:]], manager=pm)
        hung_walls.append(time.perf_counter() - start)
        assert results[0].message == f"timed out after {settings.hung_timeout_s:g} s", results[0]
        assert all(r.status.value == "healthy" for r in results[1:]), results
    fixtures.RELEASE.set()  # the abandoned daemon threads may end now
    wall = _common.stats(walls)
    hung_stats = _common.stats(hung_walls)
    out = {
        "computes": n,
        "check_s": 0.2,
        "wall_s": wall,
        "serial_s": round(0.2 * n, 3),
        "goal_s": 1.0,
        "hung": {
            "computes": n,
            "timeout_s": settings.hung_timeout_s,
            "wall_s": hung_stats,
            "overshoot_s": round(hung_stats["max"] - settings.hung_timeout_s, 4),
            "goal_overshoot_s": 0.1,
        },
    }
    _print("concurrency (check_health in process; fixture plugins of benchmarks/health_concurrency.py)")
    _print(
        f"  {n} checks of 200 ms: median {_ms(wall['median']).strip()}, max {_ms(wall['max']).strip()}"
        f" (serial would be {out['serial_s']:.1f} s; goal < 1 s)"
    )
    _print(
        f"  1 hung plugin, timeout {settings.hung_timeout_s:g} s, + {n - 1} checks of 200 ms: returned after "
        f"{hung_stats['max']:.3f} s at most (+{out['hung']['overshoot_s'] * 1000:.1f} ms; goal < 100 ms late)"
    )
    return out


# ---------------------------------------------------------------------- compile scaling


def bench_compile(settings: Settings, work: Path) -> dict[str, Any]:
    """compile_scaling.py's phases in process (medians), and ``floe compile`` cold per size."""
    import compile_scaling

    sizes = []
    floe = _floe()
    for computes, transforms in settings.compile_sizes:
        runs = [
            compile_scaling.measure(computes, transforms, 1, "prod") for _ in range(settings.compile_runs)
        ]
        phases = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        folder = work / f"compile-{computes}x{transforms}"
        folder.mkdir()
        floe_yaml = compile_scaling.write_project(folder, computes, transforms)
        argv = [*floe, "compile", str(floe_yaml), "--env", "prod", "--out", str(folder / "out")]
        cli = summarize(
            interleaved({"floe compile": argv}, settings.compile_cli_runs, cwd=folder, warmup=0)[
                "floe compile"
            ]
        )
        sizes.append(
            {
                "computes": computes,
                "transforms": transforms,
                "inprocess_s": {k: round(v, 6) for k, v in phases.items()},
                "per_transform_us": round(phases["total"] / transforms * 1e6, 2),
                "per_transform_cpu_us": round(phases["cpu"] / transforms * 1e6, 2),
                "cli": cli,
                "cli_per_transform_us": round(cli["wall_s"]["median"] / transforms * 1e6, 2),
            }
        )
    largest, previous = sizes[-1], sizes[-2] if len(sizes) > 1 else sizes[-1]
    out = {
        "sizes": sizes,
        # Linear means a flat time per transform: compare the two largest sizes, where
        # the fixed costs no longer dominate.
        "per_transform_growth": ratio(largest["per_transform_us"], previous["per_transform_us"]),
        "per_transform_growth_cpu": ratio(largest["per_transform_cpu_us"], previous["per_transform_cpu_us"]),
        "scaling_exponent": round(
            math.log(largest["inprocess_s"]["total"] / previous["inprocess_s"]["total"])
            / math.log(largest["transforms"] / previous["transforms"]),
            3,
        )
        if largest is not previous
        else 1.0,
        "goal_s": 2.0,
    }
    _print("compile scaling (load + compile + write in process, median; `floe compile` cold, median)")
    _print(
        f"  {'computes':>8} {'transforms':>10} {'load':>9} {'compile':>9} {'write':>9} {'total':>9} "
        f"{'cpu':>9} {'us/transf.':>10} {'floe compile':>13} {'its cpu':>9} {'peak RSS':>9}"
    )
    for s in sizes:
        p = s["inprocess_s"]
        _print(
            f"  {s['computes']:>8} {s['transforms']:>10} "
            + " ".join(f"{p[k]:>8.3f}s" for k in ("load", "compile", "write", "total", "cpu"))
            + f" {s['per_transform_us']:>10.1f} {s['cli']['wall_s']['median']:>12.3f}s"
            f" {s['cli']['cpu_s']['median']:>8.3f}s {s['cli']['maxrss_mb']['median']:>6.1f} MB"
        )
    _print(
        f"  time per transform, largest size vs the one before: {out['per_transform_growth']:.2f}x wall, "
        f"{out['per_transform_growth_cpu']:.2f}x CPU (scaling exponent {out['scaling_exponent']:.2f}; "
        "linear is 1.0)"
    )
    return out


# ---------------------------------------------------------------------- dispatch


def _per_call(stmt: Callable[[], Any], settings: Settings) -> float:
    timer = timeit.Timer(stmt, timer=time.process_time)  # CPU time: immune to other processes
    return min(timer.repeat(repeat=settings.dispatch_repeat, number=settings.dispatch_number)) / (
        settings.dispatch_number
    )


def bench_dispatch(settings: Settings, work: Path) -> dict[str, Any]:
    """A capability through the manager against the same hookimpl called directly (CPU time per call)."""
    from floe_hooks import ComputeConfig, PluginManager

    fixtures = _health_fixtures()
    pm = fixtures.manager()  # two plugins: dispatch has one to leave out
    compute = ComputeConfig(name="warehouse", type="sleepy")
    direct_fn = pm.plugin_for("sleepy").plugin.generate_profile  # the hookimpl the manager will run
    assert pm.generate_profile(compute) == direct_fn(compute)
    # pluggy's own callers are measured on a second, identical manager: a host that takes
    # the pluggy manager (``.pluggy``) turns floe's direct dispatch off for that manager.
    raw = fixtures.manager().pluggy
    hook = raw.hook.generate_profile
    others = [
        plugin for name, plugin in raw.list_name_plugin() if plugin is not None and "sleepy" not in name
    ]

    figures = {
        "direct hookimpl call": _per_call(lambda: direct_fn(compute), settings),
        "manager.generate_profile (floe dispatch)": _per_call(lambda: pm.generate_profile(compute), settings),
        "pm.pluggy.hook.generate_profile (every plugin)": _per_call(lambda: hook(compute=compute), settings),
        # What the per-type cache saves: building pluggy's subset caller on every call.
        "pluggy subset_hook_caller built per call (no cache)": _per_call(
            lambda: raw.subset_hook_caller("generate_profile", remove_plugins=others)(compute=compute),
            settings,
        ),
    }
    # The real DuckDB plugin, on a compute as a manifest gives it (a typed DuckDBConfig),
    # through its cheapest capability: what a host application actually pays.
    import floe_duckdb
    from floe_duckdb.config import DuckDBConfig

    real = PluginManager(autoload=False)
    real.register(floe_duckdb, name="duckdb")
    duck = ComputeConfig(
        name="warehouse",
        type="duckdb",
        config=DuckDBConfig(path=str(work / "warehouse.duckdb"), extensions=("json",)),
        resources="medium",
    )
    figures["floe_duckdb.resource_requirements, direct"] = _per_call(
        lambda: floe_duckdb.resource_requirements(duck), settings
    )
    figures["manager.resource_requirements, floe_duckdb"] = _per_call(
        lambda: real.resource_requirements(duck), settings
    )
    us = {name: round(seconds * 1e6, 3) for name, seconds in figures.items()}
    overhead_fixture = us["manager.generate_profile (floe dispatch)"] - us["direct hookimpl call"]
    overhead_duckdb = (
        us["manager.resource_requirements, floe_duckdb"] - us["floe_duckdb.resource_requirements, direct"]
    )
    # The goal is judged on the larger: a real plugin's compute is what hosts dispatch.
    overhead = max(overhead_fixture, overhead_duckdb)
    out = {
        "per_call_us": us,
        "overhead_us": round(overhead, 3),
        "overhead_fixture_us": round(overhead_fixture, 3),
        "overhead_duckdb_us": round(overhead_duckdb, 3),
        "number": settings.dispatch_number,
        "repeat": settings.dispatch_repeat,
        "goal_us": 10.0,
    }
    _print(
        f"dispatch (timeit, CPU time, min of {settings.dispatch_repeat} x {settings.dispatch_number:,} calls)"
    )
    for name, value in us.items():
        _print(f"  {value:8.3f} us  {name}")
    _print(
        f"  overhead of floe dispatch: {overhead_fixture:.2f} us on a compute without config, "
        f"{overhead_duckdb:.2f} us on a DuckDB compute with its typed config (goal < 10 us)"
    )
    return out


# ---------------------------------------------------------------------- memory


def bench_memory(results: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS gathered from the runs above (no extra runs)."""
    rows: dict[str, float] = {}
    cold = results.get("cold_start", {}).get("commands", {})
    for name in ("python -c pass", "python -c 'import pluggy'", "floe plugins"):
        if name in cold:
            rows[name] = cold[name]["maxrss_mb"]["median"]
    health = results.get("health", {})
    for name, r in health.get("commands", {}).items():
        rows[name] = r["maxrss_mb"]["median"]
    if "maxrss_mb" in health.get("dbt_debug", {}):
        rows["dbt debug --connection"] = health["dbt_debug"]["maxrss_mb"]["median"]
    for size in results.get("compile", {}).get("sizes", []):
        rows[f"floe compile ({size['computes']} computes, {size['transforms']} transforms)"] = size["cli"][
            "maxrss_mb"
        ]["median"]
    _print("memory (peak RSS, median)")
    for name, mb in rows.items():
        _print(f"  {mb:7.1f} MB  {name}")
    return {"peak_rss_mb": {k: round(v, 1) for k, v in rows.items()}}


# ---------------------------------------------------------------------- the run


def _verdict(wall: float | None, cpu: float | None, target: float) -> str:
    """``met``, ``met on CPU time`` (a busy machine slowed the wall clock) or ``missed``.

    With both figures, CPU time decides: it is the better estimate of an idle machine's
    wall time, and a wall-clock ratio measured on a busy machine is squeezed towards 1
    (both sides wait for a core), so a wall figure alone must not pass a goal.
    """
    if cpu is None:
        return "met" if wall is not None and wall < target else "missed"
    if cpu >= target:
        return "missed"
    return "met" if wall is None or wall < target else "met on CPU time"


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per goal of the budget that this run measured: the figure, wall and CPU, and a verdict.

    The budget is about wall time on a machine doing nothing else; on a busy machine
    the CPU time of the same run is the better estimate of that (see :func:`_verdict`).
    """
    rows = []

    def add(goal_id: str, wall: float | None, cpu: float | None, target: float, unit: str) -> None:
        verdict = _verdict(wall, cpu, target)
        rows.append(
            {
                "id": goal_id,
                "goal": GOALS[goal_id],
                "wall": None if wall is None else round(wall, 4),
                "cpu": None if cpu is None else round(cpu, 4),
                "target": target,
                "unit": unit,
                "verdict": verdict,
                "met": verdict != "missed",
            }
        )

    if "cold_start" in results:
        r = results["cold_start"]
        add("cold_start_ratio", r["ratio_wall"], r["ratio_cpu"], r["goal"], "x")
    if "health" in results:
        r = results["health"]
        add("validate_ratio", r["ratio_wall"], r["ratio_cpu"], r["goal"], "x")
    if "concurrency" in results:
        r = results["concurrency"]
        add("concurrency_100x200ms", r["wall_s"]["median"], None, r["goal_s"], "s")
        add("hung_overshoot", r["hung"]["overshoot_s"], None, r["hung"]["goal_overshoot_s"], "s")
    if "compile" in results:
        r = results["compile"]
        largest = r["sizes"][-1]
        p = largest["inprocess_s"]
        add("compile_largest_inprocess", p["total"], p.get("cpu"), 2.0, "s")
        add(
            "compile_largest_cli",
            largest["cli"]["wall_s"]["median"],
            largest["cli"]["cpu_s"]["median"],
            2.0,
            "s",
        )
        add("compile_linear", r["per_transform_growth"], r.get("per_transform_growth_cpu"), 1.25, "x")
    if "dispatch" in results:
        r = results["dispatch"]
        add("dispatch_overhead", None, r["overhead_us"], r["goal_us"], "us")
    if "floe_run" in results:
        r, sc = results["floe_run"], results["floe_run"]["scenarios"]

        def cpu(a: str, b: str) -> float:
            return float(sc[a]["cpu_s"]) / float(sc[b]["cpu_s"])

        add("run_cold_vs_by_hand", r["ratios"]["cold_vs_by_hand"], cpu("floe_cold", "by_hand"), 0.5, "x")
        add("run_warm_vs_by_hand", r["ratios"]["warm_vs_by_hand"], cpu("floe_warm", "by_hand"), 0.15, "x")
        add(
            "run_vs_dbt_in_process",
            r["ratios"]["cold_vs_dbt_in_process"],
            cpu("floe_cold", "dbt_in_process"),
            1.1,
            "x",
        )
    if "catalog" in results and "ratio_wall" in results["catalog"]:
        r = results["catalog"]
        add("catalog_handoff", r["ratio_wall"], r["ratio_inner"], 1.5, "x")
    return rows


def bench_floe_run(settings: Settings, work: Path) -> dict[str, Any]:
    """``floe run`` of the quickstart: cold, warm, by hand, and through dbtRunner (benchmarks/floe_run.py)."""
    import floe_run

    # one sample each is not enough for the in-process ratio: dbtRunner's own time moved
    # from 11 s to 16 s between single runs on this machine; the full run takes turns three times
    repeat = 3 if settings is FULL else 1
    _print(f"floe run (examples/quickstart): cold, warm, by hand, dbt in-process, {repeat} turn(s) ...")
    result: dict[str, Any] = floe_run.measure(repeat)
    for name, figures in result["scenarios"].items():
        _print(
            f"  {name:<16} {figures['wall_s']:8.2f} s wall {figures['cpu_s']:8.2f} s CPU "
            f"{figures['peak_rss_mb']:6.0f} MB peak"
        )
    return result


def bench_catalog(settings: Settings, work: Path) -> dict[str, Any]:
    """A 1,000,000-row table from compute A to compute B through DuckLake vs one Parquet file."""
    import importlib.util

    if importlib.util.find_spec("duckdb_extension_ducklake") is None:
        _print("catalog: skipped, needs the duckdb-extension-ducklake wheel (tox -e bench installs it)")
        return {"skipped": "duckdb-extension-ducklake is not installed"}
    import catalog_handoff

    rows = 1_000_000 if settings is not TINY else 10_000
    repeat = 3 if settings is FULL else 1 if settings is TINY else 2
    _print(f"catalog hand-off: {rows:,} rows A -> B, DuckLake (local metadata) vs Parquet, {repeat} runs ...")
    result: dict[str, Any] = catalog_handoff.measure(rows, repeat, postgres=False)
    _print(
        f"  floor {result['floor_wall_s']:.2f} s, catalog {result['catalog_wall_s']:.2f} s: "
        f"{result['ratio_wall']:.2f}x wall"
    )
    return result


def run_all(settings: Settings, only: Sequence[str] = BENCHMARKS) -> dict[str, Any]:
    """Run the selected benchmarks with ``settings``; return the JSON-ready result."""
    machine = _common.machine()
    _print(
        f"floe-hooks {machine['versions']['floe-hooks']} on Python {machine['python']}, "
        f"{machine['nproc']} x {machine['cpu']}, load {machine['loadavg_at_start']}"
    )
    if machine["floe_hooks_editable"]:
        _print("warning: floe-hooks is an editable install; cold-start figures are distorted (pip install .)")
    results: dict[str, Any] = {}
    steps: dict[str, Callable[[Settings, Path], dict[str, Any]]] = {
        "cold_start": bench_cold_start,
        "health": bench_health,
        "concurrency": bench_concurrency,
        "compile": bench_compile,
        "dispatch": bench_dispatch,
        "floe_run": bench_floe_run,
        "catalog": bench_catalog,
    }
    began = time.perf_counter()
    for name, step in steps.items():
        if name not in only:
            continue
        _print()
        with tempfile.TemporaryDirectory(prefix=f"floe-bench-{name}-") as tmp:
            results[name] = step(settings, Path(tmp))
    if "memory" in only:
        _print()
        results["memory"] = bench_memory(results)
    rows = goals(results)
    _print()
    _print("goals")
    for row in rows:
        figures = ", ".join(
            f"{row[key]:g} {row['unit']} {key}" for key in ("wall", "cpu") if row[key] is not None
        )
        _print(f"  {row['verdict'].upper():<16} {row['goal']}: {figures}")
    if hasattr(os, "getloadavg"):
        machine["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "schema_version": SCHEMA_VERSION,
        "settings": asdict(settings),
        "machine": machine,
        "duration_s": round(time.perf_counter() - began, 1),
        "benchmarks": results,
        "goals": rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run, write the JSON; exit status 0 (a missed goal is a finding, not an error)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs per benchmark (about 30 s)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the smoke test's sizes
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, metavar="PATH", help=f"default: {DEFAULT_JSON}"
    )
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS + PIPELINE, metavar="NAME")
    args = parser.parse_args(argv)
    settings = TINY if args.tiny else QUICK if args.quick else FULL
    only = args.only or (BENCHMARKS if args.tiny else BENCHMARKS + PIPELINE)
    result = run_all(settings, only)
    result["mode"] = "tiny" if args.tiny else "quick" if args.quick else "full"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")  # in run order, as the report shows it
    import report

    args.json.with_suffix(".md").write_text(report.markdown(result) + "\n")
    _print(
        f"\nwrote {args.json} and {args.json.with_suffix('.md')} "
        "(python benchmarks/report.py renders it again)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
