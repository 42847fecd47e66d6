"""Structured logging through structlog, imported only when an event will be emitted.

Quiet by default: only warnings and errors reach stderr. ``FLOE_LOG_LEVEL`` (or
``floe --log-level``) lowers the threshold; ``FLOE_LOG_FORMAT=json`` (or
``floe --log-format json``) makes every line a JSON object. Every event carries the
correlation id of the CLI run or API call that produced it.
"""

from __future__ import annotations

import contextvars
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("floe_correlation_id", default=None)
_state: dict[str, Any] = {"level": None, "format": None, "logger": None}


def configure(level: str | None = None, fmt: str | None = None) -> None:
    """Set the threshold (``debug``..``error``) and format (``console`` or ``json``)."""
    if level is not None:
        if level.lower() not in _LEVELS:
            raise ValueError(f"unknown log level {level!r}; allowed: {', '.join(_LEVELS)}")
        _state["level"] = _LEVELS[level.lower()]
    if fmt is not None:
        if fmt not in ("console", "json"):
            raise ValueError(f"unknown log format {fmt!r}; allowed: console, json")
        _state["format"] = fmt
    _state["logger"] = None


def _threshold() -> int:
    if _state["level"] is None:
        _state["level"] = _LEVELS.get(os.environ.get("FLOE_LOG_LEVEL", "warning").lower(), 30)
    return int(_state["level"])


def enabled(level: str) -> bool:
    """Whether an event of ``level`` would be emitted (cheap; use before costly kwargs)."""
    return _LEVELS[level] >= _threshold()


def correlation_id() -> str:
    """The current correlation id, creating one when none is bound."""
    current = _correlation.get()
    if current is None:
        current = uuid.uuid4().hex[:16]
        _correlation.set(current)
    return current


@contextmanager
def correlation(cid: str | None = None) -> Iterator[str]:
    """Bind a correlation id (a new one by default) for the events inside the block."""
    token = _correlation.set(cid or uuid.uuid4().hex[:16])
    try:
        yield _correlation.get()  # type: ignore[misc]
    finally:
        _correlation.reset(token)


def _logger() -> Any:
    logger = _state["logger"]
    if logger is None:
        import structlog

        fmt = _state["format"] or os.environ.get("FLOE_LOG_FORMAT", "console")
        renderer: Any = (
            structlog.processors.JSONRenderer()
            if fmt == "json"
            else structlog.dev.ConsoleRenderer(colors=False)
        )
        logger = structlog.wrap_logger(
            structlog.PrintLogger(file=sys.stderr),
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                renderer,
            ],
        )
        _state["logger"] = logger
    return logger


def _emit(level: str, event: str, fields: dict[str, Any]) -> None:
    if _LEVELS[level] < _threshold():
        return
    from floe_hooks._redact import redact_fields

    getattr(_logger(), level)(event, correlation_id=correlation_id(), **redact_fields(fields))


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
