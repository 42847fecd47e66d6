"""Whether a product's cluster output could run on a cluster: the checks behind ``check_cluster``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from floe_hooks._k8s_base import K8S_INT_MAX, PROFILES_DIR, SCRATCH_DIR, Render

if TYPE_CHECKING:
    from floe_hooks.compile import CompiledCompute
    from floe_hooks.errors import ConfigError

_HOST_KEY = re.compile(r"(.*_)?(host|hostname|server|endpoint|uri|url|address)", re.IGNORECASE)
_LIBPQ_HOST = re.compile(r"(?:^|[\s:])host=([^\s]+)")
_REMOTE_PREFIXES = ("md:", "motherduck:", "postgres:", "postgresql:", "mysql:")


def _host_of(value: str) -> str:
    value = value.strip()
    if "://" in value:
        from urllib.parse import urlsplit

        try:
            return urlsplit(value).hostname or ""
        except ValueError:
            return ""
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def _is_loopback(host: str) -> bool:
    import ipaddress

    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or address.is_unspecified or bool(mapped and mapped.is_loopback)


def _loopback_fields(value: Any, path: str) -> list[tuple[str, str]]:
    """``(field path, host)`` of every loopback host in plain data: host-like keys, URLs, libpq strings."""
    found: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(item, str) and isinstance(key, str) and _HOST_KEY.fullmatch(key):
                if _is_loopback(_host_of(item)):
                    found.append((where, _host_of(item)))
                continue
            found.extend(_loopback_fields(item, where))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(_loopback_fields(item, f"{path}[{index}]"))
    elif isinstance(value, str):
        hosts = [_host_of(value)] if "://" in value else _LIBPQ_HOST.findall(value)
        found.extend((path, host) for host in hosts if _is_loopback(host))
    return found


def _duckdb_files(compute: CompiledCompute) -> list[tuple[str, str]]:
    """``(config field, path)`` of each database file a DuckDB compute opens in its pod."""
    profile = compute.profile
    if profile.get("type") != "duckdb":
        return []
    candidates: list[tuple[str, Any]] = [("config.path", profile.get("path"))]
    for index, attached in enumerate(profile.get("attach") or ()):
        if isinstance(attached, Mapping) and str(attached.get("type") or "duckdb").lower() in (
            "duckdb",
            "sqlite",
        ):
            candidates.append((f"config.attach[{index}].path", attached.get("path")))
    return [(field, path) for field, path in candidates if isinstance(path, str) and _local_file(path)]


def _local_file(path: str) -> bool:
    """Whether a database path names a file on the local disk (not memory, a URL or a server)."""
    bare = path[len("ducklake:") :] if path.startswith("ducklake:") else path
    return bool(bare) and not (
        bare == ":memory:" or "://" in bare or bare.startswith(_REMOTE_PREFIXES) or "=" in bare
    )


def _catalog_files(value: Any, path: str) -> list[tuple[str, str]]:
    """``(field path, file)`` of every ``path``/``*_path`` field of a catalog that names a local file."""
    found: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}"
            if isinstance(key, str) and (key == "path" or key.endswith("_path")) and isinstance(item, str):
                if _local_file(item):
                    found.append((where, item))
            else:
                found.extend(_catalog_files(item, where))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(_catalog_files(item, f"{path}[{index}]"))
    return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _used_computes(render: Render) -> list[CompiledCompute]:
    seen: dict[str, CompiledCompute] = {}
    for entry in render.plan:
        seen.setdefault(entry["compute"], render.computes[entry["compute"]])
    return list(seen.values())


def cluster_problems(render: Render, allow_pod_local: bool) -> list[ConfigError]:
    settings = render.settings
    for field in ("backoff_limit", "ttl_seconds_after_finished"):
        value = getattr(settings, field)
        if value is not None and value > K8S_INT_MAX:
            raise render.error(
                f"{value} is more than Kubernetes accepts here (a 32-bit integer: at most {K8S_INT_MAX})",
                f"kubernetes.{field}",
            )
    volume = settings.shared_volume
    if volume is not None:
        for fixed, what in ((PROFILES_DIR, "profiles.yml ConfigMap"), (SCRATCH_DIR, "scratch emptyDir")):
            if _inside(volume.mount_path, fixed) or _inside(fixed, volume.mount_path):
                raise render.error(
                    f"{volume.mount_path!r} overlaps {fixed}, where floe mounts the {what}; "
                    "choose another folder",
                    "kubernetes.shared_volume.mount_path",
                )
    from floe_hooks._convert import unstructure

    used = _used_computes(render)
    for compute in used:
        config = unstructure(compute.compute.config)
        for where, host in _loopback_fields(config, "config"):
            raise render.error(
                f"compute {compute.name!r}: {host!r} is a loopback address: in a pod it is the pod itself, "
                "not the machine floe ran on; use a host the cluster reaches "
                "(a Service name or the server's address)",
                f"compute.approved[name={compute.name}].{where}",
            )
    catalog = getattr(render.compiled.product.manifest, "catalog", None)
    catalog_data = unstructure(catalog) if catalog is not None else None
    if catalog_data is not None:
        for where, host in _loopback_fields(catalog_data, "catalog"):
            raise render.error(
                f"{host!r} is a loopback address: in a pod it is the pod itself, "
                "not the machine floe ran on; "
                "use the catalog's address as the cluster reaches it",
                where,
            )
    warnings: list[ConfigError] = []
    if len(render.plan) < 2:
        return warnings
    # Data crosses steps through the catalog when there is one, else through the computes' files.
    if catalog_data is not None:
        files = [
            (where, path, "the catalog's path") for where, path in _catalog_files(catalog_data, "catalog")
        ]
        remedy = (
            "keep the catalog's data and metadata where every pod reaches them (object storage, a "
            "database server) or under kubernetes.shared_volume's mount_path"
        )
    else:
        files = [
            (
                f"compute.approved[name={compute.name}].{field}",
                path,
                f"compute {compute.name!r}: the DuckDB file",
            )
            for compute in used
            for field, path in _duckdb_files(compute)
        ]
        remedy = "put it under kubernetes.shared_volume's mount_path or exchange data through a catalog"
    for where, path, what in files:
        if volume is not None and _inside(path, volume.mount_path):
            continue
        place = (
            f"is not under the shared volume's mount_path {volume.mount_path}"
            if volume is not None
            else "is on the pod's own disk"
        )
        problem = render.error(
            f"{what} {path!r} {place}: the plan's {len(render.plan)} steps run in separate pods, and no "
            f"other pod sees it; {remedy} (--allow-pod-local accepts this)",
            where,
        )
        if not allow_pod_local:
            raise problem
        warnings.append(problem)
    return warnings
