"""The YAML reader agrees with yaml.safe_load; plugin "
"failures during compile are located; the example compiles."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from floe_hooks import (
    ConfigError,
    PluginContractError,
    PluginManager,
    compile_file,
    compile_product,
    load_product,
)
from floe_hooks._yaml import read_yaml
from floe_hooks.testing import make_plugin

from .conftest import Project, error

DOCUMENTS = [
    "a: 1\nb: [1, 2.5, true, null, ~, 2026-01-01, '3', 0x10, .inf]\nc: {d: e}\n",
    "base: &base {x: 1, y: [1, 2]}\ncopy: *base\nmerged: {<<: *base, z: 3}\n",
    "list: &l [a, b]\nagain: *l\n'1': a\n1: b\n",
    "text: |\n  multi\n  line\nfolded: >\n  one\n  two\n",
    "",
    "- just\n- a list\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_reader_agrees_with_safe_load(text: str, tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    assert read_yaml(path, "f.yaml") == yaml.safe_load(text)


def test_reader_refuses_duplicates_inside_merged_mappings(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("base: &b {x: 1}\nm: {<<: *b, y: 1, y: 2}\n")
    assert error(lambda: read_yaml(path, "f.yaml")) == "f.yaml: line 2, column 19: duplicate key 'y'"


def test_reader_refuses_python_tags(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("x: !!python/object/apply:os.system ['true']\n")
    assert error(lambda: read_yaml(path, "f.yaml")).startswith(
        "f.yaml: line 1, column 4: could not determine a constructor for the tag"
    )


def _plugin(profile: object = None, raises: Exception | None = None) -> types.ModuleType:
    def generate_profile() -> object:
        if raises is not None:
            raise raises
        return profile

    return make_plugin("odd", version="1", generate_profile=generate_profile)


@pytest.fixture
def odd_product(project: Project) -> Path:
    project.write(
        "manifest.yaml",
        "compute:\n  approved: [duckdb, {name: weird, type: odd, config: {a: 1}}]\n  default: duckdb\n",
    )
    return project.product()


def test_a_config_error_from_a_plugin_is_located_in_the_manifest(odd_product: Path) -> None:
    pm = PluginManager(strict=False)
    pm.register(_plugin(raises=ConfigError("must be set with b", path="config.a")), name="odd")
    product = load_product(odd_product, manager=pm)
    assert error(lambda: compile_product(product, manager=pm)) == (
        "manifest.yaml: compute.approved[name=weird].config.a: must be set with b"
    )


def test_a_profile_that_is_not_yaml_data_breaks_the_contract(odd_product: Path) -> None:
    pm = PluginManager(strict=False)
    pm.register(_plugin(profile={"type": "odd", "when": object()}), name="odd")
    product = load_product(odd_product, manager=pm)
    with pytest.raises(
        PluginContractError, match=r"generate_profile for compute 'weird': profile.when is a object"
    ):
        compile_product(product, manager=pm)


def test_untyped_plugin_config_is_kept_as_a_mapping(odd_product: Path) -> None:
    pm = PluginManager(strict=False)
    pm.register(_plugin(profile={"type": "odd"}), name="odd")
    compiled = compile_product(load_product(odd_product, manager=pm), manager=pm)
    assert compiled.compute("weird").compute.config == {"a": 1}
    assert compiled.artifacts["computes"]["weird"]["dbt_adapter"] is None


def test_the_quickstart_example_compiles(tmp_path: Path, installed_pm: PluginManager) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    root = tmp_path / "quickstart"
    shutil.copytree(example, root, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    for env in (None, "dev", "prod"):
        compiled = compile_file(root / "floe.yaml", env=env, manager=installed_pm)
        assert [(s.compute, s.select) for s in compiled.run_plan] == [
            ("ingest", ("path:seeds", "path:models/staging")),
            ("warehouse", ("path:models/marts/customer_revenue.sql",)),
        ]
    assert (root / "target" / "floe" / "profiles.yml").is_file()
    prod = yaml.safe_load((root / "target" / "floe" / "profiles.yml").read_text())["quickstart"]["outputs"]
    assert prod["warehouse"]["threads"] == 8
    assert prod["warehouse"]["attach"] == [{"path": "ingest.duckdb", "alias": "ingest", "read_only": True}]


def test_importing_floe_hooks_loads_neither_yaml_nor_cattrs() -> None:
    code = (
        "import sys, floe_hooks; floe_hooks.__all__; "
        "print(sorted(m for m in ('yaml', 'cattrs', 'floe_hooks.manifest', "
        "'floe_hooks.compile') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_two_secrets_may_not_share_a_dbt_variable(project: Project, pm: PluginManager) -> None:
    project.write(
        "manifest.yaml",
        """
        compute:
          default: a_b
          approved:
            - {name: a_b, type: fakepg, config: {host: h}, credentials: {c: {env: ONE}, password: {env: PW}}}
            - {name: a, type: fakepg, config: {host: h}, credentials: {b_c: {env: TWO}, password: {env: PW}}}
        """,
    )
    product = load_product(project.product(), manager=pm)
    assert error(lambda: compile_product(product, manager=pm)) == (
        "manifest.yaml: compute.approved[name=a].credentials.b_c: its dbt variable DBT_ENV_SECRET_A_B_C is "
        "also the variable of 'c' of compute 'a_b', which another reference feeds; rename one of the computes"
    )


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _json_values, max_size=6))
def test_artifact_layout_is_json_that_reads_back_unchanged(data: dict[str, object]) -> None:
    from floe_hooks.compile import _json_lines

    assert json.loads(_json_lines(data)) == data
