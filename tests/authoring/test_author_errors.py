"""The errors a plugin author meets, each with its exact text, and the facts errors carry."""

from __future__ import annotations

import inspect
import textwrap
import types
from pathlib import Path
from typing import Any

import attrs
import pytest

import floe_hooks
from floe_hooks import (
    ComputeConnectionError,
    ComputeTimeoutError,
    ConfigError,
    ConnectionResult,
    FloeError,
    PluginContractError,
    PluginError,
    PluginManager,
    ResourceSpec,
)
from floe_hooks import errors as errors_module
from floe_hooks.cli import main
from floe_hooks.compile import compile_file
from floe_hooks.manifest import load_manifest
from floe_hooks.testing import make_plugin


@attrs.frozen
class SQLiteConfig:
    """A config with a required field.

    :ivar path: the database file.
    """

    path: str
    schema: str = "main"


def sqlite_plugin(threads: Any = None) -> types.ModuleType:
    """A module plugin serving ``sqlite``; its profile hard-codes ``threads`` when given."""

    def generate_profile(compute: Any) -> dict[str, Any]:
        return {"type": "sqlite", "threads": compute.threads or 1 if threads is None else threads}

    return make_plugin(
        "sqlite",
        version="0.1.0",
        api="1.0",
        description="SQLite",
        dbt_adapter="dbt-sqlite>=1.10",
        config_class=SQLiteConfig,
        generate_profile=generate_profile,
        validate_connection=ConnectionResult("healthy", 0.0),
        resource_requirements=ResourceSpec.preset("small"),
    )


@pytest.fixture
def manager() -> PluginManager:
    manager = PluginManager(autoload=False, strict=True)
    manager.register(sqlite_plugin())
    return manager


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


# ---------------------------------------------------------------------- a missing config: block


@pytest.mark.parametrize(
    "approved",
    ["- sqlite", "- {name: local, type: sqlite}", "- {name: local, type: sqlite, config: {schema: x}}"],
)
def test_a_missing_required_config_field_is_named_with_its_path(
    tmp_path: Path, manager: PluginManager, approved: str
) -> None:
    manifest = write(tmp_path, "manifest.yaml", f"version: 1\ncompute:\n  approved:\n    {approved}\n")
    with pytest.raises(ConfigError) as caught:
        load_manifest(manifest, manager=manager)
    assert str(caught.value) == f"{manifest}: compute.approved[0].config.path: required field is missing"
    assert caught.value.path == "compute.approved[0].config.path"


