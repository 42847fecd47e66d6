"""Cluster output: the run plan as an Argo Workflows DAG or as ordered ``batch/v1`` Jobs.

::

    compiled = compile_product(load_product("floe.yaml", env="prod"))
    objects = kubernetes_objects(compiled, output="workflow")   # plain dicts: ConfigMap, Workflow
    text = render_kubernetes(compiled, output="workflow")       # multi-document YAML, deterministic
    write_kubernetes(compiled, "target/floe/k8s", output="jobs")  # DIR/kubernetes.yaml, atomically

Three outputs (``output=``), each preceded by a ``ConfigMap`` holding the compiled
``profiles.yml``:

- ``"workflow"``: one ``argoproj.io/v1alpha1`` ``Workflow`` whose DAG has one task per
  run-plan step and ``dependencies`` exactly the step graph (:func:`step_dependencies`), so
  independent steps run side by side, a failed step stops its dependents, and each task
  retries with backoff (``kubernetes.backoff_limit`` retries) under the compute's
  ``timeout_seconds`` as ``activeDeadlineSeconds``;
- ``"workflow-template"``: the same as a ``WorkflowTemplate`` a platform registers once;
- ``"jobs"``: one ``Job`` per step, in an order the graph allows, each naming the Jobs it
  must wait for in its ``floe.dev/after`` annotation.

Every task or Job runs the same container: the manifest's image, the step's command as the
compiled plan records it (``run_plan[i].command``), the plugin's
:class:`~floe_hooks.ResourceSpec` as requests and limits, the ConfigMap mounted at
:data:`PROFILES_DIR` (``DBT_PROFILES_DIR``), a scratch ``emptyDir`` at :data:`SCRATCH_DIR`,
the manifest's shared volume if it declares one, every secret as an ``env`` entry taken from
a Kubernetes Secret (``secretKeyRef``), and a security context that meets the *restricted*
Pod Security Standard.

Settings come from the manifest's ``kubernetes:`` block (:class:`~floe_hooks.KubernetesSettings`).
Output that could not run on a cluster is refused with a located :class:`ConfigError`
(:func:`check_cluster`): a secret reference with only ``{env: VAR}``; a host or endpoint on
loopback; an integer Kubernetes rejects; and, for a plan of several steps, a DuckDB file on
the pod's own disk when no catalog or shared volume carries data between the pods (a
warning instead with ``allow_pod_local=True``). No secret value ever appears: profiles hold
``env_var()`` templates and pods hold references.

Names are DNS-1123 labels: ``<product>[-<env>]-<compute>`` lowercased with ``_`` turned into
``-``; a name that needs any other change, or is longer than 63 characters, is cut and ends
with eight hex digits of the SHA-256 of the original (:func:`dns_label`).

Output is deterministic: objects in a fixed order, keys sorted, no timestamps; the same input
gives the same bytes, so the file diffs cleanly in GitOps.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_hooks.errors import ConfigError

ARTIFACTS_FILE = "compiled_artifacts.json"  # where run_plan and graph come from (floe_hooks.compile)

if TYPE_CHECKING:
    from floe_hooks.compile import CompiledCompute, CompiledProject
    from floe_hooks.manifest import KubernetesSettings

__all__ = [
    "LABEL_PREFIX",
    "PROFILES_DIR",
    "SCRATCH_DIR",
    "CONTAINER_NAME",
    "MANIFEST_FILE",
    "OUTPUTS",
    "K8S_INT_MAX",
    "SHARED_VOLUME",
    "DAG_TEMPLATE",
    "RETRY_BACKOFF",
    "step_names",
    "step_dependencies",
    "check_cluster",
    "default_output",
    "kubernetes_objects",
    "render_kubernetes",
    "dump_objects",
    "write_kubernetes",
    "default_k8s_dir",
    "dns_label",
    "label_value",
]

#: Prefix of floe's own labels and annotations (``floe.dev/product``...).
LABEL_PREFIX = "floe.dev"
#: Where the ConfigMap's ``profiles.yml`` is mounted; the pods' ``DBT_PROFILES_DIR``.
PROFILES_DIR = "/etc/floe/dbt"
#: A writable ``emptyDir``: ``HOME``, dbt's target and log paths, so the image may be read-only.
SCRATCH_DIR = "/tmp"
#: The dbt container's name in every Job.
CONTAINER_NAME = "dbt"
#: The file :func:`write_kubernetes` writes.
MANIFEST_FILE = "kubernetes.yaml"
#: What :func:`kubernetes_objects` can emit besides the ConfigMap.
OUTPUTS = ("workflow", "workflow-template", "jobs")
#: The largest value of a Kubernetes ``int32`` field (``backoffLimit``, ``ttlSecondsAfterFinished``).
K8S_INT_MAX = 2**31 - 1
#: The volume name of the manifest's ``kubernetes.shared_volume`` in every pod.
SHARED_VOLUME = "shared"
#: The Workflow's entrypoint: the DAG template.
DAG_TEMPLATE = "plan"
#: Argo's wait between attempts of a failed task: 30 s, doubling, at most 10 min.
RETRY_BACKOFF = {"duration": "30s", "factor": "2", "cap": "10m"}

_PROFILES_KEY = "profiles.yml"
_CONFIGMAP_LIMIT = 1024 * 1024  # Kubernetes refuses a ConfigMap over 1 MiB
_MAX_LABEL = 63
_HASH_LEN = 8
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_IMAGE = re.compile(r"[^\s\x00-\x1f\x7f]+")


# --------------------------------------------------------------------------- names


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LEN]


def dns_label(*parts: str, limit: int = _MAX_LABEL) -> str:
    """A DNS-1123 label (an object name) for ``parts`` joined with ``-``, deterministically.

    Lowercase, with ``_`` turned into ``-``, when that alone makes a valid label of at most
    ``limit`` (63) characters; otherwise every other character is replaced, the result is cut, and it
    ends with ``-`` and eight hex digits of the SHA-256 of the joined original, so two
    different inputs keep different names.

    >>> dns_label("analytics", "prod", "warehouse_2")
    'analytics-prod-warehouse-2'
    >>> dns_label("Analytics")
    'analytics-94c116ee'
    """
    raw = "-".join(parts)
    simple = raw.replace("_", "-")
    if len(simple) <= limit and _DNS_LABEL.fullmatch(simple):
        return simple
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", simple.lower())).strip("-")
    head = cleaned[: limit - _HASH_LEN - 1].rstrip("-")
    return f"{head}-{_digest(raw)}" if head else _digest(raw)


def label_value(text: str) -> str:
    """``text`` as a Kubernetes label value: unchanged when valid, else cleaned, cut and hashed.

    >>> label_value("analytics")
    'analytics'
    """
    if len(text) <= _MAX_LABEL and _LABEL_VALUE.fullmatch(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", text)
    head = cleaned[: _MAX_LABEL - _HASH_LEN - 1]
    head = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", head)
    return f"{head}-{_digest(text)}" if head else _digest(text)


def _check_label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= _MAX_LABEL and bool(_LABEL_NAME.fullmatch(name))


# --------------------------------------------------------------------------- objects


def _relative_manifest(compiled: CompiledProject) -> str:
    """The manifest's path relative to floe.yaml's folder: the same wherever floe runs."""
    product = compiled.product
    try:
        return Path(os.path.relpath(product.manifest.path, product.path.parent)).as_posix()
    except ValueError:  # another drive (Windows)
        return product.manifest.path.as_posix()


class _Render:
    """What every object of one product shares, worked out once."""

    def __init__(self, compiled: CompiledProject) -> None:
        from floe_hooks._version import __version__

        product = compiled.product
        self.compiled = compiled
        self.settings: KubernetesSettings = product.manifest.kubernetes
        self.file = str(product.manifest.path)  # errors name the manifest as the user reached it
        self.computes = {c.name: c for c in compiled.computes}
        self.name_parts = (
            [product.name] if product.environment is None else [product.name, product.environment]
        )
        self.labels = {
            "app.kubernetes.io/name": "dbt",
            "app.kubernetes.io/part-of": label_value(product.name),
            "app.kubernetes.io/managed-by": "floe",
            f"{LABEL_PREFIX}/product": label_value(product.name),
            f"{LABEL_PREFIX}/version": label_value(__version__),
        }
        self.annotations = {
            f"{LABEL_PREFIX}/product": product.name,
            f"{LABEL_PREFIX}/manifest": _relative_manifest(compiled),
            f"{LABEL_PREFIX}/profiles-sha256": hashlib.sha256(
                compiled.profiles_yml.encode("utf-8")
            ).hexdigest(),
        }
        if product.environment is not None:
            self.labels[f"{LABEL_PREFIX}/environment"] = label_value(product.environment)
            self.annotations[f"{LABEL_PREFIX}/environment"] = product.environment
        self.extra = self._extra_labels()
        self.plan: list[Mapping[str, Any]] = list(compiled.artifacts["run_plan"])
        try:
            self.dependencies = step_dependencies(self.plan, compiled.artifacts.get("graph"))
        except ConfigError as exc:
            raise exc.with_location(file=ARTIFACTS_FILE) from None

    def error(self, message: str, path: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, path=path)

    def _extra_labels(self) -> dict[str, str]:
        reserved = {*self.labels, "app.kubernetes.io/instance", "app.kubernetes.io/component"}
        out: dict[str, str] = {}
        for key, value in self.settings.labels.items():
            path = f"kubernetes.labels.{key}"
            if not isinstance(key, str) or not _check_label_key(key):
                raise self.error(
                    f"{key!r} is not a Kubernetes label key ([prefix/]name, name: at most 63 letters, "
                    "digits, '-', '_', '.')",
                    path,
                )
            if not isinstance(value, str) or len(value) > _MAX_LABEL or not _LABEL_VALUE.fullmatch(value):
                raise self.error(
                    f"{value!r} is not a Kubernetes label value (at most 63 letters, digits, '-', '_', '.', "
                    "starting and ending with a letter or digit)",
                    path,
                )
            if key in reserved or key.startswith(f"{LABEL_PREFIX}/"):
                raise self.error(f"label {key!r} is set by floe; choose another key", path)
            out[key] = value
        return out

    def metadata_labels(self, component: str, instance: str) -> dict[str, str]:
        return {
            **self.extra,
            **self.labels,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/instance": instance,
        }


def _configmap(render: _Render, name: str) -> dict[str, Any]:
    text = render.compiled.profiles_yml
    size = len(text.encode("utf-8"))
    if size > _CONFIGMAP_LIMIT:
        raise render.error(
            f"profiles.yml is {size} bytes; a Kubernetes ConfigMap holds at most {_CONFIGMAP_LIMIT}"
        )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": render.settings.namespace,
            "labels": render.metadata_labels("dbt-profiles", name),
            "annotations": dict(render.annotations),
        },
        "data": {_PROFILES_KEY: text},
    }


def _secret_path(compute: CompiledCompute, path: str) -> str:
    field = f"credentials.{path}" if path in compute.compute.credentials else path
    return f"compute.approved[name={compute.name}].{field}"


def _secret_env(render: _Render, compute: CompiledCompute) -> list[dict[str, Any]]:
    """One ``env`` entry per secret binding, from a Kubernetes Secret; never a value."""
    env: list[dict[str, Any]] = []
    seen: dict[str, tuple[str, str]] = {}
    for binding in compute.secrets:
        ref = binding.ref
        if ref.secret is None or ref.key is None:
            raise render.error(
                f"compute {compute.name!r}: the reference {{env: {ref.env}}} only works locally; a "
                "Kubernetes Job reads secrets from a Secret: add 'secret: NAME' and 'key: KEY' to this "
                "reference (keep 'env' for local runs)",
                _secret_path(compute, binding.path),
            )
        source = (ref.secret, ref.key)
        previous = seen.get(binding.variable)
        if previous is not None:
            if previous != source:
                raise render.error(
                    f"compute {compute.name!r}: two secret fields map to the same variable "
                    f"{binding.variable} with different Secrets; rename one of them",
                    _secret_path(compute, binding.path),
                )
            continue
        seen[binding.variable] = source
        env.append(
            {"name": binding.variable, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}}
        )
    return env


def _catalog_secret_env(render: _Render, compute: CompiledCompute) -> list[dict[str, Any]]:
    """The catalog's credentials, for a compute that attaches it: one ``secretKeyRef`` each, never a value."""
    catalog = render.compiled.artifacts.get("catalog") or {}
    if compute.name not in (catalog.get("attached_by") or ()):
        return []
    env: list[dict[str, Any]] = []
    for entry in catalog.get("env") or ():
        ref = entry.get("from") or {}
        if "secret" not in ref or "key" not in ref:
            raise ConfigError(
                f"catalog {catalog.get('name')!r}: the reference {entry['path']} only works locally; a pod "
                "reads secrets from a Secret: add 'secret: NAME' and 'key: KEY' to this reference "
                "(keep 'env' or 'file' for local runs)",
                file=str(render.compiled.product.manifest.path),
                path=f"catalog.{entry['path']}",
            )
        env.append(
            {
                "name": entry["variable"],
                "valueFrom": {"secretKeyRef": {"name": ref["secret"], "key": ref["key"]}},
            }
        )
    return env


