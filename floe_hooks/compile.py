"""``floe compile``: a resolved product becomes ``profiles.yml`` and ``compiled_artifacts.json``.

::

    product = load_product("floe.yaml", env="prod")
    compiled = compile_product(product)         # everything in memory, validated
    write_outputs(compiled, "target/floe")      # both files, atomically

    compile_file("floe.yaml", env="prod")      # the same in one call

``profiles.yml`` holds one dbt output per approved compute (output name = compute
name; ``target`` = the default compute), each from the plugin's ``generate_profile``;
secrets appear only as ``{{ env_var('DBT_ENV_SECRET_...') }}`` templates. dbt renders
every string of the file through Jinja, so each plain string of a profile is written as
a literal that renders back to exactly itself (:func:`dbt_literal`); only a
:class:`~floe_hooks.DbtTemplate` is written for dbt to render.

``compiled_artifacts.json`` (schema version :data:`ARTIFACT_VERSION`, documented in
``docs/compiled-artifacts.md``) tells an orchestrator what to run where: the computes
with their plugin, config, resources and secret variables, every transform with its
compute, and the run plan: one ``dbt build --target <compute> --select ...`` step per
compute, each with the steps it ``needs`` (see :mod:`floe_hooks.run` for how ``floe run``
derives them from dbt's graph).

Nothing is written unless everything compiled; outputs are replaced atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks._artifact import ARTIFACT_VERSION, ARTIFACTS_FILE, PROFILES_FILE, _artifacts, _json_lines
from floe_hooks._precedence import overridden_setting
from floe_hooks._profile_values import (
    MAX_PROFILE_BYTES,
    _for_dbt,
    _plain,
    _register_known_secrets,
    _registered_secret_at,
    dbt_literal,
)
from floe_hooks.errors import ConfigError, PluginContractError
from floe_hooks.manifest import Product, load_product
from floe_hooks.models import ComputeConfig, ResourceSpec
from floe_hooks.secrets import SecretBinding, secret_bindings

if TYPE_CHECKING:
    from floe_hooks.manager import PluginInfo, PluginManager

__all__ = [
    "ARTIFACT_VERSION",
    "PROFILES_FILE",
    "ARTIFACTS_FILE",
    "CompiledCompute",
    "RunStep",
    "CompiledProject",
    "compile_product",
    "write_outputs",
    "compile_file",
    "default_out_dir",
    "dbt_literal",
    "MAX_PROFILE_BYTES",
]


@attrs.frozen
class CompiledCompute:
    """One approved compute, compiled.

    :ivar compute: the resolved compute.
    :ivar plugin: the plugin that serves its type.
    :ivar profile: its dbt output (``profiles.yml`` → ``<product>.outputs.<name>``).
    :ivar resources: the job pod's requests and limits, from the plugin.
    :ivar secrets: every secret it needs: the dbt variable and the reference that feeds it.
    :ivar transforms: names of the transforms that run on it, in file order.
    :ivar select: the dbt ``--select`` arguments of those transforms.
    """

    compute: ComputeConfig
    plugin: PluginInfo = attrs.field(eq=False)
    profile: Mapping[str, Any]
    resources: ResourceSpec
    secrets: tuple[SecretBinding, ...]
    transforms: tuple[str, ...]
    select: tuple[str, ...]

    @property
    def name(self) -> str:
        """The compute's name, which is also its dbt output and ``--target``."""
        return self.compute.name

    @property
    def dbt_adapter(self) -> str | None:
        """The pip requirement of the dbt adapter the plugin targets."""
        return self.plugin.metadata.dbt_adapter


@attrs.frozen
class RunStep:
    """One dbt invocation of the run plan: every node of one compute.

    :ivar compute: the compute (and dbt ``--target``) it runs on.
    :ivar transforms: the transforms it runs, in file order.
    :ivar select: its dbt ``--select`` arguments (exact: see :mod:`floe_hooks._project`).
    :ivar needs: the computes whose steps must finish first.
    :ivar extra: more dbt arguments after the selection (``--indirect-selection empty``
        when the selection names every node itself).
    """

    compute: str
    transforms: tuple[str, ...]
    select: tuple[str, ...]
    needs: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    def command(self, profile: str, verb: str = "build") -> list[str]:
        """The dbt command line: ``dbt build --profile P --target C --select ...``."""
        return [
            "dbt",
            verb,
            "--profile",
            profile,
            "--target",
            self.compute,
            "--select",
            *self.select,
            *self.extra,
        ]


