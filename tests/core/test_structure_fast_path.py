"""The cattrs-free structuring path builds exactly what the cattrs converter builds, and only that.

``floe_hooks._structure`` structures valid data with plain closures and gives up on
anything else, so that the cattrs converter explains the error. These tests hold it to the
converter: same objects, same container types, never a success where cattrs fails.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from catalog_site import catalog_manifest
from duckdb_samples import FULL
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_duckdb.config import DuckDBConfig
from floe_hooks import ComputeConfig, ConfigError, ResourceSpec, SecretRef, _convert, _structure
from floe_hooks._resolve import _ManifestFile
from floe_hooks.catalog import LakehouseCatalog
from floe_hooks.manager import PluginManager
from floe_hooks.manifest import KubernetesSettings, _ProductFile, load_manifest, load_product

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _shape(value: Any) -> Any:
    """``value`` with the type of every container and leaf spelled out, for exact comparison."""
    if attrs.has(type(value)):
        return (type(value), {a.name: _shape(getattr(value, a.name)) for a in attrs.fields(type(value))})
    if isinstance(value, Mapping):
        return (type(value), {k: _shape(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return (type(value), [_shape(v) for v in value])
    return (type(value), value)


def _agree(data: Any, cls: Any) -> None:
    """The fast path builds what cattrs builds, or gives up where cattrs raises."""
    made, fast = _structure._quick(copy.deepcopy(data), cls)
    try:
        slow = _convert.structure(copy.deepcopy(data), cls)
    except ConfigError:
        assert not made, f"the fast path accepted what cattrs refuses: {data!r}"
        return
    if made:
        assert fast == slow
        assert _shape(fast) == _shape(slow)


@pytest.mark.parametrize(
    "cls",
    [
        _ManifestFile,
        _ProductFile,
        KubernetesSettings,
        LakehouseCatalog,
        DuckDBConfig,
        ResourceSpec,
        SecretRef,
    ],
)
def test_every_model_of_a_manifest_has_a_fast_path(cls: type) -> None:
    assert _structure.hook_for(cls) is not None


def test_the_full_duckdb_config_is_built_as_cattrs_builds_it() -> None:
    made, fast = _structure._quick(FULL, DuckDBConfig)
    assert made
    assert _shape(fast) == _shape(_convert.structure(FULL, DuckDBConfig))


@pytest.mark.parametrize(
    "compute",
    [
        {"name": "w", "type": "duckdb"},
        {"name": "w", "type": "duckdb", "config": FULL, "threads": 4, "timeout_seconds": 2},
        {"name": "w", "type": "duckdb", "config": {"path": "w.duckdb"}, "resources": "large"},
        {
            "name": "w",
            "type": "duckdb",
            "credentials": {"token": {"env": "TOKEN"}, "key": {"secret": "s", "key": "k"}},
            "resources": {
                "cpu_request": "1",
                "cpu_limit": "2",
                "memory_request": "1Gi",
                "memory_limit": "2Gi",
            },
        },
    ],
)
def test_computes_are_built_as_cattrs_builds_them(compute: dict[str, Any]) -> None:
    classes = {"duckdb": DuckDBConfig}.get
    made, fast = _structure._quick_compute(copy.deepcopy(compute), classes)
    assert made
    slow = _convert.structure_compute(copy.deepcopy(compute), classes)
    assert _shape(fast) == _shape(slow)
    assert isinstance(fast, ComputeConfig)


def test_a_compute_without_a_config_class_keeps_its_config_as_a_mapping() -> None:
    compute = {"name": "w", "type": "other", "config": {"host": "h", "port": 5432}}
    made, fast = _structure._quick_compute(compute, lambda _: None)
    assert made
    assert _shape(fast) == _shape(_convert.structure_compute(compute, lambda _: None))


def test_a_config_class_lookup_that_fails_is_the_converters_located_error(empty_pm: PluginManager) -> None:
    # the lookup raises UnknownComputeTypeError; structuring reports it as the ConfigError it always was
    with pytest.raises(ConfigError, match="no installed compute plugin serves type 'nope'") as info:
        _structure.structure_compute({"name": "w", "type": "nope"}, empty_pm.config_class, file="m.yaml")
    assert (info.value.file, info.value.path) == ("m.yaml", None)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"path": 3}, "path"),  # a wrong type
        ({"threds": 3}, ""),  # an unknown key, named at the mapping holding it
        ({"threads": True}, "threads"),  # a boolean is not an integer
        ({"memory_limit": "lots"}, "memory_limit"),  # a validator refuses it
        ({"extensions": "httpfs"}, "extensions"),  # a string is not a list
        ({"attach": [{"alias": "a"}]}, "attach[0].path"),  # a required field is missing
        ({"remote": {"host": "h", "port": 1, "user": "u", "password": "hunter2"}}, "remote.password"),
    ],
)
def test_bad_data_is_left_to_cattrs_which_locates_it(data: dict[str, Any], path: str) -> None:
    assert _structure._quick(data, DuckDBConfig) == (False, None)
    with pytest.raises(ConfigError) as info:
        _structure.structure(data, DuckDBConfig, file="manifest.yaml", path="config")
    assert info.value.path == ".".join(p for p in ("config", path) if p)
    assert "hunter2" not in str(info.value)


def test_a_literal_secret_in_a_compute_config_is_left_to_cattrs() -> None:
    compute = {"name": "w", "type": "duckdb", "config": {"settings": {"s3_secret_access_key": "hunter2"}}}
    assert _structure._quick_compute(compute, {"duckdb": DuckDBConfig}.get) == (False, None)
    with pytest.raises(ConfigError) as info:
        _structure.structure_compute(compute, {"duckdb": DuckDBConfig}.get, file="m.yaml")
    assert info.value.path == "config.settings.s3_secret_access_key"
    assert "hunter2" not in str(info.value)


_leaves = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=4)
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_changed_config_is_built_as_cattrs_builds_it_or_left_to_cattrs(data: st.DataObject) -> None:
    config = copy.deepcopy(FULL)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(config)[1:]))
        *parents, last = path
        holder: Any = config
        for step in parents:
            holder = holder[step]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            holder[last] = data.draw(_values)
        elif action == "delete":
            del holder[last]
        elif isinstance(holder, dict):
            holder[data.draw(st.text(max_size=6))] = data.draw(_values)
        else:
            holder.append(data.draw(_values))
        if action != "replace":
            break  # the paths drawn from are stale now
    _agree(config, DuckDBConfig)


def _without_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_structure, "_quick", lambda data, cls: (False, None))
    monkeypatch.setattr(_structure, "_quick_compute", lambda data, classes: (False, None))


#: a platform manifest with every section: computes, environments, kubernetes, a lakehouse catalog
RICH_MANIFEST = catalog_manifest(
    "a",
    "{name: a, type: duckdb, threads: 2, config: {path: a.duckdb, extensions: [httpfs], settings: {x: 1}}}",
    "{name: b, type: duckdb, resources: small, credentials: {token: {env: B_TOKEN}}, config: {path: b.db}}",
) + textwrap.dedent(
    """
    environments:
      dev: {}
      prod:
        compute:
          a: {threads: 8, config: {memory_limit: 4GB}}
    kubernetes:
      image: registry.example/floe-dbt:1
      namespace: data
      labels: {team: analytics}
    """
)


def _load_both(
    manifest: Path, product: Path, pm: PluginManager, monkeypatch: pytest.MonkeyPatch
) -> list[Any]:
    loaded = []
    for fast in (True, False):
        with monkeypatch.context() as patch:
            if not fast:
                patch.setattr(_structure, "_quick", lambda data, cls: (False, None))
                patch.setattr(_structure, "_quick_compute", lambda data, classes: (False, None))
            loaded.append(
                [
                    *(load_manifest(manifest, env=env, manager=pm) for env in (None, "dev", "prod")),
                    load_product(product, manager=pm),
                ]
            )
    return loaded


def test_manifests_load_the_same_with_and_without_the_fast_path(
    tmp_path: Path, installed_pm: PluginManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "manifest.yaml").write_text(RICH_MANIFEST)
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "orders.sql").write_text("select 1 as id\n")
    (tmp_path / "floe.yaml").write_text(
        "name: shop\nplatform: manifest.yaml\ntransforms:\n  - {name: all, path: models, compute: b}\n"
    )
    quickstart = EXAMPLES / "quickstart"
    for manifest, product in [
        (tmp_path / "manifest.yaml", tmp_path / "floe.yaml"),
        (quickstart / "manifest.yaml", quickstart / "floe.yaml"),
    ]:
        fast, slow = _load_both(manifest, product, installed_pm, monkeypatch)
        assert fast == slow
        assert [_shape(m.computes) for m in fast[:3]] == [_shape(m.computes) for m in slow[:3]]


@attrs.frozen
class _Port:
    number: int


@attrs.frozen
class _PortConfig:
    port: _Port


def test_a_type_a_plugin_teaches_the_converter_is_left_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _structure.hook_for(_PortConfig) is not None
    monkeypatch.setattr(_structure, "_custom", set())
    monkeypatch.setattr(_structure, "_hooks", {})
    monkeypatch.setattr(_convert, "_converter", _convert._converter.copy())
    _convert.register_structure_hook(_Port, lambda value, _: _Port(int(value)))
    assert _structure.hook_for(_PortConfig) is None
    assert _structure.structure({"port": "5432"}, _PortConfig) == _PortConfig(_Port(5432))


def test_a_one_shot_validate_of_a_duckdb_file_does_not_import_cattrs(tmp_path: Path) -> None:
    import duckdb

    duckdb.connect(str(tmp_path / "w.duckdb")).close()
    (tmp_path / "manifest.yaml").write_text(
        textwrap.dedent(
            """
            compute:
              default: w
              approved:
                - {name: w, type: duckdb, config: {path: w.duckdb, threads: 2, settings: {memory_limit: 1GB}}}
            """
        )
    )
    code = (
        "import sys\nfrom floe_hooks.cli import main\nstatus = main(['validate', 'manifest.yaml'])\n"
        "print(status, 'cattrs' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stderr.strip().splitlines()[-1] == "0 False"
    assert " healthy " in result.stdout


@pytest.mark.parametrize(
    ("compute", "path"),
    [
        ({"credentials": {"a\nb": "lit"}}, "credentials.a\\nb"),
        ({"config": {"settings": {"s3\tkey": "x"}}}, "config.settings.s3\\tkey"),
        ({"config": {"attach": [{"path": "a", "options": {"k\ny": 1}}]}}, "config.attach[0].options.k\\ny"),
        ({"config": {"extension_repositories": {"a\rb": 3}}}, "config.extension_repositories.a\\rb"),
    ],
)
def test_a_key_holding_a_control_character_still_makes_a_one_line_error(
    compute: dict[str, Any], path: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _structure.structure_compute({"name": "w", "type": "duckdb", **compute}, {"duckdb": DuckDBConfig}.get)
    rendered = str(info.value)
    assert rendered.startswith(f"{path}: ")  # the path escaped when shown; the error keeps it as it is
    assert len(rendered.splitlines()) == 1
    assert info.value.path == path.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r")
