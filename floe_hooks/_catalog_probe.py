"""``floe validate``'s catalog row: a read-only probe of the metadata store and the data location."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks._catalog_env import catalog_environment
from floe_hooks._deadline import start_worker
from floe_hooks.errors import ConfigError
from floe_hooks.models import ConnectionResult, ConnectionStatus

if TYPE_CHECKING:
    from floe_hooks.catalog import LakehouseCatalog


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
    from floe_hooks.health import result_fields

    return {"name": catalog.name, "type": catalog.type, **result_fields(result)}


def check_catalog_concurrently(
    catalog: LakehouseCatalog, timeout: float | None = None, environ: Mapping[str, str] | None = None
) -> Callable[[], tuple[ConnectionResult, dict[str, Any]]]:
    """Start :func:`check_catalog` in a daemon thread; the returned function waits for it.

    The wait is bounded by the timeout (default 5 s) plus a little: a probe that overruns
    is reported unhealthy, "timed out", and its thread abandoned.
    """
    from floe_hooks._redact import redact

    seconds = timeout if timeout is not None else 5.0
    start = time.perf_counter()

    def work() -> ConnectionResult:
        try:
            return check_catalog(catalog, seconds, environ)
        except BaseException as exc:  # never raise into floe validate (SystemExit from a driver included)
            return ConnectionResult(
                status=ConnectionStatus.UNHEALTHY,
                latency_ms=(time.perf_counter() - start) * 1000,
                message=f"catalog check raised {type(exc).__name__}",
            )

    worker = start_worker(work, f"floe-check-catalog-{catalog.name}")

    def wait() -> tuple[ConnectionResult, dict[str, Any]]:
        if worker.wait(max(seconds - (time.perf_counter() - start), 0.0) + 0.05):
            result = worker.outcome()
            result = attrs.evolve(result, message=redact(result.message))
        else:
            result = ConnectionResult(
                status=ConnectionStatus.UNHEALTHY,
                latency_ms=(time.perf_counter() - start) * 1000,
                message=f"timed out after {seconds:g} s",
            )
        return result, catalog_row(catalog, result)

    return wait
