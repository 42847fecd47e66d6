"""examples/host_app.py runs and shows each part of the host API doing its job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HOST_APP = Path(__file__).parents[2] / "examples" / "host_app.py"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(HOST_APP), "--json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_only_explicitly_registered_plugins_are_loaded(report: dict[str, Any]) -> None:
    assert [name for name, _, _ in report["plugins"]] == ["duckdb", "echo"]


def test_a_plugin_blocked_up_front_cannot_be_registered(report: dict[str, Any]) -> None:
    assert "'rogue'" in report["blocked_register"]
    assert "blocked" in report["blocked_register"]


def test_each_compute_gets_its_own_plugins_profile(report: dict[str, Any]) -> None:
    profiles = report["profiles"]
    assert profiles["lake"]["type"] == "duckdb"
    assert profiles["lake"]["threads"] == 2
    assert profiles["echo1"] == {
        "type": "echo",
        "endpoint": "echo://local",
        "token": "{{ env_var('DBT_ENV_SECRET_ECHO1_TOKEN') }}",
    }


def test_resources_follow_the_compute(report: dict[str, Any]) -> None:
    assert report["resources"]["lake"]["limits"]["memory"] == "4Gi"  # medium
    assert report["resources"]["echo1"]["limits"]["memory"] == "512Mi"  # the plugin's small default


def test_direct_validation_names_the_compute(report: dict[str, Any]) -> None:
    compute, status, message = report["validate_direct"]
    assert (compute, status) == ("lake", "degraded")
    assert "does not exist yet" in message


def test_catalog_sql_masks_the_credential_statement(report: dict[str, Any]) -> None:
    sql = report["catalog_sql"]
    assert any("ATTACH" in s for s in sql)
    assert "**********" in sql
    assert not any("host-app-secret-value" in s for s in sql)


def test_a_missing_optional_hook_is_a_contract_error(report: dict[str, Any]) -> None:
    assert "does not implement the optional hook 'catalog_attachment_sql'" in report["optional_hook_missing"]


def test_health_checks_run_concurrently_under_the_timeout(report: dict[str, Any]) -> None:
    health = report["health"]
    assert health["echo1"] == ["healthy", "echo answered"]
    assert health["echo2"][0] == "unhealthy"
    assert "timed out" in health["echo2"][1]
    assert health["lake"][0] == "degraded"


def test_blocking_a_loaded_plugin_unserves_its_type(report: dict[str, Any]) -> None:
    assert report["after_block"] == ["duckdb"]
    assert report["blocked_call"].startswith("UnknownComputeTypeError")
    assert "'echo'" in report["blocked_call"]
