"""Fixtures shared by every test folder. Each folder keeps its own conftest.py for the rest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from floe_hooks import PluginManager, set_plugin_manager


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
