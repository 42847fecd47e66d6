"""The Postgres example plugin against a real PostgreSQL server (tox -e postgres)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from floe_hooks import ConnectionResult, ConnectionStatus, PluginManager, SecretValue
from floe_hooks.health import check_health
from floe_hooks.testing import make_compute

pytestmark = pytest.mark.postgres

PROJECT = Path(__file__).parent / "project"
CREDENTIALS = {"password": {"env": "PG_PASSWORD"}}


@pytest.fixture
def pm() -> PluginManager:
    """A manager that discovers the installed plugins: the example is installed."""
    manager = PluginManager(strict=True)
    assert "postgres" in manager.compute_types, "pip install examples/floe-compute-postgres first"
    return manager


def compute_for(pm: PluginManager, server: Any, **config: Any) -> Any:
    return make_compute(pm, "postgres", server.config(**config), name="pg", credentials=CREDENTIALS)


def check_in_thread(pm: PluginManager, compute: Any, timeout: float, password: str) -> ConnectionResult:
    """Call the plugin's check directly; fail if it overruns its own timeout by a second."""
    results: list[ConnectionResult] = []
    secrets = {"password": SecretValue(password)}
    worker = threading.Thread(
        target=lambda: results.append(pm.validate_connection(compute, timeout=timeout, secrets=secrets)),
        daemon=True,
    )
    worker.start()
    worker.join(timeout + 1.0)
    assert not worker.is_alive(), f"the check ignored its {timeout} s timeout"
    return results[0]


def test_healthy_server_reports_latency_and_version(
    pm: PluginManager, pg_server: Any, pg_password_env: str
) -> None:
    (result,) = check_health([compute_for(pm, pg_server)], timeout=10, manager=pm)
    assert result.status is ConnectionStatus.HEALTHY, result.message
    assert result.compute == "pg"
    assert result.latency_ms > 0
    assert (
        result.details["server_version"].split()[0] == pg_server.query("show server_version")[0][0].split()[0]
    )
    assert int(result.details["server_version_num"]) >= 100000
    assert result.details["database"] == "analytics"
    assert "PostgreSQL" in result.message


def test_missing_schema_is_a_warning_not_a_failure(
    pm: PluginManager, pg_server: Any, pg_password_env: str
) -> None:
    (result,) = check_health([compute_for(pm, pg_server, schema="not_there_yet")], timeout=10, manager=pm)
    assert result.status is ConnectionStatus.HEALTHY
    assert any("not_there_yet" in w for w in result.warnings)


def test_wrong_password_is_unhealthy_and_redacted(
    pm: PluginManager, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "Wrong-Pa55word-" + "x" * 8
    monkeypatch.setenv("PG_PASSWORD", wrong)
    (result,) = check_health([compute_for(pm, pg_server)], timeout=10, manager=pm)
    assert result.status is ConnectionStatus.UNHEALTHY
    assert "authentication failed" in result.message
    assert "'floe'" in result.message
    shown = json.dumps([result.message, list(result.warnings), dict(result.details)])
    assert wrong not in shown
    assert pg_server.password not in shown


def test_unset_password_variable_is_reported_without_calling_the_plugin(
    pm: PluginManager, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PG_PASSWORD", raising=False)
    monkeypatch.delenv("DBT_ENV_SECRET_PG_PASSWORD", raising=False)
    (result,) = check_health([compute_for(pm, pg_server)], timeout=10, manager=pm)
    assert result.status is ConnectionStatus.UNHEALTHY
    assert "PG_PASSWORD" in result.message


def test_unknown_database_is_unhealthy(pm: PluginManager, pg_server: Any, pg_password_env: str) -> None:
    (result,) = check_health([compute_for(pm, pg_server, dbname="nope")], timeout=10, manager=pm)
    assert result.status is ConnectionStatus.UNHEALTHY
    assert "'nope' does not exist" in result.message


def test_stopped_server_is_unhealthy_within_the_timeout(pm: PluginManager, own_pg_server: Any) -> None:
    compute = compute_for(pm, own_pg_server)
    assert check_in_thread(pm, compute, 5.0, own_pg_server.password).status is ConnectionStatus.HEALTHY
    own_pg_server.stop()
    result = check_in_thread(pm, compute, 2.0, own_pg_server.password)
    assert result.status is ConnectionStatus.UNHEALTHY
    assert "connection refused" in result.message
    own_pg_server.start()
    assert check_in_thread(pm, compute, 5.0, own_pg_server.password).status is ConnectionStatus.HEALTHY


def test_frozen_server_is_unhealthy_within_the_timeout(pm: PluginManager, own_pg_server: Any) -> None:
    """SIGSTOP: TCP still connects, the server never answers. libpq alone would wait >= 2 s."""
    compute = compute_for(pm, own_pg_server)
    with own_pg_server.paused():
        result = check_in_thread(pm, compute, 0.5, own_pg_server.password)
    assert result.status is ConnectionStatus.UNHEALTHY
    assert "timed out" in result.message
    assert check_in_thread(pm, compute, 5.0, own_pg_server.password).status is ConnectionStatus.HEALTHY


def test_floe_validate_reports_the_server(
    pg_server: Any, pg_password_env: str, tools: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    tools.set_port(project / "manifest.yaml", "pg", pg_server.port)
    result = tools.floe("validate", str(project / "manifest.yaml"), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert pg_server.password not in result.stdout + result.stderr
    (check,) = json.loads(result.stdout)["computes"]
    assert (check["compute"], check["type"], check["status"]) == ("pg", "postgres", "healthy")
    assert check["details"]["database"] == "analytics"


def test_standby_server_is_degraded(pm: PluginManager, own_pg_server: Any) -> None:
    """A read-only standby answers, but dbt cannot build there: degraded, with the reason."""
    compute = compute_for(pm, own_pg_server)
    own_pg_server.make_standby()
    result = check_in_thread(pm, compute, 5.0, own_pg_server.password)
    assert result.status is ConnectionStatus.DEGRADED
    assert any("standby" in w for w in result.warnings)
    assert own_pg_server.query("select pg_is_in_recovery()") == [(True,)]


def test_floe_validate_abandons_a_frozen_server_at_its_timeout(
    own_pg_server: Any, tools: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    tools.set_port(project / "manifest.yaml", "pg", own_pg_server.port)
    monkeypatch.setenv("PG_PASSWORD", own_pg_server.password)
    with own_pg_server.paused():
        result = tools.floe("validate", str(project / "manifest.yaml"), "--timeout", "1", "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    (check,) = json.loads(result.stdout)["computes"]
    assert check["status"] == "unhealthy"
    assert "timed out" in check["message"]
    assert own_pg_server.password not in result.stdout + result.stderr