# DuckDB units: k/M/G/T (with or without B) are powers of 1000, KiB/MiB/GiB/TiB of 1024.
_DUCKDB_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([kmgt])(i?)b?|bytes?|b)?\s*", re.IGNORECASE)
_DUCKDB_POWER = {"k": 1, "m": 2, "g": 3, "t": 4}


def _duckdb_bytes(text: str) -> int | None:
    """Bytes of a DuckDB size (``4GB``, ``384MiB``); None for what it cannot tell (``75%``)."""
    match = _DUCKDB_SIZE.fullmatch(text)
    if match is None:
        return None
    number, unit, binary = match.groups()
    power = _DUCKDB_POWER[unit.lower()] if unit else 0
    return int(float(number) * (1024 if binary else 1000) ** power)


def _check_engine_memory(render: _Render, compute: CompiledCompute) -> None:
    """An in-pod engine must not be allowed more memory than the pod: the kernel kills it first.

    Only DuckDB runs inside the dbt pod among the engines floe knows; a server engine's
    memory lives elsewhere. The check belongs to Kubernetes output: on a laptop the pod
    limit means nothing.
    """
    profile = compute.profile
    settings = profile.get("settings")
    if profile.get("type") != "duckdb" or not isinstance(settings, Mapping):
        return
    limit = settings.get("memory_limit")
    engine = _duckdb_bytes(limit) if isinstance(limit, str) else None
    if engine is not None and engine > compute.resources.memory_limit_bytes:
        given = getattr(compute.compute.config, "settings", None)
        field = (
            "settings.memory_limit"
            if isinstance(given, Mapping) and "memory_limit" in given
            else "memory_limit"
        )
        raise render.error(
            f"DuckDB's memory_limit {limit} is more than the pod's memory limit "
            f"{compute.resources.memory_limit}: the pod would be OOM-killed before DuckDB spills to disk; "
            "lower memory_limit (or leave it unset: 75% of the pod's limit) or raise the compute's resources",
            f"compute.approved[name={compute.name}].config.{field}",
        )


