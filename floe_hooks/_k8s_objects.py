"""The cluster objects of one product: the profiles ConfigMap, the dbt container, Jobs, Argo Workflows."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from floe_hooks._k8s_base import (
    CONFIGMAP_LIMIT,
    CONTAINER_NAME,
    DAG_TEMPLATE,
    K8S_INT_MAX,
    LABEL_PREFIX,
    PROFILES_DIR,
    PROFILES_KEY,
    RETRY_BACKOFF,
    SCRATCH_DIR,
    SHARED_VOLUME,
    Render,
    dns_label,
    label_value,
    step_names,
)
from floe_hooks.errors import ConfigError

if TYPE_CHECKING:
    from floe_hooks.compile import CompiledCompute


def configmap_object(render: Render, name: str) -> dict[str, Any]:
    text = render.compiled.profiles_yml
    size = len(text.encode("utf-8"))
    if size > CONFIGMAP_LIMIT:
        raise render.error(
            f"profiles.yml is {size} bytes; a Kubernetes ConfigMap holds at most {CONFIGMAP_LIMIT}"
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
        "data": {PROFILES_KEY: text},
    }


def _secret_path(compute: CompiledCompute, path: str) -> str:
    field = f"credentials.{path}" if path in compute.compute.credentials else path
    return f"compute.approved[name={compute.name}].{field}"


def _secret_env(render: Render, compute: CompiledCompute) -> list[dict[str, Any]]:
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


def _catalog_secret_env(render: Render, compute: CompiledCompute) -> list[dict[str, Any]]:
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


def _check_engine_memory(render: Render, compute: CompiledCompute) -> None:
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


def _container(render: Render, compute: CompiledCompute, command: Sequence[str]) -> dict[str, Any]:
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


def _volumes(render: Render, configmap: str) -> list[dict[str, Any]]:
    volumes: list[dict[str, Any]] = [
        {
            "name": "profiles",
            "configMap": {"name": configmap, "items": [{"key": PROFILES_KEY, "path": PROFILES_KEY}]},
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
    render: Render, entry: Mapping[str, Any], index: int
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


def job_object(
    render: Render, entry: Mapping[str, Any], index: int, name: str, after: Sequence[str], configmap: str
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


def unique_names(wanted: Sequence[Sequence[str]], taken: set[str]) -> list[str]:
    names: list[str] = []
    for parts in wanted:
        name = dns_label(*parts)
        if name in taken:  # `a` at step 1 vs a compute `a_step1`: keep both, distinctly
            name = dns_label(*parts, "")
        taken.add(name)
        names.append(name)
    return names


def _task_template(render: Render, entry: Mapping[str, Any], index: int, name: str) -> dict[str, Any]:
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


def workflow_object(render: Render, base: str, configmap: str, template: bool) -> dict[str, Any]:
    settings = render.settings
    keys = step_names(render.plan)
    tasks = dict(zip(keys, unique_names([[key] for key in keys], {DAG_TEMPLATE}), strict=True))
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
