"""A broken plugin is reported with its entry point, distribution and version; the others keep working."""

from __future__ import annotations

from typing import Any

import pytest

from floe_hooks import (
    ComputeConfig,
    IncompatibleAPIError,
    PluginConflictError,
    PluginContractError,
    PluginLoadError,
    PluginManager,
)


def _failure(pm: PluginManager, name: str):  # type: ignore[no-untyped-def]
    (failure,) = [f for f in pm.failures if f.name == name]
    return failure


def test_good_fixture_distribution_is_discovered_with_its_distribution(site: Any) -> None:
    site.good("alpha")
    pm = PluginManager(path=site.path)
    (info,) = pm.plugins
    assert (info.name, info.distribution, info.distribution_version) == ("alpha", "floe-compute-alpha", "1.0")
    assert pm.compute_types == ["alpha"]
    assert pm.failures == []


def test_import_error_is_recorded_and_others_keep_working(site: Any) -> None:
    site.good("alpha")
    site.install(
        "floe-compute-broken", "import does_not_exist_anywhere\n", entry_point="broken", version="0.3"
    )
    pm = PluginManager(path=site.path)
    failure = _failure(pm, "broken")
    assert (failure.distribution, failure.version, failure.error) == (
        "floe-compute-broken",
        "0.3",
        "PluginLoadError",
    )
    assert "import failed: ModuleNotFoundError: No module named 'does_not_exist_anywhere'" in failure.reason
    assert [p.name for p in pm.plugins] == ["alpha"]
    assert pm.generate_profile(ComputeConfig(name="a", type="alpha"))["type"] == "alpha"


def test_plugin_calling_sys_exit_at_import_does_not_take_the_host_down(site: Any) -> None:
    site.install("floe-compute-exit", "import sys\nsys.exit(3)\n", entry_point="exiter")
    pm = PluginManager(path=site.path)
    assert "SystemExit" in _failure(pm, "exiter").reason


def test_unknown_hook_fails_validation(site: Any) -> None:
    source = site.root / "x.py"
    site.good("alpha")
    text = (site.root / "fixture_alpha.py").read_text()
    site.install(
        "floe-compute-typo",
        text.replace('"alpha"', '"typo"').replace("'alpha'", "'typo'")
        + "\n@hookimpl\ndef generate_profiles(compute):\n    return {}\n",
        entry_point="typo",
    )
    assert not source.exists()
    pm = PluginManager(path=site.path)
    failure = _failure(pm, "typo")
    assert failure.reason.startswith("unknown hook 'generate_profiles'; floe hooks are: plugin_metadata")
    assert pm.compute_types == ["alpha"]


def test_bad_argument_name_fails_pluggy_validation(site: Any) -> None:
    site.install(
        "floe-compute-badargs",
        """
        from floe_hooks import hookimpl
        @hookimpl
        def generate_profile(compute, dialect):
            return {}
        """,
        entry_point="badargs",
    )
    pm = PluginManager(path=site.path)
    reason = _failure(pm, "badargs").reason
    assert reason.startswith("invalid hook implementation")
    assert "dialect" in reason


def test_missing_required_hook_is_a_load_failure(site: Any) -> None:
    # hand-written on disk: the failure must name its entry point and distribution
    site.install(
        "floe-compute-partial",
        """
        from floe_hooks import hookimpl, PluginMetadata
        @hookimpl
        def plugin_metadata():
            return PluginMetadata(
                name="partial", version="1", floe_api_version="1.0", compute_types=("partial",)
            )
        """,
        entry_point="partial",
    )
    pm = PluginManager(path=site.path)
    assert _failure(pm, "partial").reason == (
        "missing required hook 'generate_profile', 'validate_connection', 'resource_requirements'"
    )


@pytest.mark.parametrize(
    ("api", "ok"), [("1.0", True), ("1.1", True), ("1.2", False), ("2.0", False), ("0.9", False)]
)
def test_api_version_compatibility(site: Any, api: str, ok: bool) -> None:
    site.good("alpha", api=api)
    pm = PluginManager(path=site.path)
    if ok:
        assert [p.name for p in pm.plugins] == ["alpha"]
    else:
        failure = _failure(pm, "alpha")
        assert failure.error == "IncompatibleAPIError"
        assert f"written for floe API {api}, this floe-hooks speaks 1.1" in failure.reason


