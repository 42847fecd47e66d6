"""``floe run`` refuses, before any step, a dependency edge its two computes cannot hand data over.

Real dbt parses the project (the edges come from its graph); then nothing runs: no step
folder gets a ``run_results.json``, no database file is written, no ``run_results.json``
of floe's is published.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from catalog_site import DUCKDB_A_AND_B, LOCAL_CATALOG, SHARED_CATALOG, catalog_manifest

from floe_hooks import ConfigError, PluginManager, run_product
from floe_hooks.testing import make_plugin

from .conftest import write_tree

pytestmark = pytest.mark.run

FLOE = """
name: shop
platform: manifest.yaml
transforms:
  - {name: staging, path: models/staging, compute: a}
  - {name: marts, path: models/marts, compute: b}
"""
PROJECT = "name: shop\nprofile: shop\nconfig-version: 2\nmodels: {shop: {+materialized: table}}\n"
FILES = {
    "models/staging/stg_orders.sql": "select 1 as order_id, 'ann' as customer\n",
    "models/marts/customers.sql": "select distinct customer from {{ ref('stg_orders') }}\n",
}


def _product(root: Path, manifest: str) -> Path:
    files = {"manifest.yaml": manifest, "floe.yaml": FLOE, "dbt_project.yml": PROJECT, **FILES}
    return write_tree(root, files) / "floe.yaml"


def _nothing_ran(root: Path) -> None:
    out = root / "target" / "floe"
    assert not (out / "run_results.json").exists()
    assert not list((out / "steps").rglob("run_results.json"))
    assert not list(root.rglob("*.duckdb"))
    assert not (root / "lake.ducklake").exists()


def _floe_run(product: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("floe")
    return subprocess.run(
        [str(exe), "run", "floe.yaml"], capture_output=True, text=True, cwd=product.parent, timeout=300
    )


def test_two_computes_sharing_no_catalog_and_no_file_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    product = _product(tmp_path, catalog_manifest("b", *DUCKDB_A_AND_B, catalog=""))
    done = _floe_run(product)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "floe: error: floe.yaml: transforms[1].compute: model stg_orders on compute a feeds model customers "
        "on compute b, but the manifest declares no catalog and compute 'b' does not attach compute 'a''s "
        "database; declare a catalog: both can attach (docs/lakehouse.md)\n"
    )
    _nothing_ran(tmp_path)


def test_an_edge_into_a_compute_that_cannot_attach_the_catalog_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    manifest = catalog_manifest("b", DUCKDB_A_AND_B[0], "{name: b, type: warehouse}", catalog=LOCAL_CATALOG)
    product = _product(tmp_path, manifest)
    pm = PluginManager(strict=False)
    # a plugin whose profile dbt-duckdb can parse, but which declares no catalog type
    pm.register(make_plugin("warehouse", generate_profile={"type": "duckdb", "path": "b.duckdb"}))
    with pytest.raises(ConfigError) as caught:
        run_product(product, manager=pm, isolate_steps=True)
    assert f"floe: error: {caught.value}" == (
        f"floe: error: {product}: transforms[1].compute: model stg_orders on compute a feeds model customers "
        "on compute b, but compute 'b' (type warehouse) cannot attach catalog 'lake' (type ducklake): "
        "plugin 'warehouse' attaches none"
    )
    _nothing_ran(tmp_path)


def test_catalog_credentials_that_cannot_be_resolved_stop_the_run_before_dbt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAKE_PG_PASSWORD", raising=False)
    monkeypatch.delenv("DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD", raising=False)
    product = _product(tmp_path, catalog_manifest("b", *DUCKDB_A_AND_B, catalog=SHARED_CATALOG))
    with pytest.raises(ConfigError) as caught:
        run_product(product)
    assert str(caught.value) == (
        f"{tmp_path / 'manifest.yaml'}: catalog.credentials: catalog 'lake': credentials not available: "
        "password (env LAKE_PG_PASSWORD, or DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD)"
    )
    _nothing_ran(tmp_path)
    assert not (tmp_path / "target" / "floe" / "steps").exists()  # dbt did not even parse
