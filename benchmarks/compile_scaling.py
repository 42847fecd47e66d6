"""Compile time against the number of computes and transforms (design.md: linear, largest < 2 s).

Generates a manifest with N DuckDB computes (each its own file, two with a prod overlay
each env) and a floe.yaml with M transforms spread over them, then times, best of
``--repeat`` runs in this process (plugin discovery and imports excluded, as a long-lived
host would see it; the CLI's one-off import cost is measured separately with --cli):

* load: reading and validating both files (``load_product``)
* compile: profiles, resources, run plan, artifact (``compile_product``)
* write: both files, atomically (``write_outputs``)
* total: wall time of the three; cpu: this process's CPU time for them (stable on a busy machine)

    python benchmarks/compile_scaling.py                 # the 3 sizes of the issue
    python benchmarks/compile_scaling.py --cli           # plus `floe compile` wall time
    python benchmarks/compile_scaling.py --profile 1000 10000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = ((10, 100), (100, 1_000), (1_000, 10_000))


def write_project(root: Path, computes: int, transforms: int) -> Path:
    lines = ["version: 1", "compute:", "  default: c0000", "  approved:"]
    for i in range(computes):
        lines += [
            f"    - name: c{i:04d}",
            "      type: duckdb",
            "      threads: 4",
            f"      config: {{path: build/c{i:04d}.duckdb, extensions: [json],",
            "                settings: {preserve_insertion_order: false}}",
            f"      resources: {('small', 'medium', 'large')[i % 3]}",
        ]
    lines += ["environments:", "  dev:", "  prod:", "    compute:"]
    for i in range(0, computes, 2):
        lines.append(f"      c{i:04d}: {{threads: 8, resources: large}}")
    (root / "manifest.yaml").write_text("\n".join(lines) + "\n")
    body = ["name: bench", "platform: manifest.yaml", "transforms:"]
    for j in range(transforms):
        compute = f", compute: c{j % computes:04d}" if j % 10 else ""  # every tenth on the default
        body.append(f"  - {{name: t{j:05d}, path: models/group_{j // 50:04d}/t{j:05d}{compute}}}")
    (root / "floe.yaml").write_text("\n".join(body) + "\n")
    return root / "floe.yaml"


def measure(computes: int, transforms: int, repeat: int, env: str | None) -> dict[str, float]:
    from floe_hooks import compile_product, get_plugin_manager, load_product, write_outputs

    pm = get_plugin_manager()
    pm.load()
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        floe_yaml = write_project(Path(tmp), computes, transforms)
        for _ in range(repeat):
            c0, t0 = time.process_time(), time.perf_counter()
            product = load_product(floe_yaml, env=env, manager=pm)
            t1 = time.perf_counter()
            compiled = compile_product(product, manager=pm)
            t2 = time.perf_counter()
            write_outputs(compiled, Path(tmp) / "out")
            t3, c3 = time.perf_counter(), time.process_time()
            run = {"load": t1 - t0, "compile": t2 - t1, "write": t3 - t2, "total": t3 - t0, "cpu": c3 - c0}
            best = run if not best or run["total"] < best["total"] else best
    return best


def cli_time(computes: int, transforms: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        floe_yaml = write_project(Path(tmp), computes, transforms)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "floe_hooks.cli", "compile", str(floe_yaml)],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--env", default="prod", help="environment overlay to apply (default prod)")
    parser.add_argument("--cli", action="store_true", help="also time the `floe compile` command, cold")
    parser.add_argument(
        "--profile", nargs=2, type=int, metavar=("COMPUTES", "TRANSFORMS"), help="cProfile one size"
    )
    args = parser.parse_args()
    if args.profile:
        import cProfile
        import pstats

        computes, transforms = args.profile
        measure(computes, transforms, 1, args.env)  # warm imports
        with cProfile.Profile() as profiler:
            measure(computes, transforms, 1, args.env)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        return
    header = f"{'computes':>8} {'transforms':>10} {'load s':>8} {'compile s':>9} {'write s':>8} "
    header += f"{'total s':>8} {'cpu s':>8}"
    print(header + ("  floe compile (cold) s" if args.cli else ""))
    for computes, transforms in SIZES:
        r = measure(computes, transforms, args.repeat, args.env)
        line = f"{computes:>8} {transforms:>10} " + " ".join(
            f"{r[key]:>{width}.3f}"
            for key, width in (("load", 8), ("compile", 9), ("write", 8), ("total", 8), ("cpu", 8))
        )
        if args.cli:
            line += f"  {cli_time(computes, transforms):>21.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
