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
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_hooks._cluster import cluster_problems
from floe_hooks._k8s_base import ARTIFACTS_FILE as ARTIFACTS_FILE
from floe_hooks._k8s_base import CONTAINER_NAME as CONTAINER_NAME
from floe_hooks._k8s_base import DAG_TEMPLATE as DAG_TEMPLATE
from floe_hooks._k8s_base import IMAGE, MANIFEST_FILE, MAX_LABEL, OUTPUTS, Render, dns_label, step_names
from floe_hooks._k8s_base import K8S_INT_MAX as K8S_INT_MAX
from floe_hooks._k8s_base import LABEL_PREFIX as LABEL_PREFIX
from floe_hooks._k8s_base import PROFILES_DIR as PROFILES_DIR
from floe_hooks._k8s_base import RETRY_BACKOFF as RETRY_BACKOFF
from floe_hooks._k8s_base import SCRATCH_DIR as SCRATCH_DIR
from floe_hooks._k8s_base import SHARED_VOLUME as SHARED_VOLUME
from floe_hooks._k8s_base import label_value as label_value
from floe_hooks._k8s_base import step_dependencies as step_dependencies
from floe_hooks._k8s_objects import configmap_object, job_object, unique_names, workflow_object
from floe_hooks.errors import ConfigError

if TYPE_CHECKING:
    from floe_hooks.compile import CompiledProject

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
    return cluster_problems(Render(compiled), allow_pod_local)


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
    render = Render(compiled)
    if not IMAGE.fullmatch(render.settings.image):
        raise render.error(
            f"{render.settings.image!r} is not a container image reference (no spaces or control characters)",
            "kubernetes.image",
        )
    cluster_problems(render, allow_pod_local)
    configmap_name = dns_label(*render.name_parts, "dbt-profiles")
    objects = [configmap_object(render, configmap_name)]
    if output != "jobs":
        base = dns_label(*render.name_parts, limit=MAX_LABEL - 6)  # room for generateName's suffix
        objects.append(workflow_object(render, base, configmap_name, output == "workflow-template"))
        return objects

    counts = collections.Counter(entry["compute"] for entry in render.plan)
    wanted = []
    for index, entry in enumerate(render.plan, 1):
        parts = [*render.name_parts, entry["compute"]]
        if counts[entry["compute"]] > 1:  # the plan comes back to this compute: one Job per visit
            parts.append(f"step{index}")
        wanted.append(parts)
    names = unique_names(wanted, set())
    job_of = dict(zip(step_names(render.plan), names, strict=True))
    for index, (entry, name) in enumerate(zip(render.plan, names, strict=True), 1):
        after = [job_of[u] for u in render.dependencies[step_names(render.plan)[index - 1]]]
        objects.append(job_object(render, entry, index, name, after, configmap_name))
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
