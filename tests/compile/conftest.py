"""Fixtures for manifest, governance and compile tests: files in a temporary project."""

from __future__ import annotations

import textwrap
import types
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from floe_hooks import (
    FLOE_API_VERSION,
    ConfigError,
    ConnectionResult,
    PluginManager,
    PluginMetadata,
    ResourceSpec,
    hookimpl,
    profile_secret,
)


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
    @hookimpl
    def plugin_metadata() -> PluginMetadata:
        return PluginMetadata(
            name="fakepg",
            version="2.0",
            floe_api_version=FLOE_API_VERSION,
            compute_types=("fakepg",),
            dbt_adapter="dbt-postgres>=1.9",
            config_class=FakePgConfig,
        )

    @hookimpl
    def generate_profile(compute: object) -> dict[str, object]:
        cfg = compute.config  # type: ignore[attr-defined]
        return {
            "type": "postgres",
            "host": cfg.host,
            "port": cfg.port,
            "user": cfg.user,
            "password": profile_secret(compute, "password"),  # type: ignore[arg-type]
            "threads": compute.threads or 2,  # type: ignore[attr-defined]
        }

    @hookimpl
    def validate_connection() -> ConnectionResult:
        return ConnectionResult(status="healthy", latency_ms=0.1)

    @hookimpl
    def resource_requirements() -> ResourceSpec:
        return ResourceSpec.preset("small")

    # a module, like a real plugin (pluggy's subset_hook_caller needs hashable plugins)
    module = types.ModuleType("fixture_fakepg")
    module.plugin_metadata = plugin_metadata  # type: ignore[attr-defined]
    module.generate_profile = generate_profile  # type: ignore[attr-defined]
    module.validate_connection = validate_connection  # type: ignore[attr-defined]
    module.resource_requirements = resource_requirements  # type: ignore[attr-defined]
    return module


@pytest.fixture
def pm() -> PluginManager:
    """The installed plugins (DuckDB) plus a fake ``fakepg`` compute type with credentials."""
    manager = PluginManager(strict=False)
    manager.register(_fake_pg(), name="fakepg")
    return manager
