"""A plugin's identity: what it says of itself, what the manager knows of it, API compatibility.

:class:`PluginMetadata` (public in :mod:`floe_hooks.models`) is what a plugin's
``plugin_metadata`` hook returns; :class:`PluginInfo` is a loaded plugin and
:class:`PluginFailure` one that could not be used. ``floe plugins`` needs these three
classes alone, so they live apart from the other models (each attrs class costs about a
millisecond to build on import).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import attrs

from floe_hooks._rules import COMPUTE_NAME as _NAME
from floe_hooks._rules import str_tuple
from floe_hooks._version import FLOE_API_VERSION
from floe_hooks.errors import ConfigError, PluginError

__all__ = ["PluginMetadata", "PluginInfo", "PluginFailure", "api_compatible"]

_API_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def _check_api_version(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not _API_VERSION.fullmatch(value):
        raise ConfigError(f'must be "MAJOR.MINOR", e.g. "1.0"; got {value!r}', path=attribute.name)


def _check_types(_: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    if not value:
        raise ConfigError("a plugin must serve at least one compute type", path=attribute.name)
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _NAME.fullmatch(item):
            raise ConfigError(f"{item!r} is not a valid compute type name", path=f"{attribute.name}[{index}]")


_CLASS_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def _check_config_class(_: Any, attribute: attrs.Attribute[Any], value: type | str | None) -> None:
    if value is None or (isinstance(value, type) and attrs.has(value)):
        return
    if isinstance(value, str) and _CLASS_PATH.fullmatch(value):
        return
    raise ConfigError(f'must be an attrs class or "module:Class", got {value!r}', path=attribute.name)


def _check_catalog_types(_: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _NAME.fullmatch(item):
            raise ConfigError(f"{item!r} is not a valid catalog type name", path=f"{attribute.name}[{index}]")


def _class_key(value: type | str | None) -> str | None:
    """A class and its ``"module:Class"`` path compare equal."""
    return value if value is None or isinstance(value, str) else f"{value.__module__}:{value.__qualname__}"


@attrs.frozen
class PluginMetadata:
    """Who a plugin is and what it serves; returned by the ``plugin_metadata`` hook.

    :ivar name: the plugin's name (usually the entry point name).
    :ivar version: the plugin's version (usually its distribution's).
    :ivar floe_api_version: the hook contract version it was written for, ``"MAJOR.MINOR"``.
    :ivar compute_types: the compute types it serves (``manifest.yaml``'s ``type:``).
    :ivar description: one line for ``floe plugins``.
    :ivar dbt_adapter: the pip requirement of the dbt adapter it targets, e.g. ``dbt-duckdb>=1.9``.
    :ivar config_class: the attrs class of its ``config:`` block, or None when it takes none;
        a ``"module:Class"`` string defers importing it until a config is structured, which
        keeps ``floe plugins`` fast (:meth:`load_config_class` resolves it).
    :ivar catalog_types: the lakehouse catalog types (``catalog.type``: ``ducklake``,
        ``iceberg_rest``) its ``catalog_profile`` hook attaches; empty: none (API 1.1).
    """

    name: str
    version: str
    floe_api_version: str = attrs.field(validator=_check_api_version)
    compute_types: tuple[str, ...] = attrs.field(converter=str_tuple, validator=_check_types)
    description: str = ""
    dbt_adapter: str | None = None
    config_class: type | str | None = attrs.field(default=None, validator=_check_config_class, eq=_class_key)
    catalog_types: tuple[str, ...] = attrs.field(
        default=(), converter=str_tuple, validator=_check_catalog_types
    )

    def load_config_class(self) -> type | None:
        """The config class, importing it when it is given as ``"module:Class"``.

        :raises ImportError: when the module cannot be imported.
        :raises TypeError: when the path does not name an attrs class.
        """
        value = self.config_class
        if not isinstance(value, str):
            return value
        import pkgutil

        try:
            found = pkgutil.resolve_name(value)
        except AttributeError:
            found = None  # the module imported but has no such class
        if not (isinstance(found, type) and attrs.has(found)):
            raise TypeError(f"{value!r} does not name an attrs class")
        return found


def api_compatible(plugin_api: str, framework_api: str = FLOE_API_VERSION) -> bool:
    """True when a plugin written for ``plugin_api`` runs on ``framework_api``.

    Same MAJOR, and the plugin's MINOR no newer than the framework's.

    >>> api_compatible("1.0", "1.2"), api_compatible("1.3", "1.2"), api_compatible("2.0", "1.2")
    (True, False, False)
    """
    p_major, p_minor = (int(x) for x in plugin_api.split("."))
    f_major, f_minor = (int(x) for x in framework_api.split("."))
    return p_major == f_major and p_minor <= f_minor


_E = TypeVar("_E", bound=PluginError)


@attrs.frozen
class PluginInfo:
    """A loaded, healthy plugin.

    :ivar name: registration name (the entry point name, or the name given to ``register``).
    :ivar metadata: what its ``plugin_metadata`` hook returned.
    :ivar distribution: the distribution that provides it (None when registered by hand).
    :ivar distribution_version: that distribution's version (the plugin's own version is
        ``metadata.version``).
    :ivar hooks: the hooks it implements.
    :ivar plugin: the registered object (a module, usually).
    """

    name: str
    metadata: PluginMetadata
    distribution: str | None
    distribution_version: str | None
    hooks: tuple[str, ...]
    plugin: object = attrs.field(eq=False, repr=False)

    @property
    def version(self) -> str | None:
        """Deprecated alias of :attr:`distribution_version`."""
        import warnings

        warnings.warn(
            "PluginInfo.version is deprecated; use distribution_version", DeprecationWarning, stacklevel=2
        )
        return self.distribution_version

    def error(self, kind: type[_E], message: str) -> _E:
        """A ``kind`` error about this plugin, naming it, its distribution and version."""
        return kind(
            message, plugin=self.name, distribution=self.distribution, version=self.distribution_version
        )

    def describe(self) -> str:
        """``name (from dist version)`` for messages."""
        dist = f" (from {self.distribution} {self.distribution_version or '?'})" if self.distribution else ""
        return f"{self.name!r}{dist}"


@attrs.frozen
class PluginFailure:
    """A plugin that could not be used, and why.

    :ivar name: entry point (or registration) name.
    :ivar distribution: distribution that declares it, if known.
    :ivar version: its version, if known.
    :ivar reason: one line saying what went wrong (no traceback).
    :ivar error: the error class name (``PluginLoadError``, ``IncompatibleAPIError``...).
    """

    name: str
    distribution: str | None
    version: str | None
    reason: str
    error: str
