"""Structuring valid data into models without cattrs: the fast path in front of :mod:`._convert`.

Importing cattrs and letting it generate and compile a function per class costs a one-shot
``floe validate`` about 40 ms, more than everything else floe does in it. A valid manifest
needs none of that: this module structures the types floe's models and plugin configs
use (strict scalars, optionals, literals, enums, lists, tuples, mappings, nested attrs
classes, secret references, computes) with small closures built once per type, with no
code generated.

It never explains an error. On anything it does not accept (a wrong type, an unknown or
missing key, a validator that raises, a type it does not know, a type a plugin taught the
converter), it gives up, and the same data goes through the cattrs converter, which
builds the same objects or raises the one located :class:`~floe_hooks.errors.ConfigError`.
``tests/core/test_structure_fast_path.py`` checks that both paths agree.
"""

from __future__ import annotations

import collections.abc
import enum
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args, get_origin

import attrs

from floe_hooks.models import ComputeConfig, ResourceSpec, WorkloadSize
from floe_hooks.secrets import SecretRef

T = TypeVar("T")

_Hook = Callable[[Any], Any]


class _GiveUp(Exception):
    """The data is not plainly valid for the type: cattrs decides (and explains)."""


#: type -> its structuring closure, or None where only cattrs knows how
_hooks: dict[Any, _Hook | None] = {}
#: types a plugin gave a structure hook of its own (``_convert.register_structure_hook``)
_custom: set[Any] = set()

#: ``ComputeConfig.resources``: a spec, a preset name, or nothing
RESOURCES = typing.Union[ResourceSpec, WorkloadSize, None]
_CLASS_REF = typing.Union[type, str, None]
_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
_UNIONS: tuple[Any, ...] = (typing.Union, types.UnionType)
#: the cache key of a compute's own fields (``config:`` aside), structured as any attrs class
_COMPUTE_FIELDS = ("ComputeConfig", "fields")


def taught(cls: Any) -> None:
    """``cls`` has a structure hook of a plugin's own now: leave it, and whatever holds it, to cattrs."""
    _custom.add(cls)
    _hooks.clear()


def _give_up(_: Any) -> Any:
    raise _GiveUp


def _identity(value: Any) -> Any:
    return value


#: what each scalar type accepts, strictly: no coercion, and a boolean is no number
ACCEPTED: dict[type, tuple[type, ...]] = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}


def scalar_fits(kind: type, value: Any) -> bool:
    """Whether ``value`` is a ``kind`` (int, float, str, bool) as the manifest's types read: strictly."""
    return isinstance(value, ACCEPTED[kind]) and (kind is bool or not isinstance(value, bool))


def is_sequence(t: Any) -> bool:
    """A list type the converters build: ``list[X]``, ``tuple[X, ...]``, ``Sequence[X]``."""
    args = get_args(t)
    origin = get_origin(t)
    return origin in _SEQUENCES and not (origin is tuple and not (len(args) == 2 and args[1] is Ellipsis))


def is_immutable_sequence(t: Any) -> bool:
    """A list type built as a tuple (``tuple[X, ...]``, ``Sequence[X]``), not a list."""
    return get_origin(t) in (tuple, collections.abc.Sequence)


def is_mapping(t: Any) -> bool:
    """A mapping type the converters build as a dict: ``dict[K, V]``, ``Mapping[K, V]``."""
    return get_origin(t) in _MAPPINGS


def _strict(kind: type) -> _Hook:
    def scalar(value: Any) -> Any:
        if not scalar_fits(kind, value):
            raise _GiveUp
        return float(value) if kind is float else value

    return scalar


def hook_for(t: Any) -> _Hook | None:
    """The closure structuring ``t``, or None where only cattrs knows how."""
    try:
        return _hooks[t]
    except KeyError:
        pass
    except TypeError:  # an unhashable type argument
        return None
    _hooks[t] = None  # a class that holds itself is cattrs' business
    hook = _build(t)
    _hooks[t] = hook
    return hook


def _build(t: Any) -> _Hook | None:
    if t in _custom:
        return None
    if t is Any:
        return _identity
    if t in (str, int, float, bool):
        return _strict(t)
    if t is type(None):
        return lambda value: value if value is None else _give_up(value)
    if t is SecretRef:
        return _attrs_hook(SecretRef)
    if t == RESOURCES:
        spec = _attrs_hook(ResourceSpec)
        return None if spec is None else (lambda v: v if v is None or isinstance(v, str) else spec(v))
    if t == _CLASS_REF:
        return lambda v: v if v is None or isinstance(v, (str, type)) else _give_up(v)
    origin = get_origin(t)
    if origin in _UNIONS:
        return _optional(t)
    if origin is typing.Literal:
        allowed = get_args(t)
        return lambda v: v if v in allowed else _give_up(v)
    if is_sequence(t):
        return _sequence(t)
    if is_mapping(t):
        return _mapping(t)
    if isinstance(t, type) and issubclass(t, enum.Enum):
        typed = "_value_" in getattr(t, "__annotations__", {})  # cattrs structures the value first
        return None if typed else (lambda v: t(v))
    if isinstance(t, type) and attrs.has(t) and t is not ComputeConfig:
        return _attrs_hook(t)
    return None


