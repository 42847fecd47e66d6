"""The DuckDB health check: open read-only, probe, load the requested extensions, report.

Rules the check keeps, because a dbt run may be using the same file right now:

* A database file is opened ``read_only``: the check never takes dbt's writer lock.
* A missing file is never created: the check reports whether dbt could create it.
* While another process holds the writer lock DuckDB refuses even a read-only open; the
  check answers at once, degraded, naming the holding process (a dbt run is likely in
  progress) instead of waiting or failing.
* Extensions are only loaded, never installed or downloaded; one that cannot be loaded
  makes the result degraded and is named.
* Nothing but a :class:`~floe_hooks.ConnectionResult` comes back.

DuckDB is imported inside :func:`check`, never at module import.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from typing import Any

from floe_duckdb._sql import quote_literal
from floe_duckdb.config import DuckDBConfig
from floe_duckdb.profile import BUILTIN_EXTENSIONS, config_of
from floe_hooks import ComputeConfig, ConnectionResult, ConnectionStatus, SecretValue

__all__ = ["check", "lock_holder"]

_HOLDER = re.compile(
    r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)(?: by user (?P<user>\S+))?"
)


def lock_holder(message: str) -> str | None:
    """The process named in DuckDB's lock-conflict error (``PID 4242, /usr/bin/python3``), if any."""
    match = _HOLDER.search(message)
    if match is None:
        return None
    holder = f"PID {match['pid']}, {match['program']}"
    if match["user"]:
        holder += f", user {match['user'].rstrip('.')}"
    return holder


