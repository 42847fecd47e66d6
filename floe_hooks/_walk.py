"""Walking nested data: every value inside mappings, lists and (optionally) attrs instances, with its path."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

__all__ = ["walk"]


def walk(
    value: Any, path: str = "", *, into_attrs: bool = False, skip: tuple[type, ...] = ()
) -> Iterator[tuple[str, Any]]:
    """``(path, value)`` for ``value`` and everything inside it, parents first.

    Paths read as a manifest's field paths: ``config.attach[0].path``. Mapping keys and
    (with ``into_attrs``) attrs fields join with ``.``, list and tuple items take ``[i]``.
    Values inside of a ``skip`` type are left out, their path never built (a search for
    one kind of value skips the scalars: most of a config).
    """
    yield path, value
    if into_attrs and attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            item = getattr(value, field.name)
            if not isinstance(item, skip):
                where = f"{path}.{field.name}" if path else field.name
                yield from walk(item, where, into_attrs=True, skip=skip)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(item, skip):
                yield from walk(item, f"{path}.{key}" if path else str(key), into_attrs=into_attrs, skip=skip)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if not isinstance(item, skip):
                yield from walk(item, f"{path}[{index}]", into_attrs=into_attrs, skip=skip)
