"""How values and exceptions are named in floe's one-line messages."""

from __future__ import annotations

from typing import Any

__all__ = ["one_line", "kind", "error_type", "PluginRaised"]

_KINDS: dict[type, str] = {
    dict: "a mapping",
    list: "a list",
    tuple: "a list",
    str: "a string",
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
}


def kind(value: Any) -> str:
    """How messages name the YAML/JSON kind of ``value``: ``expected a string, got an integer``.

    Subclasses are named by their nearest known base (a ``bool`` stays ``a boolean``).
    """
    for base in type(value).__mro__:
        if base in _KINDS:
            return _KINDS[base]
    return f"a {type(value).__name__}"


class PluginRaised(Exception):
    """A ``BaseException`` that is not an ``Exception``, raised by plugin code in a worker thread."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(original)
        self.original = original


def one_line(exc: BaseException) -> str:
    """``Type: first line`` of an exception, at most 500 characters (floe's own errors: the line).

    Secrets are masked before the message is cut: a secret crossing the line end or the
    length limit would otherwise leak the part before the cut. Safe on a plugin's
    exception whose ``__str__`` itself fails.
    """
    from floe_hooks._redact import redact
    from floe_hooks.errors import FloeError

    if isinstance(exc, PluginRaised):
        exc = exc.original
    try:
        text = redact(str(exc)).strip().splitlines()
    except Exception:  # a plugin's exception whose __str__ itself fails
        text = ["(its message cannot be shown)"]
    first = text[0] if text else ""
    if isinstance(exc, FloeError):
        return first[:500]
    return f"{type(exc).__name__}: {first}"[:500] if first else type(exc).__name__


def error_type(exc: BaseException) -> str:
    """The class name worth reporting: the plugin's own error, not the framework's wrapper.

    A :class:`~floe_hooks.errors.PluginError` raised because a hook raised reports the
    hook's exception class (its ``__cause__``); a load failure reports itself.
    """
    from floe_hooks.errors import PluginError, PluginLoadError

    cause = exc.__cause__
    if isinstance(exc, PluginError) and not isinstance(exc, PluginLoadError) and cause is not None:
        return type(cause).__name__
    return type(exc).__name__
