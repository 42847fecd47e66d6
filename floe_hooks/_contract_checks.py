"""What the contract suite inspects a plugin with: imports, signatures, config class, profile, timed check."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks import hookspecs
from floe_hooks._deadline import start_worker
from floe_hooks.models import ConnectionResult

if TYPE_CHECKING:
    from floe_hooks.manager import PluginManager
    from floe_hooks.models import ComputeConfig
    from floe_hooks.secrets import SecretValue

# Profile keys whose values must be env_var() templates (or absent), never literals.
_SECRET_KEYS = ("password", "passphrase", "secret", "token", "private_key", "api_key", "credential")


def imports_of(plugin: object) -> list[str]:
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


def secret_like(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_KEYS)


def is_frozen(cls: type) -> bool:
    """Whether ``cls`` is an attrs class whose instances refuse attribute assignment."""
    return attrs.has(cls) and getattr(cls.__setattr__, "__name__", "") == "_frozen_setattrs"


def config_class_problem(config_class: type | None, sample_config: object) -> str | None:
    """Why a plugin's ``config_class`` is unusable (None: fine, or no config and no sample)."""
    if config_class is None:
        if sample_config is not None:
            return "sample_config is set but the plugin declares no config_class"
        return None
    if not attrs.fields(config_class):
        return f"config_class {config_class.__qualname__} has no fields"
    if not is_frozen(config_class):
        return (
            f"config_class must be frozen: decorate {config_class.__qualname__} with "
            "@attrs.frozen (floe hands one instance to every hook call)"
        )
    return None


def validated_in_time(
    manager: PluginManager,
    compute: ComputeConfig,
    secrets: Mapping[str, SecretValue],
    timeout: float,
    grace: float,
) -> ConnectionResult:
    """``validate_connection`` in a thread, failing the check when it outlives ``timeout + grace``.

    :raises AssertionError: it is still running, it raised, or it returned no ConnectionResult.
    """
    worker = start_worker(
        lambda: manager.validate_connection(compute, timeout=timeout, secrets=secrets),
        "floe-contract-check",
    )
    assert worker.wait(timeout + grace), (
        f"validate_connection still running {timeout + grace:g} s after a "
        f"{timeout:g} s timeout: pass the timeout to your driver"
    )
    try:
        result = worker.outcome()
    except BaseException as exc:  # reported here, in the test's thread
        raise AssertionError(f"validate_connection raised instead of reporting: {exc!r}") from exc
    assert isinstance(result, ConnectionResult)
    return result


def with_target(value: Any, target: str) -> Any:
    """``value`` with every ``{target}`` inside its strings replaced by ``target``."""
    if isinstance(value, str):
        return value.replace("{target}", target)
    if isinstance(value, Mapping):
        return {key: with_target(item, target) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [with_target(item, target) for item in value]
    return value


def signature_problem(plugin: object) -> str | None:
    """One sentence naming the first hookimpl argument its hookspec does not offer, if any."""
    from floe_hooks._markers import PROJECT

    for name in sorted(dir(plugin)):
        function = getattr(plugin, name, None)
        if not callable(function) or getattr(function, f"{PROJECT}_impl", None) is None:
            continue
        spec = getattr(hookspecs, name, None)
        if spec is None:
            return f"{name} is not a floe hook; the hooks are: {', '.join(sorted(hook_names()))}"
        offered = list(inspect.signature(spec).parameters)
        taken = [p for p in inspect.signature(function).parameters if p != "self"]
        extra = [p for p in taken if p not in offered]
        if extra:
            return (
                f"{name}({', '.join(taken)}) takes {', '.join(map(repr, extra))}, which the hookspec "
                f"{name}({', '.join(offered)}) does not offer: "
                "take any of its arguments, by name, and no others"
            )
    return None


def hook_names() -> tuple[str, ...]:
    return (*hookspecs.REQUIRED_HOOKS, *hookspecs.OPTIONAL_HOOKS)


def adapter_rejects(requirement: str | None, profile: Mapping[str, Any]) -> str | None:
    """Why the installed dbt adapter of ``requirement`` refuses ``profile`` (None: accepted or absent).

    Asks the adapter's own ``Credentials`` class what dbt asks it when it loads a
    profile, without a connection: aliases translated (``dbname`` -> ``database``), its
    JSON-schema validation, then construction (``__post_init__`` checks).
    """
    import importlib.metadata
    import re

    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement or "")
    if match is None:
        return None
    try:
        importlib.metadata.distribution(match.group(0))
    except importlib.metadata.PackageNotFoundError:
        return None  # the adapter is not installed here: nothing to ask
    from dbt.adapters.factory import FACTORY

    credentials = FACTORY.load_plugin(str(profile["type"]))
    data = {key: value for key, value in profile.items() if key not in ("type", "threads")}
    try:
        data = credentials.translate_aliases(data)
        credentials.validate(data)
        credentials.from_dict(data)
    except Exception as exc:  # the adapter's own words are the message
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return None
