"""Models validate what they hold and never show a secret."""

from __future__ import annotations

import pickle

import pytest

from floe_hooks import (
    ComputeConfig,
    ConfigError,
    ConnectionResult,
    ConnectionStatus,
    PluginMetadata,
    ResourceSpec,
    SecretRef,
    SecretValue,
    SqlStatement,
    profile_secret,
    secret_bindings,
    unstructure,
)
from floe_hooks._quantity import cpu_millicores, memory_bytes, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", 0.5),
        ("2", 2),
        ("1.5", 1.5),
        ("512Mi", 512 * 2**20),
        ("1G", 10**9),
        ("129e6", 129 * 10**6),
        (".5", 0.5),
    ],
)
def test_quantities_parse_exactly(text: str, value: float) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["lots", "", "1.2.3", "-1", "5 Gi", "1gi", "Mi", "1e", "0x10"])
def test_bad_quantities_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        parse_quantity(text)


def test_cpu_and_memory_conversions() -> None:
    assert cpu_millicores("2") == 2000
    assert cpu_millicores("0.0001") == 1  # rounded up like Kubernetes
    assert memory_bytes("1Gi") == 2**30


def test_presets_match_the_platform_design() -> None:
    assert ResourceSpec.preset("small").to_kubernetes() == {
        "requests": {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "100Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "500Mi"},
    }
    medium = ResourceSpec.preset("medium")
    assert (medium.cpu_request, medium.cpu_limit, medium.memory_request, medium.memory_limit) == (
        "500m",
        "2000m",
        "1Gi",
        "4Gi",
    )
    large = ResourceSpec.preset("large")
    assert (large.cpu_limit_millicores, large.memory_limit_bytes) == (8000, 16 * 2**30)
    assert (large.ephemeral_storage_request, large.ephemeral_storage_limit) == ("1Gi", "5Gi")


def test_request_above_limit_is_rejected_across_units() -> None:
    with pytest.raises(ConfigError) as info:
        ResourceSpec("100m", "1", "1.1Gi", "1100M")  # 1.1Gi = 1181116006 bytes > 1.1e9
    assert str(info.value) == "memory_request: 1.1Gi is greater than memory_limit 1100M"
    assert ResourceSpec("100m", "1", "1G", "1Gi").memory_request == "1G"


def test_unknown_preset_lists_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="allowed: small, medium, large"):
        ResourceSpec.preset("huge")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown workload size 'huge'; allowed: small, medium, large"):
        ComputeConfig(name="x", type="duckdb", resources="huge")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["Warehouse", "1st", "a-b", "", "a" * 64, "über"])
def test_compute_names_are_identifiers(name: str) -> None:
    with pytest.raises(ConfigError, match="is not a valid name"):
        ComputeConfig(name=name, type="duckdb")


def test_connection_result_status_from_string_and_ok() -> None:
    result = ConnectionResult(status="unhealthy", latency_ms=3)  # type: ignore[arg-type]
    assert result.status is ConnectionStatus.UNHEALTHY
    assert not result.ok
    with pytest.raises(ValueError, match="'sick' is not a valid ConnectionStatus"):
        ConnectionResult(status="sick", latency_ms=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="latency_ms: must be a finite number >= 0"):
        ConnectionResult(status="healthy", latency_ms=float("nan"))  # type: ignore[arg-type]


def test_secret_values_are_masked_everywhere() -> None:
    secret = SecretValue("hunter2-canary")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret} {secret!r} {[secret]} { ({'k': secret}) }"
    assert secret.reveal() == "hunter2-canary"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)


def test_sensitive_sql_is_masked_in_repr_str_and_unstructured_output() -> None:
    statement = SqlStatement("CREATE SECRET (CLIENT_SECRET 'hunter2')", sensitive=True)
    assert "hunter2" not in repr(statement)
    assert "hunter2" not in str(statement)
    assert "hunter2" not in str(unstructure(statement))
    assert str(SqlStatement("select 1")) == "select 1"


def test_secret_reference_needs_a_source() -> None:
    with pytest.raises(ConfigError, match=r"needs \{env: VAR\} or \{secret: NAME, key: KEY\}"):
        SecretRef()
    with pytest.raises(ConfigError, match="needs both 'secret' and 'key'"):
        SecretRef(secret="pg")
    with pytest.raises(ConfigError, match="env: must be an environment variable name") as caught:
        SecretRef(env="1BAD")
    assert "1BAD" not in str(caught.value)  # never echoed: it may be a pasted secret


def test_profile_secret_templates_use_compute_scoped_dbt_env_secret_variables() -> None:
    compute = ComputeConfig(
        name="pg_main", type="postgres", credentials={"password": SecretRef(env="PG_PASSWORD")}
    )
    assert profile_secret(compute, "password") == "{{ env_var('DBT_ENV_SECRET_PG_MAIN_PASSWORD') }}"
    (binding,) = secret_bindings(compute)
    assert (binding.path, binding.variable, binding.ref.env) == (
        "password",
        "DBT_ENV_SECRET_PG_MAIN_PASSWORD",
        "PG_PASSWORD",
    )
    with pytest.raises(ConfigError, match="compute 'pg_main' has no secret reference at 'token'"):
        profile_secret(compute, "token")


def test_plugin_metadata_validates_api_version_and_types() -> None:
    with pytest.raises(ConfigError, match='floe_api_version: must be "MAJOR.MINOR"'):
        PluginMetadata(name="x", version="1", floe_api_version="1", compute_types=("x",))
    with pytest.raises(ConfigError, match="compute_types: a plugin must serve at least one compute type"):
        PluginMetadata(name="x", version="1", floe_api_version="1.0", compute_types=())
    with pytest.raises(ConfigError, match="config_class: must be an attrs class"):
        PluginMetadata(name="x", version="1", floe_api_version="1.0", compute_types=("x",), config_class=dict)