# --------------------------------------------------------------------------- the step graph


def step_names(plan: Sequence[Mapping[str, Any]]) -> list[str]:
    """A unique name per run-plan step: its compute, or ``<compute>-step<N>`` on a revisit.

    A plan that comes back to a compute (``a, b, a``) names each visit by its step number
    (``a-step1``, ``b``, ``a-step3``); compute names hold no ``-``, so no name is taken twice.

    :param plan: the ``run_plan`` entries of ``compiled_artifacts.json`` (``compute``, ``step``).
    """
    counts = collections.Counter(str(entry["compute"]) for entry in plan)
    return [
        str(entry["compute"])
        if counts[str(entry["compute"])] == 1
        else f"{entry['compute']}-step{entry.get('step', index)}"
        for index, entry in enumerate(plan, 1)
    ]


def step_dependencies(
    plan: Sequence[Mapping[str, Any]], graph: Mapping[str, Any] | None = None
) -> dict[str, tuple[str, ...]]:
    """The steps each step must wait for, keyed and valued by :func:`step_names`, in plan order.

    The one rule every cluster output (Workflow and Jobs) follows:

    - ``graph.source == "dbt"``: the edges are the steps' ``needs`` (compute names of upstream
      steps, which ``floe run`` records from dbt's parsed manifest): a need names the latest
      earlier step on that compute; a step without ``needs`` waits for nothing; a need on the
      step's own compute is no edge;
    - otherwise (no ``graph``, or ``source: transforms``): each step waits for the one before
      it, in transform order, since without dbt's graph any step may read what an earlier
      one wrote.

    So no output can ever run a step before one it reads from.

    >>> plan = [{"step": 1, "compute": "raw"}, {"step": 2, "compute": "audit"},
    ...         {"step": 3, "compute": "mart", "needs": ["raw"]}]
    >>> step_dependencies(plan)
    {'raw': (), 'audit': ('raw',), 'mart': ('audit',)}
    >>> step_dependencies(plan, {"source": "dbt"})
    {'raw': (), 'audit': (), 'mart': ('raw',)}

    :param plan: the ``run_plan`` entries of ``compiled_artifacts.json``.
    :param graph: its top-level ``graph`` entry, if any.
    :raises ConfigError: a need that is not a list of strings, that names no compute of an
        earlier step (located at ``run_plan[i].needs``, without a file).
    """
    names = step_names(plan)
    if not isinstance(graph, Mapping) or graph.get("source") != "dbt":
        return {name: (names[index - 1],) if index else () for index, name in enumerate(names)}
    out: dict[str, tuple[str, ...]] = {}
    for index, entry in enumerate(plan):
        where = f"run_plan[{index}].needs"
        needs = entry.get("needs") or ()
        if isinstance(needs, str) or not isinstance(needs, Sequence):
            raise ConfigError("must be a list of compute names", path=where)
        upstream: set[int] = set()
        for need in needs:
            if not isinstance(need, str):
                raise ConfigError(f"{need!r} is not a compute name", path=where)
            if need == entry["compute"]:
                continue
            earlier = [j for j in range(index) if plan[j]["compute"] == need]
            if not earlier:
                later = any(other["compute"] == need for other in plan[index + 1 :])
                raise ConfigError(
                    f"step {names[index]!r} needs {need!r}, "
                    + ("which runs only after it in the plan" if later else "which is no step of the plan"),
                    path=where,
                )
            upstream.add(earlier[-1])
        out[names[index]] = tuple(names[j] for j in sorted(upstream))
    return out


