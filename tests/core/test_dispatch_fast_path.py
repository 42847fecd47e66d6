"""The dispatch fast path: the owner's hookimpl called as pluggy would, and only while it may be.

``PluginManager._caller`` keeps the owner's function when floe alone holds the pluggy
manager and the owner has one plain hookimpl; these tests pin that every way a host can
put something into a call still sees it.
"""

from __future__ import annotations

from typing import Any

import pytest

from floe_hooks import ComputeConfig, PluginError, PluginManager, hookimpl
from floe_hooks.testing import make_plugin

COMPUTE = ComputeConfig(name="x", type="alpha")


def _manager() -> PluginManager:
    pm = PluginManager(autoload=False)
    pm.register(make_plugin("alpha", generate_profile=lambda compute: {"type": "alpha", "n": compute.name}))
    pm.register(make_plugin("beta"))
    return pm


def test_the_result_and_arguments_are_those_pluggy_gives() -> None:
    fast, through_pluggy = _manager(), _manager()
    assert through_pluggy.pluggy is not None  # the host holds it: every call goes through pluggy
    assert (
        fast.generate_profile(COMPUTE)
        == through_pluggy.generate_profile(COMPUTE)
        == {"type": "alpha", "n": "x"}
    )
    assert type(fast._callers[("generate_profile", "alpha")]) is tuple  # the direct form
    assert type(through_pluggy._callers[("generate_profile", "alpha")]) is not tuple


def test_tracing_enabled_after_the_first_call_sees_the_next_calls() -> None:
    pm = _manager()
    pm.generate_profile(COMPUTE)  # caches the direct form
    seen: list[str] = []
    pm.pluggy.add_hookcall_monitoring(lambda name, impls, kwargs: seen.append(name), lambda *args: None)
    pm.generate_profile(COMPUTE)
    assert seen == ["generate_profile"]


def test_a_wrapper_the_host_adds_to_pluggy_sees_the_call() -> None:
    seen: list[str] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def generate_profile(self, compute: ComputeConfig) -> Any:
            seen.append(compute.name)
            result = yield
            return {**result, "wrapped": True}

    pm = PluginManager(autoload=False)
    plugin = make_plugin("alpha")
    pm.register(plugin)
    pm.pluggy.register(Wrapper(), name="host-wrapper")
    assert pm.generate_profile(COMPUTE) == {"type": "alpha", "wrapped": True}
    assert seen == ["x"]


def test_a_plugin_error_is_named_on_the_fast_path_too() -> None:
    pm = PluginManager(autoload=False)
    pm.register(make_plugin("alpha", generate_profile=lambda compute: 1 / 0))
    with pytest.raises(PluginError, match=r"^plugin 'alpha': generate_profile raised ZeroDivisionError"):
        pm.generate_profile(COMPUTE)
    assert type(pm._callers[("generate_profile", "alpha")]) is tuple


def test_unregistering_drops_the_cached_function() -> None:
    pm = _manager()
    pm.generate_profile(COMPUTE)
    pm.unregister("alpha")
    pm.register(make_plugin("alpha", generate_profile=lambda: {"type": "alpha", "v": 2}))
    assert pm.generate_profile(COMPUTE) == {"type": "alpha", "v": 2}
