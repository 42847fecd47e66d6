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

Public API: :class:`LakehouseCatalog` (with :class:`CatalogMetadata`,
:class:`ObjectStorage`, :class:`CatalogCredential`), :func:`catalog_bindings`,
:func:`catalog_environment`, :func:`catalog_types_of`, :func:`edge_problem`,
:func:`edge_error`, :func:`catalog_artifact` and :func:`check_catalog`.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks.errors import ConfigError, FloeError
from floe_hooks.models import CatalogConfig, ComputeConfig, ConnectionResult, ConnectionStatus
from floe_hooks.secrets import SecretRef

if TYPE_CHECKING:
    from floe_hooks.manager import PluginManager

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

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _check_name(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not _NAME.fullmatch(value):
        raise ConfigError(
            f"{value!r} is not a valid catalog name: use lowercase letters, digits and underscores, "
            "starting with a letter (at most 63 characters)",
            path=attribute.name,
        )


def _one_of(allowed: Sequence[str]) -> Any:
    def check(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in allowed:
            raise ConfigError(f"{value!r} is not allowed; allowed: {', '.join(allowed)}", path=attribute.name)

    return check


def _printable(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (not value.strip() or _CONTROL.search(value)):
        raise ConfigError("must be non-empty printable text", path=attribute.name)


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
        parts = []
        if self.env is not None:
            parts.append(f"env {self.env}")
        if self.file is not None:
            parts.append(f"file {self.file}")
        if self.secret is not None:
            parts.append(f"secret {self.secret}/{self.key}")
        return ", ".join(parts)


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

        parts = [f"dbname={quote(self.dbname or '')}", f"host={quote(self.host or '')}"]
        if self.port is not None:
            parts.append(f"port={self.port}")
        if self.user is not None:
            parts.append(f"user={quote(self.user)}")
        return " ".join(parts)


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


# --------------------------------------------------------------------------- secrets


@attrs.frozen
class CatalogBinding:
    """One catalog secret: its field, the dbt variable it reaches dbt as, and its reference."""

    field: str
    variable: str
    ref: CatalogCredential


def catalog_variable(catalog: LakehouseCatalog, field: str) -> str:
    """``DBT_ENV_SECRET_CATALOG_<NAME>_<FIELD>``: the variable dbt reads a catalog secret from.

    >>> catalog_variable(LakehouseCatalog(name="lake", type="iceberg_rest", uri="http://h"), "client_id")
    'DBT_ENV_SECRET_CATALOG_LAKE_CLIENT_ID'
    """
    return "DBT_ENV_SECRET_CATALOG_" + re.sub(r"[^A-Z0-9]+", "_", f"{catalog.name}_{field}".upper()).strip(
        "_"
    )


def catalog_bindings(catalog: LakehouseCatalog) -> tuple[CatalogBinding, ...]:
    """Every credential of the catalog with its dbt variable, in the manifest's order."""
    return tuple(CatalogBinding(f, catalog_variable(catalog, f), r) for f, r in catalog.credentials.items())


def catalog_template(catalog: LakehouseCatalog, field: str) -> Any:
    """The ``profiles.yml`` value of credential ``field``: a :class:`~floe_hooks.DbtTemplate`.

    :raises ConfigError: when the catalog has no such credential.
    """
    from floe_hooks.secrets import DbtTemplate

    if field not in catalog.credentials:
        raise ConfigError(
            f"catalog {catalog.name!r} has no credential {field!r}", path=f"catalog.credentials.{field}"
        )
    return DbtTemplate("{{ env_var('" + catalog_variable(catalog, field) + "') }}")


def _resolve(ref: CatalogCredential, variable: str, env: Mapping[str, str]) -> str | None:
    if ref.env is not None and ref.env in env:
        return env[ref.env]
    if ref.file is not None:
        try:
            with open(ref.file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            text = None
        if text is not None:
            return text[:-1] if text.endswith("\n") else text
    if variable in env:
        return env[variable]
    return None


def catalog_environment(
    catalog: LakehouseCatalog | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``DBT_ENV_SECRET_CATALOG_...`` variables a dbt step needs, resolved from their references.

    ``floe run`` (or any runner) adds these to the environment of each dbt process whose
    compute attaches the catalog. A reference is looked up as ``env``, then ``file``,
    then the ``DBT_ENV_SECRET_...`` variable itself (what a pod receives from a
    ``secretKeyRef``). Every resolved value is registered for redaction.

    :raises ConfigError: naming each reference that could not be resolved (never a value).
    """
    if catalog is None:
        return {}
    from floe_hooks._redact import remember
    from floe_hooks.secrets import SecretValue

    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    missing = []
    for binding in catalog_bindings(catalog):
        value = _resolve(binding.ref, binding.variable, env)
        if value is None:
            missing.append(f"{binding.field} ({binding.ref.describe()}, or {binding.variable})")
            continue
        remember(SecretValue(value))
        out[binding.variable] = value
    if missing:
        raise ConfigError(
            f"catalog {catalog.name!r}: credentials not available: {'; '.join(missing)}",
            path="catalog.credentials",
        )
    return out


# --------------------------------------------------------------------------- the manifest


def structure_catalog(raw: Any, file: str, path: str = "catalog") -> LakehouseCatalog:
    """Structure a merged ``catalog:`` mapping, with located errors."""
    from floe_hooks._convert import structure

    if not isinstance(raw, Mapping):
        kind = "null" if raw is None else type(raw).__name__
        raise ConfigError(f"expected a mapping, got {kind}", file=file, path=path)
    for key, value in (
        (raw.get("credentials") or {}).items() if isinstance(raw.get("credentials"), Mapping) else ()
    ):
        if not isinstance(value, Mapping):
            # never echo the value: it is likely a secret pasted where a reference belongs
            raise ConfigError(
                "a literal secret value is not allowed here; use {env: VAR}, {file: PATH} or "
                "{secret: NAME, key: KEY}",
                file=file,
                path=f"{path}.credentials.{key}",
            )
    return structure(raw, LakehouseCatalog, file=file, path=path)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if key != "credentials" and isinstance(value, Mapping) and isinstance(old, Mapping):
            out[key] = _merge(old, value)
        elif key == "credentials" and isinstance(value, Mapping) and isinstance(old, Mapping):
            out[key] = {**old, **value}  # a reference is replaced whole, never merged
        else:
            out[key] = value
    return out


class CatalogLevel:
    """The catalog of one manifest of an ``extends:`` chain (used by :mod:`floe_hooks.manifest`).

    :ivar raw: the catalog mapping as declared (None: no catalog).
    :ivar owner: the file that declared it.
    :ivar overlays: per environment, (file, overlay mapping) pairs, root first.
    """

    def __init__(self) -> None:
        self.raw: Mapping[str, Any] | None = None
        self.owner = ""
        self.base: LakehouseCatalog | None = None
        self.overlays: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        self.by_env: dict[str, LakehouseCatalog] = {}

    def resolve(self, env: str | None) -> LakehouseCatalog | None:
        """The catalog in environment ``env`` (None: the base)."""
        if env is None:
            return self.base
        return self.by_env.get(env, self.base)


def catalog_level(
    data: Mapping[str, Any],
    display: str,
    parent: CatalogLevel | None,
    parent_display: str | None,
    env_names: Sequence[str],
) -> CatalogLevel:
    """Resolve the ``catalog:`` of one manifest file given its parent's (governance + overlays).

    :param data: the manifest file's top-level mapping, as read.
    :raises ConfigError: a child replacing or dropping its parent's catalog (naming both files),
        an overlay changing ``name`` or ``type``, or a bad block.
    """
    level = CatalogLevel()
    if parent is not None:
        level.raw, level.owner, level.base = parent.raw, parent.owner, parent.base
        level.overlays = {env: list(items) for env, items in parent.overlays.items()}
    if "catalog" in data:
        if level.raw is not None:
            what = "drop" if data["catalog"] is None else "replace"
            raise ConfigError(
                f"cannot {what} the catalog {level.raw.get('name')!r} set by {level.owner}, which "
                f"{display} extends (through {parent_display}): the catalog is the platform's; "
                "a child manifest "
                "inherits it as it is (environments.<env>.catalog may change its connection settings)"
                if parent_display != level.owner
                else f"cannot {what} the catalog {level.raw.get('name')!r} set by the parent manifest "
                f"{level.owner}: "
                "the catalog is the platform's; a child manifest inherits it as it is "
                "(environments.<env>.catalog may change its connection settings)",
                file=display,
                path="catalog",
            )
        level.raw = data["catalog"]
        level.owner = display
        level.base = structure_catalog(level.raw, display)
    envs = data.get("environments")
    if isinstance(envs, Mapping):
        for env, section in envs.items():
            if not isinstance(section, Mapping) or "catalog" not in section:
                continue
            overlay = section["catalog"]
            prefix = f"environments.{env}.catalog"
            if overlay is None:
                continue
            if not isinstance(overlay, Mapping):
                raise ConfigError(
                    f"expected a mapping, got {type(overlay).__name__}", file=display, path=prefix
                )
            if level.raw is None:
                raise ConfigError(
                    "no catalog is declared to overlay; declare catalog: first", file=display, path=prefix
                )
            for key in overlay:
                if key in ("name", "type"):
                    raise ConfigError(
                        f"an environment may change the catalog's connection settings, never its {key}: "
                        f"every compute attaches it as {level.raw.get('name')!r} in every environment; "
                        f"allowed: {', '.join(CATALOG_OVERLAY_KEYS)}",
                        file=display,
                        path=f"{prefix}.{key}",
                    )
                if key not in CATALOG_OVERLAY_KEYS:
                    raise ConfigError(
                        f"unknown key {key!r}; allowed: {', '.join(CATALOG_OVERLAY_KEYS)}",
                        file=display,
                        path=f"{prefix}.{key}",
                    )
            level.overlays.setdefault(str(env), []).append((display, overlay))
    if level.raw is not None:
        for env in env_names:
            layers = level.overlays.get(env)
            if not layers:
                continue
            merged: Mapping[str, Any] = level.raw
            for _, overlay in layers:
                merged = _merge(merged, overlay)
            level.by_env[env] = structure_catalog(merged, layers[-1][0], f"environments.{env}.catalog")
    return level


# --------------------------------------------------------------------------- plugins and edges


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


# --------------------------------------------------------------------------- artifact


def catalog_artifact(
    catalog: LakehouseCatalog | None, attached_by: Sequence[str] = ()
) -> dict[str, Any] | None:
    """The ``catalog`` entry of ``compiled_artifacts.json`` (documented in docs/compiled-artifacts.md)."""
    if catalog is None:
        return None
    from floe_hooks._convert import unstructure

    settings: dict[str, Any] = {}
    if catalog.metadata is not None:
        settings["metadata"] = {k: v for k, v in unstructure(catalog.metadata).items() if v is not None}
    for field in ("data_path", "uri", "warehouse", "oauth2_server_uri", "scope"):
        if getattr(catalog, field) is not None:
            settings[field] = getattr(catalog, field)
    if catalog.storage is not None:
        settings["storage"] = {k: v for k, v in unstructure(catalog.storage).items() if v is not None}
    return {
        "name": catalog.name,
        "type": catalog.type,
        "shared": catalog.shared,
        "settings": settings,
        "attached_by": list(attached_by),
        "env": [
            {
                "variable": b.variable,
                "path": f"credentials.{b.field}",
                "from": {k: v for k, v in unstructure(b.ref).items() if v is not None},
            }
            for b in catalog_bindings(catalog)
        ],
    }


# --------------------------------------------------------------------------- health


def _tcp_probe(host: str, port: int, timeout: float) -> str | None:
    """Open a TCP connection and ask PostgreSQL whether it speaks TLS: proves a server answers.

    Sends the 8-byte SSLRequest, reads the one-byte answer (``S`` or ``N``) and closes:
    no login, nothing created, no password sent.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")
            answer = sock.recv(1)
    except OSError as exc:
        return f"metadata store {host}:{port} unreachable: {exc.strerror or type(exc).__name__}"
    if answer not in (b"S", b"N"):
        return f"metadata store {host}:{port} answered, but not as PostgreSQL"
    return None


def check_catalog(
    catalog: LakehouseCatalog, timeout: float = 5.0, environ: Mapping[str, str] | None = None
) -> ConnectionResult:
    """``floe validate``'s catalog row: a read-only probe of the metadata store and the data location.

    DuckLake on PostgreSQL: a TCP connection that PostgreSQL answers (its SSLRequest
    handshake; no login, nothing created). DuckLake on a DuckDB file: the file exists and
    is readable (a catalog that has never been written to is ``degraded``). A data
    folder: exists and is readable (missing: ``degraded``, DuckLake creates it on first
    write). An ``s3://`` data path and an Iceberg REST ``uri``: the endpoint answers TCP.
    Missing credentials: ``unhealthy``. Never raises, never creates anything.
    """
    from urllib.parse import urlsplit

    start = time.perf_counter()
    problems: list[str] = []
    warnings: list[str] = []
    deadline = max(timeout, 0.05)

    def elapsed() -> float:
        return (time.perf_counter() - start) * 1000

    try:
        catalog_environment(catalog, environ)
    except ConfigError as exc:
        problems.append(exc.message)
    if catalog.type == "ducklake" and catalog.metadata is not None:
        meta = catalog.metadata
        if meta.type == "postgres":
            problem = _tcp_probe(meta.host or "", meta.port or 5432, deadline)
            if problem:
                problems.append(problem)
        else:
            path = meta.path or ""
            if not os.path.exists(path):
                warnings.append(f"metadata file {path} does not exist yet (created on first write)")
            elif not os.access(path, os.R_OK):
                problems.append(f"metadata file {path} is not readable")
        data = catalog.data_path or ""
        if catalog.on_object_store:
            endpoint = catalog.storage.endpoint if catalog.storage and catalog.storage.endpoint else None
            if endpoint is not None:
                host, _, port = endpoint.rpartition(":") if ":" in endpoint else (endpoint, "", "")
                use_ssl = not (catalog.storage and catalog.storage.use_ssl is False)
                try:
                    with socket.create_connection(
                        (host, int(port or (443 if use_ssl else 80))), timeout=deadline
                    ):
                        pass
                except (OSError, ValueError) as exc:
                    problems.append(
                        f"object store {endpoint} unreachable: "
                        f"{getattr(exc, 'strerror', None) or type(exc).__name__}"
                    )
        elif not os.path.exists(data):
            warnings.append(f"data folder {data} does not exist yet (created on first write)")
        elif not (os.path.isdir(data) and os.access(data, os.R_OK | os.X_OK)):
            problems.append(f"data path {data} is not a readable folder")
    elif catalog.uri is not None:
        parts = urlsplit(catalog.uri)
        rest_port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.create_connection((parts.hostname or "", rest_port), timeout=deadline):
                pass
        except OSError as exc:
            problems.append(
                f"REST catalog {parts.hostname}:{rest_port} unreachable: {exc.strerror or type(exc).__name__}"
            )
    if problems:
        return ConnectionResult(
            status=ConnectionStatus.UNHEALTHY,
            latency_ms=elapsed(),
            message="; ".join(problems),
            warnings=tuple(warnings),
        )
    status = ConnectionStatus.DEGRADED if warnings else ConnectionStatus.HEALTHY
    message = "; ".join(warnings) if warnings else f"{catalog.type} catalog reachable"
    return ConnectionResult(status=status, latency_ms=elapsed(), message=message, warnings=tuple(warnings))


def catalog_row(catalog: LakehouseCatalog, result: ConnectionResult) -> dict[str, Any]:
    """The catalog's row of ``floe validate`` (table and ``--format json``)."""
    return {
        "name": catalog.name,
        "type": catalog.type,
        "status": result.status.value,
        "latency_ms": round(result.latency_ms, 3),
        "message": result.message,
        "warnings": list(result.warnings),
        "details": dict(result.details),
    }


def check_catalog_concurrently(
    catalog: LakehouseCatalog, timeout: float | None = None, environ: Mapping[str, str] | None = None
) -> Callable[[], tuple[ConnectionResult, dict[str, Any]]]:
    """Start :func:`check_catalog` in a daemon thread; the returned function waits for it.

    The wait is bounded by the timeout (default 5 s) plus a little: a probe that overruns
    is reported unhealthy, "timed out", and its thread abandoned.
    """
    import threading

    from floe_hooks._redact import redact

    seconds = timeout if timeout is not None else 5.0
    box: list[ConnectionResult] = []
    start = time.perf_counter()

    def work() -> None:
        try:
            box.append(check_catalog(catalog, seconds, environ))
        except Exception as exc:  # never raise into floe validate
            box.append(
                ConnectionResult(
                    status=ConnectionStatus.UNHEALTHY,
                    latency_ms=(time.perf_counter() - start) * 1000,
                    message=f"catalog check raised {type(exc).__name__}",
                )
            )

    thread = threading.Thread(target=work, name=f"floe-check-catalog-{catalog.name}", daemon=True)
    thread.start()

    def wait() -> tuple[ConnectionResult, dict[str, Any]]:
        thread.join(max(seconds - (time.perf_counter() - start), 0.0) + 0.05)
        if box:
            result = box[0]
            result = attrs.evolve(result, message=redact(result.message))
        else:
            result = ConnectionResult(
                status=ConnectionStatus.UNHEALTHY,
                latency_ms=(time.perf_counter() - start) * 1000,
                message=f"timed out after {seconds:g} s",
            )
        return result, catalog_row(catalog, result)

    return wait


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
    props["name"] = {**props["name"], "pattern": _NAME.pattern}
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
