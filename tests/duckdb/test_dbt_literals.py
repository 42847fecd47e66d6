"""The real dbt, run on a profiles.yml from ``floe compile``, takes manifest text literally.

dbt renders every string of ``profiles.yml`` as Jinja. A DuckDB path and a setting whose
manifest text is Jinja (one ending with a newline, which Jinja would drop) must reach
DuckDB as that text: the database file dbt creates has the literal name, and the setting
holds the literal value.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from floe_hooks import PluginManager, compile_product, load_product

from ._dbt import PROFILE_NAME, PROJECT, assert_ok, dbt

pytestmark = pytest.mark.dbt

# one line: a setting value with a line break is refused when the manifest is loaded
JINJA_SETTING = "{{ env_var('HOME') }} {% if true %}x{% endif %} {# c #} $(id) 'q'"


def compile_into(workdir: Path, pm: PluginManager, config: dict[str, Any]) -> None:
    """``floe compile`` of one DuckDB compute: its profiles.yml and the dbt project, in ``workdir``."""
    compute = {"name": "warehouse", "type": "duckdb", "config": {"schema": "analytics", **config}}
    (workdir / "manifest.yaml").write_text(yaml.safe_dump({"version": 1, "compute": {"approved": [compute]}}))
    product = {
        "name": PROFILE_NAME,
        "platform": "manifest.yaml",
        "transforms": [{"name": "numbers", "path": "models/numbers.sql"}],
    }
    (workdir / "floe.yaml").write_text(yaml.safe_dump(product))
    compiled = compile_product(load_product(workdir / "floe.yaml", manager=pm), manager=pm)
    (workdir / "profiles.yml").write_text(compiled.profiles_yml, encoding="utf-8")
    shutil.copytree(PROJECT, workdir / "project")


def test_dbt_debug_opens_the_file_whose_name_is_literally_an_env_var_call(
    tmp_path: Path, installed_pm: PluginManager
) -> None:
    name = "warehouse {{ env_var('HOME') }}.duckdb"
    compile_into(tmp_path, installed_pm, {"path": str(tmp_path / name)})
    assert_ok(dbt(tmp_path, "debug"), "All checks passed!")
    assert (tmp_path / name).is_file()
    assert sorted(p.name for p in tmp_path.glob("*.duckdb")) == [name]


def test_dbt_run_writes_to_the_literal_file_with_the_literal_setting(
    tmp_path: Path, installed_pm: PluginManager
) -> None:
    # no quote in this file name: dbt-duckdb writes the catalog name into SQL unescaped
    name = "warehouse {{ 6 * 7 }} {% if true %}x{% endif %}.duckdb"
    temp_directory = str(tmp_path / JINJA_SETTING)
    compile_into(
        tmp_path, installed_pm, {"path": str(tmp_path / name), "settings": {"temp_directory": temp_directory}}
    )
    (tmp_path / "project" / "models" / "setting.sql").write_text(
        "select current_setting('temp_directory') as temp_directory\n"
    )
    assert_ok(dbt(tmp_path, "run", "--select", "numbers", "setting"), "Completed successfully")
    assert sorted(p.name for p in tmp_path.glob("*.duckdb")) == [name]
    with duckdb.connect(str(tmp_path / name), read_only=True) as conn:
        assert conn.execute("select count(*) from analytics.numbers").fetchone() == (10,)
        assert conn.execute("select temp_directory from analytics.setting").fetchone() == (temp_directory,)