# --------------------------------------------------------------------------- could it run there?


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


def _used_computes(render: _Render) -> list[CompiledCompute]:
    seen: dict[str, CompiledCompute] = {}
    for entry in render.plan:
        seen.setdefault(entry["compute"], render.computes[entry["compute"]])
    return list(seen.values())


def _check_cluster(render: _Render, allow_pod_local: bool) -> list[ConfigError]:
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


def check_cluster(compiled: CompiledProject, *, allow_pod_local: bool = False) -> list[ConfigError]:
    """Refuse a plan whose cluster output could not run there; return what ``allow_pod_local`` let through.

    Refused, with a :class:`ConfigError` located in the manifest:

    - ``kubernetes.backoff_limit`` or ``ttl_seconds_after_finished`` above ``2**31 - 1``
      (Kubernetes stores them as 32-bit integers);
    - a shared volume mounted over floe's own mounts (:data:`PROFILES_DIR`, :data:`SCRATCH_DIR`);
    - a host, endpoint or URL of a compute the plan uses, or of the manifest's catalog, on
      loopback (``localhost``, ``127.0.0.0/8``, ``::1``, or ``0.0.0.0``): inside a pod it
      is the pod itself;
    - in a plan of several steps, data that would cross pods through a pod's own disk: without
      a catalog, a DuckDB database file (``config.path`` or an attached file) outside the
      shared volume; with one (``manifest.catalog``), a ``path``/``*_path`` of the catalog that
      names a local file or folder outside it. With ``allow_pod_local=True`` these are
      returned instead.

    The checks :func:`kubernetes_objects` makes as it builds (secrets, names, memory) come on top.
    """
    return _check_cluster(_Render(compiled), allow_pod_local)


