"""The lakehouse catalog: where computes hand tables to each other.

A platform manifest may declare one ``catalog:``. Every compute whose plugin can attach
that kind of catalog attaches it under the catalog's ``name`` and writes its models
there by default, so ``ref()`` resolves to the same table on every compute and a step
on one machine reads what a step on another machine wrote::

    catalog:
      name: lake                      # the SQL name every compute attaches it as
      type: ducklake                  # or iceberg_rest
      metadata: {type: postgres, host: db.internal, port: 5432, dbname: lake, user: floe}
      data_path: s3://bucket/lake/    # or a folder
      credentials: {password: {env: LAKE_PG_PASSWORD}}

The catalog is the platform's: a child manifest (``extends:``) inherits it and may not
replace or drop it; an environment overlay (``environments.<env>.catalog``) may change
its connection settings (``metadata``, ``data_path``, ``storage``, ``credentials``,
``uri``...), never its ``name`` or ``type``.

Credentials are references only, resolved when a step runs: ``{env: VAR}``,
``{file: PATH}`` (a mounted secret file) and/or ``{secret: NAME, key: KEY}`` (a
Kubernetes Secret). In ``profiles.yml`` each becomes
``{{ env_var('DBT_ENV_SECRET_CATALOG_<NAME>_<FIELD>') }}``; :func:`catalog_environment`
resolves the references into those variables for the process that runs dbt.

The models live here; the rest, re-exported, in private modules with one job each:
``_catalog_manifest`` (the ``catalog:`` block across ``extends:`` and environments),
``_catalog_edges`` (which computes can hand tables over), ``_catalog_env`` (secrets into
dbt's environment, the artifact entry) and ``_catalog_probe`` (``floe validate``'s probe).

Public API: :class:`LakehouseCatalog` (with :class:`CatalogMetadata`,
:class:`ObjectStorage`, :class:`CatalogCredential`), :func:`catalog_bindings`,
:func:`catalog_environment`, :func:`catalog_types_of`, :func:`edge_problem`,
:func:`edge_error`, :func:`catalog_artifact` and :func:`check_catalog`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from floe_hooks._catalog_edges import catalog_types_of, edge_error, edge_problem
from floe_hooks._catalog_env import (
    CatalogBinding,
    catalog_artifact,
    catalog_bindings,
    catalog_environment,
    catalog_template,
)
from floe_hooks._catalog_manifest import CatalogLevel as CatalogLevel
from floe_hooks._catalog_manifest import catalog_level as catalog_level
from floe_hooks._catalog_manifest import structure_catalog
from floe_hooks._catalog_probe import catalog_row, check_catalog, check_catalog_concurrently
from floe_hooks._rules import COMPUTE_NAME_PATTERN, name_problem
from floe_hooks.errors import ConfigError
from floe_hooks.models import CatalogConfig
from floe_hooks.secrets import SecretRef

__all__ = [
    "CATALOG_TYPES",
    "METADATA_TYPES",
    "CatalogCredential",
    "CatalogMetadata",
    "ObjectStorage",
    "LakehouseCatalog",
    "CatalogBinding",
    "catalog_bindings",
    "catalog_environment",
    "catalog_types_of",
    "edge_problem",
    "edge_error",
    "catalog_artifact",
    "check_catalog",
    "check_catalog_concurrently",
    "catalog_row",
    "catalog_variable",
    "catalog_template",
    "structure_catalog",
    "CATALOG_OVERLAY_KEYS",
]

#: Catalog types floe knows (``catalog.type``).
CATALOG_TYPES = ("ducklake", "iceberg_rest")
#: Where DuckLake keeps its metadata (``catalog.metadata.type``).
METADATA_TYPES = ("postgres", "duckdb")
#: What an environment overlay may change in the catalog: connection settings only.
CATALOG_OVERLAY_KEYS = (
    "metadata",
    "data_path",
    "storage",
    "credentials",
    "uri",
    "warehouse",
    "oauth2_server_uri",
    "scope",
)
#: The credential fields each catalog type reads.
CREDENTIAL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "ducklake": ("password", "s3_key_id", "s3_secret", "s3_session_token"),
    "iceberg_rest": ("client_id", "client_secret"),
}

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _check_name(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    problem = name_problem(value, "catalog name")
    if problem is not None:
        raise ConfigError(problem, path=attribute.name)


def _one_of(allowed: Sequence[str]) -> Any:
    def check(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in allowed:
            raise ConfigError(f"{value!r} is not allowed; allowed: {', '.join(allowed)}", path=attribute.name)

    return check


def _printable(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (not value.strip() or _CONTROL.search(value)):
        raise ConfigError("must be non-empty printable text", path=attribute.name)


def _present(*fields: tuple[object, str]) -> list[str]:
    """The texts of the fields that are set, in order: ``(value, text)`` pairs, None values left out."""
    return [text for value, text in fields if value is not None]


def _port(_: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and not 0 < value < 65536:
        raise ConfigError(f"must be a TCP port (1-65535), got {value!r}", path=attribute.name)


@attrs.frozen
class CatalogCredential:
    """A reference to one catalog secret; never the secret.

    :ivar env: an environment variable holding it.
    :ivar file: a file holding it (a mounted Secret); one trailing newline is dropped.
    :ivar secret: a Kubernetes Secret's name (with ``key``), for cluster output.
    :ivar key: the key in that Secret.
    """

    env: str | None = attrs.field(default=None)
    file: str | None = attrs.field(default=None, validator=_printable)
    secret: str | None = None
    key: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.env is None and self.file is None and self.secret is None:
            raise ConfigError("a secret reference needs {env: VAR}, {file: PATH} or {secret: NAME, key: KEY}")
        if self.env is not None and (len(self.env) > 255 or not _ENV_NAME.fullmatch(self.env)):
            raise ConfigError(f"{self.env!r} is not an environment variable name", path="env")
        if (self.secret is None) != (self.key is None):
            raise ConfigError("a Kubernetes secret reference needs both 'secret' and 'key'")
        if self.secret is not None:
            SecretRef(secret=self.secret, key=self.key)  # the same name rules as a compute's

    def describe(self) -> str:
        """A human description (safe to log)."""
        return ", ".join(
            _present(
                (self.env, f"env {self.env}"),
                (self.file, f"file {self.file}"),
                (self.secret, f"secret {self.secret}/{self.key}"),
            )
        )


@attrs.frozen
class CatalogMetadata:
    """Where a DuckLake catalog keeps its metadata.

    ``{type: postgres, host, port, dbname, user}``: a PostgreSQL database, shared by
    every machine (the password is ``credentials.password``); ``{type: duckdb, path}``:
    a local DuckDB file, for one machine.
    """

    type: str = attrs.field(validator=_one_of(METADATA_TYPES))
    host: str | None = attrs.field(default=None, validator=_printable)
    port: int | None = attrs.field(default=None, validator=_port)
    dbname: str | None = attrs.field(default=None, validator=_printable)
    user: str | None = attrs.field(default=None, validator=_printable)
    path: str | None = attrs.field(default=None, validator=_printable)
    schema: str | None = attrs.field(default=None, validator=_printable)

    def __attrs_post_init__(self) -> None:
        if self.type == "postgres":
            for field in ("host", "dbname"):
                if getattr(self, field) is None:
                    raise ConfigError("required for PostgreSQL metadata", path=field)
            if self.path is not None:
                raise ConfigError(
                    "only for duckdb metadata; PostgreSQL metadata takes host, port, dbname, user"
                )
        else:
            if self.path is None:
                raise ConfigError("required for duckdb metadata (the metadata file)", path="path")
            for field in ("host", "port", "dbname", "user"):
                if getattr(self, field) is not None:
                    raise ConfigError("only for postgres metadata; duckdb metadata takes path", path=field)

    @property
    def shared(self) -> bool:
        """True when machines other than this one can reach it (PostgreSQL)."""
        return self.type == "postgres"

    def libpq(self) -> str:
        """The libpq keyword string, without a password (``dbname=lake host=db port=5432 user=floe``)."""

        def quote(value: str) -> str:
            if value and not re.search(r"[\s'\\]", value):
                return value
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

        return " ".join(
            [
                f"dbname={quote(self.dbname or '')}",
                f"host={quote(self.host or '')}",
                *_present((self.port, f"port={self.port}"), (self.user, f"user={quote(self.user or '')}")),
            ]
        )


@attrs.frozen
class ObjectStorage:
    """How to reach an object store holding ``data_path`` (``s3://...``); defaults are AWS's.

    :ivar endpoint: ``host:port`` of an S3-compatible server (MinIO, Ceph...), or None for AWS.
    :ivar region: the bucket's region.
    :ivar url_style: ``path`` or ``vhost``.
    :ivar use_ssl: False for a plain-HTTP endpoint.
    """

    endpoint: str | None = attrs.field(default=None, validator=_printable)
    region: str | None = attrs.field(default=None, validator=_printable)
    url_style: str | None = attrs.field(default=None)
    use_ssl: bool | None = None

    @url_style.validator
    def _check_style(self, attribute: attrs.Attribute[Any], value: str | None) -> None:
        if value is not None and value not in ("path", "vhost"):
            raise ConfigError(f"{value!r} is not allowed; allowed: path, vhost", path=attribute.name)


def _credentials(value: Mapping[str, CatalogCredential]) -> Mapping[str, CatalogCredential]:
    return dict(value)


@attrs.frozen
class LakehouseCatalog:
    """The manifest's ``catalog:`` block, resolved (governance and environment applied).

    :ivar name: the SQL name every compute attaches it as; the default database of models.
    :ivar type: ``ducklake`` or ``iceberg_rest``.
    :ivar metadata: DuckLake's metadata store (``ducklake`` only).
    :ivar data_path: where DuckLake writes Parquet files: a folder or ``s3://bucket/prefix/``.
    :ivar storage: how to reach an object-store ``data_path`` (endpoint, region...).
    :ivar credentials: secret references by field: ``password`` (metadata),
        ``s3_key_id``/``s3_secret``/``s3_session_token`` (object store), ``client_id``/``client_secret``
        (Iceberg REST OAuth2).
    :ivar uri: the Iceberg REST endpoint (``iceberg_rest`` only).
    :ivar warehouse: the Iceberg warehouse at that endpoint.
    :ivar oauth2_server_uri: the token endpoint, when not the REST default.
    :ivar scope: the OAuth2 scope.
    """

    name: str = attrs.field(validator=_check_name)
    type: str = attrs.field(validator=_one_of(CATALOG_TYPES))
    metadata: CatalogMetadata | None = None
    data_path: str | None = attrs.field(default=None, validator=_printable)
    storage: ObjectStorage | None = None
    credentials: Mapping[str, CatalogCredential] = attrs.field(factory=dict, converter=_credentials)
    uri: str | None = attrs.field(default=None, validator=_printable)
    warehouse: str | None = attrs.field(default=None, validator=_printable)
    oauth2_server_uri: str | None = attrs.field(default=None, validator=_printable)
    scope: str | None = attrs.field(default=None, validator=_printable)

    def __attrs_post_init__(self) -> None:
        allowed = CREDENTIAL_FIELDS[self.type]
        for key in self.credentials:
            if key not in allowed:
                raise ConfigError(
                    f"unknown credential {key!r} for a {self.type} catalog; allowed: {', '.join(allowed)}",
                    path=f"credentials.{key}",
                )
        if self.type == "ducklake":
            if self.metadata is None:
                raise ConfigError("required for a ducklake catalog", path="metadata")
            if self.data_path is None:
                raise ConfigError(
                    "required for a ducklake catalog (a folder or s3://bucket/prefix/)", path="data_path"
                )
            for field in ("uri", "warehouse", "oauth2_server_uri", "scope"):
                if getattr(self, field) is not None:
                    raise ConfigError("only for an iceberg_rest catalog", path=field)
            if self.on_object_store and not self.data_path.startswith("s3://"):
                raise ConfigError("only s3:// object stores are supported", path="data_path")
            if self.metadata.type == "postgres" and "password" not in self.credentials:
                raise ConfigError(
                    "PostgreSQL metadata needs credentials.password ({env: VAR} or {file: PATH})",
                    path="credentials.password",
                )
        else:
            if self.uri is None:
                raise ConfigError("required for an iceberg_rest catalog (the REST endpoint)", path="uri")
            if not self.uri.lower().startswith(("http://", "https://")):
                raise ConfigError("must be an http:// or https:// URL", path="uri")
            for field in ("metadata", "data_path", "storage"):
                if getattr(self, field) is not None:
                    raise ConfigError("only for a ducklake catalog", path=field)
            if ("client_id" in self.credentials) != ("client_secret" in self.credentials):
                raise ConfigError("OAuth2 needs both client_id and client_secret", path="credentials")

    @property
    def on_object_store(self) -> bool:
        """True when ``data_path`` is a URL (``s3://``...), not a folder."""
        return self.data_path is not None and "://" in self.data_path

    @property
    def shared(self) -> bool:
        """True when computes on different machines (pods) can all reach it.

        A DuckLake catalog with PostgreSQL metadata and data on an object store is; one
        with a local metadata file or a local data folder serves one machine only.
        Iceberg REST catalogs are network services: shared.
        """
        if self.type == "iceberg_rest":
            return True
        return self.metadata is not None and self.metadata.shared and self.on_object_store

    def iceberg_config(self) -> CatalogConfig:
        """This ``iceberg_rest`` catalog as a :class:`~floe_hooks.CatalogConfig`."""
        if self.type != "iceberg_rest" or self.uri is None:
            raise ConfigError(
                f"catalog {self.name!r} is a {self.type} catalog, not iceberg_rest", path="catalog.type"
            )

        def ref(field: str) -> SecretRef | None:
            cred = self.credentials.get(field)
            if cred is None:
                return None
            if cred.env is None and cred.secret is None:  # a file reference: read through its variable
                return SecretRef(env=catalog_variable(self, field))
            return SecretRef(env=cred.env, secret=cred.secret, key=cred.key)

        return CatalogConfig(
            name=self.name,
            uri=self.uri,
            warehouse=self.warehouse,
            client_id=ref("client_id"),
            client_secret=ref("client_secret"),
            oauth2_server_uri=self.oauth2_server_uri,
            scope=self.scope,
        )

    def variable(self, field: str) -> str:
        """The ``DBT_ENV_SECRET_...`` variable of credential ``field`` (see :func:`catalog_variable`)."""
        return catalog_variable(self, field)


def catalog_variable(catalog: LakehouseCatalog, field: str) -> str:
    """``DBT_ENV_SECRET_CATALOG_<NAME>_<FIELD>``: the variable dbt reads a catalog secret from.

    >>> catalog_variable(LakehouseCatalog(name="lake", type="iceberg_rest", uri="http://h"), "client_id")
    'DBT_ENV_SECRET_CATALOG_LAKE_CLIENT_ID'
    """
    return "DBT_ENV_SECRET_CATALOG_" + re.sub(r"[^A-Z0-9]+", "_", f"{catalog.name}_{field}".upper()).strip(
        "_"
    )


def catalog_schema(builder: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """JSON Schemas of the manifest's ``catalog:`` block and of its environment overlay.

    :param builder: :mod:`floe_hooks.schema`'s builder (shares its ``$defs``).
    """
    credential = {
        "type": "object",
        "description": "A reference to a secret, never its value: {env: VAR}, {file: PATH} and/or "
        "{secret: NAME, key: KEY}.",
        "properties": {
            "env": {"type": "string"},
            "file": {"type": "string"},
            "secret": {"type": "string"},
            "key": {"type": "string"},
        },
        "additionalProperties": False,
        "anyOf": [{"required": ["env"]}, {"required": ["file"]}, {"required": ["secret", "key"]}],
    }
    builder.defs["catalog-credential"] = credential
    block = builder.attrs_class(LakehouseCatalog)
    props = block["properties"]
    props["name"] = {**props["name"], "pattern": COMPUTE_NAME_PATTERN}
    props["type"] = {**props["type"], "enum": list(CATALOG_TYPES)}
    props["credentials"] = {
        "type": "object",
        "description": props["credentials"].get("description", ""),
        "additionalProperties": {"$ref": "#/$defs/catalog-credential"},
    }
    block["description"] = (
        "The lakehouse catalog every compute attaches under its name and writes models to, so tables "
        "cross computes (docs/lakehouse.md). Enforced: a child manifest inherits it and may not replace "
        "or drop it; environments may change its connection settings, never its name or type."
    )
    block["allOf"] = [
        {
            "if": {"properties": {"type": {"const": "ducklake"}}, "required": ["type"]},
            "then": {"required": ["metadata", "data_path"]},
        },
        {
            "if": {"properties": {"type": {"const": "iceberg_rest"}}, "required": ["type"]},
            "then": {"required": ["uri"]},
        },
    ]
    meta = builder.defs.get("floe_hooks.catalog.CatalogMetadata")
    if meta is not None:
        meta["properties"]["type"] = {**meta["properties"]["type"], "enum": list(METADATA_TYPES)}
    overlay = {
        "type": ["object", "null"],
        "description": "Changes to the catalog's connection settings in one environment; "
        "never its name or type.",
        # nested blocks merge key by key: an overlay may give only {metadata: {host: ...}}
        "properties": {
            key: {"type": "object"} if key in ("metadata", "storage") else props[key]
            for key in CATALOG_OVERLAY_KEYS
        },
        "additionalProperties": False,
    }
    return block, overlay
