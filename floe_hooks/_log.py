"""Structured logging through structlog, imported only when an event will be emitted.

Quiet by default: only warnings and errors reach stderr. ``FLOE_LOG_LEVEL`` (or
``floe --log-level``) lowers the threshold; ``FLOE_LOG_FORMAT=json`` (or
``floe --log-format json``) makes every line a JSON object. Every event carries the
correlation id of the CLI run or API call that produced it (``correlation_id``), and
passes through :mod:`floe_hooks._redact` twice: its fields before rendering and the
rendered line after, so no registered secret value can reach the output.

Events below the threshold cost one comparison: structlog is not even imported until
the first event that will actually be written.
"""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

__all__ = [
    "configure",
    "enabled",
    "correlation_id",
    "correlation",
    "scope",
    "debug",
    "info",
    "warning",
    "error",
    "LEVEL_ENV",
    "FORMAT_ENV",
]

#: Environment variable holding the default threshold (``debug``..``error``).
LEVEL_ENV = "FLOE_LOG_LEVEL"
#: Environment variable holding the default format (``console`` or ``json``).
FORMAT_ENV = "FLOE_LOG_FORMAT"

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("floe_correlation_id", default=None)
_state: dict[str, Any] = {"level": None, "format": None, "logger": None}


def configure(level: str | None = None, fmt: str | None = None) -> None:
    """Set the threshold (``debug``..``error``) and format (``console`` or ``json``).

    ``None`` keeps the current setting (initially: the environment variables, else
    ``warning`` and ``console``).
    """
    if level is not None:
        if level.lower() not in _LEVELS:
            raise ValueError(f"unknown log level {level!r}; allowed: {', '.join(_LEVELS)}")
        _state["level"] = _LEVELS[level.lower()]
    if fmt is not None:
        if fmt not in ("console", "json"):
            raise ValueError(f"unknown log format {fmt!r}; allowed: console, json")
        _state["format"] = fmt
    _state["logger"] = None


def _reset() -> None:
    """Forget every setting: the next event reads the environment again (tests)."""
    _state.update(level=None, format=None, logger=None)


def _threshold() -> int:
    level = _state["level"]
    if level is None:
        level = _LEVELS.get(os.environ.get(LEVEL_ENV, "warning").strip().lower(), 30)
        _state["level"] = level
    return int(level)


def enabled(level: str) -> bool:
    """Whether an event of ``level`` would be emitted (cheap; use before costly kwargs)."""
    return _LEVELS[level] >= _threshold()


def _new_id() -> str:
    # 16 random hex digits; os.urandom spares `floe` start-up the uuid module (and _uuid).
    return os.urandom(8).hex()


def correlation_id() -> str:
    """The correlation id bound by the current CLI run or API call.

    Outside any (:func:`correlation`, :func:`scope`) every call returns a new id: an
    event that belongs to no call shares its id with nothing, and nothing is bound
    behind the caller's back.
    """
    current = _correlation.get()
    return _new_id() if current is None else current


@contextmanager
def correlation(cid: str | None = None) -> Iterator[str]:
    """Bind a correlation id (a new one by default) for the events inside the block."""
    value = cid or _new_id()
    token = _correlation.set(value)
    try:
        yield value
    finally:
        _correlation.reset(token)


@contextmanager
def scope() -> Iterator[str]:
    """The correlation id of an API call: the caller's if one is bound, else a new one.

    Public API functions (``check_health``...) run inside this, so that a host's own
    correlation id (or the CLI run's) is kept, and a bare API call still gets one id
    shared by all of its events, including those from worker threads.
    """
    current = _correlation.get()
    if current is not None:
        yield current
        return
    with correlation() as cid:
        yield cid


class _Stderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing (test capture, redirects)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    from floe_hooks._redact import redact_fields

    return redact_fields(dict(event))


def _redact_line(_: Any, __: str, line: Any) -> Any:
    from floe_hooks._redact import redact

    return redact(line) if isinstance(line, str) else line


def _logger() -> Any:
    logger = _state["logger"]
    if logger is None:
        import structlog

        fmt = _state["format"] or os.environ.get(FORMAT_ENV, "console").strip().lower()
        renderer: Any = (
            structlog.processors.JSONRenderer(sort_keys=True)
            if fmt == "json"
            else structlog.dev.ConsoleRenderer(colors=False)
        )
        logger = structlog.wrap_logger(
            structlog.PrintLogger(file=_Stderr()),  # type: ignore[arg-type]
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _redact_event,
                renderer,
                _redact_line,
            ],
        )
        _state["logger"] = logger
    return logger


def _emit(level: str, event: str, fields: dict[str, Any]) -> None:
    if _LEVELS[level] < _threshold():
        return
    fields["correlation_id"] = correlation_id()
    getattr(_logger(), level)(event, **fields)


def debug(event: str, **fields: Any) -> None:
    """Emit a debug event."""
    _emit("debug", event, fields)


def info(event: str, **fields: Any) -> None:
    """Emit an info event."""
    _emit("info", event, fields)


def warning(event: str, **fields: Any) -> None:
    """Emit a warning event."""
    _emit("warning", event, fields)


def error(event: str, **fields: Any) -> None:
    """Emit an error event."""
    _emit("error", event, fields)
