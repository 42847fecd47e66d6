"""Handing a table from compute A to compute B through the lakehouse catalog, against the floor.

Goal (docs/lakehouse.md): at most 1.5x the physical floor of moving the table through
storage. Both sides run as two fresh Python processes, one after the other, as two pods
would; they are measured interleaved, side by side in one run:

* **floor**: process A has DuckDB write the table to one Parquet file; process B reads it
  back into a table of its own database.
* **catalog**: process A (its own ``a.duckdb``) attaches the DuckLake catalog exactly as
  the generated profile does (``LOAD ducklake``, the ducklake secret, ``ATTACH``) and
  creates the table in it; process B (its own ``b.duckdb``) attaches it the same way and
  reads the table into its database.

Metadata in a local DuckDB file by default; ``--postgres`` starts the throwaway PostgreSQL
server of ``tests/postgres/conftest.py`` (needs the PostgreSQL server binaries and psycopg)
and keeps DuckLake's metadata there, as in production. The extensions come from the
``duckdb-extension-*`` wheels (``pip install duckdb==1.5.5 duckdb-extension-ducklake==1.5.5
duckdb-extension-postgres-scanner==1.5.5``)::

    python benchmarks/catalog_handoff.py [--rows 1000000] [--repeat 5] [--postgres] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

TABLE = (
    "select i as id, i % 1000 as customer, (i * 0.37)::double as amount, 'item-' || (i % 97) as item "
    "from range({rows}) t(i)"
)

# Each child prints {"inner_s": seconds inside DuckDB, "rows": n}.
CHILD = r"""
import json, sys, time
import duckdb
role, spec = sys.argv[1], json.loads(sys.argv[2])
config = {"extension_directory": spec["ext"], "autoinstall_known_extensions": False}
start = time.perf_counter()
conn = duckdb.connect(spec["db"], config=config)
if spec["mode"] == "floor":
    if role == "write":
        conn.execute(f"COPY ({spec['table']}) TO '{spec['file']}' (FORMAT parquet)")
        rows = spec["rows"]
    else:
        conn.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_parquet('{spec['file']}')")
        rows = conn.execute("select count(*) from t").fetchone()[0]
else:
    conn.execute("LOAD ducklake")
    for sql in spec["setup"]:
        conn.execute(sql)
    if role == "write":
        conn.execute(f"CREATE OR REPLACE TABLE lake.main.t AS {spec['table']}")
        rows = spec["rows"]
    else:
        conn.execute("CREATE OR REPLACE TABLE t AS SELECT * FROM lake.main.t")
        rows = conn.execute("select count(*) from t").fetchone()[0]
