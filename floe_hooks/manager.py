"""The plugin manager: per-compute-type dispatch of the hooks, behind a typed façade.

Host applications use :class:`PluginManager` (or the process-wide
:func:`get_plugin_manager`) and call one typed method per capability::

    pm = get_plugin_manager()
    profile = pm.generate_profile(compute)        # runs only the owner of compute.type
    result = pm.validate_connection(compute, timeout=5.0)

Loading (entry points, validation, the import timeout, failures) is
:class:`floe_hooks._registry.PluginRegistry`, which this class extends. Compile-time hook
calls are bounded by :func:`run_with_hook_deadline` where the caller asks for it
(``floe compile``, ``floe k8s`` and ``floe resources`` do, with ``FLOE_HOOK_TIMEOUT``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import attrs

from floe_hooks._deadline import (
    _Abandoned,
    _abandoned,
    _deadline_lock,
    _deadline_threads,
    _in_flight,
    _in_plugin,
    _PluginStdout,
)
from floe_hooks._deadline import run_with_hook_deadline as run_with_hook_deadline  # public here
from floe_hooks._registry import (  # re-exported: the public names live here
    DEFAULT_HOOK_TIMEOUT,
    DEFAULT_IMPORT_TIMEOUT,
    HOOK_TIMEOUT_ENV,
    IMPORT_TIMEOUT_ENV,
    STRICT_ENV,
    PluginFailure,
    PluginInfo,
    PluginRegistry,
    api_compatible,
    hook_timeout_from_env,
)
from floe_hooks._text import one_line as _one_line
from floe_hooks.errors import FloeError, PluginContractError, PluginError

if TYPE_CHECKING:
    from floe_hooks.catalog import LakehouseCatalog
    from floe_hooks.models import (
        CatalogConfig,
        ComputeConfig,
        ConnectionResult,
        ResourceSpec,
        SqlStatement,
    )
    from floe_hooks.secrets import SecretValue

__all__ = [
    "PluginManager",
    "PluginInfo",
    "PluginFailure",
    "get_plugin_manager",
    "api_compatible",
    "STRICT_ENV",
    "IMPORT_TIMEOUT_ENV",
    "HOOK_TIMEOUT_ENV",
    "run_with_hook_deadline",
    "hook_timeout_from_env",
    "DEFAULT_HOOK_TIMEOUT",
    "DEFAULT_IMPORT_TIMEOUT",
]

#: Hooks a health check calls: bounded by its own timeout (floe_hooks.health), not by the deadline.
_SELF_TIMED_HOOKS = frozenset({"validate_connection"})


class PluginManager(PluginRegistry):
    """Discovers compute plugins and calls their hooks, one compute type at a time.

    :param autoload: read the ``floe.computes`` entry points on first use. Turn off to
        see only what you :meth:`register` (tests, embedded hosts).
    :param strict: raise on the first plugin failure instead of recording it. Defaults
        to the ``FLOE_STRICT_PLUGINS`` environment variable.
    :param blocked: plugin (entry point) names never to load.
    :param path: directories to discover distributions in (default ``sys.path``).
    :param import_timeout: seconds each plugin module may take to import before it is
        recorded as failed and abandoned. Defaults to the ``FLOE_PLUGIN_IMPORT_TIMEOUT``
        environment variable, else 10.
    :raises ConfigError: when ``FLOE_PLUGIN_IMPORT_TIMEOUT`` is not a number > 0.
    :raises ValueError: when ``import_timeout`` is not a number > 0.
    """

    # ------------------------------------------------------------------ capabilities

    def generate_profile(self, compute: ComputeConfig) -> dict[str, Any]:
        """The dbt output dict of ``compute``, from the plugin that owns its type."""
        result = self._call("generate_profile", compute, {"compute": compute})
        # dict.get, not result.get: a dict subclass's own methods are plugin code
        if not isinstance(result, dict) or not isinstance(dict.get(result, "type"), str):
            raise self._contract(compute, "generate_profile", "a dict with a string 'type'", result)
        return result

    def validate_connection(
        self,
        compute: ComputeConfig,
        timeout: float = 5.0,
        secrets: Mapping[str, SecretValue] | None = None,
    ) -> ConnectionResult:
        """Run the owner's health check once, in this thread, without a timeout of its own.

        Use :func:`floe_hooks.check_health` for concurrent, timeout-enforced checks.
        """
        kwargs = {"compute": compute, "timeout": timeout, "secrets": dict(secrets or {})}
        result = self._call("validate_connection", compute, kwargs)
        if not isinstance(result, _models().ConnectionResult):
            raise self._contract(compute, "validate_connection", "floe_hooks.ConnectionResult", result)
        return cast("ConnectionResult", attrs.evolve(result, compute=compute.name))

    def resource_requirements(self, compute: ComputeConfig) -> ResourceSpec:
        """The job pod's resources for ``compute``."""
        result = self._call("resource_requirements", compute, {"compute": compute})
        if not isinstance(result, _models().ResourceSpec):
            raise self._contract(compute, "resource_requirements", "floe_hooks.ResourceSpec", result)
        return cast("ResourceSpec", result)

    def catalog_attachment_sql(
        self,
        compute: ComputeConfig,
        catalog: CatalogConfig,
        secrets: Mapping[str, SecretValue] | None = None,
    ) -> list[SqlStatement]:
        """SQL attaching ``compute`` to an Iceberg catalog (optional hook)."""
        kwargs = {"compute": compute, "catalog": catalog, "secrets": dict(secrets or {})}
        result = self._call("catalog_attachment_sql", compute, kwargs)
        statement = _models().SqlStatement
        if not isinstance(result, list) or not all(isinstance(s, statement) for s in result):
            raise self._contract(
                compute, "catalog_attachment_sql", "a list of floe_hooks.SqlStatement", result
            )
        return result

    def catalog_profile(
        self, compute: ComputeConfig, catalog: LakehouseCatalog, profile: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``compute``'s dbt output with the lakehouse catalog attached (optional hook, API 1.1)."""
        kwargs = {"compute": compute, "catalog": catalog, "profile": dict(profile)}
        result = self._call("catalog_profile", compute, kwargs)
        if not isinstance(result, dict) or not isinstance(dict.get(result, "type"), str):
            raise self._contract(compute, "catalog_profile", "a dict with a string 'type'", result)
        return result

    def exclusive_resources(self, compute: ComputeConfig) -> list[str]:
        """Resources a dbt run on ``compute`` holds exclusively (optional hook; ``[]`` when absent).

        Two steps whose lists share a key never run at the same time (``floe run``).
        """
        owner = self.plugin_for(compute.type)
        if self._caller("exclusive_resources", owner) is None:
            return []
        result = self._call("exclusive_resources", compute, {"compute": compute})
        if not isinstance(result, list) or not all(type(key) is str for key in result):
            raise self._contract(compute, "exclusive_resources", "a list of str", result)
        return list(result)

    def _caller(self, hook: str, owner: PluginInfo) -> Any:
        """How ``hook`` reaches ``owner`` alone: cached per (hook, plugin); None if not implemented.

        pluggy's ``subset_hook_caller`` (every other plugin removed). While floe alone holds
        the pluggy manager (nobody asked :attr:`pluggy`, so no host wrapper, tracer or
        monitor can be in the call) and the subset is exactly the owner's one plain hookimpl,
        the cache holds that function and its argument names instead: pluggy would call
        just that function with those arguments, and skipping its generic loop is most of
        the dispatch cost (``benchmarks/``: dispatch).
        """
        key = (hook, owner.name)
        caller = self._callers.get(key)
        if caller is None:
            with self._lock:
                caller = False
                if hook in owner.hooks:
                    others = [i.plugin for n, i in self._plugins.items() if n != owner.name]
                    caller = self._pm.subset_hook_caller(hook, remove_plugins=others)
                    impls = caller.get_hookimpls()
                    if not self._shared and len(impls) == 1 and _plain_impl(impls[0]):
                        caller = (impls[0].function, tuple(impls[0].argnames))
                self._callers[key] = caller
        return caller or None

    def _call(self, hook: str, compute: ComputeConfig, kwargs: dict[str, Any]) -> Any:
        owner = self._owners.get(compute.type) or self.plugin_for(compute.type)
        caller = self._callers.get((hook, owner.name))
        if caller is None:
            caller = self._caller(hook, owner)
        if not caller:
            raise owner.error(PluginContractError, f"does not implement the optional hook {hook!r}")
        if kwargs.get("secrets"):
            from floe_hooks._redact import remember

            for value in kwargs["secrets"].values():
                remember(value)  # whatever the plugin echoes of it is masked from here on
        telemetry = _telemetry[0] if _telemetry else _load_telemetry()
        if telemetry.idle():  # no OpenTelemetry provider can be set, no debug log: no span to open
            return self._invoke(hook, owner, caller, kwargs)
        with telemetry.hook_call(hook, compute, owner) as call:
            result = self._invoke(hook, owner, caller, kwargs)
            call.returned(result)
            return result

    @staticmethod
    def _invoke(hook: str, owner: PluginInfo, caller: Any, kwargs: dict[str, Any]) -> Any:
        """Call the plugin: its prints go to stderr, a deadline may abandon it, its errors are named."""
        # what _deadline._plugin_code() does, inline: this is the per-call hot path
        if sys.stdout is not None and not isinstance(sys.stdout, _PluginStdout):
            sys.stdout = _PluginStdout(sys.stdout)
        ident = threading.get_ident()
        watched = ident in _deadline_threads and hook not in _SELF_TIMED_HOOKS
        token = _in_plugin.set(True)
        if watched:
            _in_flight[ident] = (hook, owner, time.monotonic())
        try:
            if type(caller) is tuple:
                function, names = caller
                return function(*[kwargs[name] for name in names])
            return caller(**kwargs)
        except FloeError:
            raise
        except BaseException as exc:  # sys.exit() in a hook must not end the host
            if isinstance(exc, KeyboardInterrupt) and threading.current_thread() is threading.main_thread():
                raise  # may be the user's Ctrl-C; anywhere else it is the plugin's own doing
            raise owner.error(PluginError, f"{hook} raised {_one_line(exc)}") from exc
        finally:
            _in_plugin.reset(token)
            if watched:
                with _deadline_lock:
                    del _in_flight[ident]
                    given_up = ident in _abandoned
                if given_up:  # past its deadline: the caller stopped waiting for this thread
                    raise _Abandoned  # whatever the call did, nobody wants it now

    def _contract(self, compute: ComputeConfig, hook: str, expected: str, got: object) -> PluginContractError:
        owner = self.plugin_for(compute.type)
        return owner.error(
            PluginContractError,
            f"{hook} returned {type(got).__name__} for compute {compute.name!r}, expected {expected}",
        )


#: floe_hooks.telemetry once the first hook call imported it (importing floe_hooks does not)
_telemetry: list[Any] = []


def _load_telemetry() -> Any:
    from floe_hooks import telemetry

    _telemetry[:] = [telemetry]
    return telemetry


#: floe_hooks.models once a hook whose result is one of its classes returned
_models_module: list[Any] = []


def _models() -> Any:
    """floe_hooks.models, imported on first use and kept.

    Not imported with this module: ``floe plugins`` builds none of its classes. Kept, since
    a cached module costs less per call than an import statement in each method.
    """
    if not _models_module:
        from floe_hooks import models

        _models_module[:] = [models]
    return _models_module[0]


def _plain_impl(impl: Any) -> bool:
    """A hookimpl pluggy calls as it is: no wrapper of either style, not historic-only."""
    return not (getattr(impl, "hookwrapper", False) or getattr(impl, "wrapper", False))


_default: PluginManager | None = None
_default_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide manager, created on first call, discovering on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = PluginManager()
    return _default


def set_plugin_manager(manager: PluginManager | None) -> PluginManager | None:
    """Replace the process-wide manager (``None`` to rediscover); returns the old one."""
    global _default
    with _default_lock:
        old, _default = _default, manager
    return old