def _elapsed(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _is_remote(path: str) -> bool:
    return path.startswith(("md:", "motherduck:")) or "://" in path


def _missing_file(path: str, start: float) -> ConnectionResult:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return ConnectionResult(
            ConnectionStatus.UNHEALTHY,
            _elapsed(start),
            message=f"database folder {folder} does not exist; dbt cannot create {path}",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return ConnectionResult(
            ConnectionStatus.UNHEALTHY,
            _elapsed(start),
            message=f"database folder {folder} is not writable; dbt cannot create {path}",
        )
    return ConnectionResult(
        ConnectionStatus.DEGRADED,
        _elapsed(start),
        message=f"database file {path} does not exist yet; dbt will create it on its first run",
        warnings=(f"{path} does not exist; the check did not create it",),
    )


def _connect_config(cfg: DuckDBConfig) -> dict[str, Any]:
    # Never download during a check: an offline or slow extension server must not stall it.
    config: dict[str, Any] = {"autoinstall_known_extensions": False}
    if cfg.extension_directory is not None:
        config["extension_directory"] = cfg.extension_directory
    if cfg.autoload_extensions is not None:
        config["autoload_known_extensions"] = cfg.autoload_extensions
    return config


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check(compute: ComputeConfig, timeout: float, secrets: Mapping[str, SecretValue]) -> ConnectionResult:
    """The ``validate_connection`` hook's body: never raises."""
    start = time.perf_counter()
    try:
        return _check(config_of(compute), start)
    except Exception as exc:  # the contract: a result, never an exception
        return ConnectionResult(
            ConnectionStatus.UNHEALTHY,
            _elapsed(start),
            message=f"check failed: {type(exc).__name__}",
        )


def _check(cfg: DuckDBConfig, start: float) -> ConnectionResult:
    if cfg.remote is not None:
        return ConnectionResult(
            ConnectionStatus.DEGRADED,
            _elapsed(start),
            message=f"remote DuckDB server {cfg.remote.host}:{cfg.remote.port} is not checked",
            warnings=("remote (Buena Vista) computes are not probed by floe",),
        )
    path = cfg.path
    if path != ":memory:" and _is_remote(path):
        return ConnectionResult(
            ConnectionStatus.DEGRADED,
            _elapsed(start),
            message=f"{path.split('?', 1)[0]} is a remote database; the check does not reach it",
            warnings=("remote databases (MotherDuck, URLs) are not probed by floe",),
        )
    in_memory = path == ":memory:"
    if not in_memory and not os.path.exists(path):
        return _missing_file(path, start)
    if not in_memory and os.path.isdir(path):
        return ConnectionResult(
            ConnectionStatus.UNHEALTHY, _elapsed(start), message=f"{path} is a folder, not a database file"
        )

    import duckdb

    try:
        conn = duckdb.connect(path, read_only=not in_memory, config=_connect_config(cfg))
    except duckdb.Error as exc:
        return _open_failed(path, exc, start)
    warnings: list[str] = []
    details: dict[str, str] = {"duckdb_version": duckdb.__version__}
    try:
        conn.execute("select 1").fetchall()
        failed = []
        for name in cfg.extensions:
            try:
                conn.load_extension(name)
            except duckdb.Error as exc:
                failed.append(name)
                warnings.append(f"extension {name} cannot be loaded: {_extension_reason(exc, cfg)}")
        if cfg.extensions:
            warnings.extend(_builtin_warnings(conn, cfg))
        warnings.extend(_setting_warnings(conn, cfg, duckdb.Error))
        warnings.extend(_attachment_warnings(cfg))
    finally:
        conn.close()
    latency = _elapsed(start)
    if failed:
        return ConnectionResult(
            ConnectionStatus.DEGRADED,
            latency,
            message=f"select 1 ok; extension(s) not loadable: {', '.join(failed)}",
            warnings=warnings,
            details=details,
        )
    if warnings:
        return ConnectionResult(
            ConnectionStatus.DEGRADED,
            latency,
            message="select 1 ok, with warnings",
            warnings=warnings,
            details=details,
        )
    where = "in-memory database" if in_memory else f"{path} (read-only)"
    return ConnectionResult(
        ConnectionStatus.HEALTHY, latency, message=f"select 1 ok on {where}", details=details
    )


def _open_failed(path: str, exc: Exception, start: float) -> ConnectionResult:
    text = str(exc)
    holder = lock_holder(text)
    if holder is not None:
        return ConnectionResult(
            ConnectionStatus.DEGRADED,
            _elapsed(start),
            message=f"{path} is locked for writing by another process ({holder}); "
            "a dbt run is likely in progress",
            warnings=(f"writer lock held by {holder}; the check did not wait for it",),
            details={"lock_holder": holder},
        )
    if "not a valid DuckDB database" in text:
        reason = "is not a valid DuckDB database file"
    elif "different configuration" in text:
        reason = "is open in this process with another configuration"
    elif "ermission denied" in text:
        reason = "cannot be read: permission denied"
    elif "newer" in text or "older" in text or "storage version" in text.lower():
        reason = f"was written by an incompatible DuckDB version ({_first_line(exc)})"
    else:
        reason = f"cannot be opened: {type(exc).__name__}: {_first_line(exc)}"
    return ConnectionResult(ConnectionStatus.UNHEALTHY, _elapsed(start), message=f"{path} {reason}")


def _extension_reason(exc: Exception, cfg: DuckDBConfig) -> str:
    text = str(exc)
    if "not found" in text or "Install it first" in text:
        where = f" in {cfg.extension_directory}" if cfg.extension_directory else ""
        return f"not installed{where} (the check never downloads extensions)"
    return _first_line(exc)


#: DuckDB settings the check applies, as dbt-duckdb will: they only change how this
#: connection plans and runs queries, in memory. Any other setting may create, write or
#: read files or print (``log_query_path``, ``temp_directory``, ``profile_output``,
#: ``enable_profiling``, ``secret_directory``, ``extension_directory``, logging...), so the
#: check, which promises to create and change nothing, does not apply it and names it in a
#: warning. Names are compared in lower case.
PROBE_SAFE_SETTINGS = frozenset(
    {
        "threads",
        "worker_threads",
        "external_threads",
        "memory_limit",
        "max_memory",
        "operator_memory_limit",
        "default_order",
        "default_null_order",
        "null_order",
        "default_collation",
        "preserve_insertion_order",
        "preserve_identifier_case",
        "integer_division",
        "ieee_floating_point_ops",
        "order_by_non_integer_literal",
        "scalar_subquery_error_on_multiple_rows",
        "max_expression_depth",
        "max_execution_time",
        "timezone",
        "calendar",
        "errors_as_json",
        "enable_optimizer",
        "disabled_optimizers",
        "enable_http_metadata_cache",
        "enable_external_file_cache",
        "parquet_metadata_cache",
        "binary_as_string",
        "arrow_large_buffer_size",
        "arrow_lossless_conversion",
        "arrow_output_list_view",
        "perfect_ht_threshold",
        "pivot_limit",
        "pivot_filter_threshold",
        "merge_join_threshold",
        "nested_loop_join_threshold",
        "prefer_range_joins",
        "late_materialization_max_rows",
        "ordered_aggregate_threshold",
        "partitioned_write_flush_threshold",
        "partitioned_write_max_open_files",
        "http_timeout",
        "http_retries",
        "http_retry_wait_ms",
        "http_retry_backoff",
        "http_keep_alive",
        "s3_region",
        "s3_endpoint",
        "s3_url_style",
        "s3_use_ssl",
    }
)


def _setting_warnings(conn: Any, cfg: DuckDBConfig, error: type[Exception]) -> list[str]:
    """Apply the profile's side-effect-free settings as dbt-duckdb will, naming those DuckDB
    rejects; name the settings the check does not apply (see :data:`PROBE_SAFE_SETTINGS`)."""
    warnings = []
    known = {name.lower() for (name,) in conn.execute("select name from duckdb_settings()").fetchall()}
    skipped = []
    for key, value in cfg.settings.items():
        if key.lower() not in known:
            warnings.append(f"setting {key} is rejected by DuckDB: it is not a DuckDB setting")
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if key.lower() not in PROBE_SAFE_SETTINGS or not text.isprintable():
            skipped.append(key)
            continue
        try:
            conn.execute(f"SET {key} = {quote_literal(text)}")
        except error as exc:
            warnings.append(f"setting {key} is rejected by DuckDB: {_first_line(exc)}")
    if skipped:
        warnings.append(
            f"setting(s) {', '.join(skipped)} not applied by the check, which creates and changes "
            "nothing (they may write or read files); dbt applies them"
        )
    return warnings


def _builtin_warnings(conn: Any, cfg: DuckDBConfig) -> list[str]:
    """Extensions built into DuckDB that dbt-duckdb would still try to download."""
    rows = conn.execute(
        "select extension_name from duckdb_extensions() where install_mode = 'STATICALLY_LINKED'"
    ).fetchall()
    builtin = {name for (name,) in rows}
    folder = None
    if cfg.extension_directory is not None:
        ((version,),) = conn.execute("select library_version from pragma_version()").fetchall()
        ((platform,),) = conn.execute("pragma platform").fetchall()
        folder = os.path.join(cfg.extension_directory, version, platform)
    warnings = []
    for name in cfg.extensions:
        if name not in builtin or name in BUILTIN_EXTENSIONS or cfg.extension_repositories.get(name):
            continue  # the profile leaves BUILTIN_EXTENSIONS out: dbt never installs those
        if folder is not None and os.path.exists(os.path.join(folder, f"{name}.duckdb_extension")):
            continue
        warnings.append(
            f"extension {name} is built into DuckDB, yet dbt-duckdb runs INSTALL {name} for it, "
            "which downloads from the extension server: remove it from extensions (it is always loaded)"
        )
    return warnings


def _attachment_warnings(cfg: DuckDBConfig) -> list[str]:
    warnings = []
    for attachment in cfg.attach:
        target = attachment.path
        if attachment.type not in (None, "duckdb") or _is_remote(target) or ":" in target.split("/", 1)[0]:
            continue
        if not os.path.exists(target):
            label = attachment.alias or target
            if attachment.read_only:
                warnings.append(f"attached database {label} ({target}) does not exist and is read-only")
            else:
                warnings.append(
                    f"attached database {label} ({target}) does not exist yet; dbt will create it"
                )
    return warnings