conn.close()
print(json.dumps({"inner_s": time.perf_counter() - start, "rows": rows}))
"""


def _link_extensions(folder: Path, postgres: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from floe_duckdb.extensions import link_wheel_extensions

    link_wheel_extensions(folder, ["ducklake", *(["postgres_scanner"] if postgres else [])])


def _child(role: str, spec: dict[str, Any]) -> tuple[float, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, role, json.dumps(spec)], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{spec['mode']} {role} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["rows"] != spec["rows"]:
        raise SystemExit(f"{spec['mode']} {role}: {report['rows']} rows, expected {spec['rows']}")
    return wall, float(report["inner_s"])


def _start_postgres() -> Any:
    path = ROOT / "tests" / "postgres" / "conftest.py"
    spec = importlib.util.spec_from_file_location("floe_bench_pg", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["floe_bench_pg"] = module
    spec.loader.exec_module(module)
    return module._started()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="DuckLake metadata in a real PostgreSQL")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    figures = measure(args.rows, args.repeat, args.postgres)
    print(
        f"{args.rows:,} rows, A -> B, two processes each, median of {args.repeat} "
        f"(DuckLake metadata: {figures['metadata']})"
    )
    print(
        f"  floor   (Parquet file):  {figures['floor_wall_s'] * 1000:7.0f} ms wall "
        f"(write {figures['floor_write_s'] * 1000:.0f} + read {figures['floor_read_s'] * 1000:.0f}), "
        f"{figures['floor_inner_s'] * 1000:.0f} ms inside DuckDB"
    )
    print(
        f"  catalog (DuckLake):      {figures['catalog_wall_s'] * 1000:7.0f} ms wall "
        f"(write {figures['catalog_write_s'] * 1000:.0f} + read {figures['catalog_read_s'] * 1000:.0f}), "
        f"{figures['catalog_inner_s'] * 1000:.0f} ms inside DuckDB"
    )
    print(
        f"  ratio: {figures['ratio_wall']:.2f}x wall, {figures['ratio_inner']:.2f}x inside DuckDB "
        f"(goal <= 1.5x): {'met' if figures['ratio_wall'] <= 1.5 else 'missed'}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def measure(rows: int, repeat: int, postgres: bool) -> dict[str, Any]:
    """Hand a ``rows``-row table from A to B ``repeat`` times each way; the medians and ratios."""
    work = Path(tempfile.mkdtemp(prefix="floe-handoff-"))
    try:
        return _measure(work, rows, repeat, postgres)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def _measure(work: Path, rows: int, repeat: int, postgres: bool) -> dict[str, Any]:
    ext = work / "extensions"
    _link_extensions(ext, postgres)
    server = _start_postgres() if postgres else None
    table = TABLE.format(rows=rows)
    floor: list[tuple[float, float, float, float]] = []
    lake: list[tuple[float, float, float, float]] = []
    try:
        for run in range(repeat):
            base = work / f"run{run}"
            base.mkdir()
            f = {
                "mode": "floor",
                "ext": str(ext),
                "table": table,
                "rows": rows,
                "file": str(base / "t.parquet"),
            }
            wa, ia = _child("write", {**f, "db": str(base / "fa.duckdb")})
            wb, ib = _child("read", {**f, "db": str(base / "fb.duckdb")})
            floor.append((wa + wb, ia + ib, wa, wb))
            if server is not None:
                import psycopg

                dbname = f"lake_{run}"
                with psycopg.connect(**server.admin_params(), autocommit=True) as conn:
                    conn.execute(f"create database {dbname} owner {server.user}")
                setup = [
                    "LOAD postgres",
                    f"CREATE SECRET meta (TYPE postgres, HOST '127.0.0.1', PORT '{server.port}', "
                    f"DATABASE '{dbname}', USER '{server.user}', PASSWORD '{server.password}')",
                    "CREATE SECRET floe_catalog_lake (TYPE ducklake, METADATA_PATH '', "
                    f"DATA_PATH '{base}/data/', "
                    "METADATA_PARAMETERS map {'TYPE': 'postgres', 'SECRET': 'meta'})",
                    "ATTACH 'ducklake:floe_catalog_lake' AS lake",
                ]
            else:
                setup = [f"ATTACH 'ducklake:{base}/lake.ducklake' AS lake (DATA_PATH '{base}/data/')"]
            c = {"mode": "catalog", "ext": str(ext), "table": table, "rows": rows, "setup": setup}
            wa, ia = _child("write", {**c, "db": str(base / "a.duckdb")})
            wb, ib = _child("read", {**c, "db": str(base / "b.duckdb")})
            lake.append((wa + wb, ia + ib, wa, wb))
    finally:
        if server is not None:
            server.destroy()

    def med(samples: list[tuple[float, float, float, float]], index: int) -> float:
        return statistics.median(s[index] for s in samples)

    figures = {
        "rows": rows,
        "repeat": repeat,
        "metadata": "postgres" if server is not None else "duckdb file",
        "floor_wall_s": med(floor, 0),
        "floor_inner_s": med(floor, 1),
        "catalog_wall_s": med(lake, 0),
        "catalog_inner_s": med(lake, 1),
        "catalog_write_s": med(lake, 2),
        "catalog_read_s": med(lake, 3),
        "floor_write_s": med(floor, 2),
        "floor_read_s": med(floor, 3),
    }
    figures["ratio_wall"] = figures["catalog_wall_s"] / figures["floor_wall_s"]
    figures["ratio_inner"] = figures["catalog_inner_s"] / figures["floor_inner_s"]
    return figures


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    raise SystemExit(main())
