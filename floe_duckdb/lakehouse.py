"""The DuckDB compute attaches the manifest's lakehouse catalog (the ``catalog_profile`` hook).

Everything goes through dbt-duckdb's own profile support, never SQL of floe's: the
catalog becomes an entry of ``attach`` under the catalog's name and the output's
``database``, so models are written into the catalog and ``ref()`` resolves to the same
table on every compute; credentials become entries of ``secrets`` whose values are
``{{ env_var('DBT_ENV_SECRET_CATALOG_...') }}`` templates.

``ducklake`` with PostgreSQL metadata::

    secrets:
      - {type: postgres, name: floe_catalog_lake_metadata, host: db, port: 5432, database: lake,
         user: floe, password: "{{ env_var('DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD') }}"}
      - {type: ducklake, name: floe_catalog_lake, metadata_path: "postgres:", data_path: s3://bucket/lake/,
         metadata_parameters: {TYPE: postgres, SECRET: floe_catalog_lake_metadata}}
      - {type: s3, name: floe_catalog_lake_s3, key_id: ..., secret: ..., scope: s3://bucket/lake/}  # s3 only
    attach:
      - {path: "ducklake:floe_catalog_lake", alias: lake, is_ducklake: true}
    database: lake
    extensions: [ducklake, postgres, httpfs]

``ducklake`` with a DuckDB metadata file attaches ``ducklake:<path>`` with a ``data_path``
option. ``iceberg_rest`` attaches the REST catalog with ``TYPE iceberg`` and an
``iceberg`` secret for the OAuth2 client credentials.
"""

from __future__ import annotations

from typing import Any

from floe_duckdb._sql import identifier_problem
from floe_duckdb.profile import refuse_threads_into_ducklake, set_fields
from floe_hooks import ComputeConfig, ConfigError, LakehouseCatalog, catalog_template

__all__ = ["CATALOG_TYPES", "catalog_profile", "required_extensions", "secret_names"]

#: The catalog types this plugin attaches (``PluginMetadata.catalog_types``).
CATALOG_TYPES = ("ducklake", "iceberg_rest")


def secret_names(catalog: LakehouseCatalog) -> dict[str, str]:
    """The DuckDB secrets floe creates for ``catalog``, by role (``catalog``, ``metadata``, ``s3``)."""
    base = f"floe_catalog_{catalog.name}"
    return {"catalog": base, "metadata": f"{base}_metadata", "s3": f"{base}_s3"}


def required_extensions(catalog: LakehouseCatalog) -> tuple[str, ...]:
    """The DuckDB extensions attaching ``catalog`` loads."""
    if catalog.type == "iceberg_rest":
        return ("httpfs", "iceberg")
    needed = ["ducklake"]
    if catalog.metadata is not None and catalog.metadata.type == "postgres":
        needed.append("postgres")
    if catalog.on_object_store:
        needed.append("httpfs")
    return tuple(needed)


def _add_extensions(profile: dict[str, Any], names: tuple[str, ...]) -> None:
    current = list(profile.get("extensions") or [])
    have = {e if isinstance(e, str) else e.get("name") for e in current}
    aliases = {"postgres": "postgres_scanner", "postgres_scanner": "postgres"}
    for name in names:
        if name not in have and aliases.get(name) not in have:
            current.append(name)
    profile["extensions"] = current


def _s3_secret(catalog: LakehouseCatalog, name: str) -> dict[str, Any] | None:
    if not catalog.on_object_store:
        return None
    secret: dict[str, Any] = {"type": "s3", "name": name}
    if "s3_key_id" in catalog.credentials:
        secret["key_id"] = catalog_template(catalog, "s3_key_id")
    if "s3_secret" in catalog.credentials:
        secret["secret"] = catalog_template(catalog, "s3_secret")
    if "s3_session_token" in catalog.credentials:
        secret["session_token"] = catalog_template(catalog, "s3_session_token")
    if "s3_key_id" not in catalog.credentials:
        secret["provider"] = "credential_chain"  # the pod's role, instance profile or AWS_* variables
    storage = catalog.storage
    if storage is not None:
        secret.update(set_fields(storage, endpoint="endpoint", region="region", url_style="url_style"))
        if storage.use_ssl is not None:
            secret["use_ssl"] = "true" if storage.use_ssl else "false"
    secret["scope"] = catalog.data_path
    return secret


