"""dbt-postgres runs on the profile `floe compile` generates for the Postgres plugin."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.postgres

PROJECT = Path(__file__).parent / "project"


@pytest.fixture
def compiled(pg_server: Any, tools: Any, tmp_path: Path) -> Path:
    """The test project, pointed at the throwaway server and compiled by `floe compile`."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    tools.set_port(project / "manifest.yaml", "pg", pg_server.port)
    result = tools.floe("compile", str(project / "floe.yaml"))
    assert result.returncode == 0, result.stderr
    return project


def test_compiled_profile_holds_a_template_not_the_password(compiled: Path, pg_server: Any) -> None:
    text = (compiled / "target/floe/profiles.yml").read_text()
    assert pg_server.password not in text
    output = yaml.safe_load(text)["pg_orders"]["outputs"]["pg"]
    assert output["password"] == "{{ env_var('DBT_ENV_SECRET_PG_PASSWORD') }}"
    assert (output["type"], output["port"], output["schema"], output["threads"]) == (
        "postgres",
        pg_server.port,
        "orders",
        2,
    )
    artifacts = json.loads((compiled / "target/floe/compiled_artifacts.json").read_text())
    assert artifacts["computes"]["pg"]["env"] == [
        {"variable": "DBT_ENV_SECRET_PG_PASSWORD", "path": "password", "from": {"env": "PG_PASSWORD"}}
    ]
    assert artifacts["computes"]["pg"]["dbt_adapter"].startswith("dbt-postgres")


def test_dbt_debug_and_run_on_the_compiled_profile(compiled: Path, pg_server: Any, tools: Any) -> None:
    profiles = compiled / "target/floe"
    env = {"DBT_ENV_SECRET_PG_PASSWORD": pg_server.password}
    debug = tools.dbt("debug", project=compiled, profiles=profiles, env=env)
    assert "All checks passed!" in debug.stdout
    assert pg_server.password not in debug.stdout

    (step,) = json.loads((profiles / "compiled_artifacts.json").read_text())["run_plan"]
    assert step["command"][:2] == ["dbt", "build"]
    run = tools.dbt(*step["command"][1:], project=compiled, profiles=profiles, env=env)
    assert "Completed successfully" in run.stdout
    assert pg_server.password not in run.stdout + run.stderr

    rows = pg_server.query("select customer, orders, total from orders.customer_totals order by customer")
    assert rows == [("alice", 2, Decimal("42.50")), ("bob", 1, Decimal("7.25"))]

    test = tools.dbt("test", "--target", "pg", project=compiled, profiles=profiles, env=env)
    assert "PASS=2" in test.stdout


def test_dbt_reports_a_wrong_password_without_printing_it(compiled: Path, tools: Any) -> None:
    wrong = "not-the-Password-123"
    with pytest.raises(AssertionError) as failed:
        tools.dbt(
            "debug",
            project=compiled,
            profiles=compiled / "target/floe",
            env={"DBT_ENV_SECRET_PG_PASSWORD": wrong},
        )
    assert "password authentication failed" in str(failed.value)
    assert wrong not in str(failed.value)
