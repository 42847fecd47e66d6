"""A plugin module that does not finish importing is failed in time, in process.

The hung fixture modules wait on an event of this test (``fixture_gate.GATE``) instead
of sleeping forever, so their abandoned threads end when the test does. The real hangs
(``time.sleep(3600)``, a busy loop) run in a ``floe`` subprocess in
``tests/adversarial/test_hostile_plugins.py``.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest

from floe_hooks import ConfigError, PluginLoadError, PluginManager
from floe_hooks.manager import DEFAULT_IMPORT_TIMEOUT, IMPORT_TIMEOUT_ENV

HUNG = "import fixture_gate\nfixture_gate.GATE.wait(60)\n"


@pytest.fixture
def gate(site: Any) -> Iterator[threading.Event]:
    """``fixture_gate.GATE``: hung fixture imports wait on it; set (and their threads gone) at teardown."""
    event = threading.Event()
    module = types.ModuleType("fixture_gate")
    module.GATE = event  # type: ignore[attr-defined]
    sys.modules["fixture_gate"] = module
    try:
        yield event
    finally:
        event.set()
        for thread in threading.enumerate():
            if thread.name.startswith("floe-import-"):
                thread.join(10)
        sys.modules.pop("fixture_gate", None)


def test_a_plugin_that_hangs_at_import_is_failed_and_the_others_load(
    site: Any, gate: threading.Event
) -> None:
    site.good("alpha")
    site.install("floe-compute-stuck", HUNG, module="fixture_stuck", entry_point="stuck", version="2.1")
    site.good("zulu")
    pm = PluginManager(path=site.path, strict=False, import_timeout=0.2)
    began = time.monotonic()
    assert [info.name for info in pm.plugins] == ["alpha", "zulu"]
    assert time.monotonic() - began < 30  # the timeout, not the plugin's minute
    (failure,) = pm.failures
    assert (failure.name, failure.distribution, failure.version) == ("stuck", "floe-compute-stuck", "2.1")
    assert (failure.error, failure.reason) == ("PluginLoadError", "import did not finish within 0.2 s")
    # the import goes on in a daemon thread nobody waits for
    (stuck,) = [t for t in threading.enumerate() if t.name == "floe-import-stuck"]
    assert stuck.daemon
    assert stuck.is_alive()


def test_a_plugin_waiting_for_the_hung_ones_import_lock_times_out_too(
    site: Any, gate: threading.Event
) -> None:
    # both import fixture_shared; the first import of it hangs holding its module lock
    (site.root / "fixture_shared.py").write_text(HUNG)
    good = "from floe_hooks import hookimpl\nimport fixture_shared\n"
    site.install("floe-compute-first", good, module="fixture_first", entry_point="first")
    site.install("floe-compute-second", good, module="fixture_second", entry_point="second")
    site.good("third")
    pm = PluginManager(path=site.path, strict=False, import_timeout=0.2)
    assert [info.name for info in pm.plugins] == ["third"]
    assert {f.name: f.reason for f in pm.failures} == {
        "first": "import did not finish within 0.2 s",
        "second": "import did not finish within 0.2 s",
    }


def test_a_hung_import_is_fatal_in_strict_mode(site: Any, gate: threading.Event) -> None:
    site.install("floe-compute-stuck", HUNG, module="fixture_stuck", entry_point="stuck")
    pm = PluginManager(path=site.path, strict=True, import_timeout=0.1)
    with pytest.raises(PluginLoadError) as info:
        pm.load()
    assert (
        str(info.value) == "plugin 'stuck' (from floe-compute-stuck 1.0): import did not finish within 0.1 s"
    )


def test_an_import_that_finishes_in_time_is_not_affected(site: Any) -> None:
    slow = "import time\ntime.sleep(0.2)\n" + "raise SystemExit(4)\n"
    site.install("floe-compute-slow", slow, module="fixture_slow", entry_point="slow")
    site.good("alpha")
    pm = PluginManager(path=site.path, strict=False, import_timeout=30)
    assert [info.name for info in pm.plugins] == ["alpha"]
    (failure,) = pm.failures
    assert failure.reason == "import failed: SystemExit: 4"  # as without a timeout


def test_other_base_exceptions_at_import_are_plugin_failures(site: Any) -> None:
    """The import runs in its own thread: a KeyboardInterrupt there is the plugin's, never the
    user's Ctrl-C (which reaches the main thread), so it is a failure naming the plugin (issue 16)."""
    site.install(
        "floe-compute-ctrlc", "raise KeyboardInterrupt\n", module="fixture_ctrlc", entry_point="ctrlc"
    )
    site.good("alpha")
    pm = PluginManager(path=site.path, strict=False)
    assert [info.name for info in pm.plugins] == ["alpha"]
    (failure,) = pm.failures
    assert (failure.name, failure.reason) == ("ctrlc", "import failed: KeyboardInterrupt")


def test_the_timeout_comes_from_the_environment(
    site: Any, gate: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.install("floe-compute-stuck", HUNG, module="fixture_stuck", entry_point="stuck")
    monkeypatch.setenv(IMPORT_TIMEOUT_ENV, " 0.25 ")
    (failure,) = PluginManager(path=site.path, strict=False).failures
    assert failure.reason == "import did not finish within 0.25 s"


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_environment_variable_means_the_default(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(IMPORT_TIMEOUT_ENV, value)
    assert PluginManager(path=[])._import_timeout == DEFAULT_IMPORT_TIMEOUT == 10


@pytest.mark.parametrize("value", ["ten", "0", "-2", "nan", "inf", "1e999"])
def test_an_invalid_timeout_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(IMPORT_TIMEOUT_ENV, value)
    with pytest.raises(ConfigError, match=f"^FLOE_PLUGIN_IMPORT_TIMEOUT='{value}' is not a number"):
        PluginManager(path=[])
    PluginManager(autoload=False)  # imports nothing: the variable does not matter
    with pytest.raises(ValueError, match="number of seconds greater than 0 and at most 604800"):
        PluginManager(path=[], import_timeout=0)