# --------------------------------------------------------------------------- objects (cont.)


def _container(render: _Render, compute: CompiledCompute, command: Sequence[str]) -> dict[str, Any]:
    """The dbt container of a step: the same for a Job and for a Workflow task."""
    settings = render.settings
    _check_engine_memory(render, compute)
    env: list[dict[str, Any]] = [
        {"name": "DBT_PROFILES_DIR", "value": PROFILES_DIR},
        {"name": "DBT_TARGET_PATH", "value": f"{SCRATCH_DIR}/dbt/target"},
        {"name": "DBT_LOG_PATH", "value": f"{SCRATCH_DIR}/dbt/logs"},
        {"name": "HOME", "value": SCRATCH_DIR},
        *_secret_env(render, compute),
        *_catalog_secret_env(render, compute),
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "profiles", "mountPath": PROFILES_DIR, "readOnly": True},
        {"name": "scratch", "mountPath": SCRATCH_DIR},
    ]
    if settings.shared_volume is not None:
        mounts.append({"name": SHARED_VOLUME, "mountPath": settings.shared_volume.mount_path})
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": settings.image,
        "command": [str(arg) for arg in command],
        "env": env,
        "resources": compute.resources.to_kubernetes(),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        },
        "volumeMounts": mounts,
    }
    if settings.image_pull_policy is not None:
        container["imagePullPolicy"] = settings.image_pull_policy
    return container


