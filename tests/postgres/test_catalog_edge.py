"""The real Postgres example plugin declares it attaches no catalog: an edge into it is refused.

``tox -e postgres`` installs examples/floe-compute-postgres; no server is needed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_site import catalog_manifest

from floe_hooks import PluginManager, load_manifest
from floe_hooks.catalog import catalog_types_of, edge_error, edge_problem

pytestmark = pytest.mark.postgres

MANIFEST = catalog_manifest(
    "marts",
    "{name: staging, type: duckdb, config: {path: staging.duckdb}}",
    "{name: marts, type: postgres, config: {host: 127.0.0.1, dbname: analytics, user: floe}, "
    "credentials: {password: {env: PG_PASSWORD}}}",
)


def test_an_edge_from_duckdb_into_the_postgres_example_is_refused_with_the_exact_message(
    tmp_path: Path,
) -> None:
    pm = PluginManager(strict=False)
    assert catalog_types_of(pm, "postgres") == ()
    assert catalog_types_of(pm, "duckdb") == ("ducklake", "iceberg_rest")
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST)
    manifest = load_manifest(path, manager=pm)
    reason = edge_problem(
        manifest.catalog, manifest.compute("staging"), manifest.compute("marts"), manager=pm
    )
    assert reason is not None
    error = edge_error(
        "floe.yaml", "transforms[1].compute", "stg_orders", "staging", "orders_by_customer", "marts", reason
    )
    assert f"floe: error: {error}" == (
        "floe: error: floe.yaml: transforms[1].compute: model stg_orders on compute staging feeds model "
        "orders_by_customer on compute marts, but compute 'marts' (type postgres) cannot attach "
        "catalog 'lake' (type ducklake): plugin 'postgres' attaches none"
    )
