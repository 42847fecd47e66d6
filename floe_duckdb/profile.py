"""The dbt-duckdb profile output of a DuckDB compute, and the sizes derived from its pod.

Every field of :class:`~floe_duckdb.config.DuckDBConfig` lands in the output; secret
references become ``{{ env_var('DBT_ENV_SECRET_...') }}`` templates, never values.
Those are :class:`~floe_hooks.DbtTemplate` values from :func:`~floe_hooks.profile_secret`;
every other string (paths, settings, options) is a literal, which ``floe compile``
writes so that dbt's Jinja gives back exactly the manifest's text.
"""

from __future__ import annotations

from typing import Any

from floe_duckdb.config import DuckDBConfig
from floe_hooks import (
    ComputeConfig,
    ConfigError,
    DbtTemplate,
    ResourceSpec,
    WorkloadSize,
    note,
    profile_secret,
)

__all__ = [
    "BUILTIN_EXTENSIONS",
    "DEFAULT_SIZE",
    "MEMORY_FRACTION",
    "build_profile",
    "config_of",
    "derived_memory_limit",
    "derived_threads",
    "pod_resources",
    "refuse_threads_into_ducklake",
    "set_fields",
]

#: Extensions linked into the DuckDB of the Python wheels (``duckdb_extensions()`` lists them
#: with ``install_mode = 'STATICALLY_LINKED'``): always loaded, yet dbt-duckdb runs ``INSTALL``
#: for each listed extension, which downloads and fails offline. The profile leaves them out.
BUILTIN_EXTENSIONS = frozenset({"core_functions", "icu", "json", "parquet"})

#: The workload size of a DuckDB compute whose manifest sets no ``resources``.
DEFAULT_SIZE: WorkloadSize = "small"

#: Share of the pod's memory limit given to DuckDB when ``memory_limit`` is unset: the rest
#: covers dbt, Python and allocations DuckDB does not count, so the pod spills, not dies.
MEMORY_FRACTION = 0.75


def _ducklake_path(path: str) -> bool:
    """Whether dbt-duckdb attaches ``path`` as a DuckLake (``ducklake:...``)."""
    return path.startswith("ducklake:")


def refuse_threads_into_ducklake(compute: ComputeConfig, what: str, *, path: str = "threads") -> None:
    """Refuse ``compute.threads`` above 1 on a compute whose models write into a DuckLake.

    DuckDB 1.5's DuckLake extension breaks commits that several threads of one process
    make at once, whether the metadata is a DuckDB file or PostgreSQL: failed commits
    naming schema ids that do not exist, ``Allocation failure``, crashes
    (`duckdb/ducklake#1404 <https://github.com/duckdb/ducklake/issues/1404>`_,
    `duckdb/duckdb#24965 <https://github.com/duckdb/duckdb/issues/24965>`_): here, up to 4 of
    8 ``dbt build`` runs of 32 models with 8 threads failed, none of 24 with 1
    (``benchmarks/ducklake_threads.py``). dbt-duckdb gives
    each dbt thread a cursor of one connection, so dbt ``threads`` must be 1 there. The
    compute's ``threads`` is dbt's and wins over the profile, so this is the manifest's
    error to fix, not the plugin's to override. Each model still uses all of DuckDB's own
    threads, and separate processes (the steps of ``floe run``, pods) stay concurrent: the
    metadata store arbitrates them.

    :param what: the DuckLake, for the message (``the DuckLake catalog 'lake'``).
    :param path: the field path of ``threads`` relative to where the caller's error is located.
    :raises ConfigError: ``compute.threads`` is more than 1.
    """
    if compute.threads is not None and compute.threads > 1:
        raise ConfigError(
            f"{compute.threads} runs models at once, and they write into {what}: DuckLake "
            "breaks commits made at once by threads of one process (duckdb/ducklake#1404); set threads: 1 "
            "(each model still uses all of DuckDB's threads, and floe run's steps stay parallel)",
            path=path,
        )


def set_fields(source: object, /, **keys: str) -> dict[str, Any]:
    """``{key: source.<field>}`` for each ``field=key`` whose value is set (not None), in that order."""
    return {key: value for field, key in keys.items() if (value := getattr(source, field)) is not None}


def config_of(compute: ComputeConfig) -> DuckDBConfig:
    """The compute's typed config (defaults when the manifest gave none)."""
    return compute.config if isinstance(compute.config, DuckDBConfig) else DuckDBConfig()


def pod_resources(compute: ComputeConfig) -> ResourceSpec:
    """The dbt job pod's resources: the manifest's preset or spec, else :data:`DEFAULT_SIZE`."""
    return ResourceSpec.resolve(compute.resources, default=DEFAULT_SIZE)


def derived_memory_limit(spec: ResourceSpec) -> str:
    """75% of the pod's memory limit, in whole MiB (``512Mi`` -> ``384MiB``, ``4Gi`` -> ``3072MiB``)."""
    mib = int(spec.memory_limit_bytes * MEMORY_FRACTION) // 2**20
    return f"{max(mib, 1)}MiB"


