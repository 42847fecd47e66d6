"""examples/multi-compute end to end: one product, DuckDB and PostgreSQL, real dbt (tox -e multicompute)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.multicompute

EXAMPLE = Path(__file__).parents[2] / "examples" / "multi-compute"


@pytest.fixture
def example(pg_server: Any, tools: Any, tmp_path: Path) -> Path:
    """A copy of the example whose ``pg`` compute points at the throwaway server."""
    project = tmp_path / "multi-compute"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    tools.set_port(project / "manifest.yaml", "pg", pg_server.port)
    return project


def test_compile_plans_one_dbt_invocation_per_engine(example: Path, tools: Any) -> None:
    result = tools.floe("compile", str(example / "floe.yaml"))
    assert result.returncode == 0, result.stderr
    out = example / "target" / "floe"
    profiles = yaml.safe_load((out / "profiles.yml").read_text())["shop"]
    assert profiles["target"] == "lake"
    assert {name: o["type"] for name, o in profiles["outputs"].items()} == {
        "lake": "duckdb",
        "pg": "postgres",
    }
    plan = json.loads((out / "compiled_artifacts.json").read_text())["run_plan"]
    assert [(s["compute"], s["select"]) for s in plan] == [
        ("pg", ["path:models/orders"]),
        ("lake", ["path:models/metrics"]),
    ]


def test_each_part_runs_on_its_engine(example: Path, pg_server: Any, tools: Any) -> None:
    compiled = tools.floe("compile", str(example / "floe.yaml"))
    assert compiled.returncode == 0, compiled.stderr

    env = {"PATH": str(Path(sys.executable).parent), "PG_PASSWORD": pg_server.password, "HOME": str(example)}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    run = subprocess.run(
        [sys.executable, str(example / "run.py")],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert pg_server.password not in run.stdout + run.stderr
    assert "step 1: dbt run on pg (postgres)" in run.stdout
    assert "step 2: dbt test on lake (duckdb)" in run.stdout

    # the orders part is in PostgreSQL, and only there
    rows = pg_server.query(
        "select customer, orders, revenue from orders.orders_by_customer order by customer"
    )
    assert rows == [
        ("alice", 4, Decimal("75.00")),
        ("bob", 4, Decimal("55.00")),
        ("carol", 4, Decimal("65.00")),
    ]
    assert pg_server.query(
        "select count(*) from information_schema.tables where table_schema = 'metrics'"
    ) == [(0,)]

    # the metrics part is in the DuckDB file, and only there
    import duckdb

    with duckdb.connect(str(example / "lake.duckdb"), read_only=True) as conn:
        assert conn.execute("select sum(visits) from metrics.weekly_visits").fetchone() == (
            conn.execute("select sum(visits) from metrics.daily_visits").fetchone()
        )
        assert conn.execute("select count(*) from metrics.daily_visits").fetchone() == (14,)
        tables = {
            row[0] for row in conn.execute("select table_name from information_schema.tables").fetchall()
        }
    assert not tables & {"stg_orders", "orders_by_customer"}

    # and both computes are healthy afterwards (DuckDB's relative path is dbt's: the project folder)
    validate = tools.floe("validate", "floe.yaml", "--format", "json", cwd=example, env={**env})
    assert validate.returncode == 0, validate.stdout + validate.stderr
    statuses = {c["compute"]: c["status"] for c in json.loads(validate.stdout)["computes"]}
    assert statuses == {"lake": "healthy", "pg": "healthy"}
