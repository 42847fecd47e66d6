"""examples/quickstart end to end: floe compile, then the real dbt runs each compute's part of the plan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from floe_hooks import compile_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart"

pytestmark = pytest.mark.dbt


def _dbt() -> str:
    """The dbt executable of this interpreter's environment (tox's dbt env)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    """A copy of the example, without anything a local run left behind."""
    root = tmp_path / "quickstart"
    shutil.copytree(
        EXAMPLE, root, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*", "dbt_packages")
    )
    return root


def test_two_computes_run_their_parts_following_the_run_plan(quickstart: Path) -> None:
    compiled = compile_file(quickstart / "floe.yaml")
    out = quickstart / "target" / "floe"
    artifacts = json.loads((out / "compiled_artifacts.json").read_text())
    assert artifacts == json.loads(compiled.artifacts_json())
    plan = artifacts["run_plan"]
    # marts claims all of models/ but staging, which runs elsewhere: it is selected file by file
    assert [(s["target"], s["select"], s["needs"]) for s in plan] == [
        ("ingest", ["path:seeds", "path:models/staging"], []),
        ("warehouse", ["path:models/marts/customer_revenue.sql"], ["ingest"]),
    ]

    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env.update(DBT_PROFILES_DIR=str(out), DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1")
    for step in plan:
        debug = [_dbt(), "debug", "--target", step["target"], "--project-dir", str(quickstart)]
        result = subprocess.run(debug, cwd=quickstart, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        assert "All checks passed!" in result.stdout
        command = [_dbt(), *step["command"][1:], "--project-dir", str(quickstart)]
        result = subprocess.run(command, cwd=quickstart, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        assert "Completed successfully" in result.stdout

    # Each compute wrote only its own part, into its own file.
    with duckdb.connect(str(quickstart / "ingest.duckdb"), read_only=True) as ingest:
        assert ingest.execute("select table_name from information_schema.tables order by 1").fetchall() == [
            ("raw_customers",),
            ("raw_orders",),
            ("stg_customers",),
            ("stg_orders",),
        ]
    with duckdb.connect(str(quickstart / "warehouse.duckdb"), read_only=True) as warehouse:
        assert warehouse.execute("select table_name from information_schema.tables").fetchall() == [
            ("customer_revenue",)
        ]
        rows = warehouse.execute(
            "select name, orders, revenue from customer_revenue order by customer_id"
        ).fetchall()
    assert rows == [
        ("Alice", 2, Decimal("155.50")),
        ("Bob", 1, Decimal("99.90")),
        ("Chandra", 2, Decimal("262.00")),
        ("Dana", 0, Decimal("0.00")),
    ]
