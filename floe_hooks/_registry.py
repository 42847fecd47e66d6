"""Plugin loading: entry-point discovery, validation, registration and compute-type owners.

Discovery reads the ``floe.computes`` entry points lazily, on first use, once. A plugin
that fails to import, fails pluggy's validation, lacks a required hook, declares an
incompatible ``floe_api_version`` or a type another plugin claims is recorded in
``failures`` and the others keep working; ``FLOE_STRICT_PLUGINS=1`` (or ``strict=True``)
turns such failures into exceptions.

Each plugin module is imported in a daemon thread of its own and waited for at most
``FLOE_PLUGIN_IMPORT_TIMEOUT`` seconds (default 10, or ``import_timeout=``): a module
that hangs at import (``time.sleep`` or a busy loop at module level) is recorded as
failed, ``import did not finish within 10 s``, and its thread is abandoned, never
joined, so it cannot keep the process alive. A second plugin that waits for a module
the hung one is still importing (Python's per-module import lock) times out the same way.
``plugin_metadata`` is called once per plugin, bounded the same way.

:class:`floe_hooks.manager.PluginManager` adds dispatch to this registry; import the
public names from there (or from ``floe_hooks``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any, cast

import pluggy

from floe_hooks import hookspecs
from floe_hooks._deadline import _bounded, _call_metadata, _checked_timeout, _import_bounded, _TimedOut
from floe_hooks._discovery import GROUP, EntryPoint, scan
from floe_hooks._markers import PROJECT
from floe_hooks._plugin_info import PluginFailure, PluginInfo, PluginMetadata, api_compatible
from floe_hooks._text import one_line as _one_line
from floe_hooks._version import FLOE_API_VERSION
from floe_hooks.errors import (
    ConfigError,
    IncompatibleAPIError,
    PluginConflictError,
    PluginContractError,
    PluginLoadError,
    UnknownComputeTypeError,
)

__all__ = [
    "PluginRegistry",
    "PluginInfo",
    "PluginFailure",
    "api_compatible",
    "hook_timeout_from_env",
    "STRICT_ENV",
    "IMPORT_TIMEOUT_ENV",
    "HOOK_TIMEOUT_ENV",
]

#: Environment variable that makes plugin load failures fatal (``1``, ``true``, ``yes``).
STRICT_ENV = "FLOE_STRICT_PLUGINS"

#: Environment variable: seconds each plugin module may take to import (default 10).
IMPORT_TIMEOUT_ENV = "FLOE_PLUGIN_IMPORT_TIMEOUT"
DEFAULT_IMPORT_TIMEOUT = 10.0
#: Environment variable: seconds a compile-time hook call may take in ``floe compile``,
#: ``floe k8s`` and ``floe resources`` (default 30): see :func:`run_with_hook_deadline`.
HOOK_TIMEOUT_ENV = "FLOE_HOOK_TIMEOUT"
DEFAULT_HOOK_TIMEOUT = 30.0

_SPEC_NAMES = hookspecs.REQUIRED_HOOKS + hookspecs.OPTIONAL_HOOKS


#: ``plugin_metadata`` not asked yet (a plugin may return None: that is an answer)
_UNCALLED: Any = object()


def _strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _import_timeout_from_env() -> float:
    """``FLOE_PLUGIN_IMPORT_TIMEOUT`` in seconds; unset or empty: the default.

    :raises ConfigError: when it is not a finite number greater than 0 (``floe`` exits 2).
    """
    return _timeout_from_env(IMPORT_TIMEOUT_ENV, DEFAULT_IMPORT_TIMEOUT)


def _timeout_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return _checked_timeout(float(raw))
    except ValueError:
        from floe_hooks._limits import MAX_SECONDS

        raise ConfigError(
            f"{name}={raw[:40]!r} is not a number of seconds greater than 0 "
            f"and at most {MAX_SECONDS:g} (7 days)"
        ) from None


class PluginRegistry:
    """The plugins of one manager: loads, validates and registers them; finds a type's owner.

    The constructor's parameters are those of :class:`floe_hooks.manager.PluginManager`.
    """

    def __init__(
        self,
        *,
        autoload: bool = True,
        strict: bool | None = None,
        blocked: Iterable[str] = (),
        path: Iterable[str] | None = None,
        import_timeout: float | None = None,
    ) -> None:
        if import_timeout is not None:
            self._import_timeout = _checked_timeout(import_timeout)
        else:
            self._import_timeout = _import_timeout_from_env() if autoload else DEFAULT_IMPORT_TIMEOUT
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._autoload = autoload
        self._strict = _strict_from_env() if strict is None else strict
        self._path = list(path) if path is not None else None
        self._lock = threading.RLock()
        self._loaded = False
        self._plugins: dict[str, PluginInfo] = {}
        self._failures: dict[str, PluginFailure] = {}
        self._owners: dict[str, PluginInfo] = {}
        self._conflicts: dict[str, list[PluginInfo]] = {}
        self._callers: dict[tuple[str, str], Any] = {}
        self._shared = False  # True once the host holds the pluggy manager (see ``pluggy``)
        self._config_classes: dict[str, tuple[bool, Any]] = {}  # plugin -> (loaded, class or error)
        for name in blocked:
            self._pm.set_blocked(name)

    # ------------------------------------------------------------------ discovery

    def load(self) -> None:
        """Discover entry-point plugins now (otherwise done on first use). Idempotent."""
        if self._loaded:
            return
        with self._lock:
            if self._autoload and not self._loaded:
                from floe_hooks import _log

                found = scan(GROUP, self._path)
                for ep in found:
                    if self._pm.is_blocked(ep.name) or ep.name in self._plugins or ep.name in self._failures:
                        _log.debug("plugin_skipped", plugin=ep.name, distribution=ep.distribution)
                        continue
                    conflict = _entry_point_conflict(ep, found)
                    if conflict is not None:
                        self._fail(ep.name, ep.distribution, ep.version, conflict)
                        continue
                    self._load_entry_point(ep)
                    if ep.name in self._plugins:
                        info = self._plugins[ep.name]
                        _log.debug(
                            "plugin_loaded",
                            plugin=ep.name,
                            distribution=ep.distribution,
                            version=ep.version,
                            compute_types=list(info.metadata.compute_types),
                        )
                _log.info("plugins_discovered", loaded=len(self._healthy()), failed=len(self._failures))
            self._loaded = True

    def _load_entry_point(self, ep: EntryPoint) -> None:
        try:
            obj = _import_bounded(ep, self._import_timeout)
        except _TimedOut:
            self._fail(
                ep.name,
                ep.distribution,
                ep.version,
                PluginLoadError(f"import did not finish within {self._import_timeout:g} s"),
            )
            return
        except (Exception, SystemExit) as exc:  # a plugin must not take the host down
            self._fail(
                ep.name, ep.distribution, ep.version, PluginLoadError(f"import failed: {_one_line(exc)}")
            )
            return
        try:
            self._add(obj, ep.name, ep.distribution, ep.version)
        except PluginLoadError as exc:
            self._fail(ep.name, ep.distribution, ep.version, exc)

    def _fail(self, name: str, dist: str | None, version: str | None, exc: PluginLoadError) -> None:
        exc.plugin, exc.distribution, exc.version = name, dist, version
        self._failures[name] = PluginFailure(name, dist, version, exc.message, type(exc).__name__)
        from floe_hooks import _log

        _log.warning("plugin_failed", plugin=name, distribution=dist, version=version, reason=exc.message)
        if self._strict:
            raise exc

    def _add(
        self, obj: object, name: str, dist: str | None, version: str | None, metadata: object = _UNCALLED
    ) -> PluginInfo:
        """Register and validate one plugin; on failure leave nothing registered.

        ``metadata`` is what its ``plugin_metadata`` returned, when the caller already asked.
        """
        try:
            hash(obj)
        except TypeError:  # pluggy keeps plugins in sets: fail here, not at the first hook call
            raise PluginLoadError(
                f"a plugin must be hashable (a module or a class instance), got {type(obj).__name__}"
            ) from None
        try:
            self._pm.register(obj, name=name)
        except pluggy.PluginValidationError as exc:
            detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            raise PluginLoadError(f"invalid hook implementation: {detail}") from None
        except ValueError as exc:  # already registered, under this or another name
            raise PluginLoadError(_one_line(exc)) from None
        try:
            info = self._validate(obj, name, dist, version, metadata)
        except BaseException:
            self._pm.unregister(obj)
            raise
        self._plugins[name] = info
        self._callers.clear()
        for compute_type in info.metadata.compute_types:
            if compute_type in self._conflicts:
                self._conflicts[compute_type].append(info)
            elif compute_type in self._owners:
                self._conflicts[compute_type] = [self._owners.pop(compute_type), info]
            else:
                self._owners[compute_type] = info
                continue
            claimants = self._conflicts[compute_type]
            error = PluginConflictError(_conflict_message(compute_type, claimants))
            for claimant in claimants:
                self._failures[claimant.name] = PluginFailure(
                    claimant.name,
                    claimant.distribution,
                    claimant.distribution_version,
                    error.message,
                    type(error).__name__,
                )
            if self._strict:
                raise error
        return info

    def _validate(
        self, obj: object, name: str, dist: str | None, version: str | None, metadata: object
    ) -> PluginInfo:
        hooks = sorted(caller.name for caller in self._pm.get_hookcallers(obj) or ())
        unknown = [hook for hook in hooks if hook not in _SPEC_NAMES]
        if unknown:
            raise PluginLoadError(
                f"unknown hook {', '.join(map(repr, unknown))}; floe hooks are: {', '.join(_SPEC_NAMES)}"
            )
        missing = [hook for hook in hookspecs.REQUIRED_HOOKS if hook not in hooks]
        if missing:
            raise PluginLoadError(f"missing required hook {', '.join(map(repr, missing))}")
        if metadata is _UNCALLED:
            impl = next(i for i in self._pm.hook.plugin_metadata.get_hookimpls() if i.plugin is obj)
            metadata = _call_metadata(impl.function, self._import_timeout, name)
        if not isinstance(metadata, PluginMetadata):
            raise PluginLoadError(
                f"plugin_metadata returned {type(metadata).__name__}, expected floe_hooks.PluginMetadata"
            )
        if not api_compatible(metadata.floe_api_version):
            raise IncompatibleAPIError(
                f"written for floe API {metadata.floe_api_version}, this floe-hooks speaks "
                f"{FLOE_API_VERSION} (same major and a minor no newer are required)"
            )
        return PluginInfo(name, metadata, dist, version, tuple(hooks), obj)

    # ------------------------------------------------------------------ host API

    def register(self, plugin: object, name: str | None = None) -> PluginInfo:
        """Register a plugin object (a module, a class instance) by hand.

        :param plugin: anything with ``@hookimpl`` functions.
        :param name: registration name; defaults to the metadata hook's ``name``.
        :raises PluginLoadError: when the plugin is invalid (always raised, strict or not).
        :raises PluginConflictError: when it claims a compute type already served.
        """
        with self._lock:
            function = getattr(plugin, "plugin_metadata", None)
            metadata: object = _UNCALLED
            if callable(function):  # asked once, bounded; _add checks the answer
                try:
                    metadata = _call_metadata(function, self._import_timeout, name or _plain_name(plugin))
                except PluginLoadError as exc:
                    exc.plugin = name
                    raise
            if name is None:
                name = metadata.name if isinstance(metadata, PluginMetadata) else _plain_name(plugin)
            if self._pm.is_blocked(name):
                raise PluginLoadError("is blocked by the host application", plugin=name)
            declared = metadata.compute_types if isinstance(metadata, PluginMetadata) else ()
            for compute_type in declared:
                if compute_type in self._owners or compute_type in self._conflicts:
                    holder = self._owners.get(compute_type) or self._conflicts[compute_type][0]
                    raise PluginConflictError(
                        f"compute type {compute_type!r} is already served by plugin {holder.describe()}",
                        plugin=name,
                    )
            try:
                return self._add(plugin, name, None, None, metadata)
            except PluginLoadError as exc:
                exc.plugin = exc.plugin or name
                raise

    def unregister(self, name: str) -> None:
        """Remove a plugin; its compute types become unserved."""
        with self._lock:
            info = self._plugins.pop(name, None)
            self._failures.pop(name, None)
            if info is None:
                return
            self._pm.unregister(info.plugin)
            self._owners = {t: i for t, i in self._owners.items() if i.name != name}
            for compute_type, claimants in list(self._conflicts.items()):
                rest = [c for c in claimants if c.name != name]
                if len(rest) == 1:
                    del self._conflicts[compute_type]
                    self._owners[compute_type] = rest[0]
                    self._failures.pop(rest[0].name, None)
                else:
                    self._conflicts[compute_type] = rest
            self._callers.clear()

    def block(self, name: str) -> None:
        """Never load (and unload now) the plugin registered as ``name``."""
        with self._lock:
            self.unregister(name)
            self._pm.set_blocked(name)

    @property
    def plugins(self) -> list[PluginInfo]:
        """Healthy plugins, by name (discovers on first use)."""
        self.load()
        return self._healthy()

    def _healthy(self) -> list[PluginInfo]:
        """Healthy plugins registered so far, without triggering discovery."""
        return [info for name, info in sorted(self._plugins.items()) if name not in self._failures]

    @property
    def registered(self) -> list[PluginInfo]:
        """Every registered plugin, including those failed by a compute-type conflict."""
        self.load()
        return [info for _, info in sorted(self._plugins.items())]

    @property
    def failures(self) -> list[PluginFailure]:
        """Plugins that could not be used, by name (discovers on first use)."""
        self.load()
        return [failure for _, failure in sorted(self._failures.items())]

    @property
    def compute_types(self) -> list[str]:
        """Compute types a healthy plugin serves."""
        self.load()
        return sorted(self._owners)

    def plugin_for(self, compute_type: str) -> PluginInfo:
        """The plugin that serves ``compute_type``.

        :raises PluginConflictError: when two plugins claim it.
        :raises UnknownComputeTypeError: when none does.
        """
        info = self._owners.get(compute_type)
        if info is not None:
            return info
        self.load()
        info = self._owners.get(compute_type)
        if info is not None:
            return info
        if compute_type in self._conflicts:
            raise PluginConflictError(_conflict_message(compute_type, self._conflicts[compute_type]))
        raise UnknownComputeTypeError(compute_type, list(self._owners))

    def config_class(self, compute_type: str) -> type | None:
        """The attrs class of the ``config:`` block for ``compute_type`` (None: untyped)."""
        info = self.plugin_for(compute_type)
        if not isinstance(info.metadata.config_class, str):
            return info.metadata.config_class
        # "module:Class" imports plugin code: bounded like the plugin's own import, once
        cached: tuple[bool, Any] | None = self._config_classes.get(info.name)
        if cached is None:
            try:
                loaded = _bounded(
                    info.metadata.load_config_class, self._import_timeout, f"floe-config-class-{info.name}"
                )
                cached = (True, loaded)
            except _TimedOut:
                cached = (False, f"import did not finish within {self._import_timeout:g} s")
            except (Exception, SystemExit) as exc:
                cached = (False, _one_line(exc))
            self._config_classes[info.name] = cached
        ok, value = cached
        if ok:
            loaded_class = cast("type | None", value)
            return loaded_class
        raise info.error(
            PluginContractError, f"config_class {info.metadata.config_class!r} cannot be loaded: {value}"
        )

    @property
    def pluggy(self) -> pluggy.PluginManager:
        """The underlying :class:`pluggy.PluginManager`, for hook wrappers and tracing.

        From the first access on, every hook call goes through pluggy's own caller, so
        whatever the host adds to it (a hookwrapper plugin, ``enable_tracing``,
        ``add_hookcall_monitoring``) sees the call.
        """
        with self._lock:
            self._shared = True
            self._callers.clear()
        return self._pm


def _entry_point_conflict(ep: EntryPoint, found: list[EntryPoint]) -> PluginConflictError | None:
    """Two distributions declaring the same entry point name: neither may silently win.

    Otherwise whichever comes first on ``sys.path`` would replace the other (a package
    registering ``duckdb`` would take over the built-in plugin). Both are named; neither is
    loaded until one is uninstalled or blocked.
    """
    same = [other for other in found if other.name == ep.name]
    dists = {_dist_key(other.distribution): other for other in same}
    if len(dists) < 2:
        return None
    who = " and ".join(f"{o.distribution or '?'} {o.version or '?'}" for o in dists.values())
    return PluginConflictError(
        f"entry point {ep.name!r} is declared by {who}; uninstall one of them, or block it by name"
    )


def _dist_key(name: str | None) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name or "").lower()


def _conflict_message(compute_type: str, claimants: list[PluginInfo]) -> str:
    who = " and ".join(c.describe() for c in claimants)
    return f"compute type {compute_type!r} is claimed by {who}; uninstall or block all but one"


def _plain_name(plugin: object) -> str:
    return getattr(plugin, "__name__", None) or type(plugin).__name__


def hook_timeout_from_env() -> float:
    """``FLOE_HOOK_TIMEOUT`` in seconds; unset or empty: 30.

    :raises ConfigError: when it is not a finite number greater than 0 (``floe`` exits 2).
    """
    return _timeout_from_env(HOOK_TIMEOUT_ENV, DEFAULT_HOOK_TIMEOUT)
