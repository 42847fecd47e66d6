"""The typed objects that cross the hook boundary: frozen attrs classes.

Plugins receive a :class:`ComputeConfig` and return :class:`ConnectionResult`,
:class:`ResourceSpec`, :class:`SqlStatement` and (once) :class:`PluginMetadata`.
:class:`PluginMetadata` is defined beside what the manager knows of a plugin
(``floe_hooks._plugin_info``), so that ``floe plugins`` builds none of the others.
Conversion to and from plain data goes through :func:`floe_hooks.structure` and
:func:`floe_hooks.unstructure`, with ``structure(unstructure(x)) == x`` for every model.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Literal, Union

import attrs

from floe_hooks._frozen import FrozenDict, freeze
from floe_hooks._plugin_info import PluginMetadata
from floe_hooks._rules import name_problem, str_tuple
from floe_hooks.errors import ConfigError
from floe_hooks.secrets import MASK, SecretRef

__all__ = [
    "ConnectionStatus",
    "ConnectionResult",
    "ResourceSpec",
    "WorkloadSize",
    "WORKLOAD_SIZES",
    "ComputeConfig",
    "PluginMetadata",
    "CatalogConfig",
    "SqlStatement",
]

WorkloadSize = Literal["small", "medium", "large"]
WORKLOAD_SIZES: tuple[WorkloadSize, ...] = ("small", "medium", "large")


def _check_name(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    problem = name_problem(value, attribute.name)
    if problem is not None:
        raise ConfigError(problem, path=attribute.name)


def _threads(_: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    from floe_hooks._limits import MAX_THREADS, shown

    if value is not None and not 0 < value <= MAX_THREADS:
        raise ConfigError(f"must be from 1 to {MAX_THREADS}, got {shown(value)}", path=attribute.name)


def _duration(_: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    from floe_hooks._limits import duration_problem

    problem = duration_problem(value) if value is not None else None
    if problem is not None:
        raise ConfigError(problem, path=attribute.name)


def _finite_non_negative(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 <= value < float("inf"):
        raise ConfigError(f"must be a finite number >= 0, got {value!r}", path=attribute.name)


class ConnectionStatus(str, enum.Enum):
    """Outcome of a health check."""

    #: The compute answered and everything the check looked at is fine.
    HEALTHY = "healthy"
    #: The compute works, with a problem worth a warning (a busy lock, a missing extension).
    DEGRADED = "degraded"
    #: The compute cannot be used: unreachable, refused, timed out, misconfigured.
    UNHEALTHY = "unhealthy"


@attrs.frozen
class ConnectionResult:
    """What ``validate_connection`` returns.

    :ivar status: healthy, degraded or unhealthy.
    :ivar latency_ms: wall time of the check, in milliseconds.
    :ivar message: one line for a human; never a secret.
    :ivar warnings: things worth knowing that did not make the check fail.
    :ivar details: small facts the check learned (``server_version``...).
    :ivar compute: the compute's name; filled in by the framework.
    """

    status: ConnectionStatus = attrs.field(converter=ConnectionStatus)
    latency_ms: float = attrs.field(validator=_finite_non_negative)
    message: str = ""
    warnings: tuple[str, ...] = attrs.field(default=(), converter=str_tuple)
    details: Mapping[str, str] = attrs.field(factory=dict)
    compute: str | None = None

    @property
    def ok(self) -> bool:
        """True unless the status is unhealthy."""
        return self.status is not ConnectionStatus.UNHEALTHY


def _quantity(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        from floe_hooks._quantity import parse_quantity

        try:
            parse_quantity(value)
        except ValueError as exc:
            raise ConfigError(str(exc), path=attribute.name) from None


# request/limit field pairs, in the order Kubernetes lists them
_PAIRS = (
    ("cpu", "cpu_request", "cpu_limit"),
    ("memory", "memory_request", "memory_limit"),
    ("ephemeral-storage", "ephemeral_storage_request", "ephemeral_storage_limit"),
)

_PRESETS: dict[str, tuple[str, str, str, str, str, str]] = {
    "small": ("100m", "500m", "256Mi", "512Mi", "100Mi", "500Mi"),
    "medium": ("500m", "2000m", "1Gi", "4Gi", "500Mi", "2Gi"),
    "large": ("2000m", "8000m", "4Gi", "16Gi", "1Gi", "5Gi"),
}


_preset_cache: dict[str, ResourceSpec] = {}  # frozen, so one instance per preset serves everyone


@attrs.frozen
class ResourceSpec:
    """CPU, memory and ephemeral-storage requests and limits of a dbt job pod.

    Every value is a Kubernetes quantity (``500m``, ``2``, ``512Mi``); each request is
    at most its limit. Ephemeral storage is optional.
    """

    cpu_request: str = attrs.field(validator=_quantity)
    cpu_limit: str = attrs.field(validator=_quantity)
    memory_request: str = attrs.field(validator=_quantity)
    memory_limit: str = attrs.field(validator=_quantity)
    ephemeral_storage_request: str | None = attrs.field(default=None, validator=_quantity)
    ephemeral_storage_limit: str | None = attrs.field(default=None, validator=_quantity)

    def __attrs_post_init__(self) -> None:
        from floe_hooks._quantity import parse_quantity

        for _, req, lim in _PAIRS:
            request, limit = getattr(self, req), getattr(self, lim)
            if request is not None and limit is not None and parse_quantity(request) > parse_quantity(limit):
                raise ConfigError(f"{request} is greater than {lim} {limit}", path=req)

    @classmethod
    def preset(cls, size: WorkloadSize) -> ResourceSpec:
        """The platform's preset for a workload size (small, medium, large)."""
        spec = _preset_cache.get(size)
        if spec is None:
            try:
                values = _PRESETS[size]
            except KeyError:
                raise ValueError(f"unknown workload size {size!r}; allowed: small, medium, large") from None
            spec = _preset_cache[size] = ResourceSpec(*values)
        return spec if cls is ResourceSpec else cls(*_PRESETS[size])

    @classmethod
    def resolve(cls, resources: ResourceSpec | str | None, default: WorkloadSize = "small") -> ResourceSpec:
        """A compute's ``resources`` as a spec: presets by name, ``None`` as ``default``."""
        if isinstance(resources, ResourceSpec):
            return resources
        return cls.preset(resources or default)  # type: ignore[arg-type]

    @property
    def cpu_limit_millicores(self) -> int:
        """The CPU limit in millicores (``2`` -> 2000)."""
        from floe_hooks._quantity import cpu_millicores

        return cpu_millicores(self.cpu_limit)

    @property
    def memory_limit_bytes(self) -> int:
        """The memory limit in bytes (``1Gi`` -> 1073741824)."""
        from floe_hooks._quantity import memory_bytes

        return memory_bytes(self.memory_limit)

    def to_kubernetes(self) -> dict[str, dict[str, str]]:
        """The container ``resources`` block: ``{"requests": {...}, "limits": {...}}``."""
        requests: dict[str, str] = {}
        limits: dict[str, str] = {}
        for key, req, lim in _PAIRS:
            if getattr(self, req) is not None:
                requests[key] = getattr(self, req)
            if getattr(self, lim) is not None:
                limits[key] = getattr(self, lim)
        return {"requests": requests, "limits": limits}


