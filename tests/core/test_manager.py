"""Dispatch by compute type, explicit registration, blocking and the typed façade."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import attrs
import pytest

from floe_hooks import (
    CatalogConfig,
    ComputeConfig,
    ConnectionResult,
    PluginConflictError,
    PluginContractError,
    PluginError,
    PluginLoadError,
    PluginManager,
    PluginMetadata,
    ResourceSpec,
    SqlStatement,
    UnknownComputeTypeError,
    get_plugin_manager,
    hookimpl,
)
from floe_hooks.testing import make_plugin


def engine(name: str, calls: list[str] | None = None, **options: Any) -> ModuleType:
    """A plugin serving compute type ``name`` whose hooks append to ``calls``.

    Built with :func:`make_plugin` (API 1.0); ``options`` are its other keywords, and a
    hook given there replaces the recording one.
    """
    record = calls if calls is not None else []

    def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
        record.append(f"generate_profile:{compute.name}")
        return {"type": name}

    def validate_connection(compute: ComputeConfig, timeout: float) -> ConnectionResult:
        record.append(f"validate_connection:{timeout}")
        return ConnectionResult(status="degraded", latency_ms=2.0, warnings=["w"])

    def resource_requirements(compute: ComputeConfig) -> ResourceSpec:
        record.append("resource_requirements")
        return ResourceSpec.resolve(compute.resources)

    hooks: dict[str, Any] = {
        "api": "1.0",
        "generate_profile": generate_profile,
        "validate_connection": validate_connection,
        "resource_requirements": resource_requirements,
    }
    return make_plugin(name, **{**hooks, **options})


def test_a_class_instance_is_a_plugin_too(empty_pm: PluginManager) -> None:
    class Engine:  # hand-written: the test is about a plugin that is an object of a class
        def __init__(self) -> None:
            self.calls: list[str] = []

        @hookimpl
        def plugin_metadata(self) -> PluginMetadata:
            return PluginMetadata(
                name="alpha", version="1.0", floe_api_version="1.0", compute_types=("alpha",)
            )

        @hookimpl
        def generate_profile(self, compute: ComputeConfig) -> dict[str, Any]:
            self.calls.append(f"generate_profile:{compute.name}")
            return {"type": "alpha"}

        @hookimpl
        def validate_connection(self, timeout: float) -> ConnectionResult:
            self.calls.append(f"validate_connection:{timeout}")
            return ConnectionResult(status="healthy", latency_ms=1.0)

        @hookimpl
        def resource_requirements(self, compute: ComputeConfig) -> ResourceSpec:
            return ResourceSpec.resolve(compute.resources)

    plugin = Engine()
    assert empty_pm.register(plugin).name == "alpha"
    compute = ComputeConfig(name="x", type="alpha")
    assert empty_pm.generate_profile(compute) == {"type": "alpha"}
    assert empty_pm.validate_connection(compute, timeout=1.5).ok
    assert plugin.calls == ["generate_profile:x", "validate_connection:1.5"]


def test_a_capability_runs_only_the_owning_plugin(empty_pm: PluginManager) -> None:
    a_calls: list[str] = []
    b_calls: list[str] = []
    empty_pm.register(engine("alpha", a_calls))
    empty_pm.register(engine("beta", b_calls))
    assert empty_pm.generate_profile(ComputeConfig(name="x", type="beta")) == {"type": "beta"}
    assert a_calls == []
    assert b_calls == ["generate_profile:x"]


def test_every_capability_goes_through_the_typed_facade(empty_pm: PluginManager) -> None:
    calls: list[str] = []
    empty_pm.register(engine("alpha", calls))
    compute = ComputeConfig(name="x", type="alpha", resources="large")
    result = empty_pm.validate_connection(compute, timeout=1.5)
    assert (result.status.value, result.compute, result.warnings) == ("degraded", "x", ("w",))
    assert empty_pm.resource_requirements(compute) == ResourceSpec.preset("large")
    assert calls == ["validate_connection:1.5", "resource_requirements"]


def test_missing_optional_hook_is_a_contract_error(empty_pm: PluginManager) -> None:
    empty_pm.register(engine("alpha"))
    with pytest.raises(
        PluginContractError, match="does not implement the optional hook 'catalog_attachment_sql'"
    ):
        empty_pm.catalog_attachment_sql(
            ComputeConfig(name="x", type="alpha"), CatalogConfig(name="lake", uri="http://c")
        )


def test_optional_hook_is_dispatched_when_implemented(empty_pm: PluginManager) -> None:
    def catalog_attachment_sql(catalog: CatalogConfig) -> list[SqlStatement]:
        return [SqlStatement(f"ATTACH '{catalog.uri}'")]

    empty_pm.register(engine("alpha", catalog_attachment_sql=catalog_attachment_sql))
    sql = empty_pm.catalog_attachment_sql(
        ComputeConfig(name="x", type="alpha"), CatalogConfig(name="l", uri="u")
    )
    assert sql == [SqlStatement("ATTACH 'u'")]


def test_unknown_compute_type_names_the_installed_ones(empty_pm: PluginManager) -> None:
    empty_pm.register(engine("alpha"))
    with pytest.raises(UnknownComputeTypeError) as info:
        empty_pm.generate_profile(ComputeConfig(name="x", type="spark"))
    assert str(info.value).startswith("no installed compute plugin serves type 'spark' (installed: alpha)")
    assert "pip install floe-compute-spark" in str(info.value)


def test_registering_a_second_owner_of_a_type_is_refused(empty_pm: PluginManager) -> None:
    empty_pm.register(engine("alpha"))
    with pytest.raises(PluginConflictError, match="compute type 'alpha' is already served by plugin 'alpha'"):
        empty_pm.register(engine("alpha2", types=("alpha",)))
    assert [p.name for p in empty_pm.plugins] == ["alpha"]


def test_explicit_registration_of_an_invalid_plugin_raises(empty_pm: PluginManager) -> None:
    with pytest.raises(PluginLoadError, match="written for floe API 3.0"):
        empty_pm.register(engine("alpha", api="3.0"))
    assert empty_pm.plugins == []
    assert empty_pm.compute_types == []


def test_block_unloads_and_prevents_registration(empty_pm: PluginManager) -> None:
    empty_pm.register(engine("alpha"))
    empty_pm.block("alpha")
    assert empty_pm.compute_types == []
    with pytest.raises(PluginLoadError, match="blocked"):
        empty_pm.register(engine("alpha"))


def test_unregister_then_register_rebuilds_dispatch(empty_pm: PluginManager) -> None:
    first: list[str] = []
    second: list[str] = []
    empty_pm.register(engine("alpha", first))
    compute = ComputeConfig(name="x", type="alpha")
    empty_pm.generate_profile(compute)
    empty_pm.unregister("alpha")
    empty_pm.register(engine("alpha", second))
    empty_pm.generate_profile(compute)
    assert (len(first), len(second)) == (1, 1)


def test_an_exception_in_a_hook_names_the_plugin(empty_pm: PluginManager) -> None:
    def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
        raise KeyError("host")

    empty_pm.register(engine("alpha", generate_profile=generate_profile))
    with pytest.raises(PluginError) as info:
        empty_pm.generate_profile(ComputeConfig(name="x", type="alpha"))
    assert str(info.value) == "plugin 'alpha': generate_profile raised KeyError: 'host'"


def test_host_hook_wrappers_see_every_dispatched_call(empty_pm: PluginManager) -> None:
    seen: list[str] = []

    class Tracer:
        @hookimpl(wrapper=True)
        def generate_profile(self, compute: ComputeConfig) -> Any:
            seen.append(compute.name)
            return (yield)

    empty_pm.register(engine("alpha"))
    empty_pm.pluggy.register(Tracer(), name="host-tracer")
    assert empty_pm.generate_profile(ComputeConfig(name="x", type="alpha")) == {"type": "alpha"}
    assert seen == ["x"]


def test_the_default_manager_discovers_the_duckdb_reference_plugin() -> None:
    pm = get_plugin_manager()
    info = pm.plugin_for("duckdb")
    assert (info.name, info.distribution) == ("duckdb", "floe-hooks")
    assert info.metadata.config_class is not None
    assert pm is get_plugin_manager()


def test_make_plugin_builds_a_module_of_hookimpls(empty_pm: PluginManager) -> None:
    plugin = make_plugin(
        "inline",
        version="0",
        generate_profile=lambda compute: {"type": "inline", "name": compute.name},
        validate_connection=ConnectionResult(status="degraded", latency_ms=0),  # a value: returned as is
        resource_requirements=ResourceSpec.preset("medium"),
    )
    info = empty_pm.register(plugin)
    assert (info.name, info.metadata.version, info.hooks) == ("inline", "0", hookspecs_required())
    compute = ComputeConfig(name="i", type="inline")
    assert empty_pm.generate_profile(compute) == {"type": "inline", "name": "i"}
    assert empty_pm.validate_connection(compute).status.value == "degraded"
    assert empty_pm.resource_requirements(compute) == ResourceSpec.preset("medium")
    without = make_plugin("partial", resource_requirements=None)
    with pytest.raises(PluginLoadError, match="missing required hook 'resource_requirements'"):
        empty_pm.register(without)


def test_make_plugin_sets_every_metadata_field_and_takes_any_hook(empty_pm: PluginManager) -> None:
    plugin = make_plugin(
        "lake",
        types=("lake", "pond"),
        version="2.0",
        api="1.0",
        config_class="floe_duckdb.config:DuckDBConfig",
        dbt_adapter="dbt-duckdb>=1.9",
        description="a lake for tests",
        exclusive_resources=["file:lake.db"],  # an optional hook, given as a value
    )
    info = empty_pm.register(plugin)
    assert info.metadata == PluginMetadata(
        name="lake",
        version="2.0",
        floe_api_version="1.0",
        compute_types=("lake", "pond"),
        description="a lake for tests",
        dbt_adapter="dbt-duckdb>=1.9",
        config_class="floe_duckdb.config:DuckDBConfig",
    )
    assert "exclusive_resources" in info.hooks
    assert empty_pm.exclusive_resources(ComputeConfig(name="p", type="pond")) == ["file:lake.db"]
    assert make_plugin("plain").plugin_metadata().description == ""


def test_make_plugin_takes_a_bound_method_as_a_hook(empty_pm: PluginManager) -> None:
    class Driver:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def profile(self, compute: ComputeConfig) -> dict[str, Any]:
            self.seen.append(compute.name)
            return {"type": "lake", "db": compute.name}

    driver = Driver()
    empty_pm.register(make_plugin("lake", generate_profile=driver.profile))
    assert empty_pm.generate_profile(ComputeConfig(name="w", type="lake")) == {"type": "lake", "db": "w"}
    assert driver.seen == ["w"]
    assert not hasattr(Driver.profile, "floe_impl")  # the class's function is left unmarked


def hookspecs_required() -> tuple[str, ...]:
    from floe_hooks import hookspecs

    return tuple(sorted(hookspecs.REQUIRED_HOOKS))


def test_an_unhashable_plugin_object_is_refused_at_registration(empty_pm: PluginManager) -> None:
    import types

    namespace = types.SimpleNamespace(plugin_metadata=engine("alpha").plugin_metadata)
    with pytest.raises(PluginLoadError, match=r"a plugin must be hashable \(a module or a class instance\)"):
        empty_pm.register(namespace, name="ns")
    assert empty_pm.plugins == []


@pytest.mark.parametrize(
    "mutation",
    [
        lambda config: config.settings.__setitem__("added", True),
        lambda config: config.settings.update(added=True),
        lambda config: config.settings.pop("a"),
        lambda config: config.nested[0].options.clear(),
        lambda config: config.items.append(3),
    ],
    ids=["setitem", "update", "pop", "nested-clear", "list-append"],
)
def test_a_plugin_cannot_mutate_a_typed_config(empty_pm: PluginManager, mutation: Any) -> None:
    @attrs.frozen
    class Nested:
        options: dict[str, Any]

    @attrs.frozen
    class Config:
        settings: dict[str, Any]
        nested: tuple[Nested, ...]
        items: list[int] = attrs.field(factory=lambda: [1, 2])
        name: str = "x"

    def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
        mutation(compute.config)
        return {"type": "alpha"}

    empty_pm.register(engine("alpha", generate_profile=generate_profile))
    config = Config(settings={"a": 1}, nested=(Nested(options={"k": "clean"}),))
    compute = ComputeConfig(name="x", type="alpha", config=config)
    with pytest.raises(
        PluginError,
        match=r"generate_profile raised (TypeError: a structured config is read-only|AttributeError)",
    ):
        empty_pm.generate_profile(compute)
    assert compute.config == Config(settings={"a": 1}, nested=(Nested(options={"k": "clean"}),), items=(1, 2))
    assert compute.config.items == (1, 2)
    assert compute.config is config  # frozen in place, never copied: a call costs no copy


def test_a_plugin_cannot_mutate_credentials_or_an_untyped_config(empty_pm: PluginManager) -> None:
    def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
        for attempt in (
            lambda: compute.config["nested"].__setitem__("path", "mutated"),
            lambda: compute.config["list"].append(1),
            lambda: compute.credentials.__setitem__("password", "hunter2"),
        ):
            with pytest.raises((TypeError, AttributeError)):
                attempt()
        return {"type": "alpha"}

    empty_pm.register(engine("alpha", generate_profile=generate_profile))
    compute = ComputeConfig(name="x", type="alpha", config={"nested": {"path": "clean"}, "list": []})
    assert empty_pm.generate_profile(compute) == {"type": "alpha"}
    assert compute.config == {"nested": {"path": "clean"}, "list": ()}
    assert dict(compute.credentials) == {}


def test_a_config_class_given_as_a_path_is_imported_on_first_use(empty_pm: PluginManager) -> None:
    empty_pm.register(engine("lazy", version="1", config_class="floe_duckdb.config:DuckDBConfig"))
    from floe_duckdb.config import DuckDBConfig

    assert empty_pm.config_class("lazy") is DuckDBConfig
    assert empty_pm.plugin_for("lazy").metadata == attrs.evolve(
        empty_pm.plugin_for("lazy").metadata, config_class=DuckDBConfig
    )


def test_a_config_class_path_that_does_not_load_names_the_plugin(empty_pm: PluginManager) -> None:
    empty_pm.register(engine("broken", version="1", config_class="floe_duckdb.config:NoSuchClass"))
    with pytest.raises(PluginContractError) as info:
        empty_pm.config_class("broken")
    assert str(info.value) == (
        "plugin 'broken': config_class 'floe_duckdb.config:NoSuchClass' cannot be loaded: "
        "TypeError: 'floe_duckdb.config:NoSuchClass' does not name an attrs class"
    )


@pytest.mark.parametrize("named", [True, False], ids=["named", "unnamed"])
def test_register_asks_plugin_metadata_once_in_a_bounded_thread(empty_pm: PluginManager, named: bool) -> None:
    import threading

    calls: list[str] = []

    def plugin_metadata() -> PluginMetadata:
        calls.append(threading.current_thread().name)
        return PluginMetadata(name="counted", version="1", floe_api_version="1.0", compute_types=("counted",))

    plugin = make_plugin("counted", plugin_metadata=plugin_metadata)
    info = empty_pm.register(plugin, name="counted" if named else None)
    assert info.name == "counted"
    assert empty_pm.plugin_for("counted") is info
    assert empty_pm.generate_profile(ComputeConfig(name="c", type="counted")) == {"type": "counted"}
    assert len(calls) == 1
    assert calls[0].startswith("floe-metadata-")  # not the caller's thread: bounded by the import timeout


def test_register_bounds_a_hanging_plugin_metadata() -> None:
    import threading

    release = threading.Event()
    pm = PluginManager(autoload=False, strict=False, import_timeout=0.2)
    plugin = make_plugin("hung", plugin_metadata=lambda: release.wait(30))
    try:
        with pytest.raises(PluginLoadError, match=r"plugin_metadata did not return within 0.2 s"):
            pm.register(plugin, name="hung")
    finally:
        release.set()
    assert pm.plugins == []
