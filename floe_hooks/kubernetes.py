"""Kubernetes output: every compute's dbt run as a ``batch/v1`` Job, profiles.yml as a ConfigMap.

::

    compiled = compile_product(load_product("floe.yaml", env="prod"))
    objects = kubernetes_objects(compiled)          # plain dicts: a ConfigMap, a Job per plan step
    text = render_kubernetes(compiled)              # multi-document YAML, byte for byte deterministic
    write_kubernetes(compiled, "target/floe/k8s")   # DIR/kubernetes.yaml, written atomically

What is emitted, per product (and environment):

- one ``ConfigMap`` holding the compiled ``profiles.yml`` (every approved compute's dbt output);
- one ``Job`` per step of the run plan, that is one per compute the plan uses (a plan that
  comes back to a compute, ``a, b, a``, gets one Job per visit, so the order stays expressible),
  running ``dbt run --profile <product> --target <compute> --select <its transforms>`` in the
  manifest's image, with the plugin's :class:`~floe_hooks.ResourceSpec` as the container's requests and
  limits, the ConfigMap mounted at :data:`PROFILES_DIR` (``DBT_PROFILES_DIR``), and every secret
  the compute needs as an ``env`` entry taken from a Kubernetes Secret (``secretKeyRef``).

Settings come from the manifest's ``kubernetes:`` block (:class:`~floe_hooks.KubernetesSettings`).
A secret reference with only ``{env: VAR}`` cannot reach a pod: it is a :class:`ConfigError`
naming the compute and field, and nothing is written. No secret value ever appears: profiles
hold ``env_var()`` templates and Jobs hold references.

Jobs carry a ``floe.dev/step`` label (1, 2, ...) and a ``floe.dev/after`` annotation naming
the Job of the previous step: ``kubectl apply -f`` starts every Job at once, so when a later
step reads what an earlier one wrote, apply them step by step (``-l floe.dev/step=1``, wait,
then the next; ``docs/kubernetes.md``).

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
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_hooks.errors import ConfigError

if TYPE_CHECKING:
    from floe_hooks.compile import CompiledCompute, CompiledProject, RunStep
    from floe_hooks.manifest import KubernetesSettings

__all__ = [
    "LABEL_PREFIX",
    "PROFILES_DIR",
    "SCRATCH_DIR",
    "CONTAINER_NAME",
    "MANIFEST_FILE",
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


def dns_label(*parts: str) -> str:
    """A DNS-1123 label (an object name) for ``parts`` joined with ``-``, deterministically.

    Lowercase, with ``_`` turned into ``-``, when that alone makes a valid label of at most
    63 characters; otherwise every other character is replaced, the result is cut, and it
    ends with ``-`` and eight hex digits of the SHA-256 of the joined original, so two
    different inputs keep different names.

    >>> dns_label("analytics", "prod", "warehouse_2")
    'analytics-prod-warehouse-2'
    >>> dns_label("Analytics")
    'analytics-94c116ee'
    """
    raw = "-".join(parts)
    simple = raw.replace("_", "-")
    if len(simple) <= _MAX_LABEL and _DNS_LABEL.fullmatch(simple):
        return simple
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", simple.lower())).strip("-")
    head = cleaned[: _MAX_LABEL - _HASH_LEN - 1].rstrip("-")
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


def _job(
    render: _Render, step: RunStep, index: int, name: str, after: str | None, configmap: str
) -> dict[str, Any]:
    settings = render.settings
    compute = render.computes[step.compute]
    _check_engine_memory(render, compute)
    labels = {
        **render.metadata_labels("dbt-run", name),
        f"{LABEL_PREFIX}/compute": label_value(compute.name),
        f"{LABEL_PREFIX}/step": str(index),
    }
    annotations = {
        **render.annotations,
        f"{LABEL_PREFIX}/compute": compute.name,
        f"{LABEL_PREFIX}/compute-type": compute.compute.type,
        f"{LABEL_PREFIX}/transforms": ",".join(step.transforms),
        f"{LABEL_PREFIX}/steps": str(len(render.compiled.run_plan)),
    }
    if after is not None:
        annotations[f"{LABEL_PREFIX}/after"] = after
    if compute.dbt_adapter:
        annotations[f"{LABEL_PREFIX}/dbt-adapter"] = compute.dbt_adapter

    env: list[dict[str, Any]] = [
        {"name": "DBT_PROFILES_DIR", "value": PROFILES_DIR},
        {"name": "DBT_TARGET_PATH", "value": f"{SCRATCH_DIR}/dbt/target"},
        {"name": "DBT_LOG_PATH", "value": f"{SCRATCH_DIR}/dbt/logs"},
        {"name": "HOME", "value": SCRATCH_DIR},
        *_secret_env(render, compute),
    ]
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": settings.image,
        "command": step.command(render.compiled.product.dbt_profile),
        "env": env,
        "resources": compute.resources.to_kubernetes(),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        },
        "volumeMounts": [
            {"name": "profiles", "mountPath": PROFILES_DIR, "readOnly": True},
            {"name": "scratch", "mountPath": SCRATCH_DIR},
        ],
    }
    if settings.image_pull_policy is not None:
        container["imagePullPolicy"] = settings.image_pull_policy
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [
            {
                "name": "profiles",
                "configMap": {"name": configmap, "items": [{"key": _PROFILES_KEY, "path": _PROFILES_KEY}]},
            },
            {"name": "scratch", "emptyDir": {}},
        ],
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


def kubernetes_objects(compiled: CompiledProject) -> list[dict[str, Any]]:
    """The Kubernetes objects of a compiled product: the profiles ConfigMap, then the Jobs.

    One Job per run-plan step, in plan order: one per compute the plan uses, unless the
    plan comes back to a compute (then that compute's Jobs end in ``-step<N>``). Computes
    the plan does not use get none. Every object carries the product's labels
    (``app.kubernetes.io/*``, ``floe.dev/product``, ``floe.dev/environment``,
    ``floe.dev/version``; Jobs also ``floe.dev/compute`` and ``floe.dev/step``) and the
    manifest's extra ``labels``.

    :param compiled: from :func:`~floe_hooks.compile_product`.
    :raises ConfigError: a secret reference with only ``env`` (names the compute and field),
        a DuckDB ``memory_limit`` above the pod's memory limit, an invalid image or extra
        label, or a ``profiles.yml`` too large for a ConfigMap.
    """
    render = _Render(compiled)
    if not _IMAGE.fullmatch(render.settings.image):
        raise render.error(
            f"{render.settings.image!r} is not a container image reference (no spaces or control characters)",
            "kubernetes.image",
        )
    configmap_name = dns_label(*render.name_parts, "dbt-profiles")
    objects = [_configmap(render, configmap_name)]

    counts = collections.Counter(step.compute for step in compiled.run_plan)
    taken: set[str] = set()
    after: str | None = None
    for index, step in enumerate(compiled.run_plan, 1):
        parts = [*render.name_parts, step.compute]
        if counts[step.compute] > 1:  # the plan comes back to this compute: one Job per visit
            parts.append(f"step{index}")
        name = dns_label(*parts)
        if name in taken:  # `a` at step 1 vs a compute `a_step1`: keep both, distinctly
            name = dns_label(*parts, "")
        taken.add(name)
        objects.append(_job(render, step, index, name, after, configmap_name))
        after = name
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


def render_kubernetes(compiled: CompiledProject) -> str:
    """The Kubernetes objects of ``compiled`` as one multi-document YAML text (``kubectl apply -f``)."""
    product = compiled.product
    env = f" (environment {product.environment})" if product.environment else ""
    header = (
        f"Generated by `floe k8s` from {product.path.name}{env}. Do not edit: change the manifests\n"
        "and generate again. Jobs are immutable: `kubectl replace --force -f` (or delete, then apply)\n"
        "re-runs them. Secrets are read from Kubernetes Secrets; none is in this file."
    )
    return dump_objects(kubernetes_objects(compiled), header=header)


def default_k8s_dir(floe_yaml: str | os.PathLike[str]) -> Path:
    """``target/floe/k8s`` beside ``floe.yaml``."""
    return Path(floe_yaml).parent / "target" / "floe" / "k8s"


def write_kubernetes(compiled: CompiledProject, out_dir: str | os.PathLike[str]) -> Path:
    """Write :func:`render_kubernetes` to ``out_dir/kubernetes.yaml`` atomically; return the path.

    The text is rendered (and every check done) before anything is written.

    :raises ConfigError: bad input, or the directory cannot be written.
    """
    from floe_hooks._atomic import write_atomic

    text = render_kubernetes(compiled)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        return write_atomic(out / MANIFEST_FILE, text)
    except OSError as exc:
        raise ConfigError(
            f"cannot write Kubernetes manifests: {exc.strerror or exc}", file=str(out)
        ) from None
