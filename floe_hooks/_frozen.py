"""Read-only containers for structured configs, so a hook call needs no copy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

import attrs

__all__ = ["FrozenDict", "freeze"]

_K = TypeVar("_K")
_V = TypeVar("_V")
_ATOMS = (str, int, float, bool, type(None), bytes, type)


class FrozenDict(dict[_K, _V]):
    """A ``dict`` whose contents cannot change: the mappings of a structured config.

    It is a ``dict`` for everything that reads (``isinstance``, ``json.dumps``, ``==``
    with a dict, ``dict(...)`` to get a mutable copy); every method that writes raises
    ``TypeError``. It hashes when its values do, and survives ``copy``, ``deepcopy`` and
    ``pickle`` as a ``FrozenDict``.
    """

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a structured config is read-only; copy it with dict(...) to change it")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> Any:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict[_K, _V]:
        return self

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


def freeze(value: Any) -> Any:
    """``value`` with every mapping a :class:`FrozenDict`, every list a tuple, every set a frozenset.

    attrs instances are frozen field by field, in place: call it on what was just
    structured (nobody else holds it yet). Other objects are returned as they are.
    """
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, Mapping):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    if type(value) in (list, tuple):
        return tuple(freeze(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            current = getattr(value, field.name)
            frozen = freeze(current)
            if frozen is not current:
                object.__setattr__(value, field.name, frozen)
    return value
