"""The real dbt (dbt-core 1.11 + dbt-duckdb) runs on profiles floe_duckdb generates, offline.

Run with ``tox -e dbt``: that env pins DuckDB to the release whose extension wheels are on
PyPI and installs ``duckdb-extension-inet``, which the tests link into a local
``extension_directory`` so dbt-duckdb loads a real extension without any network.
The small project is ``tests/duckdb/dbt_project``; its models read the engine's settings,
the attached second database and the extension.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from floe_duckdb.extensions import link_wheel_extensions
from floe_hooks import ConnectionStatus, PluginManager

from ._dbt import PROJECT, assert_ok, dbt, write_profiles

pytestmark = pytest.mark.dbt


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the dbt project, a second DuckDB database to attach, an offline extension folder."""
    shutil.copytree(PROJECT, tmp_path / "project")
    with duckdb.connect(str(tmp_path / "other.duckdb")) as conn:
        conn.execute("create table people as select * from (values (1, 'ada'), (2, 'grace')) t(id, name)")
    (tmp_path / "external").mkdir()  # dbt-duckdb does not create external_root
    linked = link_wheel_extensions(tmp_path / "extensions", ["inet"])
    assert set(linked) == {"inet"}
    return tmp_path


def config_for(workdir: Path, path: str) -> dict[str, Any]:
    """A manifest ``config:`` block using settings, an offline extension and an attachment."""
    return {
        "path": path,
        "schema": "analytics",
        "settings": {"preserve_insertion_order": False},
        "extensions": ["inet"],
        "extension_directory": str(workdir / "extensions"),
        "autoinstall_extensions": False,
        "external_root": str(workdir / "external"),
        "attach": [{"path": str(workdir / "other.duckdb"), "alias": "other", "read_only": True}],
    }


@pytest.mark.parametrize("mode", ["memory", "file"])
def test_dbt_debug_and_run_on_the_generated_profile(
    pm: PluginManager, duckdb_compute: Any, workdir: Path, mode: str
) -> None:
    path = ":memory:" if mode == "memory" else str(workdir / "warehouse.duckdb")
    compute = duckdb_compute(config_for(workdir, path), threads=2, resources="small")
    profile = write_profiles(workdir, pm, compute)
    assert profile["settings"] == {"preserve_insertion_order": False, "memory_limit": "384MiB", "threads": 1}

    assert_ok(dbt(workdir, "debug"), "All checks passed!")
    run = dbt(workdir, "run", "--vars", "{with_inet: true}")
    assert_ok(run, "Completed successfully")
    assert "PASS=4" in run.stdout, run.stdout[-3000:]

    # the engine really ran with the derived and explicit settings
    with duckdb.connect() as conn:
        row = conn.execute(
            "select * from read_parquet(?)", [str(workdir / "external" / "engine_settings.parquet")]
        ).fetchone()
    assert row == ("384.0 MiB", 1, False, 10)

    if mode == "file":
        with duckdb.connect(path, read_only=True) as conn:
            assert conn.execute("select count(*) from analytics.numbers").fetchone() == (10,)
            assert conn.execute("select * from analytics.from_attached").fetchone() == (2, "ada,grace")
            assert conn.execute("select * from analytics.network").fetchone() == ("192.168.0.7", 6)
        # floe's own check agrees, loading the extension from the same local folder
        result = pm.validate_connection(compute)
        assert result.status is ConnectionStatus.HEALTHY, result


def test_the_check_never_creates_the_file_dbt_does(
    pm: PluginManager, duckdb_compute: Any, workdir: Path
) -> None:
    path = workdir / "warehouse.duckdb"
    compute = duckdb_compute(config_for(workdir, str(path)))
    write_profiles(workdir, pm, compute)
    assert pm.validate_connection(compute).status is ConnectionStatus.DEGRADED  # dbt will create it
    assert not path.exists()
    assert_ok(dbt(workdir, "debug", "--connection"), "All checks passed!")
    assert path.exists()  # dbt created it; the check never did
    assert pm.validate_connection(compute).status is ConnectionStatus.HEALTHY


def test_a_builtin_extension_is_left_out_and_dbt_runs_offline(
    pm: PluginManager, duckdb_compute: Any, workdir: Path
) -> None:
    # dbt-duckdb INSTALLs every listed extension, which downloads even json (built in): floe leaves it out
    path = str(workdir / "warehouse.duckdb")
    compute = duckdb_compute({**config_for(workdir, path), "extensions": ["json", "inet"]})
    profile = write_profiles(workdir, pm, compute)
    assert profile["extensions"] == ["inet"]
    run = dbt(workdir, "run", "--vars", "{with_inet: true}")
    assert_ok(run, "Completed successfully")
    assert 'Failed to download extension "json"' not in run.stdout + run.stderr
    result = pm.validate_connection(compute)
    assert result.status is ConnectionStatus.HEALTHY, result


def test_dbt_duckdb_accepts_every_field(pm: PluginManager, duckdb_compute: Any, monkeypatch: Any) -> None:
    from dbt.adapters.duckdb.credentials import DuckDBCredentials

    from .test_config import FULL

    compute = duckdb_compute({**FULL, "path": "warehouse.duckdb", "database": None}, name="lake")
    profile = pm.generate_profile(compute)
    rendered = json.loads(json.dumps(profile).replace("{{ env_var('", "rendered-").replace("') }}", ""))
    rendered.pop("type")
    rendered.pop("threads")
    credentials = DuckDBCredentials.from_dict(rendered)
    assert credentials.path == "warehouse.duckdb"
    assert credentials.settings["memory_limit"] == "2GB"
    assert [a.alias for a in credentials.attach] == ["other", "lite", "dl"]
    assert credentials.retries.connect_attempts == 3
    assert credentials.remote.password == "rendered-DBT_ENV_SECRET_LAKE_REMOTE_PASSWORD"
    sql = credentials.secrets_sql()[0]
    assert "rendered-DBT_ENV_SECRET_LAKE_SECRETS_0_CREDENTIALS_SECRET" in sql
    assert credentials.attach[1].to_sql() == (
        "ATTACH IF NOT EXISTS 'lake.sqlite' AS lite (TYPE sqlite, BLOCK_SIZE 262144)"
    )
