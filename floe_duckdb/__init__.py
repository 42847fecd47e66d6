"""floe_duckdb: the DuckDB compute, floe's reference plugin and zero-dependency default.

Registered like any third-party plugin, through its ``floe.computes`` entry point
(``duckdb = floe_duckdb``). DuckDB itself is imported only inside the health check.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import attrs

from floe_hooks import (
    FLOE_API_VERSION,
    ComputeConfig,
    ConnectionResult,
    ConnectionStatus,
    PluginMetadata,
    ResourceSpec,
    SecretValue,
    hookimpl,
)

__version__ = "0.1.0"
__all__ = ["DuckDBConfig", "__version__"]


@attrs.frozen
class DuckDBConfig:
    """The ``config:`` block of a DuckDB compute (dbt-duckdb's profile fields)."""

    path: str = ":memory:"
    schema: str = "main"
    extensions: tuple[str, ...] = ()
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    memory_limit: str | None = None


@hookimpl
def plugin_metadata() -> PluginMetadata:
    """Who this plugin is."""
    return PluginMetadata(
        name="duckdb",
        version=__version__,
        floe_api_version=FLOE_API_VERSION,
        compute_types=("duckdb",),
        description="DuckDB, in-process: in-memory or a local file",
        dbt_adapter="dbt-duckdb>=1.9",
        config_class=DuckDBConfig,
    )


def _config(compute: ComputeConfig) -> DuckDBConfig:
    return compute.config if isinstance(compute.config, DuckDBConfig) else DuckDBConfig()


@hookimpl
def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
    """A dbt-duckdb output."""
    cfg = _config(compute)
    out: dict[str, Any] = {
        "type": "duckdb",
        "path": cfg.path,
        "schema": cfg.schema,
        "threads": compute.threads or 1,
    }
    if cfg.extensions:
        out["extensions"] = list(cfg.extensions)
    settings = dict(cfg.settings)
    if cfg.memory_limit:
        settings["memory_limit"] = cfg.memory_limit
    if settings:
        out["settings"] = settings
    return out


@hookimpl
def validate_connection(
    compute: ComputeConfig, timeout: float, secrets: Mapping[str, SecretValue]
) -> ConnectionResult:
    """Open the database read-only with the native driver and run ``select 1``."""
    start = time.perf_counter()
    cfg = _config(compute)
    try:
        import duckdb

        if cfg.path != ":memory:" and not os.path.exists(cfg.path):
            return ConnectionResult(
                ConnectionStatus.DEGRADED,
                (time.perf_counter() - start) * 1000,
                message=f"database file {cfg.path} does not exist yet; dbt will create it",
            )
        read_only = cfg.path != ":memory:"
        with duckdb.connect(cfg.path, read_only=read_only) as conn:
            conn.execute("select 1").fetchall()
    except Exception as exc:
        return ConnectionResult(
            ConnectionStatus.UNHEALTHY, (time.perf_counter() - start) * 1000, message=f"{type(exc).__name__}"
        )
    return ConnectionResult(
        ConnectionStatus.HEALTHY, (time.perf_counter() - start) * 1000, message="select 1 ok"
    )


@hookimpl
def resource_requirements(compute: ComputeConfig) -> ResourceSpec:
    """The pod runs the engine itself: size it from the manifest (default small)."""
    return ResourceSpec.resolve(compute.resources, default="small")