def test_metadata_of_the_wrong_type_is_a_load_failure(site: Any) -> None:
    # hand-written on disk: the failure must name its entry point and distribution
    site.install(
        "floe-compute-dictmeta",
        """
        from floe_hooks import hookimpl
        @hookimpl
        def plugin_metadata():
            return {"name": "dictmeta"}
        @hookimpl
        def generate_profile(compute): return {}
        @hookimpl
        def validate_connection(compute): return None
        @hookimpl
        def resource_requirements(compute): return None
        """,
        entry_point="dictmeta",
    )
    pm = PluginManager(path=site.path)
    assert (
        _failure(pm, "dictmeta").reason == "plugin_metadata returned dict, expected floe_hooks.PluginMetadata"
    )


def test_two_plugins_claiming_one_type_conflict_naming_both_distributions(site: Any) -> None:
    site.good("alpha", types=("shared",), dist="dist-one")
    site.good("beta", types=("shared", "beta"), dist="dist-two")
    pm = PluginManager(path=site.path)
    with pytest.raises(PluginConflictError) as info:
        pm.plugin_for("shared")
    message = str(info.value)
    assert "'alpha' (from dist-one 1.0)" in message
    assert "'beta' (from dist-two 1.0)" in message
    assert {f.name for f in pm.failures} == {"alpha", "beta"}
    # beta's other type keeps working
    assert pm.generate_profile(ComputeConfig(name="b", type="beta"))["type"] == "beta"


def test_wrong_return_type_names_plugin_and_distribution(site: Any) -> None:
    # hand-written on disk: the failure must name its entry point and distribution
    site.install(
        "floe-compute-liar",
        """
        from floe_hooks import hookimpl, PluginMetadata
        @hookimpl
        def plugin_metadata():
            return PluginMetadata(name="liar", version="2", floe_api_version="1.0", compute_types=("liar",))
        @hookimpl
        def generate_profile(compute): return "type: liar"
        @hookimpl
        def validate_connection(compute): return {"status": "healthy"}
        @hookimpl
        def resource_requirements(compute): return {"cpu": "1"}
        """,
        entry_point="liar",
        version="2.5",
    )
    site.good("alpha")
    pm = PluginManager(path=site.path)
    compute = ComputeConfig(name="l", type="liar")
    with pytest.raises(PluginContractError) as info:
        pm.generate_profile(compute)
    assert str(info.value) == (
        "plugin 'liar' (from floe-compute-liar 2.5): generate_profile returned str for compute 'l', "
        "expected a dict with a string 'type'"
    )
    with pytest.raises(PluginContractError, match="validate_connection returned dict"):
        pm.validate_connection(compute)
    with pytest.raises(PluginContractError, match="resource_requirements returned dict"):
        pm.resource_requirements(compute)
    assert pm.validate_connection(ComputeConfig(name="a", type="alpha")).ok


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_strict_mode_from_environment_makes_failures_fatal(
    site: Any, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    site.good("alpha", api="9.0")
    monkeypatch.setenv("FLOE_STRICT_PLUGINS", value)
    pm = PluginManager(path=site.path)
    with pytest.raises(IncompatibleAPIError) as info:
        pm.load()
    assert str(info.value).startswith(
        "plugin 'alpha' (from floe-compute-alpha 1.0): written for floe API 9.0"
    )


def test_strict_mode_on_import_error_and_conflict(site: Any) -> None:
    site.install("floe-compute-broken", "raise RuntimeError('boom')\n", entry_point="broken")
    with pytest.raises(PluginLoadError, match=r"import failed: RuntimeError: boom"):
        PluginManager(path=site.path, strict=True).load()


def test_strict_mode_on_conflict(site: Any) -> None:
    site.good("alpha", types=("shared",))
    site.good("beta", types=("shared",))
    with pytest.raises(PluginConflictError, match="claimed by 'alpha'"):
        PluginManager(path=site.path, strict=True).load()


def test_non_strict_default_does_not_raise(site: Any) -> None:
    site.install("floe-compute-broken", "raise RuntimeError('boom')\n", entry_point="broken")
    pm = PluginManager(path=site.path)
    assert pm.plugins == []
    assert len(pm.failures) == 1


def test_blocked_entry_point_is_never_imported(site: Any) -> None:
    site.install("floe-compute-bomb", "raise RuntimeError('imported!')\n", entry_point="bomb")
    site.good("alpha")
    pm = PluginManager(path=site.path, blocked=["bomb"])
    assert [p.name for p in pm.plugins] == ["alpha"]
    assert pm.failures == []
