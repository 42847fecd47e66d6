"""floe_compute_postgres: a PostgreSQL compute for floe, written as a third-party plugin.

Everything here comes from the public ``floe_hooks`` API; the distribution registers
this module under the ``floe.computes`` entry-point group (``postgres =
floe_compute_postgres``), so ``pip install`` is all it takes for ``floe plugins`` to
list it. A compute in ``manifest.yaml``::

    - name: pg
      type: postgres
      config: {host: db.internal, port: 5432, user: floe, dbname: analytics, schema: marts}
      credentials: {password: {env: PG_PASSWORD}}

dbt gets a dbt-postgres output whose password is ``{{ env_var('DBT_ENV_SECRET_PG_PASSWORD') }}``;
``floe validate`` connects with psycopg (imported only inside the check), runs a
one-row probe and reports latency and the server version.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import attrs

from floe_hooks import (
    ComputeConfig,
    ConfigError,
    ConnectionResult,
    ConnectionStatus,
    PluginMetadata,
    ResourceSpec,
    SecretValue,
    hookimpl,
    profile_secret,
)

__version__ = "0.1.0"
__all__ = ["SSL_MODES", "PostgresConfig", "__version__"]

#: The API version this plugin was written against (not the framework's current one).
FLOE_API = "1.1"  # 1.1: it declares catalog_types (none)

#: libpq's ``sslmode`` values, weakest first.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

_MASK = "**********"


def _non_empty(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip():
        raise ConfigError("must not be empty", path=attribute.name)


def _port(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if not 1 <= value <= 65535:
        raise ConfigError(f"must be a TCP port between 1 and 65535, got {value}", path=attribute.name)


def _at_least(minimum: int) -> Any:
    def check(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
        if value < minimum:
            raise ConfigError(f"must be at least {minimum}, got {value}", path=attribute.name)

    return check


def _sslmode(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in SSL_MODES:
        raise ConfigError(f"unknown sslmode {value!r}; allowed: {', '.join(SSL_MODES)}", path=attribute.name)


@attrs.frozen
class PostgresConfig:
    """The ``config:`` block of a ``postgres`` compute: dbt-postgres's connection fields.

    The password is not here: it is a credential (``credentials: {password: {env: VAR}}``
    or ``{secret: NAME, key: KEY}``) and reaches dbt as an ``env_var()`` template.

    :ivar host: server host name or address.
    :ivar user: the role dbt and the health check log in as.
    :ivar dbname: the database.
    :ivar port: TCP port (5432).
    :ivar schema: the schema dbt builds into (``public``).
    :ivar sslmode: libpq ``sslmode`` (``prefer``).
    :ivar connect_timeout: seconds dbt waits for a connection (10); the health check
        uses the smaller of this and the framework's timeout.
    :ivar keepalives_idle: seconds of idleness before TCP keepalives (0: the OS default).
    :ivar search_path: the session ``search_path`` dbt sets, if any.
    :ivar retries: how often dbt retries a failed connection (1).
    """

    host: str = attrs.field(validator=_non_empty)
    user: str = attrs.field(validator=_non_empty)
    dbname: str = attrs.field(validator=_non_empty)
    port: int = attrs.field(default=5432, validator=_port)
    schema: str = attrs.field(default="public", validator=_non_empty)
    sslmode: str = attrs.field(default="prefer", validator=_sslmode)
    connect_timeout: int = attrs.field(default=10, validator=_at_least(1))
    keepalives_idle: int = attrs.field(default=0, validator=_at_least(0))
    search_path: str | None = None
    retries: int = attrs.field(default=1, validator=_at_least(0))


@hookimpl
def plugin_metadata() -> PluginMetadata:
    """Who this plugin is and what it serves."""
    return PluginMetadata(
        name="postgres",
        version=__version__,
        floe_api_version=FLOE_API,
        compute_types=("postgres",),
        description="PostgreSQL through dbt-postgres; psycopg health check",
        dbt_adapter="dbt-postgres>=1.9,<2",
        config_class=PostgresConfig,
        # No lakehouse catalog: PostgreSQL cannot attach DuckLake or Iceberg REST through
        # dbt-postgres, so `floe run` refuses an edge from another compute into this one
        # (floe_hooks.catalog.edge_problem) instead of failing inside dbt. API 1.1 field.
        catalog_types=(),
    )


def _config(compute: ComputeConfig) -> PostgresConfig:
    if not isinstance(compute.config, PostgresConfig):
        raise ConfigError(
            f"compute {compute.name!r} needs a config block with host, user and dbname", path="config"
        )
    return compute.config


@hookimpl
def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
    """A dbt-postgres output; the password is an ``env_var()`` template, never a value."""
    cfg = _config(compute)
    if "password" not in compute.credentials:
        raise ConfigError(
            "a postgres compute needs credentials.password: {env: VAR} or {secret: NAME, key: KEY}",
            path="credentials.password",
        )
    out: dict[str, Any] = {
        "type": "postgres",
        "host": cfg.host,
        "port": cfg.port,
        "user": cfg.user,
        "password": profile_secret(compute, "password"),
        "dbname": cfg.dbname,
        "schema": cfg.schema,
        "threads": compute.threads or 4,
        "sslmode": cfg.sslmode,
        "connect_timeout": cfg.connect_timeout,
        "keepalives_idle": cfg.keepalives_idle,
        "retries": cfg.retries,
    }
    if cfg.search_path is not None:
        out["search_path"] = cfg.search_path
    return out


@hookimpl
def validate_connection(
    compute: ComputeConfig, timeout: float, secrets: Mapping[str, SecretValue]
) -> ConnectionResult:
    """Connect with psycopg and read the server version, all within ``timeout`` seconds.

    libpq rounds ``connect_timeout`` up to 2 s, so the check runs psycopg's async API
    under ``asyncio.wait_for`` to keep any timeout, however short. Messages are built
    here from what went wrong, never copied from the driver with a secret in them.
    """
    start = time.perf_counter()
    try:
        cfg = _config(compute)
    except ConfigError as exc:
        return _unhealthy(start, str(exc))
    import asyncio  # lazily, like the driver: `floe plugins` imports this module

    password = secrets.get("password")
    budget = min(float(timeout), float(cfg.connect_timeout))
    try:
        facts = asyncio.run(_probe(cfg, password, budget))
    except TimeoutError:
        return _unhealthy(start, f"no answer from {cfg.host}:{cfg.port} within {budget:g} s (timed out)")
    except Exception as exc:  # the driver's errors, whatever their class
        return _unhealthy(start, _describe(exc, cfg, password))
    latency = _elapsed_ms(start)
    warnings: list[str] = []
    status = ConnectionStatus.HEALTHY
    if facts.pop("in_recovery") == "on":
        status = ConnectionStatus.DEGRADED
        warnings.append("the server is a read-only standby: dbt cannot build models there")
    if facts.pop("schema_exists") != "on":
        warnings.append(f"schema {cfg.schema!r} does not exist yet; dbt will create it")
    return ConnectionResult(
        status,
        latency,
        message=f"connected to PostgreSQL {facts['server_version']} in {latency:.0f} ms",
        warnings=tuple(warnings),
        details=facts,
    )


async def _probe(cfg: PostgresConfig, password: SecretValue | None, budget: float) -> dict[str, str]:
    import asyncio

    import psycopg  # lazily: `floe plugins` must not pay for the driver

    deadline = time.monotonic() + budget
    params: dict[str, Any] = {
        "host": cfg.host,
        "port": cfg.port,
        "user": cfg.user,
        "dbname": cfg.dbname,
        "sslmode": cfg.sslmode,
        "connect_timeout": max(2, int(budget) + 1),  # the real bound is wait_for's
        "application_name": "floe-validate",
        # the server stops the probe too, should the client be gone
        "options": f"-c statement_timeout={max(1, int(budget * 1000))}",
    }
    if password is not None:
        params["password"] = password.reveal()
    conn = await asyncio.wait_for(psycopg.AsyncConnection.connect(**params, autocommit=True), budget)
    async with conn:
        cursor = await asyncio.wait_for(
            conn.execute(
                "select current_setting('server_version'), pg_is_in_recovery(), "
                "exists (select 1 from pg_namespace where nspname = %s)",
                (cfg.schema,),
            ),
            max(0.001, deadline - time.monotonic()),
        )
        row = await cursor.fetchone()
        version_num = conn.info.server_version
    assert row is not None  # one row, always
    version, in_recovery, schema_exists = row
    return {
        "server_version": str(version),
        "server_version_num": str(version_num),
        "database": cfg.dbname,
        "in_recovery": "on" if in_recovery else "off",
        "schema_exists": "on" if schema_exists else "off",
    }


def _describe(exc: BaseException, cfg: PostgresConfig, password: SecretValue | None) -> str:
    """One safe line for a driver error: a category, or libpq's reason minus any secret."""
    sqlstate = getattr(exc, "sqlstate", None)
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    reason = text.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
    if password is not None and password.reveal():
        reason = reason.replace(password.reveal(), _MASK)
    where = f"{cfg.host}:{cfg.port}"
    lowered = text.lower()
    if sqlstate == "28P01" or "password authentication failed" in lowered:
        return f"authentication failed for user {cfg.user!r} at {where}: check credentials.password"
    if "no password supplied" in lowered:
        return f"the server at {where} asks for a password: set credentials.password"
    if sqlstate == "28000" or "no pg_hba.conf entry" in lowered:
        return f"the server at {where} rejected user {cfg.user!r}: {reason}"[:500]
    if sqlstate == "3D000" or ("database" in lowered and "does not exist" in lowered):
        return f"database {cfg.dbname!r} does not exist at {where}"
    if "connection refused" in lowered:
        return f"could not connect to {where}: connection refused (is the server running?)"
    if "timeout" in lowered or "timed out" in lowered:
        return f"could not connect to {where}: timed out"
    return f"could not connect to {where}: {type(exc).__name__}: {reason}"[:500]


def _elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _unhealthy(start: float, message: str) -> ConnectionResult:
    return ConnectionResult(ConnectionStatus.UNHEALTHY, _elapsed_ms(start), message=message)


@hookimpl
def resource_requirements(compute: ComputeConfig) -> ResourceSpec:
    """Small pods by default: dbt only sends SQL, the work runs in the database."""
    return ResourceSpec.resolve(compute.resources, default="small")
