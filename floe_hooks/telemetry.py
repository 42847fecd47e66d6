"""OpenTelemetry around every hook call, costing next to nothing when unconfigured.

Only ``opentelemetry-api`` is used, and only once the host has installed an SDK
provider (``opentelemetry.trace.set_tracer_provider`` / ``opentelemetry.metrics.
set_meter_provider``). Until then :func:`hook_call` returns a shared do-nothing
context manager after two dictionary look-ups, without importing OpenTelemetry at
all. The check is made on every call, so a provider installed later in the process
is picked up from the next hook call on.

What is recorded (see ``docs/observability.md``):

* a span ``floe.<hook>`` per hook call, child of the caller's current span (also
  across the worker threads of :func:`floe_hooks.check_health`), with attributes
  ``floe.compute.name``, ``floe.compute.type``, ``floe.plugin.name``,
  ``floe.plugin.distribution``, ``floe.plugin.version``, ``floe.status`` and, on
  failure, ``error.type``;
* ``floe.validation.duration`` (histogram, ms) and ``floe.validation.errors``
  (counter) per health check, attributes ``floe.compute.type``, ``floe.status`` and
  (errors) ``error.type``;
* ``floe.profile.duration`` (histogram, ms) per ``generate_profile`` call;
* with the log threshold at ``debug``, a ``hook_call`` log event per call (hook,
  compute, plugin, status, error type, duration), even without OpenTelemetry.

Every string attribute and status description is redacted; exceptions are never
recorded with their message or traceback (a driver's message may echo a secret),
only their class name.
"""

from __future__ import annotations

import contextvars
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from floe_hooks import _log
from floe_hooks._text import error_type as _error_type

if TYPE_CHECKING:
    from types import TracebackType

    from floe_hooks.models import ComputeConfig, PluginMetadata

__all__ = [
    "hook_call",
    "record_validation",
    "capture",
    "active",
    "flush",
    "HookCall",
    "TIMEOUT_ERROR",
    "CONNECTION_ERROR",
]

#: ``error.type`` of a check the framework abandoned at its timeout.
TIMEOUT_ERROR = "ComputeTimeoutError"
#: ``error.type`` of a check whose plugin answered ``unhealthy`` itself.
CONNECTION_ERROR = "ComputeConnectionError"
_CONTRACT_ERROR = "PluginContractError"


class _Plugin(Protocol):
    """What a span says of the plugin it calls (a :class:`floe_hooks.PluginInfo`)."""

    @property
    def name(self) -> str: ...
    @property
    def distribution(self) -> str | None: ...
    @property
    def distribution_version(self) -> str | None: ...
    @property
    def metadata(self) -> PluginMetadata: ...


_UNKNOWN = object()
_named_by_env: dict[str, bool] = {}
_INACTIVE_TRACING = frozenset({"ProxyTracerProvider", "NoOpTracerProvider"})
_INACTIVE_METRICS = frozenset({"_ProxyMeterProvider", "NoOpMeterProvider"})

# provider -> tracer / instruments; a provider installed later replaces the entry.
_cache: dict[str, tuple[Any, Any]] = {}
_cache_lock = threading.Lock()
# Set by check_health's workers: the calls started in that context, so that a check
# abandoned at its timeout can end its span and record its metrics at once.
_sink: contextvars.ContextVar[list[HookCall] | None] = contextvars.ContextVar("floe_hook_calls", default=None)


def _provider(module: Any, attribute: str, variable: str, getter: str) -> Any:
    """The global provider, or None when none was set: cheaply, without the API's getter.

    The API keeps the provider set with ``set_*_provider`` in a module global that is
    None until then; the getter would also read the environment each time (for a
    provider named by ``OTEL_PYTHON_*_PROVIDER``), so it is only called when that
    variable is set (read once per process), or when a future API no longer has the global.
    """
    provider = getattr(module, attribute, _UNKNOWN)
    if provider is None:
        named = _named_by_env.get(variable)
        if named is None:  # read once: a lookup in os.environ costs microseconds
            named = _named_by_env[variable] = variable in os.environ
        if not named:
            return None
    if provider is None or provider is _UNKNOWN:
        provider = getattr(module, getter)()
    return provider


