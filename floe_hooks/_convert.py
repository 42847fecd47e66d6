"""The one cattrs converter, configured in one place, and error translation.

Valid data rarely gets here: :mod:`floe_hooks._structure` builds the same objects without
importing cattrs, and hands over only what it does not accept, for this module to build or
to explain.

Structuring is strict: unknown keys are errors (a typo such as ``threds`` never goes
unnoticed), scalars are not coerced (``"4"`` is not an int), a string is never taken
for a list. Failures become one :class:`~floe_hooks.errors.ConfigError` with the
dotted path of the first bad field.
"""

from __future__ import annotations

import contextvars
import enum
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast, get_args

import attrs
import cattrs
import cattrs.gen
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)

from floe_hooks._structure import RESOURCES, is_immutable_sequence, is_mapping, is_sequence, scalar_fits
from floe_hooks._text import kind as _type_name
from floe_hooks.errors import ConfigError
from floe_hooks.models import ComputeConfig, ResourceSpec, SqlStatement
from floe_hooks.secrets import MASK, SecretRef

T = TypeVar("T")

#: Resolves a compute type to its plugin's config class while a ComputeConfig is structured.
_config_classes: contextvars.ContextVar[Callable[[str], type | None] | None] = contextvars.ContextVar(
    "floe_config_classes", default=None
)

_converter = cattrs.Converter(forbid_extra_keys=True)


def _strict(kind: type, label: str) -> None:
    def hook(value: Any, _: Any) -> Any:
        if not scalar_fits(kind, value):
            got = "a boolean" if isinstance(value, bool) else _type_name(value)
            raise TypeError(f"expected {label}, got {got}")
        return float(cast("float", value)) if kind is float else value

    _converter.register_structure_hook(kind, hook)


_strict(int, "an integer")
_strict(float, "a number")
_strict(str, "a string")
_strict(bool, "a boolean (true or false)")


