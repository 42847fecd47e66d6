"""validate_connection on real DuckDB files: read-only, lock-aware, never creating, never raising."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from floe_duckdb.health import lock_holder
from floe_hooks import ConnectionStatus, PluginManager, SecretValue

HEALTHY, DEGRADED, UNHEALTHY = ConnectionStatus.HEALTHY, ConnectionStatus.DEGRADED, ConnectionStatus.UNHEALTHY


def test_in_memory_database_is_healthy(pm: PluginManager, duckdb_compute: Any) -> None:
    result = pm.validate_connection(duckdb_compute())
    assert result.status is HEALTHY, result
    assert result.message == "select 1 ok on in-memory database"
    assert result.latency_ms > 0
    assert result.compute == "warehouse"
    assert result.details["duckdb_version"] == duckdb.__version__


def test_existing_file_is_healthy_and_left_unchanged(
    pm: PluginManager, duckdb_compute: Any, db_file: Path
) -> None:
    before = db_file.read_bytes()
    result = pm.validate_connection(duckdb_compute({"path": str(db_file)}))
    assert result.status is HEALTHY, result
    assert result.message == f"select 1 ok on {db_file} (read-only)"
    assert db_file.read_bytes() == before
    assert not Path(f"{db_file}.wal").exists()


def test_check_opens_read_only_beside_another_reader(
    pm: PluginManager, duckdb_compute: Any, db_file: Path
) -> None:
    # A read-only reader in another process holds a shared lock: a writer open would fail.
    script = textwrap.dedent(
        f"""
        import sys, duckdb
        conn = duckdb.connect({str(db_file)!r}, read_only=True)
        print("reading", flush=True)
        sys.stdin.read()
        """
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "reading"
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(db_file))  # what taking the writer lock would meet
        result = pm.validate_connection(duckdb_compute({"path": str(db_file)}))
        assert result.status is HEALTHY, result
    finally:
        assert reader.stdin is not None
        reader.stdin.close()
        reader.wait(timeout=20)


def test_writer_lock_held_elsewhere_is_degraded_naming_the_holder(
    pm: PluginManager, duckdb_compute: Any, db_file: Path, writer_lock: Any
) -> None:
    holder = writer_lock(db_file)
    result = pm.validate_connection(duckdb_compute({"path": str(db_file)}), timeout=5.0)
    assert result.status is DEGRADED, result
    assert f"PID {holder.pid}" in result.message
    assert "a dbt run is likely in progress" in result.message
    assert result.details["lock_holder"].startswith(f"PID {holder.pid}, ")
    assert any("did not wait" in w for w in result.warnings)
    holder.release()
    assert pm.validate_connection(duckdb_compute({"path": str(db_file)})).status is HEALTHY


def test_missing_file_is_degraded_and_not_created(
    pm: PluginManager, duckdb_compute: Any, tmp_path: Path
) -> None:
    path = tmp_path / "new.duckdb"
    result = pm.validate_connection(duckdb_compute({"path": str(path)}))
    assert result.status is DEGRADED, result
    assert result.message == f"database file {path} does not exist yet; dbt will create it on its first run"
    assert list(tmp_path.iterdir()) == []


def test_relative_path_resolves_against_the_working_directory(
    pm: PluginManager, duckdb_compute: Any, db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(db_file.parent)
    assert pm.validate_connection(duckdb_compute({"path": db_file.name})).status is HEALTHY
    monkeypatch.chdir(db_file.parent.parent)
    assert pm.validate_connection(duckdb_compute({"path": db_file.name})).status is DEGRADED


def test_missing_folder_is_unhealthy(pm: PluginManager, duckdb_compute: Any, tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "folder" / "w.duckdb"
    result = pm.validate_connection(duckdb_compute({"path": str(path)}))
    assert result.status is UNHEALTHY, result
    assert result.message == f"database folder {path.parent} does not exist; dbt cannot create {path}"
    assert not (tmp_path / "no").exists()


_CHECK_SCRIPT = """
import json, sys
from floe_hooks import get_plugin_manager
from floe_hooks.testing import make_compute
pm = get_plugin_manager()
result = pm.validate_connection(make_compute(pm, "duckdb", {"path": sys.argv[1]}))
print(json.dumps({"status": result.status.value, "message": result.message}))
"""


def test_unwritable_folder_is_unhealthy(tmp_path: Path) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir()
    path = folder / "w.duckdb"
    command = [sys.executable, "-c", _CHECK_SCRIPT, str(path)]
    if os.geteuid() == 0:
        # root ignores permission bits: check inside a private mount namespace where the folder
        # is a read-only filesystem (gone when the process ends)
        unshare, mount = shutil.which("unshare"), shutil.which("mount")
        assert unshare, "util-linux's unshare is needed (apt-get install util-linux)"
        assert mount, "mount is needed (apt-get install mount)"
        shell = f'{mount} -t tmpfs -o ro,size=64k tmpfs "$1" && shift && exec "$@"'
        command = [
            unshare,
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            shell,
            "sh",
            str(folder),
            *command,
        ]
    else:
        folder.chmod(0o555)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "status": "unhealthy",
        "message": f"database folder {folder} is not writable; dbt cannot create {path}",
    }
    assert list(folder.iterdir()) == []


def test_a_folder_as_path_is_unhealthy(pm: PluginManager, duckdb_compute: Any, tmp_path: Path) -> None:
    result = pm.validate_connection(duckdb_compute({"path": str(tmp_path)}))
    assert result.status is UNHEALTHY
    assert result.message == f"{tmp_path} is a folder, not a database file"


def test_a_file_that_is_not_duckdb_is_unhealthy(
    pm: PluginManager, duckdb_compute: Any, tmp_path: Path
) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n" * 500)
    result = pm.validate_connection(duckdb_compute({"path": str(path)}))
    assert result.status is UNHEALTHY
    assert result.message == f"{path} is not a valid DuckDB database file"


def test_bundled_extensions_load_and_listing_them_is_fine(
    pm: PluginManager, duckdb_compute: Any, db_file: Path
) -> None:
    # dbt-duckdb runs INSTALL for every listed extension, which downloads even a built-in one;
    # the profile leaves floe_duckdb.profile.BUILTIN_EXTENSIONS out, so listing them is harmless
    builtin = {
        name
        for (name,) in duckdb.sql(
            "select extension_name from duckdb_extensions() where install_mode = 'STATICALLY_LINKED'"
        ).fetchall()
    }
    assert {"json", "parquet"} <= builtin
    result = pm.validate_connection(duckdb_compute({"path": str(db_file), "extensions": ["json", "parquet"]}))
    assert result.status is HEALTHY, result
    assert result.warnings == ()


def test_a_built_in_extension_floe_does_not_know_is_still_flagged(
    pm: PluginManager, duckdb_compute: Any, db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import floe_duckdb.health

    monkeypatch.setattr(floe_duckdb.health, "BUILTIN_EXTENSIONS", frozenset({"json"}))
    result = pm.validate_connection(duckdb_compute({"path": str(db_file), "extensions": ["json", "parquet"]}))
    assert result.status is DEGRADED, result
    assert result.warnings == (
        "extension parquet is built into DuckDB, yet dbt-duckdb runs INSTALL parquet for it, which downloads "
        "from the extension server: remove it from extensions (it is always loaded)",
    )


def test_extensions_that_cannot_load_are_named(
    pm: PluginManager, duckdb_compute: Any, db_file: Path, tmp_path: Path
) -> None:
    extensions = tmp_path / "extensions"
    extensions.mkdir()
    compute = duckdb_compute(
        {
            "path": str(db_file),
            "extensions": ["json", "iceberg", "no_such_extension"],
            "extension_directory": str(extensions),
        }
    )
    result = pm.validate_connection(compute, timeout=5.0)
    assert result.status is DEGRADED, result
    assert result.message == "select 1 ok; extension(s) not loadable: iceberg, no_such_extension"
    assert result.warnings[0] == (
        f"extension iceberg cannot be loaded: not installed in {extensions} "
        "(the check never downloads extensions)"
    )
    assert result.warnings[1].startswith("extension no_such_extension cannot be loaded: ")
    assert not list(extensions.rglob("*.duckdb_extension*"))  # nothing was installed


def test_settings_duckdb_rejects_are_named(pm: PluginManager, duckdb_compute: Any, db_file: Path) -> None:
    config = {
        "path": str(db_file),
        "settings": {"preserve_insertion_order": False, "preserve_insertion_ordr": 1},
    }
    result = pm.validate_connection(duckdb_compute(config))
    assert result.status is DEGRADED
    (warning,) = result.warnings
    assert warning.startswith("setting preserve_insertion_ordr is rejected by DuckDB: ")
    config["settings"] = {"preserve_insertion_order": False, "memory_limit": "1GB", "threads": 2}
    assert pm.validate_connection(duckdb_compute(config)).status is HEALTHY


def test_missing_attached_database_is_a_warning(
    pm: PluginManager, duckdb_compute: Any, db_file: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.duckdb"
    config = {"path": str(db_file), "attach": [{"path": str(other), "alias": "other", "read_only": True}]}
    result = pm.validate_connection(duckdb_compute(config))
    assert result.status is DEGRADED
    assert result.warnings == (f"attached database other ({other}) does not exist and is read-only",)
    duckdb.connect(str(other)).close()
    assert pm.validate_connection(duckdb_compute(config)).status is HEALTHY


def test_remote_databases_are_not_probed(pm: PluginManager, duckdb_compute: Any) -> None:
    compute = duckdb_compute(
        {"path": "md:analytics?attach_mode=single", "motherduck_token": {"env": "MD_TOKEN"}}
    )
    result = pm.validate_connection(
        compute, secrets={"config.motherduck_token": SecretValue("md-token-value")}
    )
    assert result.status is DEGRADED
    assert result.message == "md:analytics is a remote database; the check does not reach it"
    assert "md-token-value" not in repr(result)


def test_remote_servers_are_not_probed(pm: PluginManager, duckdb_compute: Any) -> None:
    config = {"remote": {"host": "bv.internal", "port": 5433, "user": "dbt", "password": {"env": "BV_PW"}}}
    result = pm.validate_connection(
        duckdb_compute(config), secrets={"config.remote.password": SecretValue("pw")}
    )
    assert result.status is DEGRADED
    assert result.message == "remote DuckDB server bv.internal:5433 is not checked"


def test_in_memory_attachments_are_checked_too(
    pm: PluginManager, duckdb_compute: Any, tmp_path: Path
) -> None:
    other = tmp_path / "other.duckdb"
    result = pm.validate_connection(duckdb_compute({"attach": [{"path": str(other), "alias": "other"}]}))
    assert result.status is DEGRADED
    assert result.warnings == (f"attached database other ({other}) does not exist yet; dbt will create it",)
    assert not other.exists()


def test_same_process_conflict_is_reported_not_raised(
    pm: PluginManager, duckdb_compute: Any, db_file: Path
) -> None:
    with duckdb.connect(str(db_file)):
        result = pm.validate_connection(duckdb_compute({"path": str(db_file)}))
    assert result.status is UNHEALTHY
    assert str(db_file) in result.message


@pytest.mark.parametrize(
    ("message", "holder"),
    [
        (
            'IO Error: Could not set lock on file "/w.duckdb": Conflicting lock is held in '
            "/usr/bin/python3.11 (PID 4242) by user ada. See also https://duckdb.org/docs/connect/concurrency",
            "PID 4242, /usr/bin/python3.11, user ada",
        ),
        (
            'IO Error: Could not set lock on file "/w.duckdb": Conflicting lock is held in '
            "/opt/dbt env/bin/python (PID 7). See also https://duckdb.org/docs/current/connect/concurrency",
            "PID 7, /opt/dbt env/bin/python",
        ),
        ("IO Error: Cannot open file", None),
    ],
)
def test_lock_holder_is_read_from_duckdbs_message(message: str, holder: str | None) -> None:
    assert lock_holder(message) == holder
