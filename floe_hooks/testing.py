"""The compute-plugin contract suite, and pytest fixtures for plugin authors.

Every compute plugin should pass the same checks; write them once by subclassing
:class:`ComputePluginContract` in your test suite::

    # tests/test_contract.py of your distribution
    import floe_mycompute
    from floe_hooks.testing import ComputePluginContract

    class TestMyComputeContract(ComputePluginContract):
        plugin = floe_mycompute
        compute_type = "mycompute"
        entry_point = "mycompute"              # checks the installed entry point too
        sample_config = {"host": "db.example", "port": 5000}
        broken_config = {"host": "127.0.0.1", "port": 1}   # nothing listens there
        credentials = {"password": {"env": "MYCOMPUTE_PASSWORD"}}

``pytest`` then runs about fifteen checks against your plugin: its metadata is
complete and speaks a compatible ``floe_api_version``; it registers cleanly with
pluggy (every hook known, every argument one the hookspec offers, every required
hook present); it serves ``compute_type``; your config class is strict and
round-trips through floe's converter; ``generate_profile`` returns a YAML-able dict
with a string ``type`` and no plaintext secret; ``validate_connection`` answers a
broken config with an unhealthy :class:`~floe_hooks.ConnectionResult` within its
timeout, without echoing a secret; ``resource_requirements`` returns valid specs for
every workload size; and the module imports nothing but the public ``floe_hooks`` API.

For tests of a host application (or of hooks one at a time), :func:`make_plugin` builds
a plugin module in memory, with working defaults for every required hook::

    from floe_hooks.testing import make_plugin

    pm.register(make_plugin("lake", generate_profile=lambda compute: {"type": "lake"}))

Installing floe-hooks also registers this module as a pytest plugin (entry point
``pytest11``), which only adds fixtures, all named ``floe_*`` and none autouse:

* :func:`floe_plugin_manager`: a fresh :class:`~floe_hooks.PluginManager` that sees
  only what the test registers;
* :func:`floe_no_autoload`: the process-wide manager (the one ``floe compile``,
  ``floe validate`` and :func:`~floe_hooks.get_plugin_manager` use) replaced, for one
  test, by one that does not load installed plugins;
* :func:`floe_register`: registers a plugin (an inline class or module) in the
  process-wide manager for one test and removes it afterwards.
"""

from __future__ import annotations

import ast
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import Any, ClassVar

import attrs
import pytest

from floe_hooks import hookspecs
from floe_hooks._version import FLOE_API_VERSION
from floe_hooks.manager import (
    PluginInfo,
    PluginManager,
    api_compatible,
    get_plugin_manager,
    set_plugin_manager,
)
from floe_hooks.models import (
    WORKLOAD_SIZES,
    ComputeConfig,
    ConnectionResult,
    ConnectionStatus,
    ResourceSpec,
    WorkloadSize,
)
from floe_hooks.secrets import SecretValue, secret_bindings

__all__ = [
    "ComputePluginContract",
    "make_compute",
    "make_plugin",
    "floe_plugin_manager",
    "floe_no_autoload",
    "floe_register",
]

# Profile keys whose values must be env_var() templates (or absent), never literals.
_SECRET_KEYS = ("password", "passphrase", "secret", "token", "private_key", "api_key", "credential")


def make_compute(
    manager: PluginManager,
    compute_type: str,
    config: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    credentials: Mapping[str, Mapping[str, str]] | None = None,
    **fields: Any,
) -> ComputeConfig:
    """Build a :class:`~floe_hooks.ComputeConfig` the way ``floe`` reads one from a manifest.

    ``config`` is structured with the plugin's ``config_class`` (strictly: unknown keys
    are errors), exactly as ``floe compile`` does, so a test sees what production sees.

    :param manager: the manager whose plugin serves ``compute_type``.
    :param compute_type: the compute's ``type:``.
    :param config: the ``config:`` block, as plain data.
    :param name: the compute's name (default: the type).
    :param credentials: secret references, as plain data (``{"password": {"env": "PW"}}``).
    :param fields: other compute fields (``threads``, ``timeout_seconds``, ``resources``).
    :raises ConfigError: when the data does not fit, with the field path.
    """
    from floe_hooks._convert import structure_compute

    data: dict[str, Any] = {"name": name or compute_type, "type": compute_type, **fields}
    if config is not None:
        data["config"] = dict(config)
    if credentials:
        data["credentials"] = {key: dict(ref) for key, ref in credentials.items()}
    return structure_compute(data, manager.config_class)