@attrs.frozen
class CompiledProject:
    """Everything ``floe compile`` produces, in memory; :func:`write_outputs` writes it.

    :ivar product: the product it was compiled from.
    :ivar computes: every approved compute, compiled, in manifest order.
    :ivar run_plan: the dbt invocations, in order.
    :ivar profiles_yml: the text of ``profiles.yml``.
    :ivar artifacts: the content of ``compiled_artifacts.json``.
    """

    product: Product
    computes: tuple[CompiledCompute, ...]
    run_plan: tuple[RunStep, ...]
    profiles_yml: str
    artifacts: Mapping[str, Any]

    def compute(self, name: str) -> CompiledCompute:
        """The compiled compute called ``name`` (``KeyError`` if none)."""
        for compiled in self.computes:
            if compiled.name == name:
                return compiled
        raise KeyError(name)

    @property
    def dbt_adapters(self) -> tuple[str, ...]:
        """The dbt adapter requirements the run plan needs, sorted."""
        return tuple(self.artifacts["dbt_adapters"])

    def artifacts_json(self) -> str:
        """The text of ``compiled_artifacts.json``: one top-level key, compute, transform or step a line."""
        return _json_lines(self.artifacts)


# --------------------------------------------------------------------------- compile


def _run_plan(product: Product, select: Mapping[str, Sequence[str]]) -> tuple[RunStep, ...]:
    """One step per compute that runs something, in order of first use in ``floe.yaml``.

    Without dbt's graph the order between steps is not known: each step ``needs`` the one
    before it (a safe chain; ``floe run`` records the real edges, ``graph.source: dbt``).
    """
    order: dict[str, list[str]] = {}
    for transform in product.transforms:
        order.setdefault(transform.compute, []).append(transform.name)
    default = product.manifest.default
    if product.project is not None and product.project.unclaimed:
        order.setdefault(default, [])
    steps: list[RunStep] = []
    for compute, names in order.items():
        needs = (steps[-1].compute,) if steps else ()
        steps.append(RunStep(compute, tuple(names), tuple(select[compute]), needs))
    return tuple(steps)


def compile_product(product: Product, *, manager: PluginManager | None = None) -> CompiledProject:
    """Compile a loaded product in memory: profiles, resources, secrets, run plan.

    :param product: from :func:`~floe_hooks.load_product`.
    :param manager: the plugin manager (default: the process-wide one).
    :raises ConfigError: a plugin refused a compute's settings (located in the manifest).
    :raises PluginError: a plugin's hook failed or broke the contract.
    """
    import time

    from floe_hooks import _log

    with _log.scope():
        _log.info(
            "compile_started",
            product=product.name,
            file=str(product.path),
            computes=len(product.manifest.computes),
            transforms=len(product.transforms),
        )
        start = time.perf_counter()
        compiled = _compile_product(product, manager)
        _log.info(
            "compile_finished",
            product=product.name,
            steps=len(compiled.run_plan),
            duration_ms=round((time.perf_counter() - start) * 1000, 3),
        )
    return compiled


def _compile_product(product: Product, manager: PluginManager | None) -> CompiledProject:
    from floe_hooks._yaml import paused_gc

    if manager is None:
        from floe_hooks.manager import get_plugin_manager

        manager = get_plugin_manager()
    with paused_gc():
        return _compile(product, manager)


def _compile(product: Product, manager: PluginManager) -> CompiledProject:
    manifest = product.manifest
    by_compute: dict[str, list[str]] = {c.name: [] for c in manifest.computes}
    select: dict[str, list[str]] = {c.name: [] for c in manifest.computes}
    project = product.project
    for transform in product.transforms:
        by_compute[transform.compute].append(transform.name)
        if project is None:
            select[transform.compute].append(transform.select)
        else:
            select[transform.compute].extend(project.selection(transform.name))
    if project is not None:
        select[manifest.default].extend(project.selection(""))

    compiled: list[CompiledCompute] = []
    outputs: dict[str, Any] = {}
    variables: dict[str, tuple[str, SecretBinding]] = {}
    bindings = {compute.name: secret_bindings(compute) for compute in manifest.computes}
    _register_known_secrets(manifest.computes, bindings)
    attaching = _catalog_computes(manifest, manager)
    for compute in manifest.computes:
        secrets = bindings[compute.name]
        _check_variables(compute.name, secrets, variables, str(manifest.path))
        plugin = manager.plugin_for(compute.type)
        try:
            profile = manager.generate_profile(compute)
            resources = manager.resource_requirements(compute)
        except ConfigError as exc:
            raise exc.with_location(
                file=str(manifest.path), prefix=f"compute.approved[name={compute.name}]"
            ) from None
        if manifest.catalog is not None and compute.name in attaching:
            try:
                profile = manager.catalog_profile(compute, manifest.catalog, profile)
            except ConfigError as exc:
                raise exc.with_location(file=exc.file or str(manifest.path)) from None
        try:
            profile = _plain(profile, "profile")
        except Exception as exc:  # copying runs plugin code too (a dict subclass's items())
            from floe_hooks._text import one_line

            detail = str(exc) if isinstance(exc, TypeError) else f"copying it raised {one_line(exc)}"
            raise plugin.error(
                PluginContractError, f"generate_profile for compute {compute.name!r}: {detail}"
            ) from None
        leaked = _registered_secret_at(profile, "profile")
        if leaked is not None:
            raise plugin.error(
                PluginContractError,
                f"generate_profile for compute {compute.name!r} returned the value of a secret at {leaked}; "
                "a profile names secrets with profile_secret(compute, path), never their values",
            )
        overridden = overridden_setting(compute, profile)
        if overridden is not None:
            raise plugin.error(
                PluginContractError, f"generate_profile for compute {compute.name!r}: {overridden}"
            )
        try:
            outputs[compute.name] = _for_dbt(profile, "")
        except ValueError as exc:
            raise ConfigError(
                str(exc), file=str(manifest.path), path=f"compute.approved[name={compute.name}]"
            ) from None
        compiled.append(
            CompiledCompute(
                compute=compute,
                plugin=plugin,
                profile=profile,
                resources=resources,
                secrets=secrets,
                transforms=tuple(by_compute[compute.name]),
                select=tuple(select[compute.name]),
            )
        )

    from floe_hooks._yaml import dump_yaml

    env = f" (environment {manifest.environment})" if manifest.environment else ""
    profiles_yml = (
        f"# Generated by `floe compile` from {product.path.name}{env}. Do not edit: change the\n"
        "# manifests and compile again. Secrets are env_var() templates; see compiled_artifacts.json.\n"
        + dump_yaml({product.dbt_profile: {"target": dbt_literal(manifest.default), "outputs": outputs}})
    )
    run_plan = _run_plan(product, select)
    artifacts = _artifacts(product, tuple(compiled), run_plan, profiles_yml)
    if manifest.catalog is not None:
        from floe_hooks.catalog import catalog_artifact

        artifacts["catalog"] = catalog_artifact(manifest.catalog, attaching)
    return CompiledProject(product, tuple(compiled), run_plan, profiles_yml, artifacts)