def _credentials(value: Mapping[str, SecretRef]) -> Mapping[str, SecretRef]:
    return FrozenDict(value)


@attrs.frozen
class ComputeConfig:
    """One approved compute, as the manifest (and its environment overlay) resolve it.

    :ivar name: unique in the manifest; the dbt output name and the ``--target``.
    :ivar type: the compute type; selects the plugin that serves it.
    :ivar threads: dbt threads, if the manifest sets them.
    :ivar timeout_seconds: query and health-check timeout, if the manifest sets one.
    :ivar config: the plugin's typed config (an instance of its ``config_class``), an
        untyped mapping, or None. Frozen all the way down: its mappings are read-only dicts,
        its lists tuples, so every hook call can share it without a copy.
    :ivar credentials: secret references by field name (a read-only ``dict``); never values.
    :ivar resources: a preset name, an explicit :class:`ResourceSpec`, or None for the plugin's default.
    """

    name: str = attrs.field(validator=_check_name)
    type: str = attrs.field(validator=_check_name)
    threads: int | None = attrs.field(default=None, validator=_threads)
    timeout_seconds: float | None = attrs.field(default=None, validator=_duration)
    config: Any = attrs.field(default=None, converter=freeze)
    credentials: Mapping[str, SecretRef] = attrs.field(factory=dict, converter=_credentials)
    resources: Union[ResourceSpec, WorkloadSize, None] = attrs.field(default=None)

    @resources.validator
    def _check_resources(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, str) and value not in WORKLOAD_SIZES:
            raise ConfigError(
                f"unknown workload size {value!r}; allowed: {', '.join(WORKLOAD_SIZES)}", path=attribute.name
            )

    def secret_template(self, path: str) -> str:
        """Shortcut for :func:`floe_hooks.profile_secret` on this compute."""
        from floe_hooks.secrets import profile_secret

        return profile_secret(self, path)


@attrs.frozen
class CatalogConfig:
    """An Iceberg REST catalog a compute can attach to.

    :ivar name: the alias the catalog gets in SQL (an identifier).
    :ivar uri: the catalog's REST endpoint.
    :ivar warehouse: the warehouse (or catalog) name at that endpoint.
    :ivar client_id: OAuth2 client id reference.
    :ivar client_secret: OAuth2 client secret reference.
    :ivar oauth2_server_uri: token endpoint, when it is not the catalog's default.
    :ivar scope: OAuth2 scope, if any.
    """

    name: str = attrs.field(validator=_check_name)
    uri: str
    warehouse: str | None = None
    client_id: SecretRef | None = None
    client_secret: SecretRef | None = None
    oauth2_server_uri: str | None = None
    scope: str | None = None


@attrs.frozen(repr=False)
class SqlStatement:
    """One SQL statement a plugin asks the framework to run or hand on.

    :ivar sql: the statement text.
    :ivar sensitive: True when ``sql`` carries a credential: it is then masked in
        ``repr``/``str``, unstructured output, logs and spans.
    """

    sql: str
    sensitive: bool = False

    def __repr__(self) -> str:
        return f"SqlStatement(sql={MASK if self.sensitive else self.sql!r}, sensitive={self.sensitive})"

    def __str__(self) -> str:
        return MASK if self.sensitive else self.sql
