"""Fixtures for manifest, governance and compile tests: files in a temporary project."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from server_plugin import server_plugin  # tests/conftest.py puts tests/ on sys.path

from floe_hooks import ConfigError, PluginManager, ResourceSpec


class Project:
    """A temporary folder to write manifests and products into."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        """Write ``text`` (dedented) to ``root/name``; return ``name`` (root is the working directory)."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return Path(name)

    def product(
        self, transforms: str = "- {name: marts, path: models/marts}", platform: str = "manifest.yaml"
    ) -> Path:
        """A floe.yaml named ``analytics`` with the given transforms block."""
        body = textwrap.indent(textwrap.dedent(transforms).strip("\n"), "  ")
        return self.write("floe.yaml", f"name: analytics\nplatform: {platform}\ntransforms:\n{body}\n")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project folder that is also the working directory, so messages show short paths."""
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path)


def error(call: Callable[[], object]) -> str:
    """The one-line message of the ConfigError ``call`` raises."""
    with pytest.raises(ConfigError) as info:
        call()
    return str(info.value)


@attrs.frozen
class FakePgConfig:
    """Config of the fake server-based compute used to test credentials."""

    host: str
    port: int = 5432
    user: str = "floe"


def _fake_pg() -> object:
    return server_plugin(
        "fakepg", FakePgConfig, version="2.0", resource_requirements=ResourceSpec.preset("small")
    )


@pytest.fixture
def pm() -> PluginManager:
    """The installed plugins (DuckDB) plus a fake ``fakepg`` compute type with credentials."""
    manager = PluginManager(strict=False)
    manager.register(_fake_pg(), name="fakepg")
    return manager