def test_every_problem_is_listed_on_the_error(tmp_path: Path, manager: PluginManager) -> None:
    manifest = write(
        tmp_path,
        "manifest.yaml",
        """
        version: 1
        compute:
          approved:
            - {name: local, type: sqlite, config: {path: 3, schema: 4}}
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_manifest(manifest, manager=manager)
    assert caught.value.problems == (
        ("compute.approved[0].config.path", "expected a string, got an integer"),
        ("compute.approved[0].config.schema", "expected a string, got an integer"),
    )


# ---------------------------------------------------------------------- one wording for type errors


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", "expected a string, got an integer"),
        ("3.5", "expected a string, got a number"),
        ("true", "expected a string, got a boolean"),
        ("[a]", "expected a string, got a list"),
        ("{a: 1}", "expected a string, got a mapping"),
        ("null", "expected a string, got null"),
    ],
)
def test_type_errors_say_expected_x_got_y(
    tmp_path: Path, manager: PluginManager, value: str, expected: str
) -> None:
    manifest = write(
        tmp_path,
        "manifest.yaml",
        f"version: 1\ncompute:\n  approved:\n    - {{name: l, type: sqlite, config: {{path: {value}}}}}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_manifest(manifest, manager=manager)
    assert caught.value.message == expected


def test_a_compute_item_of_the_wrong_kind_uses_the_same_wording(
    tmp_path: Path, manager: PluginManager
) -> None:
    manifest = write(tmp_path, "manifest.yaml", "version: 1\ncompute:\n  approved:\n    - 7\n")
    with pytest.raises(ConfigError) as caught:
        load_manifest(manifest, manager=manager)
    assert caught.value.message == "expected a compute name or a mapping, got an integer"


def test_a_quantity_of_the_wrong_kind_uses_the_same_wording() -> None:
    expected = r"^cpu_request: expected a Kubernetes quantity string, got an integer$"
    with pytest.raises(ValueError, match=expected):
        ResourceSpec(cpu_request=1, cpu_limit="2", memory_request="1Gi", memory_limit="1Gi")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- compute-level settings win

THREADS_4 = (
    "version: 1\ncompute:\n  approved:\n    - {name: local, type: sqlite, threads: 4, config: {path: a.db}}\n"
)


def test_a_profile_that_overrides_the_computes_threads_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], floe_no_autoload: PluginManager
) -> None:
    floe_no_autoload.register(sqlite_plugin(threads=1))
    write(
        tmp_path,
        "manifest.yaml",
        THREADS_4,
    )
    (tmp_path / "models" / "marts").mkdir(parents=True)
    floe_yaml = write(
        tmp_path,
        "floe.yaml",
        "name: analytics\nplatform: manifest.yaml\ntransforms:\n  - {name: m, path: models/marts}\n",
    )
    assert main(["compile", str(floe_yaml)]) == 1
    assert capsys.readouterr().err == (
        "floe: error: plugin 'sqlite': generate_profile for compute 'local': the profile's threads is 1, "
        "but the compute sets threads: 4; compute-level settings win: write compute.threads into the "
        "profile\n"
    )
    assert not (tmp_path / "target").exists()


def test_a_profile_that_carries_the_computes_threads_compiles(tmp_path: Path, manager: PluginManager) -> None:
    write(
        tmp_path,
        "manifest.yaml",
        THREADS_4,
    )
    (tmp_path / "models" / "marts").mkdir(parents=True)
    floe_yaml = write(
        tmp_path,
        "floe.yaml",
        "name: analytics\nplatform: manifest.yaml\ntransforms:\n  - {name: m, path: models/marts}\n",
    )
    project = compile_file(floe_yaml, manager=manager)
    assert project.computes[0].profile["threads"] == 4


# ---------------------------------------------------------------------- errors carry their facts


def test_a_hook_timeout_is_a_compute_timeout_error_with_its_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    release = threading.Event()

    def generate_profile() -> dict[str, Any]:
        release.wait(5)
        return {"type": "slow"}

    from floe_hooks.manager import run_with_hook_deadline
    from floe_hooks.testing import make_compute

    manager = PluginManager(autoload=False, strict=True)
    manager.register(make_plugin("slow", version="1", api="1.0", generate_profile=generate_profile))
    compute = make_compute(manager, "slow")
    try:
        with pytest.raises(ComputeTimeoutError) as caught:
            run_with_hook_deadline(lambda: manager.generate_profile(compute), 0.2)
    finally:
        release.set()
    error = caught.value
    assert (error.plugin, error.hook, error.timeout) == ("slow", "generate_profile", 0.2)
    assert isinstance(error, PluginError)
    assert isinstance(error, ComputeConnectionError)
    assert str(error) == "plugin 'slow': generate_profile did not return within 0.2 s"


def test_a_plugin_error_keeps_the_plugins_exception_as_its_cause() -> None:
    def generate_profile() -> dict[str, Any]:
        raise KeyError("host")

    from floe_hooks.testing import make_compute

    manager = PluginManager(autoload=False, strict=True)
    manager.register(make_plugin("boom", version="1", api="1.0", generate_profile=generate_profile))
    with pytest.raises(PluginError) as caught:
        manager.generate_profile(make_compute(manager, "boom"))
    assert isinstance(caught.value.cause, KeyError)
    assert caught.value.plugin == "boom"


def test_every_exported_error_class_is_raised_somewhere() -> None:
    """An exported class nobody raises (itself or through a subclass) is dead API."""
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in Path(floe_hooks.__file__).parent.rglob("*.py")
        if path.name != "errors.py"
    )
    raised = {
        name
        for name in errors_module.__all__
        if f"raise {name}(" in source
        or f"{name}(\n" in source
        or f"error({name}," in source
        or f"({name}," in source
        or f"raise {name}" in source
    }
    classes = {name: getattr(errors_module, name) for name in errors_module.__all__}
    unused = [
        name
        for name, cls in classes.items()
        if name not in raised
        and not any(issubclass(other, cls) for o, other in classes.items() if o in raised)
    ]
    assert unused == []


def test_the_error_types_telemetry_reports_are_floe_error_classes() -> None:
    from floe_hooks import telemetry

    for name in (telemetry.TIMEOUT_ERROR, telemetry.CONNECTION_ERROR):
        assert inspect.isclass(getattr(floe_hooks, name)), name
        assert issubclass(getattr(floe_hooks, name), FloeError)


def test_contract_errors_name_the_plugin_and_distribution() -> None:
    error = PluginContractError("bad", plugin="p", distribution="floe-compute-p", version="1.2")
    assert (error.plugin, error.distribution, error.version, error.cause) == (
        "p",
        "floe-compute-p",
        "1.2",
        None,
    )
    assert str(error) == "plugin 'p' (from floe-compute-p 1.2): bad"
