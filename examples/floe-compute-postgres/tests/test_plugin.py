"""What the Postgres plugin promises, checked without a server (tests/postgres has the real one)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import attrs
import floe_compute_postgres
import pytest
from floe_compute_postgres import PostgresConfig

from floe_hooks import ConfigError, ConnectionStatus, PluginManager, SecretValue
from floe_hooks.testing import make_compute

SAMPLE = {"host": "127.0.0.1", "user": "floe", "dbname": "analytics"}
PASSWORD = {"password": {"env": "PG_PASSWORD"}}


@pytest.fixture
def pm() -> PluginManager:
    manager = PluginManager(autoload=False, strict=True)
    manager.register(floe_compute_postgres)
    return manager


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_every_typed_setting_reaches_the_profile(pm: PluginManager) -> None:
    config = {
        **SAMPLE,
        "port": 6543,
        "schema": "marts",
        "sslmode": "verify-full",
        "connect_timeout": 7,
        "keepalives_idle": 45,
        "search_path": "marts,public",
        "retries": 5,
    }
    compute = make_compute(pm, "postgres", config, name="pg", credentials=PASSWORD, threads=8)
    assert pm.generate_profile(compute) == {
        "type": "postgres",
        "host": "127.0.0.1",
        "port": 6543,
        "user": "floe",
        "password": "{{ env_var('DBT_ENV_SECRET_PG_PASSWORD') }}",
        "dbname": "analytics",
        "schema": "marts",
        "threads": 8,
        "sslmode": "verify-full",
        "connect_timeout": 7,
        "keepalives_idle": 45,
        "search_path": "marts,public",
        "retries": 5,
    }


def test_defaults_are_dbt_postgres_defaults(pm: PluginManager) -> None:
    compute = make_compute(pm, "postgres", SAMPLE, credentials=PASSWORD)
    assert compute.config == PostgresConfig(host="127.0.0.1", user="floe", dbname="analytics")
    profile = pm.generate_profile(compute)
    assert (profile["port"], profile["schema"], profile["connect_timeout"], profile["retries"]) == (
        5432,
        "public",
        10,
        1,
    )
    assert "search_path" not in profile


def test_two_computes_read_two_variables(pm: PluginManager) -> None:
    first = make_compute(pm, "postgres", SAMPLE, name="pg_eu", credentials=PASSWORD)
    second = make_compute(pm, "postgres", SAMPLE, name="pg_us", credentials=PASSWORD)
    assert pm.generate_profile(first)["password"] != pm.generate_profile(second)["password"]


def test_kubernetes_secret_reference_becomes_the_same_template(pm: PluginManager) -> None:
    credentials = {"password": {"secret": "pg-credentials", "key": "password"}}
    compute = make_compute(pm, "postgres", SAMPLE, name="pg", credentials=credentials)
    assert pm.generate_profile(compute)["password"] == "{{ env_var('DBT_ENV_SECRET_PG_PASSWORD') }}"


def test_missing_password_reference_is_a_config_error(pm: PluginManager) -> None:
    compute = make_compute(pm, "postgres", SAMPLE)
    with pytest.raises(ConfigError, match=r"credentials\.password"):
        pm.generate_profile(compute)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"port": 0}, "config.port"),
        ({"port": 70000}, "config.port"),
        ({"sslmode": "sometimes"}, "config.sslmode"),
        ({"connect_timeout": 0}, "config.connect_timeout"),
        ({"retries": -1}, "config.retries"),
        ({"host": " "}, "config.host"),
        ({"port": "5432"}, "config.port"),
    ],
)
def test_bad_settings_name_their_field(pm: PluginManager, change: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_compute(pm, "postgres", {**SAMPLE, **change}, credentials=PASSWORD)
    assert caught.value.path == path


def test_missing_required_setting_is_reported(pm: PluginManager) -> None:
    with pytest.raises(ConfigError) as caught:
        make_compute(pm, "postgres", {"host": "db"}, credentials=PASSWORD)
    assert (caught.value.path or "").startswith("config.")


def test_small_pods_by_default_and_the_manifest_wins(pm: PluginManager) -> None:
    compute = make_compute(pm, "postgres", SAMPLE, credentials=PASSWORD)
    spec = pm.resource_requirements(compute)
    assert (spec.cpu_request, spec.cpu_limit, spec.memory_request, spec.memory_limit) == (
        "100m",
        "500m",
        "256Mi",
        "512Mi",
    )
    assert pm.resource_requirements(attrs.evolve(compute, resources="large")).memory_limit == "16Gi"


def test_silent_server_is_unhealthy_within_a_short_timeout(pm: PluginManager, silent_port: int) -> None:
    """libpq would wait at least 2 s; the check keeps a 0.3 s budget."""
    compute = make_compute(pm, "postgres", {**SAMPLE, "port": silent_port}, credentials=PASSWORD)
    results = []
    worker = threading.Thread(
        target=lambda: results.append(
            pm.validate_connection(compute, timeout=0.3, secrets={"password": SecretValue("s3cret-pw")})
        ),
        daemon=True,
    )
    worker.start()
    worker.join(1.5)  # well under libpq's 2 s minimum
    assert not worker.is_alive()
    (result,) = results
    assert result.status is ConnectionStatus.UNHEALTHY
    assert "timed out" in result.message
    assert f"{silent_port}" in result.message


def test_connection_timeout_setting_bounds_the_check(pm: PluginManager, silent_port: int) -> None:
    """A manifest's connect_timeout smaller than the framework's timeout is the budget."""
    config = {**SAMPLE, "port": silent_port, "connect_timeout": 1}
    compute = make_compute(pm, "postgres", config, credentials=PASSWORD)
    result = pm.validate_connection(compute, timeout=30, secrets={"password": SecretValue("s3cret-pw")})
    assert result.status is ConnectionStatus.UNHEALTHY
    assert "within 1 s" in result.message


def test_metadata_names_the_adapter(pm: PluginManager) -> None:
    meta = pm.plugin_for("postgres").metadata
    assert (meta.dbt_adapter or "").startswith("dbt-postgres")
    assert meta.config_class is PostgresConfig


def test_driver_and_asyncio_are_not_imported_by_loading_the_plugin() -> None:
    import subprocess
    import sys

    code = (
        "import sys, floe_hooks; pm = floe_hooks.PluginManager(); pm.load(); "
        "assert 'postgres' in [p.name for p in pm.plugins]; "
        "print('psycopg' in sys.modules, 'asyncio' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_listed_by_floe_plugins() -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    floe = Path(sys.executable).with_name("floe")
    out = subprocess.run(
        [str(floe), "plugins", "--format", "json"], capture_output=True, text=True, check=False
    )
    rows = {row["name"]: row for row in json.loads(out.stdout)["plugins"]}
    assert rows["postgres"]["status"] == "ok"
    assert rows["postgres"]["distribution"] == "floe-compute-postgres"
    assert rows["postgres"]["dbt_adapter"] == "dbt-postgres>=1.9,<2"
    assert out.returncode == 0, out.stderr
