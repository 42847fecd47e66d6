"""Plugins and computes built in memory for tests: ``make_plugin`` and ``make_compute``.

Private: import them from :mod:`floe_hooks.testing`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from floe_hooks._version import FLOE_API_VERSION
from floe_hooks.manager import PluginManager
from floe_hooks.models import ComputeConfig, ConnectionResult, ResourceSpec


def make_compute(
    manager: PluginManager,
    compute_type: str,
    config: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    credentials: Mapping[str, Mapping[str, str]] | None = None,
    **fields: Any,
) -> ComputeConfig:
    """Build a :class:`~floe_hooks.ComputeConfig` the way ``floe`` reads one from a manifest.

    ``config`` is structured with the plugin's ``config_class`` (strictly: unknown keys
    are errors), exactly as ``floe compile`` does, so a test sees what production sees.

    :param manager: the manager whose plugin serves ``compute_type``.
    :param compute_type: the compute's ``type:``.
    :param config: the ``config:`` block, as plain data.
    :param name: the compute's name (default: the type).
    :param credentials: secret references, as plain data (``{"password": {"env": "PW"}}``).
    :param fields: other compute fields (``threads``, ``timeout_seconds``, ``resources``).
    :raises ConfigError: when the data does not fit, with the field path.
    """
    from floe_hooks._structure import structure_compute

    data: dict[str, Any] = {"name": name or compute_type, "type": compute_type, **fields}
    if config is not None:
        data["config"] = dict(config)
    if credentials:
        data["credentials"] = {key: dict(ref) for key, ref in credentials.items()}
    return structure_compute(data, manager.config_class)


def make_plugin(
    name: str = "fake",
    *,
    types: tuple[str, ...] | None = None,
    version: str = "1.0",
    api: str = FLOE_API_VERSION,
    config_class: type | str | None = None,
    dbt_adapter: str | None = None,
    description: str = "",
    **hooks: Any,
) -> ModuleType:
    """A plugin module made in memory: metadata and working required hooks, for tests.

    Register it with :meth:`PluginManager.register` (or the :func:`floe_register`
    fixture). Each other keyword names a hook (any hook: an optional one such as
    ``exclusive_resources`` is added, ``plugin_metadata`` replaces the metadata built from
    the keywords above) and gives its implementation: a function (or bound method) taking
    any of the hook's arguments by name, a plain value the hook returns as it is, or
    ``None`` to leave the hook out (to test what a missing hook does)::

        plugin = make_plugin("lake", generate_profile=lambda compute: {"type": "lake", "db": compute.name})
        pm.register(plugin)
        make_plugin("slow", validate_connection=lambda timeout: time.sleep(timeout * 2))

    :param name: the plugin's name (its ``plugin_metadata().name``; the registration name).
    :param types: the compute types it serves (default: ``(name,)``).
    :param version: the plugin's version in its metadata.
    :param api: its ``floe_api_version`` (default: this floe's).
    :param config_class: its typed config class (an attrs class or ``"module:Class"``).
    :param dbt_adapter: its dbt adapter requirement in its metadata (``"dbt-postgres>=1.9"``).
    :param description: its one-line description in its metadata (what ``floe plugins`` shows).
    :param hooks: hook name -> function, value, or ``None``.
    :return: a module object whose functions are marked ``@hookimpl``.

    The defaults: ``generate_profile`` returns ``{"type": name}``; ``validate_connection``
    returns a healthy :class:`~floe_hooks.ConnectionResult` naming the plugin;
    ``resource_requirements`` returns the compute's resources (``small`` by default).
    """
    from floe_hooks._markers import hookimpl
    from floe_hooks.models import PluginMetadata

    served = types or (name,)
    defaults: dict[str, Any] = {
        "plugin_metadata": lambda: PluginMetadata(
            name=name,
            version=version,
            floe_api_version=api,
            compute_types=served,
            config_class=config_class,
            dbt_adapter=dbt_adapter,
            description=description,
        ),
        "generate_profile": lambda: {"type": name},
        "validate_connection": lambda: ConnectionResult(status="healthy", latency_ms=0.1, message=name),
        "resource_requirements": lambda compute: ResourceSpec.resolve(compute.resources),
    }
    module = ModuleType(f"floe_fake_{name}", f"fake floe plugin {name!r} (floe_hooks.testing.make_plugin)")
    for hook, impl in {**defaults, **hooks}.items():
        if impl is None:
            continue
        if not callable(impl):
            impl = _returning(impl)
        elif not isinstance(getattr(impl, "__dict__", None), dict) or inspect.ismethod(impl):
            impl = _markable(impl)
        setattr(module, hook, hookimpl(impl))
    return module


def _markable(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as a plain function pluggy can mark (a bound method takes no attributes).

    pluggy reads the hook's argument names through ``__wrapped__``, so a method's own
    names (``self`` left out) are what it passes.
    """

    @functools.wraps(function)
    def hook(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return hook


def _returning(value: Any) -> Callable[[], Any]:
    def hook() -> Any:
        return value

    return hook
