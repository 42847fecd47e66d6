"""Loading ``manifest.yaml`` (platform) and ``floe.yaml`` (product) into resolved models.

The platform manifest approves computes; the product picks one per transform::

    manifest = load_manifest("platform/manifest.yaml", env="prod")
    manifest.compute("warehouse").config.path      # the DuckDB plugin's typed config

    product = load_product("floe.yaml", env="prod")
    [(t.name, t.compute) for t in product.transforms]

Resolution order, each step validated with located errors (``file: path: message``):

1. **Governance.** ``extends:`` names a parent manifest. A child may only narrow its
   parent's approved list: it lists a subset of the parent's computes (by name, in the
   short form ``- warehouse``) and may override their settings (``threads``,
   ``timeout_seconds``, ``config`` deep-merged, ``credentials``, ``resources``), never
   their ``type``. What it does not set it inherits, ``compute.default`` included.
2. **Environment overlays.** ``environments.<env>.compute.<name>`` changes a compute's
   settings in one environment; ``environments.<env>.kubernetes`` the job settings.
   Overlays may never change which compute a transform runs on (parity): no new
   computes, no other type, no other default. Every environment's overlay is
   validated on every load, whichever one is selected.
   Precedence, lowest first: each manifest's base settings from the root of the chain
   to the leaf, then each manifest's overlay for the environment, root to leaf.
3. **Plugins.** Each approved compute's ``type`` must be served by a healthy installed
   plugin; its ``config:`` is structured with the class that plugin declares.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks._rules import COMPUTE_NAME as _NAME
from floe_hooks._text import kind as _kind
from floe_hooks.errors import ConfigError, PluginConflictError, UnknownComputeTypeError
from floe_hooks.models import ComputeConfig

if TYPE_CHECKING:
    from floe_hooks._project import DbtProject
    from floe_hooks.catalog import CatalogLevel, LakehouseCatalog
    from floe_hooks.manager import PluginManager

__all__ = [
    "KubernetesSettings",
    "SharedVolume",
    "Manifest",
    "Transform",
    "Product",
    "load_manifest",
    "load_product",
    "load_computes",
    "SUPPORTED_VERSIONS",
    "OVERLAY_KEYS",
]

#: File format versions this release reads (``version:`` in both files).
SUPPORTED_VERSIONS = (1,)

#: What an environment overlay may change in a compute.
OVERLAY_KEYS = ("config", "credentials", "resources", "threads", "timeout_seconds")

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_TRANSFORM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_PROFILE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
#: C0 and C1 controls, DEL, and the Unicode line and paragraph separators: a model path
#: holding one would break the dbt --select argument, a shell `run:` line or a Job's args.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_PARITY = "every transform must run on the same compute in every environment (parity)"


def _allowed(names: Iterable[str]) -> str:
    listed = sorted(names)
    if len(listed) > 30:
        return f"{', '.join(listed[:30])}, ... ({len(listed)} in all)"
    return ", ".join(listed) or "none"


# --------------------------------------------------------------------------- public models


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    from floe_hooks._limits import MAX_INT32, shown

    if value is not None and value < 0:
        raise ConfigError(f"must be >= 0, got {shown(value)}", path=attribute.name)
    if value is not None and value > MAX_INT32:  # an int32 in the Job: Kubernetes refuses more
        raise ConfigError(
            f"must be at most {MAX_INT32} (a Kubernetes int32), got {shown(value)}", path=attribute.name
        )


def _k8s_name(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (len(value) > 63 or not _K8S_NAME.fullmatch(value)):
        raise ConfigError(
            f"{value!r} is not a Kubernetes name (lowercase letters, digits and '-')", path=attribute.name
        )


def _non_empty(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip():
        raise ConfigError("must not be empty", path=attribute.name)


def _pull_policy(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and value not in _PULL_POLICIES:
        raise ConfigError(
            f"{value!r} is not allowed; allowed: {', '.join(_PULL_POLICIES)}", path=attribute.name
        )


def _str_dict(value: Mapping[str, str]) -> Mapping[str, str]:
    return dict(value)


def _mount_path(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    parts = value.split("/")
    if not value.startswith("/") or value == "/" or "" in parts[1:] or ".." in parts or "." in parts:
        raise ConfigError(
            f"{value!r} is not an absolute, normalised folder path (like /data)", path=attribute.name
        )
    if any(ord(c) < 32 or ord(c) == 127 or c in ":\\" for c in value):
        raise ConfigError(f"{value!r} has a character a mount path cannot hold", path=attribute.name)


@attrs.frozen
class SharedVolume:
    """A PersistentVolumeClaim every dbt pod mounts, for platforms whose steps share files.

    :ivar claim_name: the PersistentVolumeClaim's name (it must exist in the namespace; with
        steps in parallel on several nodes, its access mode must be ``ReadWriteMany``).
    :ivar mount_path: where each pod sees it (absolute, e.g. ``/data``); DuckDB files under
        it are shared by all steps.
    """

    claim_name: str = attrs.field(validator=_k8s_name)
    mount_path: str = attrs.field(validator=_mount_path)


@attrs.frozen
class KubernetesSettings:
    """How dbt job pods run: the manifest's optional top-level ``kubernetes:`` block.

    Overlayable per environment (``environments.prod.kubernetes``) and inherited
    through ``extends:`` like compute settings.

    :ivar image: container image with dbt-core and the adapters the compiled artifact lists.
    :ivar namespace: namespace of the jobs.
    :ivar service_account: service account of the job pods (None: the namespace default).
    :ivar backoff_limit: retries of a failed job (0: a failed dbt run is reported, not retried).
    :ivar ttl_seconds_after_finished: seconds before Kubernetes deletes a finished job (None: never).
    :ivar image_pull_policy: ``Always``, ``IfNotPresent`` or ``Never`` (None: Kubernetes' default).
    :ivar labels: extra labels for jobs and pods.
    :ivar shared_volume: a volume mounted in every step's pod (None: pods share no files).
    """

    image: str = attrs.field(default="floe-dbt:latest", validator=_non_empty)
    namespace: str = attrs.field(default="default", validator=_k8s_name)
    service_account: str | None = attrs.field(default=None, validator=_k8s_name)
    backoff_limit: int = attrs.field(default=0, validator=_non_negative)
    ttl_seconds_after_finished: int | None = attrs.field(default=86400, validator=_non_negative)
    image_pull_policy: str | None = attrs.field(default=None, validator=_pull_policy)
    labels: Mapping[str, str] = attrs.field(factory=dict, converter=_str_dict)
    shared_volume: SharedVolume | None = None


def _by_name(computes: tuple[ComputeConfig, ...]) -> dict[str, ComputeConfig]:
    return {c.name: c for c in computes}


@attrs.frozen
class Manifest:
    """A platform manifest with its governance chain and environment overlay resolved.

    :ivar path: the manifest file, as given (or as reached from ``floe.yaml``).
    :ivar computes: the approved computes, resolved, in the manifest's order.
    :ivar default: name of the default compute (the dbt ``target``).
    :ivar environment: the environment whose overlay was applied, or None.
    :ivar environments: every environment the chain declares.
    :ivar chain: this manifest, then its parent, up to the root of ``extends:``.
    :ivar kubernetes: settings for dbt job pods.
    :ivar version: the file format version.
    :ivar catalog: the lakehouse catalog computes exchange tables through, or None
        (:class:`floe_hooks.catalog.LakehouseCatalog`).
    """

    path: Path
    computes: tuple[ComputeConfig, ...]
    default: str
    environment: str | None = None
    environments: tuple[str, ...] = ()
    chain: tuple[Path, ...] = ()
    kubernetes: KubernetesSettings = attrs.field(factory=KubernetesSettings)
    version: int = 1
    catalog: LakehouseCatalog | None = None
    _index: dict[str, ComputeConfig] = attrs.field(
        init=False,
        eq=False,
        repr=False,
        default=attrs.Factory(lambda self: _by_name(self.computes), takes_self=True),
    )

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the approved computes, in order."""
        return tuple(self._index)

    @property
    def default_compute(self) -> ComputeConfig:
        """The default compute."""
        return self._index[self.default]

    def compute(self, name: str) -> ComputeConfig:
        """The approved compute called ``name``.

        :raises ConfigError: when no approved compute has that name (lists the allowed ones).
        """
        try:
            return self._index[name]
        except KeyError:
            raise ConfigError(
                f"{name!r} is not approved; allowed: {_allowed(self._index)}", file=str(self.path)
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._index


@attrs.frozen
class Transform:
    """One transform of a data product: a folder of dbt models run on one compute.

    :ivar name: unique in the product.
    :ivar path: the models' path inside the dbt project (``models/staging``).
    :ivar compute: the compute it runs on, resolved (the default when ``floe.yaml`` names none).
    :ivar uses_default: True when ``floe.yaml`` names no compute for it.
    """

    name: str
    path: str
    compute: str
    uses_default: bool = False

    @property
    def select(self) -> str:
        """The dbt ``--select`` argument for this transform's models."""
        return f"path:{self.path}"


@attrs.frozen
class Product:
    """A data product (``floe.yaml``) with its platform manifest resolved.

    :ivar path: the ``floe.yaml`` file.
    :ivar name: the product's name; the dbt profile name.
    :ivar manifest: the platform manifest it runs on, governance and environment applied.
    :ivar transforms: its transforms, each with its compute resolved.
    :ivar version: the file format version.
    """

    path: Path
    name: str
    manifest: Manifest
    transforms: tuple[Transform, ...]
    version: int = 1
    #: the dbt profile when ``floe.yaml`` names one (``profile:``); None: the product's name
    profile: str | None = None
    #: the dbt project beside ``floe.yaml`` (None: there is none, and nothing is checked against it)
    project: DbtProject | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def dbt_profile(self) -> str:
        """The dbt profile name: ``profile:`` when ``floe.yaml`` states one, else the product's name."""
        return self.profile or self.name

    @property
    def environment(self) -> str | None:
        """The environment the manifest was resolved for."""
        return self.manifest.environment

    def transforms_on(self, compute: str) -> tuple[Transform, ...]:
        """The transforms that run on ``compute``, in file order."""
        return tuple(t for t in self.transforms if t.compute == compute)


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


@attrs.frozen
class _TransformSpec:
    name: str
    path: str
    compute: str | None = None


@attrs.frozen
class _ProductFile:
    name: str
    platform: str
    transforms: tuple[_TransformSpec, ...]
    version: int = 1
    profile: str | None = None


# --------------------------------------------------------------------------- layers and merging


@attrs.frozen
class _Layer:
    """A mapping from one file, at a field path, that contributes to a merged value."""

    raw: Mapping[str, Any]
    file: str
    prefix: str
    short: bool = False  # the short form ``- name``: errors point at the item itself


def _is_secret_ref(value: Mapping[str, Any]) -> bool:
    return bool(value) and set(value) <= {"env", "secret", "key"}


def _merge(
    base: Mapping[str, Any], over: Mapping[str, Any], *, replace_values: bool = False
) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if (
            not replace_values
            and isinstance(value, Mapping)
            and isinstance(old, Mapping)
            and not _is_secret_ref(value)
            and not _is_secret_ref(old)
        ):
            out[key] = _merge(old, value, replace_values=key == "credentials")
        else:
            out[key] = value
    return out


def _merged(layers: Sequence[_Layer]) -> dict[str, Any]:
    if len(layers) == 1:
        return dict(layers[0].raw)
    out: dict[str, Any] = {}
    for layer in layers:
        out = _merge(out, layer.raw)
    return out


_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _tokens(path: str | None) -> list[str | int]:
    if not path:
        return []
    return [int(m[1]) if m[1] is not None else m[2] for m in _TOKEN.finditer(path)]


def _depth(raw: Any, tokens: list[str | int]) -> int:
    depth = 0
    for token in tokens:
        found = (
            token < len(raw)
            if isinstance(token, int) and isinstance(raw, list)
            else isinstance(raw, Mapping) and token in raw
        )
        if not found:
            break
        raw = raw[token]
        depth += 1
    return depth


def _join(prefix: str, path: str | None) -> str:
    if not path:
        return prefix
    if not prefix:
        return path
    return f"{prefix}{'' if path.startswith('[') else '.'}{path}"


def _relocate(exc: ConfigError, layers: Sequence[_Layer]) -> ConfigError:
    """Point an error about a merged value at the file and path that supplied the bad part."""
    tokens = _tokens(exc.path)
    best, best_depth = layers[-1], -1
    for layer in reversed(layers):  # the topmost layer wins ties: it overrides the others
        depth = _depth(layer.raw, tokens)
        if depth > best_depth:
            best, best_depth = layer, depth

    def place(path: str | None) -> str:
        # the short form `- name` has no keys to point at, but a missing config field does
        if best.short and not (path or "").startswith("config"):
            return best.prefix
        return _join(best.prefix, path)

    problems = tuple((place(path), message) for path, message in exc.problems)
    return ConfigError(exc.message, file=best.file, path=place(exc.path), problems=problems)


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

    def __init__(self, display: str, chain: tuple[str, ...]) -> None:
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
        self.kubernetes = KubernetesSettings()
        self.catalog: CatalogLevel | None = None


class _Resolver:
    def __init__(self, manager: PluginManager) -> None:
        self.manager = manager
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
        from floe_hooks._convert import structure_compute

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

    @staticmethod
    def kubernetes(layers: Sequence[_Layer]) -> KubernetesSettings:
        from floe_hooks._convert import structure

        if not layers:
            return KubernetesSettings()
        try:
            return structure(_merged(layers), KubernetesSettings)
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
        from floe_hooks.catalog import catalog_level

        for file_display, spec, data in reversed(files):
            chain = (file_display, *(parent.chain if parent else ()))
            level = _Level(file_display, chain)
            level.version = spec.version
            self._computes(level, spec, parent)
            self._default(level, spec, parent)
            self._environments(level, spec, parent)
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
        from floe_hooks._convert import structure
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
    for key in overlay:
        if key in ("type", "name"):
            raise ConfigError(
                f"an environment overlay may not change a compute's {key}; {_PARITY}; "
                f"allowed: {', '.join(OVERLAY_KEYS)}",
                file=display,
                path=f"{prefix}.{key}",
            )
        if key not in OVERLAY_KEYS:
            raise ConfigError(
                f"unknown key {key!r}; allowed: {', '.join(OVERLAY_KEYS)}",
                file=display,
                path=f"{prefix}.{key}",
            )


#: Most manifests an ``extends:`` chain may hold (the file itself included).
MAX_EXTENDS_DEPTH = 32
#: Longest file reference (``extends:``, ``platform:``) and longest part of one, in characters.
MAX_REFERENCE_CHARS, MAX_REFERENCE_PART = 4096, 255


def _check_file_reference(text: str, display: str, field: str) -> None:
    """A file named in a manifest: printable, no longer than a path can be (exit 2, located)."""
    control = _CONTROL.search(text)
    if control is not None:
        raise ConfigError(
            f"contains the control character {control[0]!r}; a file path must be printable text",
            file=display,
            path=field,
        )
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


def _manager(manager: PluginManager | None) -> PluginManager:
    if manager is not None:
        return manager
    from floe_hooks.manager import get_plugin_manager

    return get_plugin_manager()


def _manifest_from(level: _Level, path: Path, env: str | None) -> Manifest:
    if env is not None and env not in level.env_names:
        raise ConfigError(
            f"unknown environment {env!r}; allowed: {_allowed(level.env_names)}",
            file=level.display,
            path="environments",
        )
    overlaid = level.env_computes.get(env, {}) if env is not None else {}
    computes = tuple(overlaid.get(name, entry.compute) for name, entry in level.entries.items())
    return Manifest(
        path=path,
        computes=computes,
        default=level.default,
        environment=env,
        environments=tuple(level.env_names),
        chain=tuple(Path(p) for p in level.chain),
        kubernetes=level.env_kubernetes[env] if env is not None else level.kubernetes,
        version=level.version,
        catalog=level.catalog.resolve(env) if level.catalog is not None else None,
    )


# --------------------------------------------------------------------------- public API


def load_manifest(
    path: str | os.PathLike[str], *, env: str | None = None, manager: PluginManager | None = None
) -> Manifest:
    """Load a platform ``manifest.yaml``: its ``extends:`` chain, then the ``env`` overlay.

    :param path: the manifest file.
    :param env: an environment the manifest (or an ancestor) declares, or None for none.
    :param manager: the plugin manager to resolve compute types with (default: the process-wide one).
    :raises ConfigError: for anything wrong in any file of the chain, located as
        ``file: field.path: message``.
    """
    from floe_hooks._yaml import paused_gc

    path = Path(path)
    with paused_gc():
        level = _Resolver(_manager(manager)).level(path, str(path))
        return _manifest_from(level, path, env)


_UNREAD: Any = object()  # _load_product reads the file itself


def load_product(
    path: str | os.PathLike[str], *, env: str | None = None, manager: PluginManager | None = None
) -> Product:
    """Load a data product's ``floe.yaml`` and the platform manifest its ``platform:`` names.

    Each transform's compute must be approved by the manifest (the default when it names
    none); transform names and paths are unique (nested paths are allowed: the most
    specific one claims each file). With a ``dbt_project.yml`` beside it, the paths and the
    profile are checked against the dbt project (:mod:`floe_hooks._project`).

    :raises ConfigError: located in the file that is wrong.
    """
    from floe_hooks._yaml import paused_gc

    with paused_gc():
        return _load_product(Path(path), env, _manager(manager))


def _load_product(path: Path, env: str | None, manager: PluginManager, data: Any = _UNREAD) -> Product:
    from floe_hooks._convert import structure
    from floe_hooks._yaml import read_yaml

    display = str(path)
    if data is _UNREAD:
        data = read_yaml(path, display)
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping at the top level, got {_kind(data)}", file=display)
    if "environments" in data:
        raise ConfigError(
            f"a data product cannot vary by environment: {_PARITY}; environment overlays belong in "
            "the platform manifest",
            file=display,
            path="environments",
        )
    spec = structure(data, _ProductFile, file=display)
    _check_version(spec.version, display)
    if not _PROFILE_NAME.fullmatch(spec.name):
        raise ConfigError(
            f"{spec.name!r} is not a valid dbt profile name (letters, digits and underscores, "
            "not starting with a digit)",
            file=display,
            path="name",
        )
    if not spec.transforms:
        raise ConfigError("at least one transform is required", file=display, path="transforms")
    _check_file_reference(spec.platform, display, "platform")
    manifest_path = path.parent / spec.platform
    manifest_display = os.path.normpath(os.path.join(os.path.dirname(display), spec.platform))
    if not manifest_path.is_file():
        what = "is a directory, expected a YAML file" if manifest_path.is_dir() else "not found"
        raise ConfigError(f"platform manifest {manifest_display} {what}", file=display, path="platform")
    level = _Resolver(manager).level(manifest_path, manifest_display)
    manifest = _manifest_from(level, Path(manifest_display), env)
    transforms = _transforms(spec.transforms, manifest, display)
    if spec.profile is not None and not _PROFILE_NAME.fullmatch(spec.profile):
        raise ConfigError(f"{spec.profile!r} is not a valid dbt profile name", file=display, path="profile")
    from floe_hooks._project import check_project

    project = check_project(path, display, spec.name, spec.profile, transforms, manifest.default)
    return Product(
        path=path,
        name=spec.name,
        manifest=manifest,
        transforms=transforms,
        version=spec.version,
        profile=spec.profile,
        project=project,
    )


def _transforms(specs: Sequence[_TransformSpec], manifest: Manifest, display: str) -> tuple[Transform, ...]:
    seen: dict[str, int] = {}
    out: list[Transform] = []
    normalized: list[tuple[tuple[str, ...], int]] = []
    for index, spec in enumerate(specs):
        prefix = f"transforms[{index}]"
        if not _TRANSFORM_NAME.fullmatch(spec.name):
            raise ConfigError(
                f"{spec.name!r} is not a valid transform name (letters, digits, '_', '-', '.')",
                file=display,
                path=f"{prefix}.name",
            )
        if spec.name in seen:
            raise ConfigError(
                f"duplicate transform name {spec.name!r} (also transforms[{seen[spec.name]}])",
                file=display,
                path=f"{prefix}.name",
            )
        seen[spec.name] = index
        parts = _model_path(spec.path, display, f"{prefix}.path")
        normalized.append((parts, index))
        if spec.compute is None:
            compute, uses_default = manifest.default, True
        elif spec.compute in manifest:
            compute, uses_default = spec.compute, False
        else:
            raise ConfigError(
                f"{spec.compute!r} is not approved; allowed: {_allowed(manifest.names)}",
                file=display,
                path=f"{prefix}.compute",
            )
        out.append(Transform(spec.name, "/".join(parts), compute, uses_default))
    normalized.sort()
    for (outer, i), (inner, j) in itertools.pairwise(normalized):
        # nested paths are allowed (the most specific one claims each file); the same path twice is not
        if inner == outer:
            first, second = sorted((i, j))
            raise ConfigError(
                f"{out[second].path!r} is also transforms[{first}].path: "
                "each model must belong to exactly one transform",
                file=display,
                path=f"transforms[{second}].path",
            )
    return tuple(out)


def _model_path(text: str, display: str, where: str) -> tuple[str, ...]:
    control = _CONTROL.search(text)
    if control is not None:
        raise ConfigError(
            f"{text!r} contains the control character {control[0]!r}; a model path must be printable text",
            file=display,
            path=where,
        )
    # plain string operations: PurePosixPath costs 10 us a path, which adds up at 10,000 transforms
    parts = tuple(p for p in text.strip().split("/") if p not in ("", "."))
    if not text.strip() or "\\" in text or text.strip().startswith("/") or ".." in parts:
        raise ConfigError(
            f"{text!r} is not a relative path inside the dbt project (use '/', no '..')",
            file=display,
            path=where,
        )
    if not parts:
        raise ConfigError(
            f"{text!r} selects the whole dbt project; name a folder of models", file=display, path=where
        )
    return parts


def load_computes(
    path: str | os.PathLike[str], *, env: str | None = None, manager: PluginManager | None = None
) -> Manifest:
    """The resolved manifest of a ``manifest.yaml``, or of the ``platform:`` a ``floe.yaml`` names.

    A file with a top-level ``platform:`` or ``transforms:`` key is read as a product.
    Used by ``floe validate``, which accepts either file.
    """
    from floe_hooks._yaml import paused_gc, read_yaml

    path = Path(path)
    data = read_yaml(path, str(path))
    if isinstance(data, Mapping) and ("platform" in data or "transforms" in data):
        with paused_gc():  # as load_product, without reading the file a second time
            return _load_product(path, env, _manager(manager), data).manifest
    return load_manifest(path, env=env, manager=manager)
