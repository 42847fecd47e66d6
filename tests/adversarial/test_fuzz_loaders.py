"""Fuzzing the loaders: any YAML-shaped input either compiles or raises ConfigError, nothing else.

Documents are drawn from mappings, lists and scalars whose keys come mostly from the
files' real vocabulary (so the fuzzer reaches the converter, governance and the DuckDB
plugin's config, not only "unknown key"), dumped with PyYAML, written as
``manifest.yaml`` or ``floe.yaml`` beside a valid partner, then loaded and compiled.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from floe_hooks import ConfigError, PluginManager, compile_product, load_product

VOCABULARY = [
    # manifest.yaml
    "version", "extends", "compute", "default", "approved", "environments", "kubernetes",
    "name", "type", "threads", "timeout_seconds", "config", "credentials", "resources",
    "env", "secret", "key", "cpu_request", "cpu_limit", "memory_request", "memory_limit",
    "image", "namespace", "labels", "backoff_limit",
    # DuckDB config
    "path", "schema", "memory_limit", "extensions", "settings", "attach", "alias", "read_only",
    "plugins", "module", "options", "secrets", "retries", "filesystems", "fs",
    # floe.yaml
    "platform", "transforms",
    # values that mean something
    "duckdb", "warehouse", "prod", "small", "large", "manifest.yaml", "models/marts",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(VOCABULARY),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=8), st.integers(-3, 3), st.booleans())
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)

MANIFEST = {"version": 1, "compute": {"approved": ["duckdb"]}}
PRODUCT = {
    "name": "analytics",
    "platform": "manifest.yaml",
    "transforms": [{"name": "m", "path": "models/m"}],
}


def _compile(manifest: Any, product: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True))
        (root / "floe.yaml").write_text(yaml.safe_dump(product, allow_unicode=True))
        manager = PluginManager(strict=False)
        try:
            compile_product(load_product(root / "floe.yaml", manager=manager), manager=manager)
        except ConfigError as exc:
            assert "\n" not in str(exc)
            assert str(exc).startswith(str(root)), str(exc)  # located in one of the files


FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(documents)
def test_any_manifest_compiles_or_raises_config_error(data: Any) -> None:
    _compile(data, PRODUCT)


@FUZZ
@given(documents)
def test_any_floe_yaml_compiles_or_raises_config_error(data: Any) -> None:
    _compile(MANIFEST, data)


@FUZZ
@given(documents, st.sampled_from(["config", "credentials", "resources", "threads", "name", "type"]))
def test_any_compute_entry_compiles_or_raises_config_error(data: Any, field: str) -> None:
    entry = {"name": "warehouse", "type": "duckdb", field: data}
    _compile({"version": 1, "compute": {"approved": [entry]}}, PRODUCT)


@FUZZ
@given(st.dictionaries(st.sampled_from(VOCABULARY), documents, max_size=6))
def test_any_duckdb_config_compiles_or_raises_config_error(config: dict[str, Any]) -> None:
    entry = {"name": "warehouse", "type": "duckdb", "config": config}
    _compile({"version": 1, "compute": {"approved": [entry]}}, PRODUCT)


@FUZZ
@given(documents, documents)
@example(overlay={"\n": None}, kube={})  # an unknown key holding a line break: still one line
def test_any_environment_overlay_compiles_or_raises_config_error(overlay: Any, kube: Any) -> None:
    manifest = {
        "version": 1,
        "compute": {"approved": ["duckdb"]},
        "environments": {"prod": {"compute": {"duckdb": overlay}, "kubernetes": kube}},
    }
    _compile(manifest, PRODUCT)


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(VOCABULARY), documents, max_size=4), max_size=4))
def test_any_transform_list_compiles_or_raises_config_error(transforms: list[dict[str, Any]]) -> None:
    _compile(MANIFEST, {**PRODUCT, "transforms": transforms})


TOKENS = [*"abcxyz019-_:.,[]{}&*!|>#%@`'\"? \n\t\\/~+\u2028", "2026-02-30", "!!", "<<", "!!int ", "!!bool "]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@FUZZ
@given(YAMLISH)
def test_any_text_as_a_manifest_compiles_or_raises_config_error(text: str) -> None:
    """Raw text, not dumped data: reaches the scanner, tags, timestamps and merge keys."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "manifest.yaml").write_text("version: 1\ncompute:\n  approved: [duckdb]\nkubernetes: " + text)
        (root / "floe.yaml").write_text(yaml.safe_dump(PRODUCT))
        manager = PluginManager(strict=False)
        try:
            compile_product(load_product(root / "floe.yaml", manager=manager), manager=manager)
        except ConfigError as exc:
            assert "\n" not in str(exc)


@FUZZ
@given(YAMLISH)
def test_any_text_as_a_floe_yaml_compiles_or_raises_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "manifest.yaml").write_text(yaml.safe_dump(MANIFEST))
        (root / "floe.yaml").write_text(text)
        manager = PluginManager(strict=False)
        try:
            compile_product(load_product(root / "floe.yaml", manager=manager), manager=manager)
        except ConfigError as exc:
            assert "\n" not in str(exc)
