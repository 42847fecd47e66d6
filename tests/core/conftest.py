"""Fixture distributions: small plugins installed as real dist-info folders on a temporary path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

GOOD_PLUGIN = """
from floe_hooks import hookimpl, PluginMetadata, ConnectionResult, ResourceSpec

@hookimpl
def plugin_metadata():
    return PluginMetadata(name={name!r}, version="1.0", floe_api_version={api!r},
                          compute_types={types!r}, description="fixture")

@hookimpl
def generate_profile(compute):
    return {{"type": {name!r}, "compute": compute.name}}

@hookimpl
def validate_connection(compute, timeout):
    return ConnectionResult(status="healthy", latency_ms=0.1, message={name!r})

@hookimpl
def resource_requirements(compute):
    return ResourceSpec.resolve(compute.resources)
"""


class SitePackages:
    """A directory that looks like site-packages, holding fixture distributions."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def install(
        self,
        dist: str,
        source: str,
        *,
        module: str | None = None,
        entry_point: str | None = None,
        version: str = "1.0",
    ) -> Path:
        """Write ``module.py`` and a dist-info folder declaring ``entry_point = module``."""
        module = module or dist.replace("-", "_")
        entry_point = entry_point or module
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n\n")
        (info / "entry_points.txt").write_text(f"[floe.computes]\n{entry_point} = {module}\n")
        return info

    def good(
        self, name: str, *, api: str = "1.0", types: tuple[str, ...] | None = None, dist: str | None = None
    ) -> None:
        """A well-behaved plugin named ``name`` serving ``types`` (default: its name)."""
        source = GOOD_PLUGIN.format(name=name, api=api, types=types or (name,))
        self.install(dist or f"floe-compute-{name}", source, module=f"fixture_{name}", entry_point=name)

    @property
    def path(self) -> list[str]:
        """A discovery path holding only these distributions."""
        return [str(self.root)]


@pytest.fixture
def site(site_root: Path) -> SitePackages:
    """An empty fixture site-packages, importable for the duration of the test."""
    return SitePackages(site_root)


@pytest.fixture
def inline_plugin() -> Callable[..., object]:
    """Build a plugin object (a namespace of hookimpls) from plain functions."""
    import types

    def make(**functions: object) -> object:
        module = types.ModuleType("inline_plugin")
        for name, function in functions.items():
            setattr(module, name, function)
        return module

    return make