def make_plugin(
    name: str = "fake",
    *,
    types: tuple[str, ...] | None = None,
    version: str = "1.0",
    api: str = FLOE_API_VERSION,
    config_class: type | str | None = None,
    **hooks: Any,
) -> ModuleType:
    """A plugin module made in memory: metadata and working required hooks, for tests.

    Register it with :meth:`PluginManager.register` (or the :func:`floe_register`
    fixture). Each keyword names a hook and replaces its default: a function taking any
    of the hook's arguments by name, a plain value the hook returns as it is, or ``None``
    to leave the hook out (to test what a missing hook does)::

        plugin = make_plugin("lake", generate_profile=lambda compute: {"type": "lake", "db": compute.name})
        pm.register(plugin)
        make_plugin("slow", validate_connection=lambda timeout: time.sleep(timeout * 2))

    :param name: the plugin's name (its ``plugin_metadata().name``; the registration name).
    :param types: the compute types it serves (default: ``(name,)``).
    :param version: the plugin's version in its metadata.
    :param api: its ``floe_api_version`` (default: this floe's).
    :param config_class: its typed config class (an attrs class or ``"module:Class"``).
    :param hooks: hook name -> function, value, or ``None``.
    :return: a module object whose functions are marked ``@hookimpl``.

    The defaults: ``generate_profile`` returns ``{"type": name}``; ``validate_connection``
    returns a healthy :class:`~floe_hooks.ConnectionResult` naming the plugin;
    ``resource_requirements`` returns the compute's resources (``small`` by default).
    """
    from floe_hooks._markers import hookimpl
    from floe_hooks.models import PluginMetadata

    served = types or (name,)
    defaults: dict[str, Any] = {
        "plugin_metadata": lambda: PluginMetadata(
            name=name, version=version, floe_api_version=api, compute_types=served, config_class=config_class
        ),
        "generate_profile": lambda: {"type": name},
        "validate_connection": lambda: ConnectionResult(status="healthy", latency_ms=0.1, message=name),
        "resource_requirements": lambda compute: ResourceSpec.resolve(compute.resources),
    }
    module = ModuleType(f"floe_fake_{name}", f"fake floe plugin {name!r} (floe_hooks.testing.make_plugin)")
    for hook, impl in {**defaults, **hooks}.items():
        if impl is None:
            continue
        if not callable(impl):
            impl = _returning(impl)
        setattr(module, hook, hookimpl(impl))
    return module


def _returning(value: Any) -> Callable[[], Any]:
    def hook() -> Any:
        return value

    return hook


def _imports_of(plugin: object) -> list[str]:
    """Modules imported by the source of ``plugin``'s module (a plugin object's class's module)."""
    module = plugin if inspect.ismodule(plugin) else inspect.getmodule(type(plugin))
    try:
        source = inspect.getsource(module)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return []
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def _secret_like(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_KEYS)