def _tracer() -> Any:
    """The floe tracer of the installed SDK provider, or None (no import happens)."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    provider = _provider(trace, "_TRACER_PROVIDER", "OTEL_PYTHON_TRACER_PROVIDER", "get_tracer_provider")
    if provider is None or type(provider).__name__ in _INACTIVE_TRACING:
        return None
    cached = _cache.get("tracer")
    if cached is None or cached[0] is not provider:
        from floe_hooks._version import __version__

        cached = (provider, provider.get_tracer("floe_hooks", __version__))
        _cache["tracer"] = cached
    return cached[1]


class _Instruments:
    """The metric instruments, created once per meter provider."""

    def __init__(self, provider: Any) -> None:
        from floe_hooks._version import __version__

        meter = provider.get_meter("floe_hooks", __version__)
        self.validation_duration = meter.create_histogram(
            "floe.validation.duration", unit="ms", description="Wall time of one compute health check"
        )
        self.validation_errors = meter.create_counter(
            "floe.validation.errors",
            unit="1",
            description="Health checks that ended unhealthy (error.type says why)",
        )
        self.profile_duration = meter.create_histogram(
            "floe.profile.duration", unit="ms", description="Wall time of one generate_profile hook call"
        )


def _instruments() -> _Instruments | None:
    """The instruments of the installed SDK meter provider, or None (no import happens)."""
    internal = sys.modules.get("opentelemetry.metrics._internal")
    if internal is None:
        return None
    provider = _provider(internal, "_METER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER", "get_meter_provider")
    if provider is None or type(provider).__name__ in _INACTIVE_METRICS:
        return None
    cached = _cache.get("meter")
    if cached is None or cached[0] is not provider:
        with _cache_lock:
            cached = _cache.get("meter")
            if cached is None or cached[0] is not provider:
                cached = (provider, _Instruments(provider))
                _cache["meter"] = cached
    instruments: _Instruments = cached[1]
    return instruments


def active() -> bool:
    """True when the host has installed an OpenTelemetry SDK tracer or meter provider."""
    return _tracer() is not None or _instruments() is not None


def flush(timeout_millis: int = 5000) -> None:
    """Hand over what the installed SDK providers still hold (``force_flush``), if any.

    For a process that must end without running its exit handlers (``os._exit``):
    nothing is imported, and a provider without ``force_flush`` is skipped.
    """
    active = [key for key, found in (("tracer", _tracer()), ("meter", _instruments())) if found is not None]
    for provider in (_cache[key][0] for key in active):
        force_flush = getattr(provider, "force_flush", None)
        if callable(force_flush):
            try:
                force_flush(timeout_millis)
            except Exception as exc:  # the exporter's problem must not change floe's exit status
                _log.warning("telemetry_flush_failed", error_type=type(exc).__name__)


def _attributes(values: dict[str, Any]) -> dict[str, Any]:
    from floe_hooks._redact import redact

    return {k: redact(v) if isinstance(v, str) else v for k, v in values.items() if v is not None}


def record_validation(
    compute_type: str, status: str, duration_ms: float, error_type: str | None = None
) -> None:
    """Record one health check in the validation metrics (no-op without a meter provider).

    :func:`hook_call` does this for checks that reach the plugin; the framework calls
    it directly for checks that end before (a credential that cannot be resolved, a
    compute type no plugin serves).
    """
    instruments = _instruments()
    if instruments is None:
        return
    _record_validation(instruments, compute_type, status, duration_ms, error_type)


def _record_validation(
    instruments: _Instruments, compute_type: str, status: str, duration_ms: float, error_type: str | None
) -> None:
    attributes = _attributes({"floe.compute.type": compute_type, "floe.status": status})
    instruments.validation_duration.record(duration_ms, attributes)
    if status == "unhealthy":
        attributes["error.type"] = error_type or CONNECTION_ERROR
        instruments.validation_errors.add(1, attributes)


class _NullCall:
    """What :func:`hook_call` returns when OpenTelemetry is not configured."""

    __slots__ = ()

    def __enter__(self) -> _NullCall:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def returned(self, result: object) -> None:
        """Nothing to record."""

    def timed_out(self, seconds: float, elapsed_ms: float | None = None) -> None:
        """Nothing to record."""


_NULL = _NullCall()


class HookCall:
    """One traced and measured hook call; ends exactly once, at return or at its timeout."""

    __slots__ = (
        "_compute",
        "_context_token",
        "_done",
        "_hook",
        "_instruments",
        "_lock",
        "_plugin",
        "_result",
        "_span",
        "_start",
        "_tracer",
    )

    def __init__(
        self, hook: str, compute: ComputeConfig, plugin: _Plugin, tracer: Any, instruments: Any
    ) -> None:
        self._hook = hook
        self._compute = compute
        self._plugin = plugin
        self._tracer = tracer
        self._instruments: _Instruments | None = instruments
        self._span: Any = None
        self._context_token: Any = None
        self._result: object = None
        self._done = False
        self._lock = threading.Lock()
        self._start = 0.0

    def __enter__(self) -> HookCall:
        if self._tracer is not None:
            from opentelemetry import context, trace

            self._span = self._tracer.start_span(
                f"floe.{self._hook}",
                attributes=_attributes(
                    {
                        "floe.hook": self._hook,
                        "floe.compute.name": self._compute.name,
                        "floe.compute.type": self._compute.type,
                        "floe.plugin.name": self._plugin.name,
                        "floe.plugin.distribution": self._plugin.distribution or "",
                        "floe.plugin.version": self._plugin.distribution_version
                        or self._plugin.metadata.version,
                    }
                ),
                record_exception=False,
                set_status_on_exception=False,
            )
            self._context_token = context.attach(trace.set_span_in_context(self._span))
        sink = _sink.get()
        if sink is not None:
            sink.append(self)
        self._start = time.perf_counter()
        return self

    def returned(self, result: object) -> None:
        """Remember the hook's return value (its status goes on the span)."""
        self._result = result

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._context_token is not None:
            from opentelemetry import context

            context.detach(self._context_token)
        if exc is not None:
            self._finish(self._failed_status(), _error_type(exc), f"{_error_type(exc)} raised")
            return
        status, error_type = self._outcome()
        self._finish(status, error_type, None)

    def timed_out(self, seconds: float, elapsed_ms: float | None = None) -> None:
        """End the call now as an unhealthy timeout; a later return is ignored.

        :param seconds: the timeout that expired (for the span's status description).
        :param elapsed_ms: the check's wall time as the framework measured it, from
            before its thread started (default: since this call began).
        """
        self._finish("unhealthy", TIMEOUT_ERROR, f"timed out after {seconds:g} s", elapsed_ms)

    def _failed_status(self) -> str:
        return "unhealthy" if self._hook == "validate_connection" else "error"

    def _outcome(self) -> tuple[str, str | None]:
        if self._hook != "validate_connection":
            return "ok", None
        from floe_hooks.models import ConnectionResult

        result = self._result
        if not isinstance(result, ConnectionResult):
            return "unhealthy", _CONTRACT_ERROR
        status = result.status.value
        return status, CONNECTION_ERROR if status == "unhealthy" else None

    def _finish(
        self, status: str, error_type: str | None, description: str | None, elapsed_ms: float | None = None
    ) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        duration_ms = (time.perf_counter() - self._start) * 1000.0 if elapsed_ms is None else elapsed_ms
        span = self._span
        if span is not None:
            span.set_attributes(_attributes({"floe.status": status, "error.type": error_type}))
            if error_type is not None:
                from opentelemetry.trace import Status, StatusCode

                from floe_hooks._redact import redact

                span.set_status(Status(StatusCode.ERROR, redact(description or error_type)))
            span.end()
        if _log.enabled("debug"):
            _log.debug(
                "hook_call",
                hook=self._hook,
                compute=self._compute.name,
                type=self._compute.type,
                plugin=self._plugin.name,
                distribution=self._plugin.distribution,
                status=status,
                error_type=error_type,
                duration_ms=round(duration_ms, 3),
            )
        instruments = self._instruments
        if instruments is None:
            return
        if self._hook == "validate_connection":
            _record_validation(instruments, self._compute.type, status, duration_ms, error_type)
        elif self._hook == "generate_profile":
            attributes = _attributes(
                {"floe.compute.type": self._compute.type, "floe.status": status, "error.type": error_type}
            )
            instruments.profile_duration.record(duration_ms, attributes)


