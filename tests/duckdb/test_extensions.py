"""floe_duckdb.extensions: filling a local extension_directory from PyPI wheels."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from floe_duckdb.extensions import link_wheel_extensions, main


def test_a_missing_wheel_is_named_with_the_pin_to_install(tmp_path: Path) -> None:
    version = duckdb.execute("select library_version from pragma_version()").fetchall()[0][0]
    with pytest.raises(LookupError) as info:
        link_wheel_extensions(tmp_path / "ext", ["no_such_extension"])
    assert str(info.value) == (
        f"no installed wheel provides no_such_extension for DuckDB {version}; "
        f"pip install duckdb-extension-no-such-extension=={version.lstrip('v')}"
    )
    assert not (tmp_path / "ext").exists()


def test_the_command_line_reports_errors_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path), "no_such_extension"]) == 2
    assert capsys.readouterr().err.startswith("floe_duckdb.extensions: error: no installed wheel provides")
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert "usage: python -m floe_duckdb.extensions" in capsys.readouterr().out