def _catalog_computes(manifest: Any, manager: PluginManager) -> tuple[str, ...]:
    """The computes whose plugin attaches the manifest's catalog type (none without a catalog)."""
    if manifest.catalog is None:
        return ()
    from floe_hooks.catalog import catalog_bindings, catalog_types_of

    taken = {b.variable: c.name for c in manifest.computes for b in secret_bindings(c)}
    for binding in catalog_bindings(manifest.catalog):
        if binding.variable in taken:
            raise ConfigError(
                f"its dbt variable {binding.variable} is also a secret variable of compute "
                f"{taken[binding.variable]!r}; rename the catalog or the compute",
                file=str(manifest.path),
                path=f"catalog.credentials.{binding.field}",
            )
    return tuple(
        c.name for c in manifest.computes if manifest.catalog.type in catalog_types_of(manager, c.type)
    )


def _check_variables(
    name: str, secrets: Sequence[SecretBinding], seen: dict[str, tuple[str, SecretBinding]], file: str
) -> None:
    """Two different secrets must not share a ``DBT_ENV_SECRET_`` variable (``a_b.c`` vs ``a.b_c``)."""
    for binding in secrets:
        other = seen.setdefault(binding.variable, (name, binding))
        if other[1].ref != binding.ref:
            where = binding.path if "." in binding.path else f"credentials.{binding.path}"
            raise ConfigError(
                f"its dbt variable {binding.variable} is also the variable of {other[1].path!r} of compute "
                f"{other[0]!r}, which another reference feeds; rename one of the computes",
                file=file,
                path=f"compute.approved[name={name}].{where}",
            )


# --------------------------------------------------------------------------- write


def default_out_dir(floe_yaml: str | os.PathLike[str]) -> Path:
    """``target/floe`` beside ``floe.yaml``."""
    return Path(floe_yaml).parent / "target" / "floe"


def write_outputs(compiled: CompiledProject, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``profiles.yml`` and ``compiled_artifacts.json`` into ``out_dir`` (created if needed).

    Both files are published as one generation (:func:`floe_hooks._atomic.publish_files`):
    ``out_dir/<file>`` links into ``out_dir/.floe/current/``, and one rename switches both,
    so a failure, or a kill at any instant, leaves the previous pair byte for byte or the
    new pair whole, never a mix.

    :return: the two paths, ``profiles.yml`` first.
    """
    from floe_hooks._atomic import publish_files

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError("cannot write outputs: exists and is not a directory", file=str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = publish_files(
            out, {PROFILES_FILE: compiled.profiles_yml, ARTIFACTS_FILE: compiled.artifacts_json()}
        )
    except OSError as exc:
        raise ConfigError(f"cannot write outputs: {exc.strerror or exc}", file=str(out)) from None
    from floe_hooks import _log

    _log.info("outputs_written", files=[str(p) for p in paths])
    return paths


def compile_file(
    floe_yaml: str | os.PathLike[str],
    *,
    env: str | None = None,
    out: str | os.PathLike[str] | None = None,
    manager: PluginManager | None = None,
) -> CompiledProject:
    """Load, compile and write in one call (``floe compile``).

    :param floe_yaml: the product file.
    :param env: the environment overlay to apply.
    :param out: the output directory (default :func:`default_out_dir`).
    :return: the compiled project; the files are in ``out``.
    :raises ConfigError: bad input; nothing was written.
    """
    product = load_product(floe_yaml, env=env, manager=manager)
    compiled = compile_product(product, manager=manager)
    write_outputs(compiled, out if out is not None else default_out_dir(floe_yaml))
    return compiled