def _sequence_factory(t: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    (item_type, *_) = get_args(t) or (Any,)
    structure_item = converter.get_structure_hook(item_type)
    immutable = is_immutable_sequence(t)

    def hook(value: Any, _: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected a list, got {_type_name(value)}")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(structure_item(item, item_type))
            except Exception as exc:  # the first bad item is the error: 250,000 bad ones cost no more
                raise cattrs.IterableValidationError("list", [_at(exc, index, item_type)], t) from None
        return tuple(items) if immutable else items

    return hook


def _at(exc: Exception, where: Any, item_type: Any) -> Exception:
    """``exc``, noted (as cattrs notes it) as raised by the item at ``where``."""
    exc.__notes__ = [*getattr(exc, "__notes__", []), IterableValidationNote(str(where), where, item_type)]
    return exc


_converter.register_structure_hook_factory(is_sequence, _sequence_factory)


def _mapping_factory(t: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    key_type, value_type = get_args(t) or (Any, Any)
    structure_key = converter.get_structure_hook(key_type)
    structure_value = converter.get_structure_hook(value_type)

    def hook(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a mapping, got {_type_name(value)}")
        out = {}
        for key, item in value.items():
            try:
                out[structure_key(key, key_type)] = structure_value(item, value_type)
            except Exception as exc:  # the first bad entry is the error, with its key as path
                raise cattrs.IterableValidationError("mapping", [_at(exc, key, value_type)], t) from None
        return out

    return hook


_converter.register_structure_hook_factory(is_mapping, _mapping_factory)


def _structure_secret(value: Any, _: Any) -> SecretRef:
    if not isinstance(value, Mapping):
        # never echo the value: it is likely a secret pasted where a reference belongs
        raise ValueError(
            "a literal secret value is not allowed here; use {env: VAR} or {secret: NAME, key: KEY}"
        )
    return _structure_attrs(value, SecretRef)


def _structure_attrs(value: Any, cls: type[T]) -> T:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a mapping, got {_type_name(value)}")
    return _base_attrs_hook(cls)(value, cls)  # type: ignore[no-any-return]


_attrs_hooks: dict[type, Callable[[Any, Any], Any]] = {}


def _base_attrs_hook(cls: type) -> Callable[[Any, Any], Any]:
    hook = _attrs_hooks.get(cls)
    if hook is None:
        hook = _attrs_hooks[cls] = cattrs.gen.make_dict_structure_fn(
            cls, _converter, _cattrs_forbid_extra_keys=True
        )
    return hook


# Every attrs class must arrive as a mapping (cattrs would otherwise try anything).
_converter.register_structure_hook_factory(
    lambda t: attrs.has(t) and t is not SecretRef,
    lambda t: lambda value, _: _structure_attrs(value, t),
)
_converter.register_structure_hook(SecretRef, _structure_secret)


def _structure_resources(value: Any, _: Any) -> ResourceSpec | str | None:
    if value is None or isinstance(value, str):
        return value  # the ComputeConfig validator names the allowed presets
    return _structure_attrs(value, ResourceSpec)


_converter.register_structure_hook(RESOURCES, _structure_resources)


def _structure_compute(value: Any, _: Any) -> ComputeConfig:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a mapping, got {_type_name(value)}")
    data = dict(value)
    raw_config = data.pop("config", None)
    compute = _structure_attrs(data, ComputeConfig)
    config_class = None
    resolver = _config_classes.get()
    if resolver is not None:
        config_class = resolver(compute.type)
    if raw_config is None and config_class is None:
        config = None
    elif config_class is None:
        if not isinstance(raw_config, Mapping):
            raise _noted(TypeError(f"expected a mapping, got {_type_name(raw_config)}"), "config")
        config = dict(raw_config)
    else:
        try:
            # no config: block is an empty one: a required field is then reported by name
            config = _converter.structure({} if raw_config is None else raw_config, config_class)
        except Exception as exc:
            raise _noted(exc, "config") from None
    if raw_config is not None:
        from floe_hooks._literal_secrets import LITERAL_SECRET_MESSAGE, literal_secret_path

        secret_at = literal_secret_path(config)  # the plugin's secret fields, then names
        if secret_at is not None:
            raise _noted(ConfigError(LITERAL_SECRET_MESSAGE, path=secret_at), "config")
    return attrs.evolve(compute, config=config)


def _noted(exc: BaseException, name: str) -> BaseException:
    exc.__notes__ = [*getattr(exc, "__notes__", []), AttributeValidationNote(name, name, Any)]
    return cattrs.ClassValidationError("compute", [exc], ComputeConfig)  # type: ignore[list-item]


_converter.register_structure_hook(ComputeConfig, _structure_compute)


def _structure_class_ref(value: Any, _: Any) -> type | str | None:
    """A config class reference: a class, or ``"module:Class"`` kept as text (data never imports code)."""
    if value is None or isinstance(value, (str, type)):
        return value
    raise TypeError(f'expected "module:Class", got {_type_name(value)}')


_converter.register_structure_hook(typing.Union[type, str, None], _structure_class_ref)
_converter.register_unstructure_hook(type, lambda cls: f"{cls.__module__}:{cls.__qualname__}")
_converter.register_unstructure_hook(
    SqlStatement, lambda s: {"sql": MASK if s.sensitive else s.sql, "sensitive": s.sensitive}
)
_converter.register_unstructure_hook(enum.Enum, lambda e: e.value)


def _leaf_message(exc: BaseException) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        allowed = sorted(a.name for a in attrs.fields(exc.cl)) if attrs.has(exc.cl) else []
        extra = ", ".join(repr(k) for k in sorted(exc.extra_fields, key=str))
        return f"unknown key {extra}" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if isinstance(exc, KeyError):
        return "required field is missing"
    if isinstance(exc, ConfigError):
        return exc.message
    from floe_hooks._redact import redact

    text = redact(str(exc)) or type(exc).__name__  # masked before the cut to one line
    return text.splitlines()[0] if text else type(exc).__name__


def _locate(exc: BaseException, path: str) -> tuple[str, BaseException]:
    """Follow the first failure down the tree of cattrs errors; return its path and leaf."""
    while isinstance(exc, BaseValidationError):
        # an unknown key first: it is usually the misspelling of the key reported missing
        sub = next((e for e in exc.exceptions if isinstance(e, ForbiddenExtraKeysError)), exc.exceptions[0])
        for note in getattr(sub, "__notes__", ()):
            if isinstance(note, AttributeValidationNote):
                path = f"{path}.{note.name}" if path else note.name
                break
            if isinstance(note, IterableValidationNote):
                index = note.index
                path = (
                    f"{path}[{index}]"
                    if isinstance(index, int)
                    else (f"{path}.{index}" if path else str(index))
                )
                break
        exc = sub
    if isinstance(exc, ConfigError) and exc.path:
        path = f"{path}.{exc.path}" if path else exc.path
    return path, exc


def _step(path: str, sub: BaseException) -> str:
    """``path`` extended by the attribute or index note cattrs left on ``sub``."""
    for note in getattr(sub, "__notes__", ()):
        if isinstance(note, AttributeValidationNote):
            return f"{path}.{note.name}" if path else note.name
        if isinstance(note, IterableValidationNote):
            index = note.index
            if isinstance(index, int):
                return f"{path}[{index}]"
            return f"{path}.{index}" if path else str(index)
    return path


def _problems(exc: BaseException, path: str, limit: int = 100) -> list[tuple[str, str]]:
    """Every leaf failure of a cattrs error tree, as ``(path, message)``, at most ``limit``."""
    found: list[tuple[str, str]] = []
    stack = [(exc, path)]
    while stack and len(found) < limit:
        node, where = stack.pop()
        if isinstance(node, BaseValidationError):
            stack.extend((sub, _step(where, sub)) for sub in reversed(node.exceptions))
            continue
        if isinstance(node, ConfigError) and node.path:
            where = f"{where}.{node.path}" if where else node.path
        found.append((where, _leaf_message(node)))
    return found


def _joined(path: str, where: str) -> str:
    return f"{path}.{where}" if path and where and not where.startswith("[") else f"{path}{where}"


def structure(data: Any, cls: type[T], *, file: str | None = None, path: str = "") -> T:
    """Structure plain data into ``cls``, raising one located :class:`ConfigError`.

    :param data: what ``yaml.safe_load``/``json.load`` produced.
    :param cls: the attrs class (or typing construct) to build.
    :param file: the file the data came from, for the error message.
    :param path: the field path of ``data`` inside that file.
    """
    try:
        return _converter.structure(data, cls)
    except Exception as exc:  # every failure becomes our one error type
        where, leaf = _locate(exc, "")
        full = _joined(path, where)
        first = (full or None, _leaf_message(leaf))
        rest = [(_joined(path, p) or None, m) for p, m in _problems(exc, "")]
        problems = (first, *(p for p in rest if p != first))
        raise ConfigError(first[1], file=file, path=full or None, problems=problems) from None


def structure_compute(
    data: Any,
    config_class_for: Callable[[str], type | None],
    *,
    file: str | None = None,
    path: str = "",
) -> ComputeConfig:
    """Structure one compute, using ``config_class_for(type)`` for its ``config:`` block."""
    token = _config_classes.set(config_class_for)
    try:
        return structure(data, ComputeConfig, file=file, path=path)
    finally:
        _config_classes.reset(token)


def unstructure(obj: Any) -> Any:
    """Plain data (dicts, lists, strings, numbers) for any model; secrets stay masked."""
    return _converter.unstructure(obj)


def register_structure_hook(cls: Any, hook: Callable[[Any, Any], Any]) -> None:
    """Let a plugin teach the converter a type of its own config (rarely needed)."""
    from floe_hooks import _structure

    _converter.register_structure_hook(cls, hook)
    _structure.taught(cls)  # the fast path leaves that type to the converter from now on


_converter.register_unstructure_hook(
    SecretRef, cattrs.gen.make_dict_unstructure_fn(SecretRef, _converter, _cattrs_omit_if_default=True)
)
