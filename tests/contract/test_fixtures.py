"""The floe_* fixtures the pytest11 plugin adds to every test run, used from a plain test file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# hand-written Inline class: a plain test file that must not import floe_hooks.testing
USES_FIXTURES = """
import attrs
import pytest

from floe_hooks import (
    ConnectionResult, PluginManager, PluginMetadata, ResourceSpec, get_plugin_manager, hookimpl
)
from floe_hooks.compile import compile_file


class Inline:
    @hookimpl
    def plugin_metadata(self):
        return PluginMetadata(name="inline", version="0", floe_api_version="1.0", compute_types=("inline",))

    @hookimpl
    def generate_profile(self, compute):
        return {"type": "inline", "threads": compute.threads or 1}

    @hookimpl
    def validate_connection(self, compute):
        return ConnectionResult("healthy", 0.0)

    @hookimpl
    def resource_requirements(self, compute):
        return ResourceSpec.preset("small")


def test_fresh_manager_sees_nothing_installed(floe_plugin_manager):
    assert isinstance(floe_plugin_manager, PluginManager)
    assert floe_plugin_manager.plugins == []
    assert floe_plugin_manager.failures == []


def test_autoload_off_for_the_process_wide_manager(floe_no_autoload):
    assert get_plugin_manager() is floe_no_autoload
    assert "duckdb" not in get_plugin_manager().compute_types


def test_register_inline_plugin_and_compile_with_it(floe_no_autoload, floe_register, tmp_path):
    info = floe_register(Inline())
    assert info.name == "inline"
    (tmp_path / "manifest.yaml").write_text(
        "version: 1\\ncompute:\\n  default: box\\n"
        "  approved:\\n    - {name: box, type: inline, threads: 3}\\n"
    )
    (tmp_path / "floe.yaml").write_text(
        "name: demo\\nplatform: manifest.yaml\\ntransforms:\\n  - {name: all, path: models}\\n"
    )
    compile_file(tmp_path / "floe.yaml")
    assert "type: inline" in (tmp_path / "target/floe/profiles.yml").read_text()


def test_registration_ended_with_the_previous_test():
    assert "inline" not in get_plugin_manager().compute_types
    assert "duckdb" in get_plugin_manager().compute_types


def test_register_in_the_default_manager(floe_register):
    floe_register(Inline())
    assert get_plugin_manager().plugin_for("inline").name == "inline"
    assert "duckdb" in get_plugin_manager().compute_types


def test_and_removed_again():
    assert "inline" not in get_plugin_manager().compute_types
"""


def test_fixtures_work_in_a_plain_test_run(tmp_path: Path) -> None:
    """No conftest, no import of floe_hooks.testing: the entry point provides the fixtures."""
    (tmp_path / "test_uses_fixtures.py").write_text(USES_FIXTURES)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b6 passed\b", result.stdout), result.stdout


def test_the_plugin_adds_no_autouse_fixture(tmp_path: Path) -> None:
    """Loaded into every pytest run, the plugin must not change tests that do not ask for it."""
    (tmp_path / "test_plain.py").write_text(
        "def test_nothing(request):\n    print(sorted(request.fixturenames))\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-q", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "['request']" in result.stdout
    fixtures = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--fixtures", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    ).stdout
    assert "floe_plugin_manager" in fixtures
    assert "floe_no_autoload" in fixtures
    assert "floe_register" in fixtures