def derived_threads(spec: ResourceSpec) -> int:
    """DuckDB worker threads for the pod's CPU limit: whole cores, at least one (``500m`` -> 1)."""
    return max(1, spec.cpu_limit_millicores // 1000)


def _templates(compute: ComputeConfig, prefix: str, keys: Any) -> dict[str, DbtTemplate]:
    return {key: profile_secret(compute, f"{prefix}.{key}") for key in keys}


def build_profile(compute: ComputeConfig) -> dict[str, Any]:
    """The dbt output dict for ``compute`` (what the ``generate_profile`` hook returns)."""
    cfg = config_of(compute)
    out: dict[str, Any] = {"type": "duckdb", "path": cfg.path}
    if cfg.database is not None:
        out["database"] = cfg.database
    out["schema"] = cfg.schema
    out["threads"] = compute.threads or 1

    builtin = [n for n in cfg.extensions if n in BUILTIN_EXTENSIONS and n not in cfg.extension_repositories]
    if builtin:
        what = f"extension {builtin[0]} is" if len(builtin) == 1 else f"extensions {', '.join(builtin)} are"
        note(
            f"compute {compute.name!r}: {what} built into DuckDB and always loaded; "
            "left out of the profile (dbt-duckdb would try to download it)"
        )
    extensions = [name for name in cfg.extensions if name not in builtin]
    if extensions:
        out["extensions"] = [
            {"name": name, "repo": cfg.extension_repositories[name]}
            if name in cfg.extension_repositories
            else name
            for name in extensions
        ]

    spec = pod_resources(compute)
    settings: dict[str, Any] = dict(cfg.settings)
    if "memory_limit" not in settings:
        settings["memory_limit"] = cfg.memory_limit or derived_memory_limit(spec)
    if "threads" not in settings:
        settings["threads"] = cfg.threads or derived_threads(spec)
    if cfg.motherduck_token is not None:
        settings["motherduck_token"] = profile_secret(compute, "config.motherduck_token")
    out["settings"] = settings

    options: dict[str, Any] = dict(cfg.config_options)
    options.update(
        set_fields(
            cfg,
            extension_directory="extension_directory",
            autoinstall_extensions="autoinstall_known_extensions",
            autoload_extensions="autoload_known_extensions",
        )
    )
    if options:
        out["config_options"] = options

    if cfg.attach:
        out["attach"] = [_attachment(a) for a in cfg.attach]
    if cfg.secrets:
        out["secrets"] = [_secret(compute, i, s) for i, s in enumerate(cfg.secrets)]
    if cfg.external_root is not None:
        out["external_root"] = cfg.external_root
    if cfg.module_paths:
        out["module_paths"] = list(cfg.module_paths)
    if cfg.plugins:
        out["plugins"] = [
            {
                "module": p.module,
                **({"alias": p.alias} if p.alias is not None else {}),
                **(
                    {
                        "config": {
                            **p.config,
                            **_templates(compute, f"config.plugins[{i}].credentials", p.credentials),
                        }
                    }
                    if p.config or p.credentials
                    else {}
                ),
            }
            for i, p in enumerate(cfg.plugins)
        ]
    if cfg.filesystems:
        out["filesystems"] = [
            {
                "fs": f.fs,
                **f.options,
                **_templates(compute, f"config.filesystems[{i}].credentials", f.credentials),
            }
            for i, f in enumerate(cfg.filesystems)
        ]
    if cfg.retries is not None:
        retries: dict[str, Any] = {
            "connect_attempts": cfg.retries.connect_attempts,
            "retryable_exceptions": list(cfg.retries.retryable_exceptions),
        }
        if cfg.retries.query_attempts is not None:
            retries["query_attempts"] = cfg.retries.query_attempts
        out["retries"] = retries
    for flag in ("keep_open", "disable_transactions", "is_ducklake"):
        if getattr(cfg, flag) is not None:
            out[flag] = getattr(cfg, flag)
    if cfg.is_ducklake or _ducklake_path(cfg.path):
        refuse_threads_into_ducklake(compute, "the DuckLake at config.path")
    else:
        written = next(
            (
                f"config.attach[{i}]" + (f" ({a.alias})" if a.alias else "")
                for i, a in enumerate(cfg.attach)
                if not a.read_only and (a.is_ducklake or a.type == "ducklake" or _ducklake_path(a.path))
            ),
            None,
        )
        if written is not None:  # paths are never quoted: a libpq string may hold a password
            refuse_threads_into_ducklake(compute, f"the DuckLake attached as {written} without read_only")
    if cfg.remote is not None:
        remote: dict[str, Any] = {"host": cfg.remote.host, "port": cfg.remote.port, "user": cfg.remote.user}
        if cfg.remote.password is not None:
            remote["password"] = profile_secret(compute, "config.remote.password")
        out["remote"] = remote
    return out


def _attachment(a: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"path": a.path}
    for key in ("alias", "type", "secret", "is_ducklake"):
        if getattr(a, key) is not None:
            item[key] = getattr(a, key)
    if a.read_only:
        item["read_only"] = True
    if a.options:
        item["options"] = dict(a.options)
    return item


def _secret(compute: ComputeConfig, index: int, s: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"type": s.type}
    for key in ("name", "provider", "persistent"):
        if getattr(s, key) is not None:
            item[key] = getattr(s, key)
    if s.scope:
        item["scope"] = s.scope[0] if len(s.scope) == 1 else list(s.scope)
    item.update(s.options)
    item.update(_templates(compute, f"config.secrets[{index}].credentials", s.credentials))
    return item