def _volumes(render: _Render, configmap: str) -> list[dict[str, Any]]:
    volumes: list[dict[str, Any]] = [
        {
            "name": "profiles",
            "configMap": {"name": configmap, "items": [{"key": _PROFILES_KEY, "path": _PROFILES_KEY}]},
        },
        {"name": "scratch", "emptyDir": {}},
    ]
    shared = render.settings.shared_volume
    if shared is not None:
        volumes.append({"name": SHARED_VOLUME, "persistentVolumeClaim": {"claimName": shared.claim_name}})
    return volumes


def _pod_security() -> dict[str, Any]:
    """The restricted Pod Security Standard's pod context, fresh each time (YAML aliases shared dicts)."""
    return {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def _step_metadata(
    render: _Render, entry: Mapping[str, Any], index: int
) -> tuple[dict[str, str], dict[str, str]]:
    """The labels and annotations particular to one step."""
    compute = render.computes[entry["compute"]]
    labels = {f"{LABEL_PREFIX}/compute": label_value(compute.name), f"{LABEL_PREFIX}/step": str(index)}
    annotations = {
        f"{LABEL_PREFIX}/compute": compute.name,
        f"{LABEL_PREFIX}/compute-type": compute.compute.type,
        f"{LABEL_PREFIX}/transforms": ",".join(entry["transforms"]),
    }
    if compute.dbt_adapter:
        annotations[f"{LABEL_PREFIX}/dbt-adapter"] = compute.dbt_adapter
    return labels, annotations


def _job(
    render: _Render, entry: Mapping[str, Any], index: int, name: str, after: Sequence[str], configmap: str
) -> dict[str, Any]:
    settings = render.settings
    compute = render.computes[entry["compute"]]
    step_labels, step_annotations = _step_metadata(render, entry, index)
    labels = {**render.metadata_labels("dbt-run", name), **step_labels}
    annotations = {
        **render.annotations,
        **step_annotations,
        f"{LABEL_PREFIX}/steps": str(len(render.plan)),
    }
    if after:
        annotations[f"{LABEL_PREFIX}/after"] = ",".join(after)
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": _pod_security(),
        "containers": [_container(render, compute, entry["command"])],
        "volumes": _volumes(render, configmap),
    }
    if settings.service_account is not None:
        pod_spec["serviceAccountName"] = settings.service_account
    spec: dict[str, Any] = {
        "backoffLimit": settings.backoff_limit,
        "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
    }
    if settings.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = settings.ttl_seconds_after_finished
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": settings.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }


def _unique_names(wanted: Sequence[Sequence[str]], taken: set[str]) -> list[str]:
    names: list[str] = []
    for parts in wanted:
        name = dns_label(*parts)
        if name in taken:  # `a` at step 1 vs a compute `a_step1`: keep both, distinctly
            name = dns_label(*parts, "")
        taken.add(name)
        names.append(name)
    return names


def _task_template(render: _Render, entry: Mapping[str, Any], index: int, name: str) -> dict[str, Any]:
    settings = render.settings
    compute = render.computes[entry["compute"]]
    labels, annotations = _step_metadata(render, entry, index)
    template: dict[str, Any] = {
        "name": name,
        "metadata": {"labels": labels, "annotations": annotations},
        "container": _container(render, compute, entry["command"]),
        "retryStrategy": {
            "limit": str(settings.backoff_limit),
            "retryPolicy": "Always",
            "backoff": dict(RETRY_BACKOFF),
        },
    }
    timeout = compute.compute.timeout_seconds
    if timeout is not None:
        if not math.isfinite(timeout) or timeout > K8S_INT_MAX:
            raise render.error(
                f"{timeout} is more than a task's activeDeadlineSeconds can be (at most {K8S_INT_MAX})",
                f"compute.approved[name={compute.name}].timeout_seconds",
            )
        template["activeDeadlineSeconds"] = str(max(1, math.ceil(timeout)))
    return template


