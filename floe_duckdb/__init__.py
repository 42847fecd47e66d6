"""floe_duckdb: the DuckDB compute, floe's reference plugin and zero-dependency default.

Registered like any third-party plugin, through its ``floe.computes`` entry point
(``duckdb = floe_duckdb``); this module holds the hook implementations and stays light:
DuckDB is imported only inside the health check and the extension helper.

=========================  ==================================================
module                     what it does
=========================  ==================================================
:mod:`floe_duckdb.config`  :class:`DuckDBConfig`: the typed ``config:`` block
:mod:`floe_duckdb.profile` the dbt-duckdb output; memory/threads from the pod
:mod:`floe_duckdb.health`  the read-only, lock-aware health check
:mod:`floe_duckdb.iceberg` SQL attaching an Iceberg REST catalog
:mod:`floe_duckdb.lakehouse`  the manifest's catalog in the dbt-duckdb output
:mod:`floe_duckdb.extensions`  a local ``extension_directory`` from PyPI wheels
=========================  ==================================================

The user guide is ``docs/duckdb.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from floe_hooks import PluginMetadata, hookimpl

if TYPE_CHECKING:  # annotations only: `floe plugins` builds no model it does not return
    from floe_duckdb.config import (
        Attachment,
        DbtDuckDBPlugin,
        DuckDBConfig,
        DuckDBSecret,
        Filesystem,
        Remote,
        Retries,
    )
    from floe_hooks import (
        CatalogConfig,
        ComputeConfig,
        ConnectionResult,
        LakehouseCatalog,
        ResourceSpec,
        SecretValue,
        SqlStatement,
    )

__version__ = "0.2.0"
__all__ = [
    "Attachment",
    "DbtDuckDBPlugin",
    "DuckDBConfig",
    "DuckDBSecret",
    "Filesystem",
    "Remote",
    "Retries",
    "__version__",
    "catalog_attachment_sql",
    "catalog_profile",
    "exclusive_resources",
    "generate_profile",
    "plugin_metadata",
    "resource_requirements",
    "validate_connection",
]


@hookimpl
def plugin_metadata() -> PluginMetadata:
    """Who this plugin is: the ``duckdb`` compute type, configured by :class:`DuckDBConfig`."""
    return PluginMetadata(
        name="duckdb",
        version=__version__,
        floe_api_version="1.1",  # the contract this plugin was written for, not the running one
        compute_types=("duckdb",),
        description="DuckDB, in-process: in-memory or a local file; Iceberg through the iceberg extension",
        dbt_adapter="dbt-duckdb>=1.9",
        # a path, not the class: imported when a config is read, not by `floe plugins`
        config_class="floe_duckdb.config:DuckDBConfig",
        catalog_types=("ducklake", "iceberg_rest"),
    )


@hookimpl
def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
    """The dbt-duckdb output: every config field, secrets as ``env_var()`` templates.

    ``memory_limit`` and DuckDB ``threads`` default to 75% of the pod's memory limit and
    its whole CPU cores (see :mod:`floe_duckdb.profile`).
    """
    from floe_duckdb.profile import build_profile

    return build_profile(compute)


@hookimpl
def validate_connection(
    compute: ComputeConfig, timeout: float, secrets: Mapping[str, SecretValue]
) -> ConnectionResult:
    """Open the database read-only, ``select 1``, load the extensions; never lock, create or raise."""
    from floe_duckdb.health import check

    return check(compute, timeout, secrets)


@hookimpl
def resource_requirements(compute: ComputeConfig) -> ResourceSpec:
    """The pod runs the engine itself: the manifest's preset or spec, default ``small``."""
    from floe_duckdb.profile import pod_resources

    return pod_resources(compute)


@hookimpl
def catalog_attachment_sql(
    compute: ComputeConfig, catalog: CatalogConfig, secrets: Mapping[str, SecretValue]
) -> list[SqlStatement]:
    """``LOAD iceberg``, the OAuth2 secret (``sensitive``) and ``ATTACH ... (TYPE iceberg)``."""
    from floe_duckdb.iceberg import attachment_sql

    return attachment_sql(compute, catalog, secrets)


@hookimpl
def catalog_profile(
    compute: ComputeConfig, catalog: LakehouseCatalog, profile: dict[str, Any]
) -> dict[str, Any]:
    """The catalog in dbt-duckdb's ``attach`` under its name, and the output's default ``database``."""
    from floe_duckdb.lakehouse import catalog_profile as attach_catalog

    return attach_catalog(compute, catalog, profile)


@hookimpl
def exclusive_resources(compute: ComputeConfig) -> list[str]:
    """The database file and every local file it attaches: DuckDB lets one process write a file.

    ``:memory:`` holds nothing; remote paths (``s3://``, ``md:``, ``postgres:``...) are
    arbitrated by their servers. Keys are ``file:<normalised path>``, relative paths kept
    relative (they resolve against dbt's working directory).
    """
    import os

    config = compute.config
    if config is None:
        return []
    paths = [config.path, *(a.path for a in config.attach)]
    keys: list[str] = []
    for path in paths:
        if path == ":memory:" or ":" in path.split("/", 1)[0]:
            continue  # in memory, or a URL / prefixed name (s3://, md:, postgres:...)
        key = f"file:{os.path.normpath(path)}"
        if key not in keys:
            keys.append(key)
    return keys


_CONFIG_NAMES = (
    "Attachment",
    "DbtDuckDBPlugin",
    "DuckDBConfig",
    "DuckDBSecret",
    "Filesystem",
    "Remote",
    "Retries",
)


def __getattr__(name: str) -> Any:
    # the config classes are many attrs classes: built on first use, not on import
    if name in _CONFIG_NAMES:
        from floe_duckdb import config

        return getattr(config, name)
    raise AttributeError(f"module 'floe_duckdb' has no attribute {name!r}")