def _walk_profile(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk_profile(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk_profile(item, f"{path}[{index}]")


class ComputePluginContract:
    """Subclass this (as ``Test...``) to run floe's contract checks against a plugin.

    Set the class attributes below; only :attr:`plugin`, :attr:`compute_type` and
    :attr:`broken_config` are required. Attributes are read through ``self``, so a
    subclass may compute one in a property or set it from an autouse fixture (a
    broken config pointing at a socket the fixture opened, for example).
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
    #: The compute's ``credentials`` (references, plain data), used with both configs.
    credentials: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    #: Other compute fields for both configs (``threads``, ``timeout_seconds``...).
    compute_fields: ClassVar[Mapping[str, Any]] = {}
    #: The timeout handed to ``validate_connection`` for the broken config, in seconds.
    timeout: ClassVar[float] = 2.0
    #: Extra seconds the suite waits beyond :attr:`timeout` (thread start-up, imports).
    timeout_grace: ClassVar[float] = 1.0
    #: The compute name used by the checks.
    compute_name: ClassVar[str] = "contract"

    # ------------------------------------------------------------------ helpers

    def manager(self) -> PluginManager:
        """A fresh strict manager holding only :attr:`plugin`."""
        manager = PluginManager(autoload=False, strict=True)
        manager.register(self.plugin)
        return manager

    def compute(self, manager: PluginManager, config: Mapping[str, Any] | None = None) -> ComputeConfig:
        """The sample compute (or one with ``config``), structured as ``floe`` would."""
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
        meta = self.manager().plugin_for(self.compute_type).metadata
        assert api_compatible(meta.floe_api_version), (
            f"floe_api_version {meta.floe_api_version!r} is not served by this floe-hooks"
        )

    def test_config_class_is_a_frozen_attrs_class(self) -> None:
        """The typed config is immutable, like every floe model."""
        config_class = self.manager().config_class(self.compute_type)
        if config_class is None:
            assert self.sample_config is None, "sample_config is set but the plugin declares no config_class"
            return
        assert attrs.has(config_class)
        assert attrs.fields(config_class), "config_class has no fields"
        instance = self.compute(self.manager()).config
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(instance, attrs.fields(config_class)[0].name, None)

    # ------------------------------------------------------------------ registration

    def test_registers_cleanly_with_pluggy(self) -> None:
        """Registering raises nothing: hook names and arguments match the hookspecs."""
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
            for name in _imports_of(self.plugin)
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
        for path, value in _walk_profile(profile, ""):
            key = path.rsplit(".", 1)[-1]
            if isinstance(value, str) and _secret_like(key) and value:
                assert "env_var(" in value, f"profile key {path!r} holds a literal, not an env_var() template"

    # ------------------------------------------------------------------ validate_connection

    def test_broken_config_is_unhealthy_within_the_timeout(self) -> None:
        """A compute that cannot work gets an unhealthy ConnectionResult, in time, without secrets."""
        assert self.broken_config is not None or self.sample_config is None, (
            "set broken_config: a config block that structures but cannot connect"
        )
        manager = self.manager()
        compute = self.compute(manager, self.broken_config)
        secrets = {path: SecretValue(value) for path, value in self.secret_values(compute).items()}
        outcome: list[object] = []

        def check() -> None:
            try:
                outcome.append(manager.validate_connection(compute, timeout=self.timeout, secrets=secrets))
            except BaseException as exc:  # reported below, in the test's thread
                outcome.append(exc)

        worker = threading.Thread(target=check, name="floe-contract-check", daemon=True)
        worker.start()
        worker.join(self.timeout + self.timeout_grace)
        assert not worker.is_alive(), (
            f"validate_connection still running {self.timeout + self.timeout_grace:g} s after a "
            f"{self.timeout:g} s timeout: pass the timeout to your driver"
        )
        (result,) = outcome
        if isinstance(result, BaseException):
            raise AssertionError(f"validate_connection raised instead of reporting: {result!r}") from result
        assert isinstance(result, ConnectionResult)
        assert result.status is ConnectionStatus.UNHEALTHY, result
        assert result.message, "say what is wrong in ConnectionResult.message"
        assert result.latency_ms >= 0
        shown = " ".join([result.message, *result.warnings, *map(str, result.details.values())])
        for path, value in self.secret_values(compute).items():
            assert value not in shown, f"the value of secret {path!r} appears in the result"

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


# ---------------------------------------------------------------------- pytest fixtures


@pytest.fixture
def floe_plugin_manager() -> PluginManager:
    """A fresh, strict :class:`~floe_hooks.PluginManager` that loads no installed plugin."""
    return PluginManager(autoload=False, strict=True)


@pytest.fixture
def floe_no_autoload() -> Iterator[PluginManager]:
    """Replace the process-wide manager by one that ignores installed plugins, for one test.

    ``floe compile``, ``floe validate`` and :func:`~floe_hooks.get_plugin_manager` then
    see only what the test registers (with :func:`floe_register`, for instance).
    """
    manager = PluginManager(autoload=False, strict=True)
    old = set_plugin_manager(manager)
    try:
        yield manager
    finally:
        set_plugin_manager(old)


@pytest.fixture
def floe_register() -> Iterator[Callable[..., PluginInfo]]:
    """Register plugins in the process-wide manager for one test: ``floe_register(obj, name=None)``.

    Returns the :class:`~floe_hooks.PluginInfo`; every plugin registered this way is
    unregistered when the test ends.
    """
    added: list[tuple[PluginManager, str]] = []

    def register(plugin: object, name: str | None = None) -> PluginInfo:
        manager = get_plugin_manager()
        info = manager.register(plugin, name=name)
        added.append((manager, info.name))
        return info

    try:
        yield register
    finally:
        for manager, name in reversed(added):
            manager.unregister(name)
