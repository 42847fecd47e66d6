"""Which computes can hand tables to each other: the edge rules ``floe run`` checks before any dbt runs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from floe_hooks.errors import ConfigError, FloeError

if TYPE_CHECKING:
    from floe_hooks.catalog import LakehouseCatalog
    from floe_hooks.manager import PluginManager
    from floe_hooks.models import ComputeConfig


def catalog_types_of(manager: PluginManager, compute_type: str) -> tuple[str, ...]:
    """The catalog types the plugin serving ``compute_type`` declares it can attach (``()`` if none)."""
    try:
        plugin = manager.plugin_for(compute_type)
    except FloeError:
        return ()
    return tuple(getattr(plugin.metadata, "catalog_types", ()) or ())


def _attaches_file_of(downstream: ComputeConfig, upstream: ComputeConfig) -> bool:
    """True when ``downstream`` attaches ``upstream``'s database file (the shared-disk handoff)."""
    path = getattr(upstream.config, "path", None)
    if not isinstance(path, str) or path in ("", ":memory:"):
        return False
    target = os.path.normpath(path)
    for attachment in getattr(downstream.config, "attach", None) or ():
        other = getattr(attachment, "path", None)
        if isinstance(other, str) and os.path.normpath(other) == target:
            return True
    return False


def edge_problem(
    catalog: LakehouseCatalog | None,
    upstream: ComputeConfig,
    downstream: ComputeConfig,
    *,
    manager: PluginManager,
) -> str | None:
    """Why data written on ``upstream`` cannot be read on ``downstream``; None when it can.

    Pure: reads the plugins' metadata, runs nothing. ``floe run`` calls it for every
    dependency edge of the dbt graph whose two models run on different computes, before
    any dbt runs. An edge works when both computes attach the manifest's catalog (their
    plugins list its type in ``PluginMetadata.catalog_types``), or when ``downstream``
    attaches ``upstream``'s database file itself (DuckDB ``config.attach``: one machine only).

    :return: None, or the clause that completes "model X on compute A feeds model Y on
        compute B, but ..." (see :func:`edge_error`), one of::

            the manifest declares no catalog and compute 'b' does not attach compute 'a''s
                database; declare a catalog: both can attach (docs/lakehouse.md)
            compute 'b' (type postgres) cannot attach catalog 'lake' (type ducklake): plugin
                'postgres' attaches none
            compute 'a' (type x) cannot attach catalog 'lake' (type ducklake): plugin 'x'
                attaches iceberg_rest

        (each on one line; wrapped here)
    """
    if upstream.name == downstream.name:
        return None
    if catalog is None:
        if _attaches_file_of(downstream, upstream):
            return None
        return (
            f"the manifest declares no catalog and compute {downstream.name!r} does not attach compute "
            f"{upstream.name!r}'s database; declare a catalog: both can attach (docs/lakehouse.md)"
        )
    for compute in (downstream, upstream):
        types = catalog_types_of(manager, compute.type)
        if catalog.type in types:
            continue
        if compute is downstream and _attaches_file_of(downstream, upstream):
            continue
        try:
            plugin = repr(manager.plugin_for(compute.type).name)
        except FloeError:
            plugin = f"for type {compute.type!r}"
        return (
            f"compute {compute.name!r} (type {compute.type}) cannot attach catalog {catalog.name!r} "
            f"(type {catalog.type}): plugin {plugin} attaches {', '.join(types) if types else 'none'}"
        )
    return None


def edge_error(
    file: str,
    path: str | None,
    upstream_model: str,
    upstream: ComputeConfig | str,
    downstream_model: str,
    downstream: ComputeConfig | str,
    reason: str,
) -> ConfigError:
    """The located error for a refused edge; renders (with the CLI's prefix) as::

        floe: error: <file>: <path>: model <X> on compute <A> feeds model <Y> on compute <B>, but <reason>

    :param file: the file the edge comes from (``floe.yaml``).
    :param path: the field path of the downstream transform's compute (``transforms[1].compute``).
    :param reason: what :func:`edge_problem` returned.
    """
    a = upstream if isinstance(upstream, str) else upstream.name
    b = downstream if isinstance(downstream, str) else downstream.name
    return ConfigError(
        f"model {upstream_model} on compute {a} feeds model {downstream_model} on compute {b}, but {reason}",
        file=file,
        path=path,
    )
