"""Walking nested data: every value inside mappings, lists and (optionally) attrs instances, with its path."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

__all__ = ["walk"]


def walk(value: Any, path: str = "", *, into_attrs: bool = False) -> Iterator[tuple[str, Any]]:
    """``(path, value)`` for ``value`` and everything inside it, parents first.

    Paths read as a manifest's field paths: ``config.attach[0].path``. Mapping keys and
    (with ``into_attrs``) attrs fields join with ``.``, list and tuple items take ``[i]``.
    """
    yield path, value
    if into_attrs and attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            where = f"{path}.{field.name}" if path else field.name
            yield from walk(getattr(value, field.name), where, into_attrs=True)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else str(key), into_attrs=into_attrs)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]", into_attrs=into_attrs)
