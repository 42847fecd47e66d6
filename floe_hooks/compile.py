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

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks._precedence import overridden_setting
from floe_hooks.errors import ConfigError, PluginContractError
from floe_hooks.manifest import Product, load_product
from floe_hooks.models import ComputeConfig, ResourceSpec
from floe_hooks.secrets import DbtTemplate, SecretBinding, secret_bindings

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
]

#: Version of the ``compiled_artifacts.json`` schema: MAJOR changes break readers.
ARTIFACT_VERSION = "1.1"
#: File names inside the output directory.
PROFILES_FILE = "profiles.yml"
ARTIFACTS_FILE = "compiled_artifacts.json"


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


def _json_lines(data: Mapping[str, Any]) -> str:
    """JSON, two levels indented and each deeper value compact on its line.

    Readable and diff-friendly (a compute, a transform, a run step per line) and written
    by the C encoder: ``indent=`` would use the pure-Python one, 5x slower on large plans.
    """
    dump = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    lines = ["{"]
    for index, (key, value) in enumerate(data.items()):
        comma = "," if index < len(data) - 1 else ""
        if isinstance(value, Mapping) and value:
            inner = [f"    {dump(k)}: {dump(v)}" for k, v in value.items()]
            lines.append(f"  {dump(key)}: {{\n" + ",\n".join(inner) + f"\n  }}{comma}")
        elif isinstance(value, list) and value:
            inner = [f"    {dump(v)}" for v in value]
            lines.append(f"  {dump(key)}: [\n" + ",\n".join(inner) + f"\n  ]{comma}")
        else:
            lines.append(f"  {dump(key)}: {dump(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


#: Largest profile a plugin may return, counting a byte per value plus its text (16 MiB):
#: a dbt output is a few hundred bytes, and even one echoing every byte a floe file may
#: hold stays far below, so this only stops a runaway plugin.
MAX_PROFILE_BYTES = 16 * 1024 * 1024
_MAX_PROFILE_DEPTH = 32


def _plain(value: Any, where: str, budget: list[int] | None = None, depth: int = 0) -> Any:
    """YAML/JSON-safe copy of a plugin's profile; anything else is a contract violation.

    Exact built-in types come out, and :class:`~floe_hooks.DbtTemplate` for a template
    (a subclass's own methods are plugin code, and the YAML dumper refuses a ``str``
    subclass); a profile nested deeper than 32 levels (one that contains itself) or
    larger than :data:`MAX_PROFILE_BYTES` is refused rather than followed or written.
    """
    if budget is None:
        budget = [MAX_PROFILE_BYTES]
    budget[0] -= 1 + (len(value) if isinstance(value, str) else 0)
    if budget[0] < 0:
        raise TypeError(f"{where}: the profile is larger than {MAX_PROFILE_BYTES} bytes")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, DbtTemplate):
        return DbtTemplate(str.__str__(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        number = int.__index__(value)
        if not -(2**63) <= number < 2**63:  # what YAML and JSON readers hold (and str() of an
            raise TypeError(f"{where}: an integer outside the 64-bit range")  # int > 4300 digits fails)
        return number
    if isinstance(value, float):
        return float.__float__(value)
    if depth >= _MAX_PROFILE_DEPTH:
        raise TypeError(f"{where}: nested deeper than {_MAX_PROFILE_DEPTH} levels (does it contain itself?)")
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string")
            if not _encodable(key):
                raise TypeError(f"{where}: a key is not valid Unicode text (it holds a lone surrogate)")
            budget[0] -= len(key)
            out[str.__str__(key)] = _plain(item, f"{where}.{key}", budget, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]", budget, depth + 1) for i, item in enumerate(value)]
    raise TypeError(f"{where} is a {type(value).__name__}, not a YAML value")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# dbt renders every string value of profiles.yml with Jinja (dbt.config.renderer.ProfileRenderer:
# native rendering, then its secret placeholders are substituted). A string comes back changed
# when Jinja's lexer finds a tag in it ({{ {% {#; dbt's own _HAS_RENDER_CHARS_PAT also lists the
# closing }} %} #}), when it holds a carriage return (the lexer turns \r\n and \r into \n), or
# when it ends with a newline (Jinja drops one trailing newline). Native rendering of a plain
# string is one text node, which dbt returns as the str it is: '123', 'True', 'None' stay strings.
# A lone surrogate is escaped too: no YAML emitter can write it as it is.
_DBT_ALTERS = re.compile(r"[{][{%#]|[}%#][}]|[\r\ud800-\udfff]")
# After rendering, dbt replaces its secret placeholder in any value containing this text, and
# returns None for a value containing it without a placeholder: no spelling of such a literal
# survives, so it is refused.
_DBT_SECRET_PREFIX = "DBT_ENV_SECRET"


_NAMED_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def dbt_literal(text: str) -> str:
    """How ``profiles.yml`` spells the literal ``text`` so that dbt renders exactly ``text``.

    A string dbt would leave as it is comes back unchanged. One it would alter (it holds
    ``{{``, ``{%``, ``{#``, ``}}``, ``%}``, ``#}`` or a carriage return, or ends with a
    newline) becomes one Jinja string-literal expression, ``{{ '...' }}``: backslash and
    quote are escaped, and every non-printable character (controls, newlines, U+2028...)
    becomes a ``\\x``/``\\u``/``\\U`` escape, which Jinja's lexer decodes back::

        >>> dbt_literal("models/a b")
        'models/a b'
        >>> dbt_literal("{{ env_var('HOME') }}")
        "{{ '{{ env_var(\\\\'HOME\\\\') }}' }}"

    :raises ValueError: ``text`` contains ``DBT_ENV_SECRET``, which dbt replaces in any
        rendered value (with a secret's value, or the whole value with ``None``).
    """
    if _DBT_SECRET_PREFIX in text:
        raise ValueError(
            f"contains {_DBT_SECRET_PREFIX!r}, which dbt replaces in any value it renders; only "
            "profile_secret() may write it"
        )
    if not _DBT_ALTERS.search(text) and not text.endswith("\n"):
        return text
    return "{{ '" + "".join(map(_escape_char, text)) + "' }}"


def _for_dbt(value: Any, where: str) -> Any:
    """The profile as ``profiles.yml`` holds it: literals spelled by :func:`dbt_literal`, templates kept."""
    if isinstance(value, DbtTemplate):
        return str.__str__(value)
    if isinstance(value, str):
        try:
            return dbt_literal(value)
        except ValueError as exc:
            raise ValueError(f"its dbt profile value at {where} {exc}") from None
    if isinstance(value, dict):
        return {key: _for_dbt(item, f"{where}.{key}" if where else key) for key, item in value.items()}
    if isinstance(value, list):
        return [_for_dbt(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


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
    _register_known_secrets(manifest.computes)
    attaching = _catalog_computes(manifest, manager)
    for compute in manifest.computes:
        secrets = secret_bindings(compute)
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


def _register_known_secrets(computes: Sequence[ComputeConfig]) -> None:
    """Register for masking every referenced secret whose value this process can see.

    Compiling never needs a secret's value, and a missing one is no error; but a value that
    is set (``{env: VAR}`` or its ``DBT_ENV_SECRET_...`` variable) is masked from here on in
    every message, and a plugin result echoing it is refused (:func:`_registered_secret_at`).
    """
    from floe_hooks._redact import remember
    from floe_hooks.secrets import resolve_secrets

    for compute in computes:
        values, _ = resolve_secrets(compute)
        for value in values.values():
            remember(value)


def _registered_secret_at(value: Any, where: str) -> str | None:
    """Where a registered secret's value appears in a plugin's plain result, or None."""
    from floe_hooks._redact import known, redact

    if not known():
        return None
    if isinstance(value, str):
        return where if redact(value) != value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if redact(key) != key:
                return f"{where} (a key)"
            found = _registered_secret_at(item, f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _registered_secret_at(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


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


def _relative(path: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(path, start)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


def _artifacts(
    product: Product,
    computes: Sequence[CompiledCompute],
    run_plan: Sequence[RunStep],
    profiles_yml: str,
    graph: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    from floe_hooks._convert import unstructure
    from floe_hooks._version import __version__

    manifest = product.manifest
    base = product.path.parent
    used = {step.compute for step in run_plan}
    return {
        "schema_version": ARTIFACT_VERSION,
        "generator": {"name": "floe-hooks", "version": __version__},
        "product": {"name": product.name, "file": product.path.name},
        "manifest": {
            "file": _relative(manifest.path, base),
            "chain": [_relative(p, base) for p in manifest.chain],
        },
        "environment": manifest.environment,
        "profile": {
            "name": product.dbt_profile,
            "file": PROFILES_FILE,
            "target": manifest.default,
            "sha256": hashlib.sha256(profiles_yml.encode("utf-8")).hexdigest(),
        },
        "default_compute": manifest.default,
        "computes": {
            c.name: {
                "type": c.compute.type,
                "target": c.name,
                "plugin": {
                    "name": c.plugin.name,
                    "version": c.plugin.metadata.version,
                    "distribution": c.plugin.distribution,
                    "distribution_version": c.plugin.distribution_version,
                },
                "dbt_adapter": c.dbt_adapter,
                "threads": c.compute.threads,
                "timeout_seconds": c.compute.timeout_seconds,
                "config": unstructure(c.compute.config),
                "credentials": {k: unstructure(v) for k, v in c.compute.credentials.items()},
                "resources": {
                    "preset": c.compute.resources
                    if isinstance(c.compute.resources, str)
                    else ("plugin-default" if c.compute.resources is None else "custom"),
                    **c.resources.to_kubernetes(),
                },
                "env": [
                    {"variable": b.variable, "path": b.path, "from": unstructure(b.ref)} for b in c.secrets
                ],
                "transforms": list(c.transforms),
                "select": list(c.select),
            }
            for c in computes
        },
        "transforms": [
            {
                "name": t.name,
                "path": t.path,
                "compute": t.compute,
                "uses_default": t.uses_default,
                "select": t.select
                if product.project is None
                else " ".join(product.project.selection(t.name)),
            }
            for t in product.transforms
        ],
        "unclaimed": list(product.project.unclaimed) if product.project is not None else [],
        "run_plan": [
            {
                "step": index,
                "compute": step.compute,
                "target": step.compute,
                "transforms": list(step.transforms),
                "select": list(step.select),
                "command": step.command(product.dbt_profile),
                "needs": list(step.needs),
            }
            for index, step in enumerate(run_plan, 1)
        ],
        "graph": dict(graph)
        if graph is not None
        else {"source": "transforms", "edges": [[s.needs[0], s.compute] for s in run_plan if s.needs]},
        "dbt_adapters": sorted({c.dbt_adapter for c in computes if c.dbt_adapter and c.name in used}),
        "kubernetes": unstructure(manifest.kubernetes),
    }


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
