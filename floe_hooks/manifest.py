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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks._resolve import (
    _PARITY,
    OVERLAY_KEYS,
    SUPPORTED_VERSIONS,
    _allowed,
    _check_file_reference,
    _check_version,
    _Level,
    _Resolver,
)
from floe_hooks._resolve import MAX_EXTENDS_DEPTH as MAX_EXTENDS_DEPTH  # documented here
from floe_hooks._rules import model_path_parts
from floe_hooks._text import kind as _kind
from floe_hooks.errors import ConfigError
from floe_hooks.models import ComputeConfig

if TYPE_CHECKING:
    from floe_hooks._project import DbtProject
    from floe_hooks.catalog import LakehouseCatalog
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

_TRANSFORM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_PROFILE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


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
        level = _Resolver(_manager(manager), KubernetesSettings).level(path, str(path))
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
    from floe_hooks._structure import structure
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
    level = _Resolver(manager, KubernetesSettings).level(manifest_path, manifest_display)
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
        parts, problem = model_path_parts(spec.path)
        if problem is not None:
            raise ConfigError(problem, file=display, path=f"{prefix}.path")
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
