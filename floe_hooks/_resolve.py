"""Resolving a platform manifest: its ``extends:`` chain, governance and environment overlays.

Used by :mod:`floe_hooks.manifest`, which turns the resolved :class:`_Level` into the
public :class:`~floe_hooks.manifest.Manifest`. The resolver does not import the public
models: the manifest module hands it the ``KubernetesSettings`` class.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks._layers import _Layer, _merged, _relocate, check_overlay_keys
from floe_hooks._rules import COMPUTE_NAME as _NAME
from floe_hooks._rules import control_problem
from floe_hooks._text import kind as _kind
from floe_hooks.errors import ConfigError, PluginConflictError, UnknownComputeTypeError
from floe_hooks.models import ComputeConfig

if TYPE_CHECKING:
    from floe_hooks._catalog_manifest import CatalogLevel
    from floe_hooks.manager import PluginManager
    from floe_hooks.manifest import KubernetesSettings

#: File format versions this release reads (``version:`` in both files).
SUPPORTED_VERSIONS = (1,)

#: What an environment overlay may change in a compute.
OVERLAY_KEYS = ("config", "credentials", "resources", "threads", "timeout_seconds")

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
#: C0 and C1 controls, DEL, and the Unicode line and paragraph separators: a model path
#: holding one would break the dbt --select argument, a shell `run:` line or a Job's args.
_PARITY = "every transform must run on the same compute in every environment (parity)"


def _allowed(names: Iterable[str]) -> str:
    listed = sorted(names)
    if len(listed) > 30:
        return f"{', '.join(listed[:30])}, ... ({len(listed)} in all)"
    return ", ".join(listed) or "none"


# --------------------------------------------------------------------------- raw file shapes


@attrs.frozen
class _ComputeSection:
    approved: Any = None  # a list of names and mappings; checked by hand for precise messages
    default: str | None = None


@attrs.frozen
class _EnvironmentSection:
    compute: Mapping[str, Any] = attrs.field(factory=dict)
    kubernetes: Mapping[str, Any] = attrs.field(factory=dict)
    catalog: Any = None  # resolved by floe_hooks.catalog


@attrs.frozen
class _ManifestFile:
    version: int = 1
    extends: str | None = None
    compute: _ComputeSection | None = None
    environments: Mapping[str, _EnvironmentSection] = attrs.field(factory=dict)
    kubernetes: Mapping[str, Any] = attrs.field(factory=dict)
    catalog: Any = None  # resolved by floe_hooks.catalog


# --------------------------------------------------------------------------- resolution


class _Entry:
    """One approved compute of one manifest level: its layers and its structured config."""

    __slots__ = ("compute", "layers", "name", "type", "where")

    def __init__(self, name: str, layers: list[_Layer], compute: ComputeConfig, where: str) -> None:
        self.name = name
        self.type = compute.type
        self.layers = layers
        self.compute = compute
        self.where = where  # ``file: path`` of the approving item, for messages


class _Level:
    """One manifest file of the chain, resolved together with its ancestors."""

    def __init__(self, display: str, chain: tuple[str, ...], kubernetes: KubernetesSettings) -> None:
        self.display = display
        self.chain = chain  # this file first
        self.version = 1
        self.entries: dict[str, _Entry] = {}
        self.default = ""
        self.env_names: list[str] = []
        self.overlays: dict[str, dict[str, list[_Layer]]] = {}  # env -> compute -> layers
        self.kube_layers: list[_Layer] = []
        self.env_kube: dict[str, list[_Layer]] = {}
        self.env_computes: dict[str, dict[str, ComputeConfig]] = {}
        self.env_kubernetes: dict[str, KubernetesSettings] = {}
        self.kubernetes = kubernetes
        self.catalog: CatalogLevel | None = None


class _Resolver:
    def __init__(self, manager: PluginManager, settings: type[KubernetesSettings]) -> None:
        self.manager = manager
        self._settings = settings  # the public model, from floe_hooks.manifest
        self._plugin_classes: dict[str, type | None] = {}

    # ---- plugins

    def config_class(self, compute_type: str, layers: Sequence[_Layer]) -> type | None:
        try:
            return self._plugin_classes[compute_type]
        except KeyError:
            pass
        try:
            cls = self.manager.config_class(compute_type)
        except UnknownComputeTypeError as exc:
            failed = {f.name: f for f in self.manager.failures}.get(compute_type)
            message = exc.message
            if failed is not None:
                source = (
                    f" (from {failed.distribution} {failed.version or '?'})" if failed.distribution else ""
                )
                message = (
                    f"the plugin for type {compute_type!r}, entry point {failed.name!r}{source}, failed to "
                    f"load: {failed.reason}; fix or reinstall it (see: floe plugins)"
                )
            raise _relocate(ConfigError(message, path="type"), layers) from None
        except PluginConflictError as exc:
            raise _relocate(ConfigError(exc.message, path="type"), layers) from None
        self._plugin_classes[compute_type] = cls
        return cls

    def structure(self, layers: Sequence[_Layer]) -> ComputeConfig:
        from floe_hooks._structure import structure_compute

        data = _merged(layers)
        compute_type = data.get("type")
        if isinstance(compute_type, str) and _NAME.fullmatch(compute_type):
            cls = self.config_class(compute_type, layers)
            classes: Callable[[str], type | None] = lambda _: cls  # noqa: E731
        else:
            classes = lambda _: None  # noqa: E731 - the converter reports the bad type
        try:
            return structure_compute(data, classes)
        except ConfigError as exc:
            raise _relocate(exc, layers) from None

    def kubernetes(self, layers: Sequence[_Layer]) -> KubernetesSettings:
        from floe_hooks._structure import structure

        if not layers:
            return self._settings()
        try:
            return structure(_merged(layers), self._settings)
        except ConfigError as exc:
            raise _relocate(exc, layers) from None

    # ---- files

    def level(self, path: Path, display: str) -> _Level:
        """Resolve the manifest at ``path`` and its ancestors.

        The ``extends:`` chain is read first, child to root, in a loop (no recursion, so
        no ``RecursionError`` however long a chain someone writes), at most
        :data:`MAX_EXTENDS_DEPTH` files; then resolved root to leaf, each level once.
        """
        files: list[tuple[str, _ManifestFile, Mapping[str, Any]]] = []
        seen: dict[str, str] = {}  # realpath -> display, for cycles
        current, current_display = path, display
        while True:
            spec, data = self._spec(current, current_display)
            files.append((current_display, spec, data))
            seen[os.path.realpath(current)] = current_display
            if spec.extends is None:
                break
            if len(files) >= MAX_EXTENDS_DEPTH:
                raise ConfigError(
                    f"the extends chain is longer than {MAX_EXTENDS_DEPTH} manifests; "
                    "a governance chain needs a few levels, not this many",
                    file=current_display,
                    path="extends",
                )
            current, current_display = self._parent_path(
                spec.extends, current, current_display, [d for d, _, _ in files], seen
            )
        parent: _Level | None = None
        # the catalog rules (and their module) only when some file of the chain names a catalog
        with_catalog = any(_names_catalog(data) for _, _, data in files)
        for file_display, spec, data in reversed(files):
            chain = (file_display, *(parent.chain if parent else ()))
            level = _Level(file_display, chain, self._settings())
            level.version = spec.version
            self._computes(level, spec, parent)
            self._default(level, spec, parent)
            self._environments(level, spec, parent)
            if with_catalog:
                from floe_hooks._catalog_manifest import catalog_level

                level.catalog = catalog_level(
                    data,
                    file_display,
                    parent.catalog if parent else None,
                    parent.display if parent else None,
                    level.env_names,
                )
            parent = level
        assert parent is not None
        return parent

    @staticmethod
    def _spec(path: Path, display: str) -> tuple[_ManifestFile, Mapping[str, Any]]:
        from floe_hooks._structure import structure
        from floe_hooks._yaml import read_yaml

        data = read_yaml(path, display)
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping at the top level, got {_kind(data)}", file=display)
        data = dict(data)
        envs = data.get("environments")
        if isinstance(envs, Mapping):  # `dev:` with nothing under it declares an environment
            data["environments"] = {k: ({} if v is None else v) for k, v in envs.items()}
        spec = structure(data, _ManifestFile, file=display)
        _check_version(spec.version, display)
        if spec.extends is not None:
            _check_file_reference(spec.extends, display, "extends")
        return spec, data

    @staticmethod
    def _parent_path(
        extends: str, path: Path, display: str, names: list[str], seen: Mapping[str, str]
    ) -> tuple[Path, str]:
        parent_path = path.parent / extends
        parent_display = os.path.normpath(os.path.join(os.path.dirname(display), extends))
        if os.path.realpath(parent_path) in seen:
            chain = " -> ".join([*names, parent_display])
            raise ConfigError(f"cycle in the extends chain: {chain}", file=display, path="extends")
        if not parent_path.is_file():
            chain = " -> ".join([*names, parent_display])
            raise ConfigError(
                f"parent manifest {parent_display} not found (chain: {chain})", file=display, path="extends"
            )
        return parent_path, parent_display

    def _computes(self, level: _Level, spec: _ManifestFile, parent: _Level | None) -> None:
        display = level.display
        section = spec.compute
        if section is None or section.approved is None:
            if parent is None:
                raise ConfigError(
                    "at least one compute must be approved", file=display, path="compute.approved"
                )
            level.entries = dict(parent.entries)
            return
        approved = section.approved
        if not isinstance(approved, list):
            raise ConfigError(
                f"expected a list, got {_kind(approved)}", file=display, path="compute.approved"
            )
        if not approved:
            raise ConfigError("at least one compute must be approved", file=display, path="compute.approved")
        seen: dict[str, str] = {}
        for index, item in enumerate(approved):
            prefix = f"compute.approved[{index}]"
            name: Any
            if isinstance(item, str):
                name, name_path = item, prefix
                if not _NAME.fullmatch(item):
                    raise ConfigError(
                        f"{item!r} is not a valid compute name: use lowercase letters, digits and "
                        "underscores, starting with a letter (at most 63 characters)",
                        file=display,
                        path=prefix,
                    )
            elif isinstance(item, Mapping):
                name, name_path = item.get("name"), f"{prefix}.name"
                if name is None and parent is not None:
                    raise ConfigError("required field is missing", file=display, path=name_path)
                if name is not None and not isinstance(name, str):
                    raise ConfigError(f"expected a string, got {_kind(name)}", file=display, path=name_path)
            else:
                raise ConfigError(
                    f"expected a compute name or a mapping, got {_kind(item)}", file=display, path=prefix
                )
            if isinstance(name, str):
                if name in seen:
                    raise ConfigError(
                        f"duplicate compute name {name!r} (also {seen[name]})", file=display, path=name_path
                    )
                seen[name] = prefix
            entry = self._entry(item, name, prefix, display, parent)
            level.entries[entry.name] = entry

    def _entry(self, item: Any, name: Any, prefix: str, display: str, parent: _Level | None) -> _Entry:
        where = f"{display}: {prefix}"
        if parent is None:
            if isinstance(item, str):
                layers = [_Layer({"name": item, "type": item}, display, prefix, short=True)]
            else:
                layers = [_Layer(item, display, prefix)]
            compute = self.structure(layers)
            return _Entry(compute.name, layers, compute, where)
        base = parent.entries.get(name)
        if base is None:
            raise ConfigError(
                f"{name!r} is not approved by the parent manifest {parent.display}; a child manifest may "
                f"only narrow its parent's approved list; allowed: {_allowed(parent.entries)}",
                file=display,
                path=prefix if isinstance(item, str) else f"{prefix}.name",
            )
        if isinstance(item, str) or set(item) == {"name"}:
            return base  # inherited unchanged: already validated by the parent
        child_type = item.get("type", base.type)
        if child_type != base.type:
            raise ConfigError(
                f"{child_type!r} differs from type {base.type!r} that the parent manifest {parent.display} "
                f"approves for {name!r}; a child manifest may narrow its parent's approved list and "
                "override settings, never change a compute's type",
                file=display,
                path=f"{prefix}.type",
            )
        layers = [*base.layers, _Layer(item, display, prefix)]
        return _Entry(base.name, layers, self.structure(layers), where)

    def _default(self, level: _Level, spec: _ManifestFile, parent: _Level | None) -> None:
        display, names = level.display, level.entries
        default = spec.compute.default if spec.compute is not None else None
        if default is not None:
            if default not in names:
                raise ConfigError(
                    f"{default!r} is not approved; allowed: {_allowed(names)}",
                    file=display,
                    path="compute.default",
                )
            level.default = default
        elif parent is not None:
            if parent.default not in names:
                raise ConfigError(
                    f"the default compute {parent.default!r} inherited from {parent.display} is not approved "
                    f"here; set compute.default to one of: {_allowed(names)}",
                    file=display,
                    path="compute.default",
                )
            level.default = parent.default
        elif len(names) == 1:
            level.default = next(iter(names))
        else:
            raise ConfigError(
                f"required when more than one compute is approved; allowed: {_allowed(names)}",
                file=display,
                path="compute.default",
            )

    def _environments(self, level: _Level, spec: _ManifestFile, parent: _Level | None) -> None:
        display, names = level.display, level.entries
        if parent is not None:
            level.env_names = list(parent.env_names)
            level.kube_layers = list(parent.kube_layers)
            for env, computes in parent.overlays.items():
                # overlays of computes this level narrowed away no longer apply
                level.overlays[env] = {n: list(ls) for n, ls in computes.items() if n in names}
            level.env_kube = {env: list(ls) for env, ls in parent.env_kube.items()}
        if spec.kubernetes:
            level.kube_layers.append(_Layer(spec.kubernetes, display, "kubernetes"))
        for env, section in spec.environments.items():
            if not _ENV_NAME.fullmatch(env):
                raise ConfigError(
                    f"{env!r} is not a valid environment name (letters, digits, '_', '-', '.')",
                    file=display,
                    path=f"environments.{env}",
                )
            if env not in level.env_names:
                level.env_names.append(env)
            overlays = level.overlays.setdefault(env, {})
            for name, overlay in section.compute.items():
                prefix = f"environments.{env}.compute.{name}"
                _check_overlay(name, overlay, prefix, display, level)
                if overlay:
                    overlays.setdefault(name, []).append(_Layer(overlay, display, prefix))
            if section.kubernetes:
                level.env_kube.setdefault(env, []).append(
                    _Layer(section.kubernetes, display, f"environments.{env}.kubernetes")
                )
        level.kubernetes = self.kubernetes(level.kube_layers)
        # Validate every environment now, so `compile --env dev` fails on a broken prod overlay too.
        for env in level.env_names:
            level.env_computes[env] = {
                name: self.structure([*names[name].layers, *layers])
                for name, layers in level.overlays.get(env, {}).items()
            }
            level.env_kubernetes[env] = self.kubernetes([*level.kube_layers, *level.env_kube.get(env, [])])


def _check_overlay(name: str, overlay: Any, prefix: str, display: str, level: _Level) -> None:
    if name not in level.entries:
        if name in ("default", "approved"):
            raise ConfigError(
                "an environment overlay may not change the approved computes or the default compute; "
                + _PARITY,
                file=display,
                path=prefix,
            )
        raise ConfigError(
            f"{name!r} is not approved; allowed: {_allowed(level.entries)}", file=display, path=prefix
        )
    if overlay is None:
        return
    if not isinstance(overlay, Mapping):
        raise ConfigError(f"expected a mapping, got {_kind(overlay)}", file=display, path=prefix)
    check_overlay_keys(
        overlay,
        OVERLAY_KEYS,
        lambda key: f"an environment overlay may not change a compute's {key}; {_PARITY}",
        file=display,
        prefix=prefix,
    )


#: Most manifests an ``extends:`` chain may hold (the file itself included).
MAX_EXTENDS_DEPTH = 32
#: Longest file reference (``extends:``, ``platform:``) and longest part of one, in characters.
MAX_REFERENCE_CHARS, MAX_REFERENCE_PART = 4096, 255


def _check_file_reference(text: str, display: str, field: str) -> None:
    """A file named in a manifest: printable, no longer than a path can be (exit 2, located)."""
    problem = control_problem(text, "a file path")
    if problem is not None:
        raise ConfigError(problem, file=display, path=field)
    if not text.strip():
        raise ConfigError("must name a file", file=display, path=field)
    if len(text) > MAX_REFERENCE_CHARS or any(len(p) > MAX_REFERENCE_PART for p in text.split("/")):
        raise ConfigError(
            f"is not a usable file path: longer than {MAX_REFERENCE_CHARS} characters, or a part of it "
            f"longer than {MAX_REFERENCE_PART}",
            file=display,
            path=field,
        )


def _check_version(version: int, display: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise ConfigError(
            f"unsupported version {version!r}; supported: {', '.join(map(str, SUPPORTED_VERSIONS))}",
            file=display,
            path="version",
        )


def _names_catalog(data: Mapping[str, Any]) -> bool:
    """True when a manifest file has a ``catalog:`` key, at the top or in an environment."""
    if "catalog" in data:
        return True
    envs = data.get("environments")
    return isinstance(envs, Mapping) and any(
        isinstance(section, Mapping) and "catalog" in section for section in envs.values()
    )
