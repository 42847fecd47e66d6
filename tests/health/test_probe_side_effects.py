"""``floe validate`` creates and changes nothing: DuckDB settings with side effects on the
file system are not applied by the check, and setting values cannot inject lines (issue 16)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

#: DuckDB settings that create, write, or point reads at files: the probe must not apply them.
SIDE_EFFECTS = {
    "log_query_path": "queries.log",
    "temp_directory": "spill",
    "profile_output": "profile.json",
    "profiling_output": "profiling.json",
    "secret_directory": "secrets",
    "home_directory": "home",
}


def snapshot(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def validate(folder: Path, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    db = folder / "warehouse.duckdb"
    duckdb.connect(str(db)).close()
    lines = "".join(f"          {key}: {value!r}\n" for key, value in settings.items())
    (folder / "manifest.yaml").write_text(
        "version: 1\ncompute:\n  approved:\n    - name: warehouse\n      type: duckdb\n"
        f"      config:\n        path: {db}\n        settings:\n{lines}"
    )
    return subprocess.run(
        [sys.executable, "-m", "floe_hooks.cli", "validate", "manifest.yaml", "--format", "json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_log_query_path_is_not_applied_by_the_check_and_writes_nothing(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    before = snapshot(tmp_path)
    process = validate(tmp_path, {"log_query_path": str(victim)})
    assert process.returncode == 0, process.stderr
    assert victim.read_text() == "keep me\n"
    assert snapshot(tmp_path) == before | {"manifest.yaml", "warehouse.duckdb"}
    assert "log_query_path not applied by the check" in process.stdout


@pytest.mark.parametrize(("name", "value"), sorted(SIDE_EFFECTS.items()))
def test_no_setting_with_file_side_effects_is_applied(tmp_path: Path, name: str, value: str) -> None:
    """Table-driven: each setting that can touch files is named in a warning, not applied."""
    from floe_duckdb.health import PROBE_SAFE_SETTINGS

    assert name not in PROBE_SAFE_SETTINGS
    before = snapshot(tmp_path)
    process = validate(tmp_path, {name: str(tmp_path / value)})
    assert process.returncode == 0, process.stderr
    assert snapshot(tmp_path) == before | {"manifest.yaml", "warehouse.duckdb"}
    assert f"{name} not applied by the check" in process.stdout


def test_the_allow_list_holds_only_settings_duckdb_knows_or_loads_with_httpfs() -> None:
    from floe_duckdb.health import PROBE_SAFE_SETTINGS

    known = {
        name.lower() for (name,) in duckdb.connect().execute("select name from duckdb_settings()").fetchall()
    }
    if tuple(int(part) for part in duckdb.__version__.split(".")[:2]) < (2, 0):
        known |= {"enable_optimizer", "max_execution_time", "operator_memory_limit"}  # new in DuckDB 2.0
    if tuple(int(part) for part in duckdb.__version__.split(".")[:2]) < (1, 3):
        known |= {"enable_external_file_cache", "late_materialization_max_rows", "parquet_metadata_cache"}
    unknown = {n for n in PROBE_SAFE_SETTINGS if n not in known and not n.startswith(("s3_", "http_"))}
    assert not unknown
    for dangerous in (
        "log_query_path",
        "temp_directory",
        "enable_profiling",
        "logging_sink",
        "extension_directory",
    ):
        assert dangerous not in PROBE_SAFE_SETTINGS


@pytest.mark.parametrize("text", ["a\nb", "a\rb", "x\x00y", "line\u2028two", "tab\there"])
def test_a_setting_value_cannot_hold_a_line_break_or_control_character(tmp_path: Path, text: str) -> None:
    from floe_duckdb.config import DuckDBConfig
    from floe_hooks import ConfigError

    with pytest.raises(ConfigError, match="control character"):
        DuckDBConfig(settings={"custom_user_agent": text})
    with pytest.raises(ConfigError, match="control character"):
        DuckDBConfig(config_options={"custom_user_agent": text})
