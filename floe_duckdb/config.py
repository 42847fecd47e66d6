"""The typed ``config:`` block of a DuckDB compute: every dbt-duckdb profile field.

Structured by floe's strict converter: an unknown key, a wrong type or a literal secret
is a :class:`~floe_hooks.ConfigError` naming the field path (``compute.approved[1].config.attach[0].alias``).
Validators here check what can be checked without DuckDB: names that dbt-duckdb writes
unquoted into SQL (attach aliases, setting names, secret types, option keys) must be
plain identifiers, and ``memory_limit`` must be a size DuckDB understands.

This module imports only attrs and floe_hooks: ``floe plugins`` imports it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import attrs

from floe_duckdb._sql import identifier_problem
from floe_hooks import ConfigError, SecretRef

__all__ = [
    "DuckDBConfig",
    "Attachment",
    "DuckDBSecret",
    "DbtDuckDBPlugin",
    "Filesystem",
    "Retries",
    "Remote",
    "MEMORY_LIMIT",
    "CREDENTIAL_KEYS",
]

#: What DuckDB's ``memory_limit`` accepts: a number with a unit (``4GB``, ``512MiB``,
#: ``1.5 GB``) or a percentage of the machine's memory (``75%``).
MEMORY_LIMIT = re.compile(
    r"\s*(?P<num>[0-9]+(?:\.[0-9]+)?)\s*"
    r"(?P<unit>%|[kmgt]i?b|[kmgt]|bytes?|b|(?:kilo|mega|giga|tera|kibi|mebi|gibi|tebi)bytes?)\s*",
    re.IGNORECASE,
)

#: Option names that carry a credential: a literal value under one of these names is an
#: error, since the manifest must hold a reference (``{env: VAR}``) instead.
CREDENTIAL_KEYS = frozenset(
    {
        "secret",
        "key_id",
        "session_token",
        "token",
        "password",
        "client_secret",
        "account_key",
        "connection_string",
        "access_token",
        "bearer_token",
        "api_key",
        "private_key",
        "motherduck_token",
        "s3_access_key_id",
        "s3_secret_access_key",
        "s3_session_token",
        "azure_storage_connection_string",
        "hf_token",
    }
)

_SCALARS = (str, int, float, bool)
#: C0/C1 controls, DEL and the Unicode line separators: never inside a one-line value.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _problem(message: str, path: str) -> ConfigError:
    return ConfigError(message, path=path)


def _identifier(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        problem = identifier_problem(value)
        if problem:
            raise _problem(problem, attribute.name)


def _non_empty(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip() or "\x00" in value:
        raise _problem("must be a non-empty string without NUL characters", attribute.name)


def _positive_int(_: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise _problem(
            f"must be at least 1, got {value if value > -(10**40) else 'a huge negative number'}",
            attribute.name,
        )
    if value is not None and value > 2**31 - 1:  # DuckDB and dbt-duckdb hold it in a C int
        raise _problem(f"must be at most {2**31 - 1}", attribute.name)


def _check_options(
    name: str,
    options: Mapping[str, Any],
    *,
    reserved: frozenset[str] = frozenset(),
    nested: bool = False,
    credentials: Mapping[str, SecretRef] | None = None,
    one_line: bool = False,
) -> None:
    """Keys are identifiers; values scalars (or JSON-like when ``nested``); no literal secrets."""
    for key, value in options.items():
        path = f"{name}.{key}"
        problem = identifier_problem(key)
        if problem:
            raise _problem(problem, path)
        if key.lower() in reserved:
            raise _problem(f"{key!r} has its own field; set it there, not in {name}", path)
        if key.lower() in CREDENTIAL_KEYS and not isinstance(value, bool):
            # never echo the value: it is likely a secret
            raise _problem(
                f"{key!r} is a credential: give it as a reference under 'credentials' "
                "({env: VAR} or {secret: NAME, key: KEY}), never as a literal",
                path,
            )
        if credentials is not None and key in credentials:
            raise _problem(f"{key!r} is set both here and in 'credentials'", path)
        if not nested and not isinstance(value, _SCALARS):
            raise _problem("expected a string, number or boolean", path)
        if one_line and isinstance(value, str) and _CONTROL.search(value):
            # a value reaches SET/ATTACH statements and DuckDB's own logs: one line of text
            found = _CONTROL.search(value)
            assert found is not None
            raise _problem(
                f"contains the control character {found[0]!r}; a setting value must be one line of text",
                path,
            )
        if nested:
            _check_json_like(value, path)


def _check_json_like(value: Any, path: str) -> None:
    if value is None or isinstance(value, _SCALARS):
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_json_like(item, f"{path}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _problem("mapping keys must be strings", path)
            _check_json_like(item, f"{path}.{key}")
        return
    raise _problem(f"expected plain data (string, number, boolean, list, mapping), got {value!r}", path)


def _check_credential_keys(name: str, credentials: Mapping[str, SecretRef]) -> None:
    for key in credentials:
        problem = identifier_problem(key)
        if problem:
            raise _problem(problem, f"{name}.{key}")


@attrs.frozen
class Attachment:
    """A further database dbt-duckdb attaches (``ATTACH 'path' AS alias (TYPE ..., READ_ONLY)``).

    :ivar path: the database file or URL (``other.duckdb``, ``s3://bucket/db.duckdb``,
        ``postgres:dbname=x``). Relative paths resolve against dbt's working directory.
    :ivar alias: the catalog name in SQL; an identifier (default: derived by DuckDB from the path).
    :ivar type: the database type when not DuckDB (``sqlite``, ``postgres``, ``ducklake``); an identifier.
    :ivar read_only: attach read-only.
    :ivar secret: name of a DuckDB secret to use for this attachment; an identifier.
    :ivar options: further ``ATTACH`` options (``{block_size: 262144}``); keys are identifiers.
    :ivar is_ducklake: tell dbt-duckdb this is a DuckLake database when the path does not say so.
    """

    path: str = attrs.field(validator=_non_empty)
    alias: str | None = attrs.field(default=None, validator=_identifier)
    type: str | None = attrs.field(default=None, validator=_identifier)
    read_only: bool = False
    # the *name* of a DuckDB secret, not a secret: exempt from floe's secret-name heuristic
    secret: str | None = attrs.field(default=None, validator=_identifier, metadata={"floe_secret": False})
    options: Mapping[str, Any] = attrs.field(factory=dict)
    is_ducklake: bool | None = None

    def __attrs_post_init__(self) -> None:
        _check_options("options", self.options, reserved=frozenset({"type", "secret", "read_only"}))


@attrs.frozen
class DuckDBSecret:
    """A DuckDB secret dbt-duckdb creates on connect (``CREATE SECRET``): S3, GCS, Azure, R2, HF...

    :ivar type: the secret type (``s3``, ``gcs``, ``azure``, ``r2``, ``huggingface``, ``iceberg``).
    :ivar name: the secret's name; an identifier (dbt-duckdb numbers unnamed ones).
    :ivar provider: ``config`` (default), ``credential_chain``...; an identifier.
    :ivar scope: path prefixes the secret applies to.
    :ivar persistent: create a persistent secret.
    :ivar options: the secret's non-secret parameters (``region``, ``endpoint``, ``url_style``).
    :ivar credentials: its secret parameters as references (``key_id``, ``secret``,
        ``session_token``, ``connection_string``...); they reach the profile as ``env_var()``.
    """

    type: str = attrs.field(validator=_identifier)
    name: str | None = attrs.field(default=None, validator=_identifier)
    provider: str | None = attrs.field(default=None, validator=_identifier)
    scope: tuple[str, ...] = ()
    persistent: bool | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    credentials: Mapping[str, SecretRef] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        _check_credential_keys("credentials", self.credentials)
        _check_options(
            "options",
            self.options,
            reserved=frozenset({"type", "name", "provider", "scope", "persistent"}),
            nested=True,
            credentials=self.credentials,
        )


@attrs.frozen
class DbtDuckDBPlugin:
    """A dbt-duckdb plugin (``plugins:`` in the profile): ``gsheet``, ``excel``, ``sqlalchemy``, your module.

    :ivar module: the plugin module (a built-in name or a dotted Python path).
    :ivar alias: the name models use to refer to it.
    :ivar config: the plugin's own settings (plain data).
    :ivar credentials: secret settings as references, merged into ``config`` as ``env_var()``.
    """

    module: str = attrs.field(validator=_non_empty)
    alias: str | None = attrs.field(default=None, validator=_identifier)
    config: Mapping[str, Any] = attrs.field(factory=dict)
    credentials: Mapping[str, SecretRef] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        _check_credential_keys("credentials", self.credentials)
        _check_options("config", self.config, nested=True, credentials=self.credentials)


@attrs.frozen
class Filesystem:
    """An fsspec filesystem dbt-duckdb registers (``filesystems:`` in the profile).

    :ivar fs: the fsspec protocol (``s3``, ``gcs``, ``abfs``, ``memory``...).
    :ivar options: keyword arguments for ``fsspec.filesystem`` (plain data).
    :ivar credentials: secret keyword arguments as references.
    """

    fs: str = attrs.field(validator=_non_empty)
    options: Mapping[str, Any] = attrs.field(factory=dict)
    credentials: Mapping[str, SecretRef] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        _check_credential_keys("credentials", self.credentials)
        _check_options(
            "options", self.options, reserved=frozenset({"fs"}), nested=True, credentials=self.credentials
        )


@attrs.frozen
class Retries:
    """dbt-duckdb's retry policy (``retries:`` in the profile).

    :ivar connect_attempts: attempts at the initial connect (waiting for another process's lock).
    :ivar query_attempts: attempts at a query that raised a retryable exception (None: no retry).
    :ivar retryable_exceptions: DuckDB exception class names worth retrying.
    """

    connect_attempts: int = attrs.field(default=1, validator=_positive_int)
    query_attempts: int | None = attrs.field(default=None, validator=_positive_int)
    retryable_exceptions: tuple[str, ...] = ("IOException",)

    def __attrs_post_init__(self) -> None:
        for index, name in enumerate(self.retryable_exceptions):
            problem = identifier_problem(name)
            if problem:
                raise _problem(problem, f"retryable_exceptions[{index}]")


@attrs.frozen
class Remote:
    """A remote DuckDB server speaking the Postgres protocol (Buena Vista), ``remote:`` in the profile.

    :ivar host: server host.
    :ivar port: server port.
    :ivar user: user name.
    :ivar password: the password as a reference.
    """

    host: str = attrs.field(validator=_non_empty)
    port: int = attrs.field()
    user: str = attrs.field(validator=_non_empty)
    password: SecretRef | None = None

    @port.validator
    def _check_port(self, attribute: attrs.Attribute[Any], value: int) -> None:
        if not 0 < value < 65536:
            raise _problem(f"must be a TCP port (1-65535), got {value}", attribute.name)


def _check_memory_limit(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    match = MEMORY_LIMIT.fullmatch(value)
    if match is None:
        raise _problem(
            f"{value!r} is not a DuckDB memory size: use a number with a unit "
            "(4GB, 512MiB, 1.5GB) or a percentage of memory (75%)",
            attribute.name,
        )
    number = float(match["num"])
    if match["unit"] == "%" and not 0 < number <= 100:
        raise _problem(f"a percentage must be above 0 and at most 100, got {value!r}", attribute.name)
    if number <= 0:
        raise _problem(f"must be greater than zero, got {value!r}", attribute.name)


def _check_path(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip() or "\x00" in value:
        raise _problem("must be ':memory:' or a database file path", attribute.name)


@attrs.frozen
class DuckDBConfig:
    """The ``config:`` block of a DuckDB compute: dbt-duckdb's profile fields, typed.

    Every field reaches the generated profile; ``None`` and empty values leave
    dbt-duckdb's own default in place.

    :ivar path: ``:memory:`` or a database file. A relative path is written to the
        profile as given, so it resolves against the working directory of the process
        that opens it: dbt's (where you run ``dbt``) and ``floe validate``'s.
        ``md:``/``motherduck:`` paths name a MotherDuck database.
    :ivar database: dbt's database name; dbt-duckdb derives it from ``path`` (or an attach alias).
    :ivar schema: the default schema of dbt's models.
    :ivar threads: DuckDB's worker threads (``SET threads``). Unset: derived from the
        pod's CPU limit. (dbt's own ``threads`` is the compute's ``threads:``.)
    :ivar memory_limit: DuckDB's memory limit (``4GB``, ``512MiB``, ``75%``). Unset:
        75% of the pod's memory limit, so the engine spills before the pod is OOM-killed.
    :ivar extensions: extensions dbt-duckdb installs and loads on connect (``httpfs``, ``iceberg``).
    :ivar extension_repositories: per extension, the repository to install it from
        (``{spatial: core_nightly}``); the others come from DuckDB's default repository.
    :ivar extension_directory: a local folder of installed extensions
        (``<dir>/v<duckdb version>/<platform>/<name>.duckdb_extension``): with it and
        ``autoinstall_extensions: false`` nothing is downloaded. See
        :func:`floe_duckdb.extensions.link_wheel_extensions` to fill it from PyPI wheels.
    :ivar autoinstall_extensions: DuckDB's ``autoinstall_known_extensions``.
    :ivar autoload_extensions: DuckDB's ``autoload_known_extensions``.
    :ivar settings: ``SET`` options applied to every dbt connection; names are identifiers.
    :ivar config_options: options given to ``duckdb.connect(config=...)`` (connect-time only).
    :ivar attach: further databases to attach.
    :ivar secrets: DuckDB secrets to create (credentials as references).
    :ivar external_root: root folder of dbt-duckdb's external materializations.
    :ivar module_paths: folders added to ``sys.path`` for dbt-duckdb plugins and Python models.
    :ivar plugins: dbt-duckdb plugins.
    :ivar filesystems: fsspec filesystems to register.
    :ivar retries: connect/query retry policy.
    :ivar keep_open: keep the DuckDB connection open between dbt invocations.
    :ivar disable_transactions: run statements outside transactions (smaller files).
    :ivar is_ducklake: tell dbt-duckdb the main database is a DuckLake.
    :ivar remote: a Buena Vista server to run on instead of an in-process database.
    :ivar motherduck_token: the MotherDuck token as a reference.
    """

    path: str = attrs.field(default=":memory:", validator=_check_path)
    database: str | None = attrs.field(default=None, validator=_identifier)
    schema: str = attrs.field(default="main", validator=_non_empty)
    threads: int | None = attrs.field(default=None, validator=_positive_int)
    memory_limit: str | None = attrs.field(default=None, validator=_check_memory_limit)
    extensions: tuple[str, ...] = ()
    extension_repositories: Mapping[str, str] = attrs.field(factory=dict)
    extension_directory: str | None = None
    autoinstall_extensions: bool | None = None
    autoload_extensions: bool | None = None
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    config_options: Mapping[str, Any] = attrs.field(factory=dict)
    attach: tuple[Attachment, ...] = ()
    secrets: tuple[DuckDBSecret, ...] = ()
    external_root: str | None = None
    module_paths: tuple[str, ...] = ()
    plugins: tuple[DbtDuckDBPlugin, ...] = ()
    filesystems: tuple[Filesystem, ...] = ()
    retries: Retries | None = None
    keep_open: bool | None = None
    disable_transactions: bool | None = None
    is_ducklake: bool | None = None
    remote: Remote | None = None
    motherduck_token: SecretRef | None = None

    def __attrs_post_init__(self) -> None:
        self._check_extensions()
        _check_options("settings", self.settings, one_line=True)
        _check_options(
            "config_options",
            self.config_options,
            reserved=frozenset(
                {"extension_directory", "autoinstall_known_extensions", "autoload_known_extensions"}
            ),
            one_line=True,
        )
        for key, field in (("memory_limit", self.memory_limit), ("threads", self.threads)):
            if field is not None and key in self.settings:
                raise _problem(f"{key} is set twice: here and as config.{key}; keep one", f"settings.{key}")
        if self.extension_directory is not None and not self.extension_directory.strip():
            raise _problem("must be a folder path", "extension_directory")
        self._check_attach()
        self._check_database()
        names = [s.name for s in self.secrets if s.name is not None]
        for name in names:
            if names.count(name) > 1:
                raise _problem(f"secret name {name!r} is used twice", "secrets")

    def _check_extensions(self) -> None:
        for index, name in enumerate(self.extensions):
            problem = identifier_problem(name)
            if problem:
                raise _problem(problem.replace("identifier", "extension name"), f"extensions[{index}]")
            if self.extensions.index(name) != index:
                raise _problem(f"extension {name!r} is listed twice", f"extensions[{index}]")
        for name, repo in self.extension_repositories.items():
            if name not in self.extensions:
                raise _problem(
                    f"{name!r} is not in extensions; list it there too", f"extension_repositories.{name}"
                )
            if not repo.strip() or any(c in repo for c in "'\";\x00\n"):
                raise _problem(
                    "must be a repository name (core, core_nightly, community) or URL",
                    f"extension_repositories.{name}",
                )

    def _check_database(self) -> None:
        # dbt-duckdb insists that `database` is the catalog DuckDB names after the file (or an
        # attach alias); say so at compile time instead of at dbt's start
        if self.database is None or ":" in self.path.replace(":memory:", "", 1):
            return
        stem = os.path.basename(self.path).lstrip(".").split(".")[0] if self.path != ":memory:" else "memory"
        allowed = [stem, *(a.alias for a in self.attach if a.alias is not None)]
        if self.database not in allowed:
            raise _problem(
                f"{self.database!r} is neither the database {self.path!r} opens ({stem!r}) "
                "nor an attach alias; dbt-duckdb would refuse it",
                "database",
            )

    def _check_attach(self) -> None:
        seen: dict[str, int] = {}
        for index, attachment in enumerate(self.attach):
            alias = attachment.alias
            if alias is None:
                continue
            if alias.lower() in seen:
                raise _problem(
                    f"alias {alias!r} is already used by attach[{seen[alias.lower()]}]",
                    f"attach[{index}].alias",
                )
            seen[alias.lower()] = index
