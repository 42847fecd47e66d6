"""The converter: located one-line errors, strictness, and round trips for every model."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_duckdb import DuckDBConfig
from floe_hooks import (
    CatalogConfig,
    ComputeConfig,
    ConfigError,
    ConnectionResult,
    ConnectionStatus,
    PluginMetadata,
    ResourceSpec,
    SecretRef,
    SqlStatement,
    structure,
    unstructure,
)
from floe_hooks._convert import structure_compute

names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
env_names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,20}", fullmatch=True)
secret_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True)
text = st.text(string.printable, max_size=30)

secret_refs = st.one_of(
    st.builds(SecretRef, env=env_names),
    st.builds(SecretRef, secret=secret_names, key=st.from_regex(r"[-._a-zA-Z0-9]{1,10}", fullmatch=True)),
    st.builds(SecretRef, env=env_names, secret=secret_names, key=st.just("password")),
)


@st.composite
def resource_specs(draw: st.DrawFn) -> ResourceSpec:
    def pair(unit: str) -> tuple[str, str]:
        low = draw(st.integers(0, 5000))
        high = draw(st.integers(low, 10000))
        return f"{low}{unit}", f"{high}{unit}"

    cpu, mem = pair("m"), pair("Mi")
    eph = draw(st.one_of(st.none(), st.just(pair("Gi"))))
    return ResourceSpec(*cpu, *mem, *(eph or (None, None)))


computes = st.builds(
    ComputeConfig,
    name=names,
    type=names,
    threads=st.one_of(st.none(), st.integers(1, 64)),
    timeout_seconds=st.one_of(st.none(), st.floats(0.001, 3600)),
    config=st.one_of(st.none(), st.dictionaries(names, st.one_of(text, st.integers()), max_size=3)),
    credentials=st.dictionaries(names, secret_refs, max_size=3),
    resources=st.one_of(st.none(), st.sampled_from(["small", "medium", "large"]), resource_specs()),
)

models: list[tuple[type, st.SearchStrategy[Any]]] = [
    (SecretRef, secret_refs),
    (ResourceSpec, resource_specs()),
    (ComputeConfig, computes),
    (
        ConnectionResult,
        st.builds(
            ConnectionResult,
            status=st.sampled_from(list(ConnectionStatus)),
            latency_ms=st.floats(0, 1e6),
            message=text,
            warnings=st.lists(text, max_size=3).map(tuple),
            details=st.dictionaries(names, text, max_size=3),
            compute=st.one_of(st.none(), names),
        ),
    ),
    (
        PluginMetadata,
        st.builds(
            PluginMetadata,
            name=names,
            version=text,
            floe_api_version=st.from_regex(r"(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)", fullmatch=True),
            compute_types=st.lists(names, min_size=1, max_size=3).map(tuple),
            description=text,
            dbt_adapter=st.one_of(st.none(), text),
            config_class=st.sampled_from([None, DuckDBConfig]),
        ),
    ),
    (
        CatalogConfig,
        st.builds(
            CatalogConfig,
            name=names,
            uri=text,
            warehouse=st.one_of(st.none(), text),
            client_id=st.one_of(st.none(), secret_refs),
            client_secret=st.one_of(st.none(), secret_refs),
        ),
    ),
    (SqlStatement, st.builds(SqlStatement, sql=text, sensitive=st.just(False))),
]


@pytest.mark.parametrize(("cls", "strategy"), models, ids=[m[0].__name__ for m in models])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_structure_of_unstructure_is_identity(cls: type, strategy: st.SearchStrategy[Any], data: Any) -> None:
    value = data.draw(strategy)
    assert structure(unstructure(value), cls) == value


def test_typed_plugin_config_round_trips_through_structure_compute() -> None:
    compute = structure_compute(
        {"name": "wh", "type": "duckdb", "config": {"path": "x.duckdb"}}, lambda t: DuckDBConfig
    )
    assert isinstance(compute.config, DuckDBConfig)
    assert structure_compute(unstructure(compute), lambda t: DuckDBConfig) == compute


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=10)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)

structured_input = st.one_of(
    json_like,
    st.fixed_dictionaries(
        {"name": st.one_of(names, json_like), "type": st.one_of(names, json_like)},
        optional={
            "threads": json_like,
            "timeout_seconds": json_like,
            "credentials": st.one_of(json_like, st.dictionaries(names, json_like, max_size=2)),
            "resources": st.one_of(json_like, st.sampled_from(["small", "huge"])),
            "config": json_like,
        },
    ),
)


@pytest.mark.parametrize("cls", [m[0] for m in models])
@settings(max_examples=150, deadline=None)
@given(data=structured_input)
def test_arbitrary_input_raises_nothing_but_config_error(cls: type, data: Any) -> None:
    try:
        result = structure(data, cls, file="f.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("f.yaml: ")
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, cls)


@settings(max_examples=150, deadline=None)
@given(data=structured_input)
def test_arbitrary_compute_with_typed_config_raises_nothing_but_config_error(data: Any) -> None:
    try:
        structure_compute(data, lambda t: DuckDBConfig, file="m.yaml", path="compute.approved[0]")
    except ConfigError as exc:
        assert str(exc).startswith("m.yaml: compute.approved[0]")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "pg", "type": "postgres", "threds": 4},
            "compute.approved[1]: unknown key 'threds'; allowed: ",
        ),
        (
            {"name": "pg", "type": "postgres", "threads": "4"},
            "compute.approved[1].threads: expected an integer, got a string",
        ),
        (
            {"name": "pg", "type": "postgres", "threads": True},
            "compute.approved[1].threads: expected an integer, got a boolean",
        ),
        (
            {"name": "pg", "type": "postgres", "threads": 0},
            "compute.approved[1].threads: must be from 1 to 1024, got 0",
        ),
        ({"type": "postgres"}, "compute.approved[1].name: required field is missing"),
        ({"name": "Pg", "type": "postgres"}, "compute.approved[1].name: 'Pg' is not a valid name"),
        (
            {"name": "pg", "type": "postgres", "resources": "huge"},
            "compute.approved[1].resources: unknown workload size 'huge'",
        ),
        (
            {
                "name": "pg",
                "type": "postgres",
                "resources": {
                    "cpu_request": "lots",
                    "cpu_limit": "1",
                    "memory_request": "1",
                    "memory_limit": "1",
                },
            },
            "compute.approved[1].resources.cpu_request: 'lots' is not a Kubernetes quantity",
        ),
        (
            {"name": "pg", "type": "postgres", "credentials": {"password": {"env": "X", "extra": 1}}},
            "compute.approved[1].credentials.password: unknown key 'extra'; allowed: env, key, secret",
        ),
        (
            {"name": "pg", "type": "postgres", "credentials": ["x"]},
            "compute.approved[1].credentials: expected a mapping, got a list",
        ),
        (
            {"name": "w", "type": "duckdb", "config": {"pth": "x"}},
            "compute.approved[1].config: unknown key 'pth'",
        ),
        (
            {"name": "w", "type": "duckdb", "config": "x"},
            "compute.approved[1].config: expected a mapping, got a string",
        ),
        (["a"], "compute.approved[1]: expected a mapping, got a list"),
    ],
)
def test_errors_are_one_line_with_file_and_dotted_path(data: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        structure_compute(
            data, lambda t: DuckDBConfig if t == "duckdb" else None, file="m.yaml", path="compute.approved[1]"
        )
    assert str(info.value).startswith(f"m.yaml: {message}")
    assert "\n" not in str(info.value)


def test_a_literal_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        structure_compute(
            {"name": "pg", "type": "postgres", "credentials": {"password": "hunter2-canary"}},
            lambda t: None,
            file="m.yaml",
        )
    assert str(info.value) == (
        "m.yaml: credentials.password: a literal secret value is not allowed here; "
        "use {env: VAR} or {secret: NAME, key: KEY}"
    )


def test_a_string_is_never_taken_for_a_list() -> None:
    with pytest.raises(ConfigError, match="compute_types: expected a list, got a string"):
        structure(
            {"name": "x", "version": "1", "floe_api_version": "1.0", "compute_types": "duckdb"},
            PluginMetadata,
        )


def test_unstructured_secret_refs_omit_unset_fields() -> None:
    assert unstructure(SecretRef(env="PG")) == {"env": "PG"}
