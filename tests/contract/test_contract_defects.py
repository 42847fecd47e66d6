"""Each kind of broken file-based plugin fails the contract suite once, with the message to act on.

The plugin is the SQLite compute of docs/writing-plugins.md, written out by pytester
with one defect at a time; its test module subclasses ComputePluginContract with a
``target_config``, so the suite hands it files in a temporary folder of its own.
"""

from __future__ import annotations

import pytest

# hand-written: a plugin file on disk, one defect at a time made by replacing its text
GOOD = """
import contextlib
import pathlib
import sqlite3
import time

import attrs
from floe_hooks import ConnectionResult, ConnectionStatus, PluginMetadata, ResourceSpec, hookimpl


@attrs.frozen
class SQLiteConfig:
    path: str


@hookimpl
def plugin_metadata():
    return PluginMetadata(name="{name}", version="0.1.0", floe_api_version="1.0",
                          compute_types=("{name}",), description="SQLite files",
                          dbt_adapter="dbt-{name}>=1.10", config_class=SQLiteConfig)


@hookimpl
def generate_profile(compute):
    return {{"type": "sqlite", "threads": compute.threads or 1, "database": "database",
             "schema": "main", "schemas_and_paths": {{"main": compute.config.path}},
             "schema_directory": "."}}


@hookimpl
def validate_connection(compute, timeout, secrets):
    uri = pathlib.Path(compute.config.path).resolve().as_uri() + "?mode=ro"
    start = time.perf_counter()
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as conn:
            conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.Error as exc:
        return ConnectionResult(ConnectionStatus.UNHEALTHY, (time.perf_counter() - start) * 1000,
                                message=f"cannot read the database: {{exc}}")
    return ConnectionResult(ConnectionStatus.HEALTHY, (time.perf_counter() - start) * 1000)


@hookimpl
def resource_requirements(compute):
    return ResourceSpec.resolve(compute.resources, default="small")
"""

TEST_MODULE = """
import {module}
from floe_hooks.testing import ComputePluginContract


class TestContract(ComputePluginContract):
    plugin = {module}
    compute_type = "{name}"
    sample_config = {{"path": "warehouse.db"}}
    broken_config = {{"path": "/no/such/folder/warehouse.db"}}
    target_config = {{"path": "{{target}}"}}
    credentials = {{"password": {{"env": "SQLITE_CONTRACT_PASSWORD"}}}}
"""

# name -> (this text of GOOD, replaced by that)
DEFECTS: dict[str, tuple[str, str]] = {
    "reads_nothing": ('"select count(*) from sqlite_master"', '"select sqlite_version()"'),
    "creates_a_file": (
        "sqlite3.connect(uri, uri=True, timeout=timeout)",
        "sqlite3.connect(compute.config.path)",
    ),
    "naive_uri": (
        'pathlib.Path(compute.config.path).resolve().as_uri() + "?mode=ro"',
        'f"file:{{compute.config.path}}?mode=ro"',
    ),
    "echoes_a_secret": (
        'message=f"cannot read the database: {{exc}}"',
        "message=f\"cannot read the database as {{secrets['password'].reveal()}}: {{exc}}\"",
    ),
    "bad_signature": (
        "def validate_connection(compute, timeout, secrets):",
        "def validate_connection(compute, timeout, secrets, retries):",
    ),
    "mutable_config": ("@attrs.frozen", "@attrs.define"),
}

# defect -> (the one failing check, text its message must hold)
EXPECTED: dict[str, tuple[str, str]] = {
    "reads_nothing": (
        "test_a_target_that_is_not_a_database_is_unhealthy",
        "the health check of a file that is not a database answered healthy: read the data "
        "(e.g. the schema catalog), not only the driver's version",
    ),
    "creates_a_file": (
        "test_health_check_of_a_missing_target_creates_nothing",
        "the health check of the missing 'missing.db' created ['missing.db']: open the target "
        "read-only and never create it",
    ),
    "naive_uri": (
        "test_health_check_of_a_missing_target_creates_nothing",
        "the health check of the missing 'what?.db' created ['what']: open the target read-only",
    ),
    "echoes_a_secret": (
        "test_no_health_check_output_holds_a_canary_secret",
        "the health check shows a secret's value (secret 'password' in the result",
    ),
    "bad_signature": (
        "test_registers_cleanly_with_pluggy",
        "the plugin does not register: validate_connection(compute, timeout, secrets, retries) takes "
        "'retries', which the hookspec validate_connection(compute, timeout, secrets) does not offer: "
        "take any of its arguments, by name, and no others",
    ),
    "mutable_config": (
        "test_config_class_is_a_frozen_attrs_class",
        "config_class must be frozen: decorate SQLiteConfig with @attrs.frozen "
        "(floe hands one instance to every hook call)",
    ),
}


def write_plugin(pytester: pytest.Pytester, variant: str) -> None:
    name = f"sqlite_{variant}"
    source = GOOD.format(name=name)
    if variant != "good":
        old, new = DEFECTS[variant]
        old, new = old.replace("{{", "{").replace("}}", "}"), new.replace("{{", "{").replace("}}", "}")
        assert old in source, variant
        source = source.replace(old, new)
    pytester.makepyfile(**{f"plugin_{variant}": source})
    pytester.makepyfile(**{f"test_{variant}": TEST_MODULE.format(module=f"plugin_{variant}", name=name)})
    pytester.syspathinsert()


def test_the_good_file_based_plugin_passes_every_check(pytester: pytest.Pytester) -> None:
    write_plugin(pytester, "good")
    result = pytester.runpytest("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()
    assert outcomes.get("skipped", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= 22


@pytest.mark.parametrize("variant", sorted(DEFECTS))
def test_each_broken_plugin_fails_one_check_with_its_message(pytester: pytest.Pytester, variant: str) -> None:
    write_plugin(pytester, variant)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rfs")
    check, message = EXPECTED[variant]
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1, result.stdout.str()
    assert "errors" not in outcomes, result.stdout.str()
    assert "error" not in outcomes, result.stdout.str()
    result.stdout.fnmatch_lines([f"FAILED test_{variant}.py::TestContract::{check}*"])
    assert message in result.stdout.str(), result.stdout.str()


@pytest.mark.parametrize("variant", ["bad_signature", "mutable_config"])
def test_checks_after_a_failed_gate_say_what_they_depend_on(pytester: pytest.Pytester, variant: str) -> None:
    write_plugin(pytester, variant)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    gate = EXPECTED[variant][0]
    outcomes = result.parseoutcomes()
    assert outcomes["skipped"] >= 10, result.stdout.str()
    skipped = [line for line in result.stdout.lines if line.startswith("SKIPPED")]
    assert skipped, result.stdout.str()
    assert all(line.endswith(f"depends on {gate}, which failed") for line in skipped), skipped
