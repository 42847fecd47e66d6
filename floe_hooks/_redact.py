"""Keeping secret values out of logs, spans and messages.

Secrets are registered here when they are resolved (:func:`remember`); every text
that leaves the process through a log, a span or an error message passes through
:func:`redact`, which replaces any registered value with the mask.
"""

from __future__ import annotations

import threading
from typing import Any

from floe_hooks.secrets import MASK, SecretValue

_known: set[str] = set()
_lock = threading.Lock()
_SHORTEST = 4  # shorter values would mask ordinary words; they are never logged anyway


def remember(value: SecretValue) -> None:
    """Register a resolved secret so that :func:`redact` masks it wherever it appears."""
    text = value.reveal()
    if len(text) >= _SHORTEST:
        with _lock:
            _known.add(text)


def redact(text: str) -> str:
    """``text`` with every known secret value replaced by the mask."""
    if not _known:
        return text
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Redact the string values of a log event or span attribute dict."""
    if not _known:
        return fields
    return {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
