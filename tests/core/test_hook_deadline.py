"""``run_with_hook_deadline``: a compile-time hook past its deadline is named, and its work abandoned.

The end-to-end cases (``floe compile``/``k8s``/``resources`` with a sleeping or spinning
installed plugin) are in ``tests/adversarial/test_hostile_plugins.py``; these pin the
in-process rules with plugins that wait on an event, so no thread outlives the test.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from types import ModuleType

import pytest

from floe_hooks import ComputeConfig, ConnectionResult, PluginError, PluginManager
from floe_hooks.manager import run_with_hook_deadline
from floe_hooks.testing import make_plugin


def waiting_plugin(release: threading.Event, entered: threading.Event) -> ModuleType:
    """A plugin ``slow`` whose generate_profile and health check wait for ``release``."""

    def generate_profile() -> dict[str, str]:
        entered.set()
        release.wait(30)
        return {"type": "duckdb"}

    def validate_connection() -> ConnectionResult:
        release.wait(30)
        return ConnectionResult(status="healthy", latency_ms=1.0)

    return make_plugin(
        "slow", api="1.0", generate_profile=generate_profile, validate_connection=validate_connection
    )


@pytest.fixture
def slow(empty_pm: PluginManager) -> Iterator[tuple[PluginManager, threading.Event, threading.Event]]:
    release, entered = threading.Event(), threading.Event()
    empty_pm.register(waiting_plugin(release, entered), name="slow")
    yield empty_pm, release, entered
    release.set()


def test_a_hook_past_its_deadline_is_named_and_what_follows_it_never_runs(slow) -> None:  # type: ignore[no-untyped-def]
    pm, release, entered = slow
    after: list[str] = []

    def work() -> None:
        pm.generate_profile(ComputeConfig(name="s", type="slow"))
        after.append("wrote outputs")  # must never happen once the caller gave up

    with pytest.raises(PluginError) as raised:
        run_with_hook_deadline(work, timeout=0.2)
    assert raised.value.plugin == "slow"
    assert str(raised.value).endswith("generate_profile did not return within 0.2 s")
    assert entered.is_set()
    worker = next(t for t in threading.enumerate() if t.name == "floe-hooks-deadline")
    assert worker.daemon
    release.set()  # the hung call returns at last: the worker unwinds instead of going on
    worker.join(5)
    assert not worker.is_alive()
    assert after == []


def test_results_exceptions_and_context_pass_through(empty_pm: PluginManager) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller's")
    assert run_with_hook_deadline(var.get, timeout=1) == "caller's"

    def fails() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        run_with_hook_deadline(fails, timeout=1)


def test_time_outside_hook_calls_and_health_checks_do_not_count(slow) -> None:  # type: ignore[no-untyped-def]
    pm, release, _ = slow
    threading.Timer(0.5, release.set).start()  # the health check waits 0.5 s on a 0.2 s deadline

    def work() -> str:
        return pm.validate_connection(ComputeConfig(name="s", type="slow")).status

    assert run_with_hook_deadline(work, timeout=0.2) == "healthy"


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), 1e10, 604800.5])
def test_the_timeout_must_be_a_positive_number(timeout: float) -> None:
    with pytest.raises(ValueError, match="number of seconds greater than 0 and at most 604800"):
        run_with_hook_deadline(lambda: None, timeout=timeout)