def _workflow(render: _Render, base: str, configmap: str, template: bool) -> dict[str, Any]:
    settings = render.settings
    keys = step_names(render.plan)
    tasks = dict(zip(keys, _unique_names([[key] for key in keys], {DAG_TEMPLATE}), strict=True))
    dag_tasks: list[dict[str, Any]] = []
    for key, upstream in render.dependencies.items():
        task: dict[str, Any] = {"name": tasks[key], "template": tasks[key]}
        if upstream:
            task["dependencies"] = [tasks[u] for u in upstream]
        dag_tasks.append(task)
    kind = "WorkflowTemplate" if template else "Workflow"
    component = "dbt-workflow-template" if template else "dbt-workflow"
    annotations = {**render.annotations, f"{LABEL_PREFIX}/steps": str(len(render.plan))}
    spec: dict[str, Any] = {
        "entrypoint": DAG_TEMPLATE,
        "podMetadata": {
            "labels": render.metadata_labels("dbt-run", base),
            "annotations": dict(render.annotations),
        },
        "securityContext": _pod_security(),
        "volumes": _volumes(render, configmap),
        "templates": [
            {"name": DAG_TEMPLATE, "dag": {"failFast": False, "tasks": dag_tasks}},
            *(
                _task_template(render, entry, index, tasks[key])
                for index, (key, entry) in enumerate(zip(keys, render.plan, strict=True), 1)
            ),
        ],
    }
    if settings.service_account is not None:
        spec["serviceAccountName"] = settings.service_account
    if settings.ttl_seconds_after_finished is not None:
        spec["ttlStrategy"] = {"secondsAfterCompletion": settings.ttl_seconds_after_finished}
    metadata: dict[str, Any] = {
        "namespace": settings.namespace,
        "labels": render.metadata_labels(component, base),
        "annotations": annotations,
    }
    if template:
        metadata["name"] = base
        spec["workflowMetadata"] = {
            "labels": render.metadata_labels("dbt-workflow", base),
            "annotations": dict(annotations),
        }
    else:
        metadata["generateName"] = f"{base}-"
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}


def default_output(compiled: CompiledProject) -> str:
    """``"workflow"`` for a plan of several steps, ``"jobs"`` for one."""
    return "workflow" if len(compiled.run_plan) > 1 else "jobs"


def kubernetes_objects(
    compiled: CompiledProject, *, output: str = "jobs", allow_pod_local: bool = False
) -> list[dict[str, Any]]:
    """The cluster objects of a compiled product: the profiles ConfigMap, then the run plan.

    ``output="jobs"``: one Job per run-plan step, in plan order (an order the step graph
    allows), each naming the Jobs it waits for in ``floe.dev/after``; one per compute the
    plan uses, unless the plan comes back to a compute (then that compute's Jobs end in
    ``-step<N>``). ``output="workflow"``: one Argo ``Workflow`` (``generateName:
    <product>[-<env>]-``) whose DAG is :func:`step_dependencies`; ``"workflow-template"``:
    the same as a ``WorkflowTemplate`` named ``<product>[-<env>]``. Every object carries the
    product's labels (``app.kubernetes.io/*``, ``floe.dev/product``, ``floe.dev/environment``,
    ``floe.dev/version``; each step's pod also ``floe.dev/compute`` and ``floe.dev/step``)
    and the manifest's extra ``labels``.

    :param compiled: from :func:`~floe_hooks.compile_product`; the steps, their commands and
        their ``needs`` come from its artifact's ``run_plan`` and ``graph``.
    :param output: ``"jobs"``, ``"workflow"`` or ``"workflow-template"`` (:data:`OUTPUTS`).
    :param allow_pod_local: accept DuckDB files on a pod's own disk in a plan of several
        steps (:func:`check_cluster` returns them as warnings).
    :raises ConfigError: anything :func:`check_cluster` refuses; a secret reference with only
        ``env`` (names the compute and field); a DuckDB ``memory_limit`` above the pod's memory
        limit; an invalid image or extra label; a ``profiles.yml`` too large for a ConfigMap;
        ``needs`` that name no earlier step.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, not {output!r}")
    render = _Render(compiled)
    if not _IMAGE.fullmatch(render.settings.image):
        raise render.error(
            f"{render.settings.image!r} is not a container image reference (no spaces or control characters)",
            "kubernetes.image",
        )
    _check_cluster(render, allow_pod_local)
    configmap_name = dns_label(*render.name_parts, "dbt-profiles")
    objects = [_configmap(render, configmap_name)]
    if output != "jobs":
        base = dns_label(*render.name_parts, limit=_MAX_LABEL - 6)  # room for generateName's suffix
        objects.append(_workflow(render, base, configmap_name, output == "workflow-template"))
        return objects

    counts = collections.Counter(entry["compute"] for entry in render.plan)
    wanted = []
    for index, entry in enumerate(render.plan, 1):
        parts = [*render.name_parts, entry["compute"]]
        if counts[entry["compute"]] > 1:  # the plan comes back to this compute: one Job per visit
            parts.append(f"step{index}")
        wanted.append(parts)
    names = _unique_names(wanted, set())
    job_of = dict(zip(step_names(render.plan), names, strict=True))
    for index, (entry, name) in enumerate(zip(render.plan, names, strict=True), 1):
        after = [job_of[u] for u in render.dependencies[step_names(render.plan)[index - 1]]]
        objects.append(_job(render, entry, index, name, after, configmap_name))
    return objects


# --------------------------------------------------------------------------- YAML


@functools.lru_cache(maxsize=2)
def _dumper(emitter: str = "c") -> Any:
    """A safe dumper (libyaml's when PyYAML has it) writing multi-line strings as literal blocks."""
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper) if emitter == "c" else yaml.SafeDumper

    class _Dumper(base):  # type: ignore[valid-type,misc]
        pass

    def _str(dumper: Any, data: str) -> yaml.ScalarNode:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)  # type: ignore[no-any-return]

    _Dumper.add_representer(str, _str)
    return _Dumper


