"""The contract suite itself: it passes a good plugin and catches each kind of broken one.

Every plugin variant below is written to a temporary folder with a ten-line test
module subclassing ComputePluginContract, and one nested pytest run executes them
all; the JUnit report then says which check failed for which plugin.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

# hand-written: a plugin file on disk, one defect at a time made by replacing its text
GOOD = """
import time
import attrs
from floe_hooks import (ConnectionResult, ConnectionStatus, PluginMetadata, ResourceSpec,
                        hookimpl, profile_secret)

@attrs.frozen
class Config:
    host: str
    port: int = 1

@hookimpl
def plugin_metadata():
    return PluginMetadata(name="{name}", version="1.0.0", floe_api_version="1.0",
                          compute_types=("{name}",), description="a test engine",
                          dbt_adapter="dbt-{name}>=1.0", config_class=Config)

@hookimpl
def generate_profile(compute):
    return {{"type": "{name}", "host": compute.config.host,
             "password": profile_secret(compute, "password")}}

@hookimpl
def validate_connection(compute, timeout, secrets):
    return ConnectionResult(ConnectionStatus.UNHEALTHY, 1.0, message="nothing listens there")

@hookimpl
def resource_requirements(compute):
    return ResourceSpec.resolve(compute.resources, default="small")
"""

# name -> (replace this text of GOOD, with that)
DEFECTS: dict[str, tuple[str, str]] = {
    "good": ("", ""),
    "inlines_secret": (
        '"password": profile_secret(compute, "password")',
        '"password": __import__("os").environ["ENGINE_PASSWORD"]',
    ),
    "ignores_timeout": (
        "    return ConnectionResult(ConnectionStatus.UNHEALTHY, 1.0,",
        "    time.sleep(timeout * 10)\n    return ConnectionResult(ConnectionStatus.UNHEALTHY, 1.0,",
    ),
    "echoes_secret": (
        'message="nothing listens there"',
        'message="bad password " + secrets["password"].reveal()',
    ),
    "private_import": ("import attrs\n", "import attrs\nfrom floe_hooks.secrets import MASK\n"),
    "unknown_argument": ("def generate_profile(compute):", "def generate_profile(compute, target):"),
    "no_type": ('{{"type": "{name}", ', "{{"),
    "newer_api": ('floe_api_version="1.0"', 'floe_api_version="1.99"'),
    "no_description": ('description="a test engine"', 'description=""'),
    "drops_explicit_resources": (
        'ResourceSpec.resolve(compute.resources, default="small")',
        'ResourceSpec.preset("small")',
    ),
    "healthy_when_broken": ("ConnectionStatus.UNHEALTHY", "ConnectionStatus.HEALTHY"),
    "mutable_config": ("@attrs.frozen", "@attrs.define"),
}

TEST_MODULE = """
import {module}
from floe_hooks.testing import ComputePluginContract

class TestContract(ComputePluginContract):
    plugin = {module}
    compute_type = "{name}"
    sample_config = {{"host": "db.example"}}
    broken_config = {{"host": "127.0.0.1"}}
    credentials = {{"password": {{"env": "ENGINE_PASSWORD"}}}}
    timeout = 0.2
    timeout_grace = 0.8
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """variant -> {check name: "passed" | "failed" | "error"}."""
    root = tmp_path_factory.mktemp("contract")
    for index, (variant, (old, new)) in enumerate(DEFECTS.items()):
        name = f"engine{index}"
        source = GOOD.format(name=name)
        if old:
            old_text = old.format(name=name) if "{name}" in old else old.replace("{{", "{")
            new_text = new.replace("{{", "{")
            assert old_text in source, (variant, old_text)
            source = source.replace(old_text, new_text)
        (root / f"plugin_{variant}.py").write_text(source)
        (root / f"test_{variant}.py").write_text(TEST_MODULE.format(module=f"plugin_{variant}", name=name))
    report = root / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", str(root), "-p", "no:cacheprovider", "-q", f"--junitxml={report}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "", "PYTHONPATH": str(root), "ENGINE_PASSWORD": "from-the-environment-123"},
    )
    results: dict[str, dict[str, str]] = {variant: {} for variant in DEFECTS}
    for case in ET.parse(report).getroot().iter("testcase"):
        variant = case.attrib["classname"].split(".")[0].removeprefix("test_")
        check = case.attrib["name"]
        status = "passed"
        if case.find("failure") is not None:
            status = "failed"
        elif case.find("error") is not None:
            status = "error"
        results[variant][check] = status
    return results


def failed(outcomes: dict[str, dict[str, str]], variant: str) -> set[str]:
    return {check.split("[")[0] for check, status in outcomes[variant].items() if status != "passed"}


def test_a_good_plugin_passes_every_check(outcomes: dict[str, dict[str, str]]) -> None:
    assert len(outcomes["good"]) >= 18
    assert failed(outcomes, "good") == set()


@pytest.mark.parametrize(
    ("variant", "check"),
    [
        ("inlines_secret", "test_profile_holds_no_plaintext_secret"),
        ("ignores_timeout", "test_broken_config_is_unhealthy_within_the_timeout"),
        ("echoes_secret", "test_no_health_check_output_holds_a_canary_secret"),
        ("private_import", "test_imports_only_the_public_floe_hooks_api"),
        ("unknown_argument", "test_registers_cleanly_with_pluggy"),
        ("no_type", "test_profile_has_a_string_type"),
        ("newer_api", "test_api_version_is_compatible"),
        ("no_description", "test_metadata_is_complete"),
        ("drops_explicit_resources", "test_explicit_resources_are_honoured"),
        ("healthy_when_broken", "test_broken_config_is_unhealthy_within_the_timeout"),
        ("mutable_config", "test_config_class_is_a_frozen_attrs_class"),
    ],
)
def test_each_defect_is_caught_by_its_check(
    outcomes: dict[str, dict[str, str]], variant: str, check: str
) -> None:
    assert check in failed(outcomes, variant), f"{variant}: failed only {sorted(failed(outcomes, variant))}"


def test_a_narrow_defect_fails_only_its_own_checks(outcomes: dict[str, dict[str, str]]) -> None:
    assert failed(outcomes, "no_description") == {"test_metadata_is_complete"}
    assert failed(outcomes, "private_import") == {"test_imports_only_the_public_floe_hooks_api"}
    assert failed(outcomes, "inlines_secret") == {"test_profile_holds_no_plaintext_secret"}
    assert failed(outcomes, "echoes_secret") == {"test_no_health_check_output_holds_a_canary_secret"}


def test_a_gate_defect_fails_one_check_and_the_rest_depend_on_it(outcomes: dict[str, dict[str, str]]) -> None:
    """A bad hook signature or a mutable config is one failure, not one per check."""
    assert failed(outcomes, "unknown_argument") == {"test_registers_cleanly_with_pluggy"}
    assert failed(outcomes, "mutable_config") == {"test_config_class_is_a_frozen_attrs_class"}


def test_the_good_plugin_source_is_what_the_variants_start_from() -> None:
    assert textwrap.dedent(GOOD).count("@hookimpl") == 4
