"""The one fixture site: plugins installed as real distributions on a temporary path.

A folder that looks like site-packages: a module and a dist-info folder whose
``entry_points.txt`` declares it under ``floe.computes``. An in-process manager sees it
through ``PluginManager(path=site.path)``; a ``floe`` subprocess through ``PYTHONPATH``
(:meth:`Site.floe`). The ``site`` fixtures of ``tests/core`` and ``tests/adversarial`` are this.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

# hand-written: the source of a module on disk, discovered through a real entry point
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


def floe_command() -> list[str]:
    """The installed ``floe`` script of this interpreter's environment (``python -m`` if none)."""
    script = Path(sys.executable).parent / "floe"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "floe_hooks.cli"]


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``floe`` subprocess: this one, no strict mode, no colour, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


class Site:
    """A folder that looks like site-packages, holding fixture distributions."""

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
        """Write ``module.py`` and a dist-info folder declaring ``entry_point = module``.

        The module defaults to ``fixture_<entry_point>`` (forgotten after each test), else
        the distribution's name; the entry point to the module's name.
        """
        module = module or (f"fixture_{entry_point}" if entry_point else dist.replace("-", "_"))
        entry_point = entry_point or module
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n\n")
        (info / "entry_points.txt").write_text(f"[floe.computes]\n{entry_point} = {module}\n")
        return info

    def good(
        self,
        name: str,
        *,
        api: str = "1.0",
        types: tuple[str, ...] | None = None,
        dist: str | None = None,
        version: str = "1.0",
    ) -> None:
        """A well-behaved plugin named ``name`` serving ``types`` (default: its name).

        ``version`` is its distribution's; its metadata always says ``1.0``.
        """
        source = GOOD_PLUGIN.format(name=name, api=api, types=types or (name,))
        self.install(
            dist or f"floe-compute-{name}",
            source,
            module=f"fixture_{name}",
            entry_point=name,
            version=version,
        )

    @property
    def path(self) -> list[str]:
        """A discovery path holding only these distributions."""
        return [str(self.root)]

    def floe(
        self, *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``floe *args`` in ``cwd`` with this site on ``PYTHONPATH``."""
        extra = {"PYTHONPATH": str(self.root), **(env or {})}
        return subprocess.run(
            [*floe_command(), *args],
            cwd=cwd,
            env=environment(extra),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
