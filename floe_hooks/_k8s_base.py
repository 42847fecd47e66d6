"""Shared ground of the cluster output: constants, object names, the step graph, one product's context.

Private: :mod:`floe_hooks.kubernetes` re-exports the public names (the constants,
:func:`dns_label`, :func:`label_value`, :func:`step_names`, :func:`step_dependencies`).
"""

from __future__ import annotations

import collections
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_hooks.errors import ConfigError

if TYPE_CHECKING:
    from floe_hooks.compile import CompiledProject
    from floe_hooks.manifest import KubernetesSettings

ARTIFACTS_FILE = "compiled_artifacts.json"  # where run_plan and graph come from (floe_hooks.compile)

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

PROFILES_KEY = "profiles.yml"
CONFIGMAP_LIMIT = 1024 * 1024  # Kubernetes refuses a ConfigMap over 1 MiB
MAX_LABEL = 63
_HASH_LEN = 8
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
IMAGE = re.compile(r"[^\s\x00-\x1f\x7f]+")


# --------------------------------------------------------------------------- names


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LEN]


def dns_label(*parts: str, limit: int = MAX_LABEL) -> str:
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
    if len(text) <= MAX_LABEL and _LABEL_VALUE.fullmatch(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", text)
    head = cleaned[: MAX_LABEL - _HASH_LEN - 1]
    head = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", head)
    return f"{head}-{_digest(text)}" if head else _digest(text)


def _check_label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= MAX_LABEL and bool(_LABEL_NAME.fullmatch(name))


# --------------------------------------------------------------------------- objects


def _relative_manifest(compiled: CompiledProject) -> str:
    """The manifest's path relative to floe.yaml's folder: the same wherever floe runs."""
    product = compiled.product
    try:
        return Path(os.path.relpath(product.manifest.path, product.path.parent)).as_posix()
    except ValueError:  # another drive (Windows)
        return product.manifest.path.as_posix()


class Render:
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
            if not isinstance(value, str) or len(value) > MAX_LABEL or not _LABEL_VALUE.fullmatch(value):
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