def idle() -> bool:
    """True when no hook call can be traced, measured or logged: OpenTelemetry's trace and
    metrics modules are not even imported, and debug logging is off (the dispatch fast path).
    """
    modules = sys.modules
    return (
        "opentelemetry.trace" not in modules
        and "opentelemetry.metrics._internal" not in modules
        and not _log.enabled("debug")
    )


def hook_call(hook: str, compute: ComputeConfig, plugin: _Plugin) -> HookCall | _NullCall:
    """Context manager around one hook call: a span and metrics, when OpenTelemetry is configured.

    The manager calls ``.returned(result)`` inside the block; an exception leaving the
    block marks the span failed with its ``error.type`` (the plugin's own exception
    class when the framework wrapped it in a :class:`~floe_hooks.PluginError`).
    """
    tracer = _tracer()
    instruments = _instruments()
    if tracer is None and instruments is None and not _log.enabled("debug"):
        return _NULL
    return HookCall(hook, compute, plugin, tracer, instruments)


@contextmanager
def capture(calls: list[HookCall]) -> Iterator[list[HookCall]]:
    """Collect into ``calls`` the hook calls started inside the block (in this context).

    :func:`floe_hooks.check_health` runs each check inside this, so that it can end the
    span of a check it abandons at its timeout (:meth:`HookCall.timed_out`).
    """
    token = _sink.set(calls)
    try:
        yield calls
    finally:
        _sink.reset(token)
