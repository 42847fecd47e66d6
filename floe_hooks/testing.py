"""The compute-plugin contract suite, and pytest fixtures for plugin authors.

Every compute plugin should pass the same checks; write them once by subclassing
:class:`ComputePluginContract` in your test suite::

    # tests/test_contract.py of your distribution
    import floe_mycompute
    from floe_hooks.testing import ComputePluginContract

    class TestMyComputeContract(ComputePluginContract):
        plugin = floe_mycompute
        compute_type = "mycompute"
        entry_point = "mycompute"              # checks the installed entry point too
        sample_config = {"host": "db.example", "port": 5000}
        broken_config = {"host": "127.0.0.1", "port": 1}   # nothing listens there
        credentials = {"password": {"env": "MYCOMPUTE_PASSWORD"}}

``pytest`` then runs about twenty-five checks against your plugin: its metadata is
complete and speaks a compatible ``floe_api_version``; it registers cleanly with
pluggy (every hook known, every argument one the hookspec offers, every required
hook present); it serves ``compute_type``; your config class is frozen, strict and
round-trips through floe's converter; ``generate_profile`` returns a YAML-able dict
with a string ``type``, the compute's ``threads`` and no plaintext secret, which your
dbt adapter's credentials class accepts (when the adapter is installed);
``validate_connection`` answers a broken config with an unhealthy
:class:`~floe_hooks.ConnectionResult` within its timeout, and never shows a canary
secret; with ``target_config``, a missing target is not healthy and nothing is
created, and a file that is not a database is unhealthy; ``resource_requirements``
returns valid specs for every workload size; and the module imports nothing but the
public ``floe_hooks`` API. Registration and the frozen config are gates: when one
fails, that is the one failure, and the checks that need it are skipped saying so.

For tests of a host application (or of hooks one at a time), :func:`make_plugin` builds
a plugin module in memory, with working defaults for every required hook::

    from floe_hooks.testing import make_plugin

    pm.register(make_plugin("lake", generate_profile=lambda compute: {"type": "lake"}))

Installing floe-hooks also registers this module as a pytest plugin (entry point
``pytest11``), which only adds fixtures, all named ``floe_*`` and none autouse:

* :func:`floe_plugin_manager`: a fresh :class:`~floe_hooks.PluginManager` that sees
  only what the test registers;
* :func:`floe_no_autoload`: the process-wide manager (the one ``floe compile``,
  ``floe validate`` and :func:`~floe_hooks.get_plugin_manager` use) replaced, for one
  test, by one that does not load installed plugins;
* :func:`floe_register`: registers a plugin (an inline class or module) in the
  process-wide manager for one test and removes it afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from floe_hooks._contract import ComputePluginContract
from floe_hooks._fakes import make_compute, make_plugin
from floe_hooks.manager import PluginInfo, PluginManager, get_plugin_manager, set_plugin_manager

__all__ = [
    "ComputePluginContract",
    "make_compute",
    "make_plugin",
    "floe_plugin_manager",
    "floe_no_autoload",
    "floe_register",
]


# ---------------------------------------------------------------------- pytest fixtures


@pytest.fixture
def floe_plugin_manager() -> PluginManager:
    """A fresh, strict :class:`~floe_hooks.PluginManager` that loads no installed plugin."""
    return PluginManager(autoload=False, strict=True)


@pytest.fixture
def floe_no_autoload() -> Iterator[PluginManager]:
    """Replace the process-wide manager by one that ignores installed plugins, for one test.

    ``floe compile``, ``floe validate`` and :func:`~floe_hooks.get_plugin_manager` then
    see only what the test registers (with :func:`floe_register`, for instance).
    """
    manager = PluginManager(autoload=False, strict=True)
    old = set_plugin_manager(manager)
    try:
        yield manager
    finally:
        set_plugin_manager(old)


@pytest.fixture
def floe_register() -> Iterator[Callable[..., PluginInfo]]:
    """Register plugins in the process-wide manager for one test: ``floe_register(obj, name=None)``.

    Returns the :class:`~floe_hooks.PluginInfo`; every plugin registered this way is
    unregistered when the test ends.
    """
    added: list[tuple[PluginManager, str]] = []

    def register(plugin: object, name: str | None = None) -> PluginInfo:
        manager = get_plugin_manager()
        info = manager.register(plugin, name=name)
        added.append((manager, info.name))
        return info

    try:
        yield register
    finally:
        for manager, name in reversed(added):
            manager.unregister(name)