def _optional(t: Any) -> _Hook | None:
    args = get_args(t)
    if len(args) != 2 or type(None) not in args:
        return None  # other unions: cattrs' own rules
    (other,) = (a for a in args if a is not type(None))
    inner = hook_for(other)
    if inner is None:
        return None
    return lambda v: None if v is None else inner(v)


def _sequence(t: Any) -> _Hook | None:
    """A list type's closure (a fixed-length tuple is not one: :func:`is_sequence`, cattrs' own rules)."""
    args = get_args(t)
    item = hook_for(args[0] if args else Any)
    if item is None:
        return None
    immutable = is_immutable_sequence(t)

    def sequence(value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise _GiveUp
        items = [item(x) for x in value]
        return tuple(items) if immutable else items

    return sequence


def _mapping(t: Any) -> _Hook | None:
    key_type, value_type = get_args(t) or (Any, Any)
    key, item = hook_for(key_type), hook_for(value_type)
    if key is None or item is None:
        return None

    def mapping(value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _GiveUp
        return {key(k): item(v) for k, v in value.items()}

    return mapping


def _attrs_hook(cls: type) -> _Hook | None:
    """Keys by attribute name, unknown keys refused, missing defaults left to attrs (as cattrs does)."""
    if cls in _custom:
        return None
    try:
        attrs.resolve_types(cls)
    except Exception:  # a name only a type checker sees: cattrs says what is wrong
        return None
    fields: list[tuple[str, str, _Hook, bool]] = []
    for a in attrs.fields(cls):
        if not a.init:
            continue
        field_hook = hook_for(a.type) if a.type is not None else _identity
        if field_hook is None:
            return None
        fields.append((a.name, a.alias or a.name, field_hook, a.default is attrs.NOTHING))
    allowed = frozenset(name for name, *_ in fields)

    def structure(value: Any) -> Any:
        if not isinstance(value, Mapping) or not allowed.issuperset(value):
            raise _GiveUp
        kwargs = {}
        for name, alias, hook, required in fields:
            if name in value:
                kwargs[alias] = hook(value[name])
            elif required:
                raise _GiveUp
        return cls(**kwargs)

    return structure


def _quick(data: Any, cls: Any) -> tuple[bool, Any]:
    hook = hook_for(cls)
    if hook is None:
        return False, None
    try:
        return True, hook(data)
    except Exception:  # _GiveUp, or a validator: the cattrs path explains it
        return False, None


def _quick_compute(data: Any, config_class_for: Callable[[str], type | None]) -> tuple[bool, Any]:
    try:
        return _compute(data, config_class_for)
    except Exception:  # an unknown type, a config class that cannot load...: located by the cattrs path
        return False, None


def _compute(data: Any, config_class_for: Callable[[str], type | None]) -> tuple[bool, Any]:
    if not isinstance(data, Mapping):
        return False, None
    fields = dict(data)
    raw_config = fields.pop("config", None)
    if _COMPUTE_FIELDS not in _hooks:
        _hooks[_COMPUTE_FIELDS] = _attrs_hook(ComputeConfig)  # its cattrs hook is _convert's compute hook
    made, compute = _quick(fields, _COMPUTE_FIELDS)
    if not made:
        return False, None
    config_class = config_class_for(compute.type)
    if config_class is None:
        if raw_config is not None and not isinstance(raw_config, Mapping):
            return False, None
        config = None if raw_config is None else dict(raw_config)
    else:
        made, config = _quick({} if raw_config is None else raw_config, config_class)
        if not made:
            return False, None
    if raw_config is not None:
        from floe_hooks._literal_secrets import literal_secret_path

        if literal_secret_path(config) is not None:
            return False, None
    return True, attrs.evolve(compute, config=config)


def structure(data: Any, cls: type[T], *, file: str | None = None, path: str = "") -> T:
    """Structure plain data into ``cls``, raising one located :class:`~floe_hooks.errors.ConfigError`.

    :param data: what ``yaml.safe_load``/``json.load`` produced.
    :param cls: the attrs class (or typing construct) to build.
    :param file: the file the data came from, for the error message.
    :param path: the field path of ``data`` inside that file.
    """
    made, value = _quick(data, cls)
    if made:
        return value  # type: ignore[no-any-return]
    from floe_hooks import _convert

    return _convert.structure(data, cls, file=file, path=path)


def structure_compute(
    data: Any, config_class_for: Callable[[str], type | None], *, file: str | None = None, path: str = ""
) -> ComputeConfig:
    """Structure one compute, using ``config_class_for(type)`` for its ``config:`` block.

    Raises the located :class:`~floe_hooks.errors.ConfigError` of :func:`_convert.structure_compute`.
    """
    made, value = _quick_compute(data, config_class_for)
    if made:
        return value  # type: ignore[no-any-return]
    from floe_hooks import _convert

    return _convert.structure_compute(data, config_class_for, file=file, path=path)
