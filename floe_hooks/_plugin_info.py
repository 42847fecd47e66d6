"""What the manager knows of a plugin: a loaded one, a failed one, and API compatibility."""

from __future__ import annotations

from typing import TypeVar

import attrs

from floe_hooks._version import FLOE_API_VERSION
from floe_hooks.errors import PluginError
from floe_hooks.models import PluginMetadata

__all__ = ["PluginInfo", "PluginFailure", "api_compatible"]


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
