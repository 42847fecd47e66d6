"""The manifests of the catalog edge tests (compile, run, postgres): computes, then a DuckLake catalog.

The tests/ folder is on ``sys.path`` (tests/conftest.py): ``from catalog_site import catalog_manifest``.
"""

from __future__ import annotations

__all__ = ["DUCKDB_A_AND_B", "LOCAL_CATALOG", "SHARED_CATALOG", "catalog_manifest"]

#: DuckLake with PostgreSQL metadata and its data on S3: every machine reaches it.
SHARED_CATALOG = """\
catalog:
  name: lake
  type: ducklake
  metadata: {type: postgres, host: db.internal, port: 5432, dbname: lake, user: floe}
  data_path: s3://bucket/lake/
  credentials: {password: {env: LAKE_PG_PASSWORD}}
"""

#: DuckLake with a local metadata file and data folder: one machine only.
LOCAL_CATALOG = """\
catalog:
  name: lake
  type: ducklake
  metadata: {type: duckdb, path: lake.ducklake}
  data_path: lake_data/
"""

#: Two DuckDB computes, ``a`` and ``b``, each with its own database file.
DUCKDB_A_AND_B = (
    "{name: a, type: duckdb, config: {path: a.duckdb}}",
    "{name: b, type: duckdb, config: {path: b.duckdb}}",
)


def catalog_manifest(default: str, *computes: str, catalog: str = SHARED_CATALOG) -> str:
    """``manifest.yaml`` text: version 1, ``computes`` approved (YAML flow mappings), then ``catalog``.

    :param default: the default compute's name.
    :param catalog: the ``catalog:`` block (``""``: none).
    """
    approved = "".join(f"    - {compute}\n" for compute in computes)
    return f"version: 1\ncompute:\n  default: {default}\n  approved:\n{approved}{catalog}"
