"""``floe run`` on the quickstart, side by side in one run: by hand, cold, warm, and dbt in-process.

    python benchmarks/floe_run.py [--repeat N] [--json out.json]

Each scenario starts from a fresh copy of ``examples/quickstart`` (the warm one re-uses
the cold one's copy) and runs in a child process measured by ``wait4`` (wall, CPU and
peak RSS of the whole process tree):

* ``by_hand``: the steps typed as separate dbt commands, after ``floe compile``:
  ``dbt seed``, ``dbt run`` and ``dbt test`` on ``ingest``, then ``dbt run`` and
  ``dbt test`` on ``warehouse`` (five dbt processes, one shared target path);
* ``floe_cold``: ``floe run floe.yaml`` (compile, parse, two ``dbt build`` steps);
* ``floe_warm``: ``floe run floe.yaml`` again on the unchanged project: floe finds the
  state fingerprint (project files, profiles, database files present) of the last
  successful run unchanged and does not start dbt at all. That is what "warm" means here;
  with any change, a run is a cold one that benefits from dbt's partial parsing;
* ``dbt_in_process``: the dbt invocations ``floe run`` makes, made directly through
  ``dbtRunner`` in one process (parse on ``ingest``, build ``ingest`` reusing that
  manifest, build ``warehouse``), after ``floe compile``: floe's own cost is the difference.

Goals (design.md): cold <= 0.5x by hand, warm <= 0.15x by hand, cold <= 1.1x in-process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import Sample, bin_dir, clean_env, run_checked, run_once

QUICKSTART = Path(__file__).parents[1] / "examples" / "quickstart"
ENV = clean_env({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})

DIRECT = """
import sys
from dbt.cli.main import dbtRunner
root = sys.argv[1]
def args(verb, target, *extra):
    folder = f"{root}/target/floe/steps/{target}"
    return [verb, "--project-dir", root, "--profiles-dir", f"{root}/target/floe", "--profile", "quickstart",
            "--target", target, "--target-path", folder, "--log-path", folder, "--quiet", *extra]
parsed = dbtRunner().invoke(args("parse", "ingest"))
assert parsed.success
sel = ["--indirect-selection", "empty", "--select"]
ingest = ["raw_customers", "raw_orders", "stg_customers", "stg_orders", "not_null_stg_customers_customer_id",
          "unique_stg_customers_customer_id", "not_null_stg_orders_order_id", "unique_stg_orders_order_id",
          "relationships_stg_orders_customer_id__customer_id__ref_stg_customers_"]
marts = ["customer_revenue", "not_null_customer_revenue_customer_id", "unique_customer_revenue_customer_id",
         "not_null_customer_revenue_revenue"]
assert dbtRunner(manifest=parsed.result).invoke(args("build", "ingest", *sel, *ingest)).success
assert dbtRunner().invoke(args("build", "warehouse", *sel, *marts)).success
"""


def fresh(base: Path, name: str) -> Path:
    target = base / name
    shutil.copytree(QUICKSTART, target, ignore=shutil.ignore_patterns("target", "*.duckdb*", "logs"))
    return target


def by_hand(folder: Path) -> list[str]:
    run_checked([str(bin_dir() / "floe"), "compile", "floe.yaml"], cwd=folder, env=ENV)
    dbt = f"{bin_dir() / 'dbt'} --quiet"
    common = "--profiles-dir target/floe --profile quickstart"
    steps = [
        f"{dbt} seed {common} --target ingest --select path:seeds",
        f"{dbt} run {common} --target ingest --select path:models/staging",
        f"{dbt} test {common} --target ingest --select path:models/staging",
        f"{dbt} run {common} --target warehouse --select path:models/marts",
        f"{dbt} test {common} --target warehouse --select path:models/marts",
    ]
    return ["sh", "-c", " && ".join(steps)]


def measure(repeat: int) -> dict[str, Any]:
    floe = str(bin_dir() / "floe")
    samples: dict[str, list[Sample]] = {
        k: [] for k in ("by_hand", "floe_cold", "floe_warm", "dbt_in_process")
    }
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="floe-run-bench-") as temp:
            base = Path(temp)
            hand = fresh(base, "hand")
            samples["by_hand"].append(run_once(by_hand(hand), cwd=hand, env=ENV))
            cold = fresh(base, "cold")
            samples["floe_cold"].append(run_once([floe, "run", "floe.yaml"], cwd=cold, env=ENV))
            samples["floe_warm"].append(run_once([floe, "run", "floe.yaml"], cwd=cold, env=ENV))
            direct = fresh(base, "direct")
            run_checked([floe, "compile", "floe.yaml"], cwd=direct, env=ENV)
            samples["dbt_in_process"].append(
                run_once([sys.executable, "-c", DIRECT, str(direct)], cwd=direct, env=ENV)
            )
    for name, runs in samples.items():
        bad = [s.returncode for s in runs if s.returncode != 0]
        if bad:
            raise SystemExit(f"{name} exited {bad}")
    wall = {k: statistics.median(s.wall_s for s in v) for k, v in samples.items()}
    return {
        "repeat": repeat,
        "scenarios": {
            k: {
                "wall_s": round(wall[k], 3),
                "cpu_s": round(statistics.median(s.cpu_s for s in v), 3),
                "peak_rss_mb": round(max(s.maxrss_mb for s in v), 1),
            }
            for k, v in samples.items()
        },
        "ratios": {
            "cold_vs_by_hand": round(wall["floe_cold"] / wall["by_hand"], 3),
            "warm_vs_by_hand": round(wall["floe_warm"] / wall["by_hand"], 3),
            "cold_vs_dbt_in_process": round(wall["floe_cold"] / wall["dbt_in_process"], 3),
        },
        "goals": {"cold_vs_by_hand": 0.5, "warm_vs_by_hand": 0.15, "cold_vs_dbt_in_process": 1.1},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.repeat)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
