"""``start_worker``: code in a named daemon thread, waited for with a deadline, its outcome handed back.

Every code under test waits on an event the test releases, so no thread outlives the test.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Iterator

import pytest

from floe_hooks._deadline import start_worker
from floe_hooks._text import PluginRaised


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event blocked code waits on; set when the test ends, whatever happened."""
    event = threading.Event()
    yield event
    event.set()


def test_the_value_the_code_returns_is_the_outcome() -> None:
    worker = start_worker(lambda: 42, "floe-test-value")
    assert worker.wait(5)
    assert worker.done()
    assert worker.outcome() == 42
    assert worker.thread.name == "floe-test-value"
    assert worker.thread.daemon


def test_what_the_code_raises_is_raised_by_outcome() -> None:
    def fails() -> None:
        raise ValueError("bad config")

    worker = start_worker(fails, "floe-test-raises")
    assert worker.wait(5)
    with pytest.raises(ValueError, match="bad config"):
        worker.outcome()


def test_an_odd_base_exception_from_plugin_code_is_a_plugin_failure() -> None:
    def interrupts() -> None:
        raise KeyboardInterrupt

    worker = start_worker(interrupts, "floe-test-odd", plugin=True)
    assert worker.wait(5)
    with pytest.raises(PluginRaised) as caught:
        worker.outcome()
    assert isinstance(caught.value.original, KeyboardInterrupt)


def test_system_exit_from_plugin_code_is_raised_as_it_is() -> None:
    worker = start_worker(lambda: sys.exit(3), "floe-test-exit", plugin=True)
    assert worker.wait(5)
    with pytest.raises(SystemExit):
        worker.outcome()


def test_blocked_code_is_not_done_after_a_short_wait(release: threading.Event) -> None:
    worker = start_worker(lambda: release.wait(10), "floe-test-blocked")
    assert not worker.wait(0.05)
    assert not worker.done()
    assert worker.thread.is_alive()
    with pytest.raises(RuntimeError, match="floe-test-blocked has not ended"):
        worker.outcome()
    release.set()
    assert worker.wait(5)
    assert worker.outcome() is True


def test_on_done_is_called_in_the_worker_thread_once_the_code_has_ended(release: threading.Event) -> None:
    seen: list[tuple[str, bool]] = []
    called = threading.Event()

    def on_done() -> None:
        seen.append((threading.current_thread().name, worker.done()))
        called.set()

    worker = start_worker(lambda: release.wait(10), "floe-test-on-done", on_done=on_done)
    assert not called.wait(0.05)
    release.set()
    assert called.wait(5)
    assert seen == [("floe-test-on-done", True)]


def test_on_done_is_called_when_the_code_raises() -> None:
    called = threading.Event()

    def fails() -> None:
        raise RuntimeError("boom")

    worker = start_worker(fails, "floe-test-on-done-raises", on_done=called.set)
    assert called.wait(5)
    with pytest.raises(RuntimeError, match="boom"):
        worker.outcome()


def test_the_code_runs_in_the_context_it_is_given() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("floe_test_var", default="thread's own")
    token = var.set("caller's")
    try:
        given = start_worker(var.get, "floe-test-context", context=contextvars.copy_context())
        own = start_worker(var.get, "floe-test-no-context")
    finally:
        var.reset(token)
    assert given.wait(5)
    assert own.wait(5)
    assert given.outcome() == "caller's"
    assert own.outcome() == "thread's own"


def test_plugin_code_prints_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    worker = start_worker(lambda: print("from the plugin"), "floe-test-plugin", plugin=True)
    assert worker.wait(5)
    worker.outcome()
    host = start_worker(lambda: print("from the host"), "floe-test-host")
    assert host.wait(5)
    host.outcome()
    captured = capfd.readouterr()
    assert "from the plugin" in captured.err
    assert "from the plugin" not in captured.out
    assert "from the host" in captured.out


def test_started_is_taken_before_the_thread_runs() -> None:
    import time

    before = time.perf_counter()
    worker = start_worker(time.perf_counter, "floe-test-started")
    assert worker.wait(5)
    assert before <= worker.started <= worker.outcome()


def test_a_finished_worker_no_longer_holds_its_code() -> None:
    """Health keeps abandoned workers for their age: the code's arguments (secrets) must go."""
    import gc
    import weakref

    class Code:
        def __call__(self) -> str:
            return "done"

    code = Code()
    gone = weakref.ref(code)
    worker = start_worker(code, "floe-test-drop")
    del code
    assert worker.wait(5)
    worker.thread.join(5)
    gc.collect()
    assert gone() is None
    assert worker.outcome() == "done"
