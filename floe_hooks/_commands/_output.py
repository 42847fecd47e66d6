"""Shared output helpers for the sub-commands: tables and JSON."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO | None = None) -> None:
    """Print an aligned plain-text table."""
    out = out or sys.stdout
    cells = [[str(h).upper() for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def dump_json(data: Any, out: TextIO | None = None) -> None:
    """Print ``data`` as indented, key-sorted JSON."""
    import json

    out = out or sys.stdout
    text = json.dumps(data, indent=2, sort_keys=True)  # whole, or nothing on stdout at all
    out.write(text + "\n")
