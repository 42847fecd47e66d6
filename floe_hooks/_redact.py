"""Keeping secret values out of logs, spans, metrics, messages and files.

Secrets are registered here when they are resolved (:func:`remember`); every text
that leaves the process through a log, a span, a metric or an error message passes
through :func:`redact`, which replaces any registered value with the mask.

A value is also registered in the spellings it takes when a driver or a serializer
echoes it: JSON-escaped, ``repr``-escaped and percent-encoded (DSNs), so that an
escaped copy of a secret is masked too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from floe_hooks.secrets import MASK, SecretValue

__all__ = ["remember", "redact", "redact_value", "redact_fields", "known", "forget_all", "MASK"]

_lock = threading.Lock()
# Longest first, so that a secret containing another is masked whole. Both are replaced,
# never mutated, so readers need no lock.
_ordered: tuple[str, ...] = ()
_pattern: re.Pattern[str] | None = None  # one alternation: one scan of a text, however many secrets
_SHORTEST = 4  # shorter values would mask ordinary words; they are never logged anyway


def _spellings(text: str) -> set[str]:
    import json
    from urllib.parse import quote, quote_plus

    found: set[str] = set()
    # the stripped form too: a secret read from a file ends in a newline a driver drops
    for form in {text, text.strip()}:
        found |= {
            form,
            json.dumps(form)[1:-1],
            repr(form)[1:-1],
            quote(form, safe=""),
            quote_plus(form, safe=""),
        }
    return {s for s in found if len(s) >= _SHORTEST}


def remember(value: SecretValue | str) -> None:
    """Register a resolved secret so that :func:`redact` masks it wherever it appears.

    Values shorter than four characters are not registered: masking them would mangle
    ordinary words, and the framework never logs secret values in the first place. The
    value without surrounding whitespace is registered too (``"s3cr3t\n"`` also masks
    ``s3cr3t``). Mask a whole text before cutting it to a line or a length (see
    :func:`redact`), or a secret crossing the cut leaks in part.
    """
    global _ordered, _pattern
    text = value.reveal() if isinstance(value, SecretValue) else value
    if len(text) < _SHORTEST:
        return
    with _lock:
        new = _spellings(text) - set(_ordered)
        if new:
            _ordered = tuple(sorted(set(_ordered) | new, key=lambda s: (-len(s), s)))
            _pattern = re.compile("|".join(map(re.escape, _ordered)))


def known() -> int:
    """How many secret spellings are registered (for diagnostics; never the values)."""
    return len(_ordered)


def forget_all() -> None:
    """Forget every registered secret (tests, long-running hosts rotating credentials)."""
    global _ordered, _pattern
    with _lock:
        _ordered = ()
        _pattern = None


def redact(text: str) -> str:
    """``text`` with every known secret value replaced by the mask."""
    pattern = _pattern
    if pattern is None:
        return text
    return pattern.sub(MASK, text)


def redact_value(value: Any) -> Any:
    """A copy of ``value`` safe to log or export.

    Strings are redacted; mappings, lists and tuples are redacted item by item;
    numbers, booleans and None pass; anything else becomes its redacted ``str``
    (exceptions, paths, enums), so no object's own ``repr`` can carry a secret out.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return redact(str(value))


def redact_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Redact every value of a log event or span attribute dict (see :func:`redact_value`)."""
    return {k: redact_value(v) for k, v in fields.items()}
