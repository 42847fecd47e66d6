"""Notes a plugin leaves for the person running ``floe compile``: collected, then printed."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["note", "collecting"]

_notes: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("floe_notes", default=None)


def note(message: str) -> None:
    """Tell the person compiling something worth knowing that is not an error.

    Call it from a hook (``generate_profile`` usually): ``floe compile`` prints each note
    as a ``note: <message>`` line after what it wrote. Elsewhere (a host application that
    collects none) the note is dropped. Name the compute in the message; never a secret::

        note(f"compute {compute.name!r}: json is built into DuckDB; left out of extensions")
    """
    collected = _notes.get()
    if collected is not None and message not in collected:
        collected.append(str(message))


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the notes of what runs inside (and in contexts copied from it), in order."""
    collected: list[str] = []
    token = _notes.set(collected)
    try:
        yield collected
    finally:
        _notes.reset(token)