def catalog_profile(
    compute: ComputeConfig, catalog: LakehouseCatalog, profile: dict[str, Any]
) -> dict[str, Any]:
    """``profile`` with ``catalog`` attached under its name and made the default ``database``.

    :raises ConfigError: the compute already attaches something under the catalog's name.
    """
    problem = identifier_problem(catalog.name)
    if problem:
        raise ConfigError(problem, path="catalog.name")
    out = dict(profile)
    attach = list(out.get("attach") or [])
    if any(a.get("alias") == catalog.name for a in attach if isinstance(a, dict)):
        raise ConfigError(
            f"compute {compute.name!r} already attaches a database as {catalog.name!r}, the catalog's name; "
            "rename that attachment",
            path=f"compute.approved[name={compute.name}].config.attach",
        )
    secrets = list(out.get("secrets") or [])
    names = secret_names(catalog)
    entry: dict[str, Any]
    if catalog.type == "ducklake":
        meta = catalog.metadata
        assert meta is not None
        assert catalog.data_path is not None
        s3 = _s3_secret(catalog, names["s3"])
        if s3 is not None:
            secrets.append(s3)
        if meta.type == "postgres":
            pg: dict[str, Any] = {"type": "postgres", "name": names["metadata"], "host": meta.host}
            if meta.port is not None:
                pg["port"] = str(meta.port)
            pg["database"] = meta.dbname
            if meta.user is not None:
                pg["user"] = meta.user
            pg["password"] = catalog_template(catalog, "password")
            secrets.append(pg)
            lake: dict[str, Any] = {
                "type": "ducklake",
                "name": names["catalog"],
                "metadata_path": "",
                "data_path": catalog.data_path,
                "metadata_parameters": {"TYPE": "postgres", "SECRET": names["metadata"]},
            }
            if meta.schema is not None:
                lake["metadata_schema"] = meta.schema
            secrets.append(lake)
            entry = {"path": f"ducklake:{names['catalog']}", "alias": catalog.name, "is_ducklake": True}
        else:
            options: dict[str, Any] = {"data_path": catalog.data_path}
            if meta.schema is not None:
                options["metadata_schema"] = meta.schema
            entry = {
                "path": f"ducklake:{meta.path}",
                "alias": catalog.name,
                "is_ducklake": True,
                "options": options,
            }
        refuse_threads_into_ducklake(
            compute,
            f"the DuckLake catalog {catalog.name!r}",
            path=f"compute.approved[name={compute.name}].threads",
        )
    else:
        iceberg = catalog.iceberg_config()
        options = {"type": "iceberg", "endpoint": iceberg.uri}
        if "client_id" in catalog.credentials:
            secret: dict[str, Any] = {
                "type": "iceberg",
                "name": names["catalog"],
                "client_id": catalog_template(catalog, "client_id"),
                "client_secret": catalog_template(catalog, "client_secret"),
                "oauth2_server_uri": catalog.oauth2_server_uri
                or iceberg.uri.rstrip("/") + "/v1/oauth/tokens",
            }
            if catalog.scope is not None:
                secret["oauth2_scope"] = catalog.scope
            secrets.append(secret)
            options["secret"] = names["catalog"]
        else:
            options["authorization_type"] = "none"
        entry = {"path": catalog.warehouse or "", "alias": catalog.name, "options": options}
    attach.append(entry)
    out["attach"] = attach
    out["secrets"] = secrets
    out["database"] = catalog.name
    _add_extensions(out, required_extensions(catalog))
    return out