def dump_objects(objects: Sequence[Mapping[str, Any]], *, header: str = "", emitter: str = "c") -> str:
    """Multi-document YAML: ``---`` before each object, keys sorted, no timestamps.

    Safe types only, a fixed style, and ASCII output: every character outside printable
    ASCII is escaped, which keeps strings with control or line-separator characters (NUL,
    U+0085, U+2028) exact and makes libyaml's emitter and PyYAML's pure-Python one write
    the same bytes (``emitter="python"`` forces the latter; the tests compare them). A
    string that looks like YAML syntax (quotes, ``: ``, ``{{``, newlines, ``yes``) is
    quoted or written as a literal block and reads back as the same string.

    :param header: comment lines (without ``#``) put before the first document.
    """
    import yaml

    body = yaml.dump_all(
        [dict(obj) for obj in objects],
        Dumper=_dumper(emitter),
        explicit_start=True,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=False,
        width=4096,
        indent=2,
    )
    ascii_header = header.encode("ascii", "backslashreplace").decode("ascii")
    comments = "".join(f"# {line}".rstrip() + "\n" for line in ascii_header.splitlines())
    return comments + str(body)


def render_kubernetes(
    compiled: CompiledProject, *, output: str = "jobs", allow_pod_local: bool = False
) -> str:
    """The objects of :func:`kubernetes_objects` as one multi-document YAML text."""
    product = compiled.product
    env = f" (environment {product.environment})" if product.environment else ""
    if output == "jobs":
        how = (
            "Jobs are immutable: `kubectl replace --force -f` (or delete, then apply)\n"
            "re-runs them; apply them in the order of their floe.dev/after annotations."
        )
    elif output == "workflow":
        how = (
            "Apply the ConfigMap (`kubectl apply -f FILE -l app.kubernetes.io/component=dbt-profiles`),\n"
            "then `argo submit FILE` (or `kubectl create -f FILE`) starts a run of the Workflow."
        )
    else:
        how = (
            "`kubectl apply -f FILE` registers the ConfigMap and the WorkflowTemplate;\n"
            "`argo submit --from workflowtemplate/NAME` starts a run."
        )
    header = (
        f"Generated by `floe k8s` from {product.path.name}{env}. Do not edit: change the manifests\n"
        f"and generate again. {how}\nSecrets are read from Kubernetes Secrets; none is in this file."
    )
    objects = kubernetes_objects(compiled, output=output, allow_pod_local=allow_pod_local)
    return dump_objects(objects, header=header)


def default_k8s_dir(floe_yaml: str | os.PathLike[str]) -> Path:
    """``target/floe/k8s`` beside ``floe.yaml``."""
    return Path(floe_yaml).parent / "target" / "floe" / "k8s"


def write_kubernetes(
    compiled: CompiledProject,
    out_dir: str | os.PathLike[str],
    *,
    output: str = "jobs",
    allow_pod_local: bool = False,
) -> Path:
    """Write :func:`render_kubernetes` to ``out_dir/kubernetes.yaml`` atomically; return the path.

    The text is rendered (and every check done) before anything is written.

    :raises ConfigError: bad input, or the directory cannot be written.
    """
    from floe_hooks._atomic import write_atomic

    text = render_kubernetes(compiled, output=output, allow_pod_local=allow_pod_local)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        return write_atomic(out / MANIFEST_FILE, text)
    except OSError as exc:
        raise ConfigError(
            f"cannot write Kubernetes manifests: {exc.strerror or exc}", file=str(out)
        ) from None
