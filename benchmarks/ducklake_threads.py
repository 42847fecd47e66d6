"""How often ``dbt build`` into DuckLake fails with several dbt threads in one process.

Why floe refuses ``threads`` above 1 on a DuckDB compute that writes into a DuckLake
(docs/lakehouse.md, "One dbt thread into DuckLake"). A project of ``--models`` table models
(half read a range, half join two of the first half) is built ``--runs`` times per thread
count, each run into a fresh DuckLake, through dbt-duckdb's own ``attach`` (no floe code),
and the failures are counted with the first error line of each.

    python benchmarks/ducklake_threads.py --extension-directory DIR [--threads 1 8] [--runs 8]
    python benchmarks/ducklake_threads.py --extension-directory DIR --postgres "host=... dbname=..."

``DIR`` holds the ``ducklake`` (and, for ``--postgres``, ``postgres_scanner``) extension:
``python -m floe_duckdb.extensions DIR ducklake postgres_scanner`` links them from the
``duckdb-extension-*`` wheels. With ``--postgres`` the metadata goes into that database
(its ``public`` schema is dropped and created again before each run: use a scratch database).
Needs dbt-core and dbt-duckdb (``pip install '.[dbt]'``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml


def write_project(
    root: Path, models: int, threads: int, extension_directory: Path, postgres: str | None
) -> None:
    """The dbt project and its profile under ``root``."""
    half = max(1, models // 2)
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: stress\nversion: '1.0'\nprofile: stress\nmodels:\n  stress:\n    +materialized: table\n"
    )
    for i in range(1, half + 1):
        (root / "models" / f"m{i}.sql").write_text(f"select i, i * {i} as v from range(1000) t(i)\n")
        other = i % half + 1
        (root / "models" / f"j{i}.sql").write_text(
            f"select a.i, a.v + b.v as w from {{{{ ref('m{i}') }}}} a "
            f"join {{{{ ref('m{other}') }}}} b using (i)\n"
        )
    meta = f"postgres:{postgres}" if postgres else "lake.ducklake"
    output: dict[str, Any] = {
        "type": "duckdb",
        "path": "local.duckdb",
        "schema": "main",
        "threads": threads,
        "settings": {"memory_limit": "384MiB", "threads": 1},
        "config_options": {
            "extension_directory": str(extension_directory),
            "autoinstall_known_extensions": False,
        },
        "attach": [
            {
                "path": f"ducklake:{meta}",
                "alias": "lake",
                "is_ducklake": True,
                "options": {"data_path": "lake_data/"},
            }
        ],
        "database": "lake",
        "extensions": ["ducklake", "postgres"] if postgres else ["ducklake"],
    }
    (root / "profiles.yml").write_text(yaml.safe_dump({"stress": {"target": "t", "outputs": {"t": output}}}))


def reset_postgres(dsn: str) -> None:
    """Drop and create the ``public`` schema of the scratch metadata database."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("drop schema if exists public cascade")
        conn.execute("create schema public")


def first_error(output: str, returncode: int) -> str:
    """The line after dbt's first ``Runtime Error``, or the signal that ended the process."""
    if returncode < 0:
        return f"killed by signal {-returncode}"
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if "Runtime Error" in line and index + 1 < len(lines):
            return lines[index + 1].strip()[:160]
    return f"exit {returncode}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extension-directory", type=Path, required=True)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--models", type=int, default=32)
    parser.add_argument("--postgres", metavar="LIBPQ", help="metadata in this PostgreSQL database")
    args = parser.parse_args(argv)
    dbt = Path(sys.executable).with_name("dbt")
    import duckdb

    print(
        f"duckdb {duckdb.__version__}, {args.models} models, "
        f"metadata: {'postgres' if args.postgres else 'duckdb file'}"
    )
    for threads in args.threads:
        failures: list[str] = []
        started = time.perf_counter()
        for _ in range(args.runs):
            root = Path(tempfile.mkdtemp(prefix="ducklake-threads-"))
            try:
                write_project(root, args.models, threads, args.extension_directory.resolve(), args.postgres)
                if args.postgres:
                    reset_postgres(args.postgres)
                done = subprocess.run(
                    [str(dbt), "build", "--profiles-dir", ".", "-q"], cwd=root, capture_output=True, text=True
                )
                if done.returncode != 0:
                    failures.append(first_error(done.stdout + done.stderr, done.returncode))
            finally:
                shutil.rmtree(root, ignore_errors=True)
        elapsed = time.perf_counter() - started
        print(
            f"threads {threads}: {len(failures)} of {args.runs} runs failed "
            f"({elapsed / args.runs:.1f} s a run)"
        )
        for line in failures:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
