"""Fixtures shared by every test folder. Each folder keeps its own conftest.py for the rest."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_hooks import PluginManager, set_plugin_manager

if str(Path(__file__).parent) not in sys.path:  # plugin_site, the one fixture site (import mode importlib)
    sys.path.insert(0, str(Path(__file__).parent))
pytest_plugins = ["pytester"]  # tests/contract runs the contract suite against broken plugins


@pytest.fixture
def installed_pm() -> PluginManager:
    """A fresh manager that discovers the installed plugins (floe_duckdb at least)."""
    return PluginManager(strict=False)


@pytest.fixture
def empty_pm() -> PluginManager:
    """A fresh manager with autoloading off: only what the test registers."""
    return PluginManager(autoload=False, strict=False)


@pytest.fixture(autouse=True)
def _fresh_default_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with a new process-wide manager and no strict mode from the outside."""
    monkeypatch.delenv("FLOE_STRICT_PLUGINS", raising=False)
    old = set_plugin_manager(None)
    yield
    set_plugin_manager(old)


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """No state of an earlier test: log settings read afresh, no secret registered for masking.

    Both are process-wide by design (a host configures logging once; a resolved secret is
    masked everywhere from then on), so a test that logs at ``info`` or registers ``floe``
    as a secret would otherwise change what the next one sees.
    """
    from floe_hooks import _log, _redact

    _log._reset()
    _redact.forget_all()
    yield
    _log._reset()
    _redact.forget_all()


@pytest.fixture
def site_root(tmp_path: Path) -> Iterator[Path]:
    """An empty site-packages folder on ``sys.path`` for fixture distributions.

    Modules imported from it (and ``fixture_*`` modules) are forgotten afterwards, so the
    next test imports its own fixture plugins afresh.
    """
    root = tmp_path / "site-packages"
    root.mkdir()
    sys.path.insert(0, str(root))
    before = set(sys.modules)
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if name.startswith("fixture_") or origin.startswith(str(root)):
                del sys.modules[name]
