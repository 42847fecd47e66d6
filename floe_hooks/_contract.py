"""The compute-plugin contract suite: ``ComputePluginContract``, the checks every plugin passes.

Private: subclass it as :class:`floe_hooks.testing.ComputePluginContract`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from floe_hooks import hookspecs
from floe_hooks._contract_checks import (
    adapter_rejects,
    config_class_problem,
    imports_of,
    secret_like,
    signature_problem,
    validated_in_time,
    with_target,
)
from floe_hooks._fakes import make_compute
from floe_hooks._walk import walk
from floe_hooks.errors import IncompatibleAPIError, PluginError
from floe_hooks.manager import PluginInfo, PluginManager, api_compatible
from floe_hooks.models import (
    WORKLOAD_SIZES,
    ComputeConfig,
    ConnectionResult,
    ConnectionStatus,
    ResourceSpec,
    WorkloadSize,
)
from floe_hooks.secrets import SecretValue, secret_bindings

#: File names the missing-target check tries: plain, and ones a hand-built URI gets wrong.
_MISSING_TARGETS = ("missing.db", "what?.db", "hash#tag.db", "per%3Fcent.db")

_REGISTRATION_GATE = "test_registers_cleanly_with_pluggy"
_CONFIG_GATE = "test_config_class_is_a_frozen_attrs_class"


class ComputePluginContract:
    """Subclass this (as ``Test...``) to run floe's contract checks against a plugin.

    Set the class attributes below; only :attr:`plugin`, :attr:`compute_type` and
    :attr:`broken_config` are required. Attributes are read through ``self``, so a
    subclass may compute one in a property or set it from an autouse fixture (a
    broken config pointing at a socket the fixture opened, for example).

    Two checks are gates: :meth:`test_registers_cleanly_with_pluggy` (hook names,
    hook arguments, required hooks, metadata) and
    :meth:`test_config_class_is_a_frozen_attrs_class`. When a gate fails, it is the
    one failure with the one message to act on; the checks that need a registered
    plugin or a usable config are skipped, saying which gate they depend on.
    """

    #: The plugin object: usually your module of ``@hookimpl`` functions.
    plugin: ClassVar[object]
    #: One compute type the plugin serves (a ``type:`` in the manifest).
    compute_type: ClassVar[str]
    #: The entry-point name in ``floe.computes``; when set, the installed distribution
    #: must expose the plugin under it, and a discovering manager must load it cleanly.
    entry_point: ClassVar[str | None] = None
    #: A valid ``config:`` block (plain data), or None when the plugin takes none.
    sample_config: ClassVar[Mapping[str, Any] | None] = None
    #: A ``config:`` block that structures fine but cannot connect (a closed port...).
    broken_config: ClassVar[Mapping[str, Any] | None] = None
    #: For a compute that lives in a file or folder: a ``config:`` block in which the
    #: suite replaces ``{target}`` by a path in a temporary folder of its own, e.g.
    #: ``{"path": "{target}"}``. The health check must then answer ``unhealthy`` (or
    #: ``degraded``) for a missing target and create nothing (names with ``?``, ``#`` and
    #: ``%`` included), and ``unhealthy`` for a file that is not a database. None: not
    #: file-based.
    target_config: ClassVar[Mapping[str, Any] | None] = None
    #: The compute's ``credentials`` (references, plain data), used with every config.
    credentials: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    #: Other compute fields for every config (``threads``, ``timeout_seconds``...).
    compute_fields: ClassVar[Mapping[str, Any]] = {}
    #: The timeout handed to ``validate_connection`` by the health checks, in seconds.
    timeout: ClassVar[float] = 2.0
    #: Extra seconds the suite waits beyond :attr:`timeout` (thread start-up, imports).
    timeout_grace: ClassVar[float] = 1.0
    #: The compute name used by the checks.
    compute_name: ClassVar[str] = "contract"

    # ------------------------------------------------------------------ gates

    def registration_error(self) -> PluginError | None:
        """The error a strict manager raises registering the plugin, or None when it registers."""
        try:
            PluginManager(autoload=False, strict=True).register(self.plugin)
        except PluginError as exc:
            return exc
        return None

    def registration_problem(self) -> str | None:
        """Why the plugin does not register with a strict manager, or None when it does."""
        error = self.registration_error()
        if error is None:
            return None
        return signature_problem(self.plugin) or error.message

    def config_problem(self) -> str | None:
        """Why the plugin's ``config_class`` is unusable, or None when it is fine."""
        return config_class_problem(self.manager().config_class(self.compute_type), self.sample_config)

    def _depends_on(self, gate: str, problem: str | None) -> None:
        if problem is not None:
            pytest.skip(f"depends on {gate}, which failed")

    # ------------------------------------------------------------------ helpers

    def manager(self) -> PluginManager:
        """A fresh strict manager holding only :attr:`plugin`.

        Skips the calling check, naming the gate, when the plugin does not register.
        """
        problem = self.registration_problem()
        self._depends_on(_REGISTRATION_GATE, problem)
        manager = PluginManager(autoload=False, strict=True)
        manager.register(self.plugin)
        return manager

    def compute(self, manager: PluginManager, config: Mapping[str, Any] | None = None) -> ComputeConfig:
        """The sample compute (or one with ``config``), structured as ``floe`` would.

        Skips the calling check, naming the gate, when the config class is unusable.
        """
        self._depends_on(_CONFIG_GATE, self.config_problem())
        return make_compute(
            manager,
            self.compute_type,
            self.sample_config if config is None else config,
            name=self.compute_name,
            credentials=self.credentials,
            **self.compute_fields,
        )

    def secret_values(self, compute: ComputeConfig) -> dict[str, str]:
        """Recognisable stand-in values for each of the compute's secrets, by path."""
        return {
            b.path: f"contract-secret-{index}-do-not-print"
            for index, b in enumerate(secret_bindings(compute))
        }

    def check(
        self,
        manager: PluginManager,
        compute: ComputeConfig,
        secrets: Mapping[str, SecretValue] | None = None,
    ) -> ConnectionResult:
        """Run ``validate_connection`` in a thread, failing when it overruns :attr:`timeout`.

        ``secrets`` defaults to a stand-in value for each of the compute's credentials,
        as ``floe validate`` would resolve them.
        """
        if secrets is None:
            secrets = {path: SecretValue(value) for path, value in self.secret_values(compute).items()}
        return validated_in_time(manager, compute, secrets, self.timeout, self.timeout_grace)

    def target_compute(self, manager: PluginManager, target: Path) -> ComputeConfig | None:
        """The compute of :attr:`target_config` pointing at ``target`` (None: not file-based)."""
        if self.target_config is None:
            return None
        return self.compute(manager, with_target(self.target_config, str(target)))

    # ------------------------------------------------------------------ metadata

    def test_metadata_is_complete(self) -> None:
        """name, version, description and the dbt adapter requirement are all filled in."""
        info = self.manager().plugin_for(self.compute_type)
        meta = info.metadata
        assert meta.name.strip(), "PluginMetadata.name is empty"
        assert meta.version.strip(), "PluginMetadata.version is empty"
        assert meta.description.strip(), "PluginMetadata.description is empty: `floe plugins` shows it"
        adapter = meta.dbt_adapter or ""
        assert adapter.startswith("dbt-"), (
            f"PluginMetadata.dbt_adapter should be the adapter's pip requirement (dbt-...), got {adapter!r}"
        )

    def test_api_version_is_compatible(self) -> None:
        """floe_api_version has the framework's major and no newer minor."""
        error = self.registration_error()
        if error is not None and not isinstance(error, IncompatibleAPIError):
            self._depends_on(_REGISTRATION_GATE, error.message)
        meta = getattr(self.plugin, "plugin_metadata")()  # noqa: B009 - a hookimpl, called directly
        assert api_compatible(meta.floe_api_version), (
            f"floe_api_version {meta.floe_api_version!r} is not served by this floe-hooks"
        )

    def test_config_class_is_a_frozen_attrs_class(self) -> None:
        """The typed config is a frozen attrs class with fields (a gate: config checks need it)."""
        problem = self.config_problem()
        if problem is not None:
            pytest.fail(problem, pytrace=False)

    # ------------------------------------------------------------------ registration

    def test_registers_cleanly_with_pluggy(self) -> None:
        """Registering raises nothing: hook names and arguments match the hookspecs (a gate)."""
        error = self.registration_error()
        if isinstance(error, IncompatibleAPIError):
            self._depends_on("test_api_version_is_compatible", error.message)
        if error is not None:
            pytest.fail(f"the plugin does not register: {self.registration_problem()}", pytrace=False)
        info = self.manager().plugin_for(self.compute_type)
        assert isinstance(info, PluginInfo)
        assert set(hookspecs.REQUIRED_HOOKS) <= set(info.hooks)

    def test_hook_arguments_are_ones_the_hookspec_offers(self) -> None:
        """Each hookimpl takes a subset of its hookspec's arguments (pluggy passes by name)."""
        manager = self.manager()
        for hook in manager.pluggy.get_hookcallers(self.plugin) or ():
            spec = hook.spec
            assert spec is not None, f"{hook.name} is not a floe hook"
            for impl in hook.get_hookimpls():
                if impl.plugin is self.plugin:
                    extra = set(impl.argnames) - set(spec.argnames)
                    assert not extra, f"{hook.name} takes {sorted(extra)}, not offered by the hookspec"

    def test_serves_its_compute_type(self) -> None:
        """The metadata claims ``compute_type`` and the manager routes it to this plugin."""
        manager = self.manager()
        info = manager.plugin_for(self.compute_type)
        assert info.plugin is self.plugin
        assert self.compute_type in info.metadata.compute_types

    def test_is_discovered_through_its_entry_point(self) -> None:
        """Installed, the distribution's ``floe.computes`` entry point loads this plugin cleanly."""
        if self.entry_point is None:
            return  # an inline plugin under test: nothing installed to discover
        self._depends_on(_REGISTRATION_GATE, self.registration_problem())
        manager = PluginManager(strict=False)
        failures = {f.name: f.reason for f in manager.failures}
        assert self.entry_point not in failures, f"failed to load: {failures.get(self.entry_point)}"
        loaded = {info.name: info for info in manager.plugins}
        assert self.entry_point in loaded, (
            f"no floe.computes entry point {self.entry_point!r} installed; found {sorted(loaded)}"
        )
        assert loaded[self.entry_point].plugin is self.plugin
        assert loaded[self.entry_point].distribution, "the entry point's distribution is unknown"

    def test_imports_only_the_public_floe_hooks_api(self) -> None:
        """The plugin imports ``floe_hooks`` itself, never its private modules."""
        private = [
            name
            for name in imports_of(self.plugin)
            if name.startswith("floe_hooks.") and name != "floe_hooks.testing"
        ]
        assert not private, f"import from floe_hooks only, not {sorted(set(private))}"

    # ------------------------------------------------------------------ config

    def test_sample_config_structures(self) -> None:
        """The sample ``config:`` block becomes an instance of the plugin's config class."""
        manager = self.manager()
        compute = self.compute(manager)
        config_class = manager.config_class(self.compute_type)
        if config_class is not None:
            assert isinstance(compute.config, config_class)

    def test_config_round_trips_through_the_converter(self) -> None:
        """``structure(unstructure(config)) == config``, for the config and the whole compute."""
        from floe_hooks._convert import structure, structure_compute, unstructure

        manager = self.manager()
        compute = self.compute(manager)
        config_class = manager.config_class(self.compute_type)
        if config_class is not None:
            assert structure(unstructure(compute.config), config_class) == compute.config
        assert structure_compute(unstructure(compute), manager.config_class) == compute

    def test_unknown_config_key_is_an_error(self) -> None:
        """A typo in ``config:`` fails with its path instead of being dropped."""
        from floe_hooks.errors import ConfigError

        manager = self.manager()
        if manager.config_class(self.compute_type) is None:
            return  # untyped config: the plugin reads the mapping itself
        config = {**(self.sample_config or {}), "no_such_setting": 1}
        with pytest.raises(ConfigError) as caught:
            self.compute(manager, config)
        error = caught.value
        assert (error.path or "").startswith("config"), (
            f"the error should point into config, not {error.path!r}"
        )
        assert "no_such_setting" in str(error), f"the error should name the unknown key: {error}"

    # ------------------------------------------------------------------ generate_profile

    def test_profile_has_a_string_type(self) -> None:
        """The dbt output names its adapter in a string ``type``."""
        manager = self.manager()
        profile = manager.generate_profile(self.compute(manager))
        assert isinstance(profile, dict)
        assert isinstance(profile.get("type"), str), profile
        assert profile["type"], "the profile's type is empty"

    def test_profile_is_plain_yaml(self) -> None:
        """The output survives floe's YAML dumper and ``safe_load`` unchanged: it goes to profiles.yml."""
        import yaml

        from floe_hooks._yaml import dump_yaml

        manager = self.manager()
        profile = manager.generate_profile(self.compute(manager))
        assert yaml.safe_load(dump_yaml(profile)) == profile

    def test_profile_holds_no_plaintext_secret(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Secrets reach profiles.yml as ``env_var()`` templates, never as values.

        Every reference is exported with a recognisable value first, so a plugin that
        reads the environment (or a Secret) and inlines the value is caught.
        """
        manager = self.manager()
        compute = self.compute(manager)
        planted = self.secret_values(compute)
        for binding in secret_bindings(compute):
            for variable in (binding.ref.env, binding.variable):
                if variable:
                    monkeypatch.setenv(variable, planted[binding.path])
        profile = manager.generate_profile(compute)
        text = repr(profile)
        for path, value in planted.items():
            assert value not in text, f"the value of secret {path!r} is written into the profile"
        for path, value in walk(profile):
            key = path.rsplit(".", 1)[-1]
            if isinstance(value, str) and secret_like(key) and value:
                assert "env_var(" in value, f"profile key {path!r} holds a literal, not an env_var() template"

    def test_compute_level_threads_win(self) -> None:
        """A compute's ``threads:`` is dbt's ``threads``: a profile with ``threads`` carries it."""
        from floe_hooks._precedence import overridden_setting

        manager = self.manager()
        compute = attrs.evolve(self.compute(manager), threads=7)
        problem = overridden_setting(compute, manager.generate_profile(compute))
        assert problem is None, problem

    def test_profile_passes_the_adapters_own_validation(self) -> None:
        """With the plugin's dbt adapter installed, its credentials class accepts the profile.

        The adapter is the one ``PluginMetadata.dbt_adapter`` names; without it installed
        there is nothing to ask, and the check passes (run it where the adapter is).
        """
        manager = self.manager()
        compute = self.compute(manager)
        meta = manager.plugin_for(self.compute_type).metadata
        profile = manager.generate_profile(compute)
        problem = adapter_rejects(meta.dbt_adapter, profile)
        assert problem is None, f"{meta.dbt_adapter} refuses the generated profile: {problem}"

    # ------------------------------------------------------------------ validate_connection

    def test_broken_config_is_unhealthy_within_the_timeout(self) -> None:
        """A compute that cannot work gets an unhealthy ConnectionResult with a message, in time."""
        assert self.broken_config is not None or self.sample_config is None, (
            "set broken_config: a config block that structures but cannot connect"
        )
        manager = self.manager()
        compute = self.compute(manager, self.broken_config)
        secrets = {path: SecretValue(value) for path, value in self.secret_values(compute).items()}
        result = self.check(manager, compute, secrets)
        assert result.status is ConnectionStatus.UNHEALTHY, result
        assert result.message, "say what is wrong in ConnectionResult.message"
        assert result.latency_ms >= 0

    def test_health_check_of_a_missing_target_creates_nothing(self, tmp_path: Path) -> None:
        """A missing database is not ``healthy``, and checking it creates no file or folder.

        ``degraded`` is allowed: an engine whose dbt adapter creates the file on its first
        run (DuckDB) may say so.

        Tried with plain names and with names holding ``?``, ``#`` and ``%``, which a
        ``file:`` URI built by hand reads as a query, a fragment or an escape.
        """
        manager = self.manager()
        for index, name in enumerate(_MISSING_TARGETS):
            folder = tmp_path / f"case{index}"
            folder.mkdir()
            target = folder / name
            compute = self.target_compute(manager, target)
            if compute is None:
                return  # not file-based: nothing to create
            result = self.check(manager, compute)
            created = sorted(p.name for p in folder.iterdir())
            assert not created, (
                f"the health check of the missing {name!r} created {created}: open the target "
                "read-only and never create it (for a file: URI, build it with "
                "pathlib.Path(path).resolve().as_uri() and add ?mode=ro)"
            )
            assert result.status is not ConnectionStatus.HEALTHY, (
                f"the health check of the missing {name!r} answered healthy: a missing database "
                f"is unhealthy (or degraded, when dbt creates it on its first run): {result.message}"
            )

    def test_a_target_that_is_not_a_database_is_unhealthy(self, tmp_path: Path) -> None:
        """A file that exists but holds no database is ``unhealthy``, and is left unchanged."""
        manager = self.manager()
        target = tmp_path / "not-a-database.db"
        content = b"floe contract suite: this file is text, not a database\n" * 64
        target.write_bytes(content)
        compute = self.target_compute(manager, target)
        if compute is None:
            return  # not file-based
        result = self.check(manager, compute)
        assert result.status is ConnectionStatus.UNHEALTHY, (
            f"the health check of a file that is not a database answered {result.status.value}: "
            "read the data (e.g. the schema catalog), not only the driver's version"
        )
        assert target.read_bytes() == content, "the health check changed the file it checked"
        assert sorted(p.name for p in tmp_path.iterdir()) == [target.name], (
            f"the health check left files beside the target: {sorted(p.name for p in tmp_path.iterdir())}"
        )

    def test_no_health_check_output_holds_a_canary_secret(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """A secret's value never appears in what a health check returns or prints.

        Each credential gets a unique canary value (in the environment and in
        ``secrets``); every config the suite knows is checked with it.
        """
        import uuid

        manager = self.manager()
        configs = [None, self.broken_config]
        if self.target_config is not None:
            configs.append(with_target(self.target_config, str(tmp_path / "canary.db")))
        seen: list[str] = []
        for config in configs:
            compute = self.compute(manager, config)
            canaries = {b.path: f"floe-canary-{uuid.uuid4().hex}" for b in secret_bindings(compute)}
            for binding in secret_bindings(compute):
                for variable in (binding.ref.env, binding.variable):
                    if variable:
                        monkeypatch.setenv(variable, canaries[binding.path])
            secrets = {path: SecretValue(value) for path, value in canaries.items()}
            result = self.check(manager, compute, secrets)
            shown = " ".join(
                [repr(result), result.message, *result.warnings, *map(str, result.details.values())]
            )
            captured = capfd.readouterr()
            for path, value in canaries.items():
                outputs = (("the result", shown), ("stdout", captured.out), ("stderr", captured.err))
                where = [label for label, text in outputs if value in text]
                found = f"secret {path!r} in {' and '.join(where)}"
                if where and found not in seen:
                    seen.append(found)
        assert not seen, (
            f"the health check shows a secret's value ({'; '.join(seen)}): build messages "
            "yourself, never from a DSN or the driver's text"
        )

    # ------------------------------------------------------------------ resource_requirements

    @pytest.mark.parametrize("resources", [None, *WORKLOAD_SIZES])
    def test_resource_requirements_are_valid(self, resources: WorkloadSize | None) -> None:
        """Every workload size (and none) gives CPU and memory requests and limits, request <= limit."""
        manager = self.manager()
        compute = attrs.evolve(self.compute(manager), resources=resources)
        spec = manager.resource_requirements(compute)
        assert isinstance(spec, ResourceSpec)
        # request <= limit and valid quantities are checked by ResourceSpec itself: rebuild it
        rebuilt = ResourceSpec(**attrs.asdict(spec))
        assert rebuilt == spec
        block = spec.to_kubernetes()
        for kind in ("cpu", "memory"):
            assert kind in block["requests"], f"no {kind} request: {block}"
            assert kind in block["limits"], f"no {kind} limit: {block}"

    def test_explicit_resources_are_honoured(self) -> None:
        """A manifest's explicit ResourceSpec is what the pod gets."""
        manager = self.manager()
        explicit = ResourceSpec("250m", "750m", "300Mi", "600Mi")
        compute = attrs.evolve(self.compute(manager), resources=explicit)
        assert manager.resource_requirements(compute) == explicit
