"""Health checks at scale: many computes, concurrently, each under an enforced timeout.

A host application checks its computes without the CLI::

    from floe_hooks import check_health

    for result in check_health(manifest.computes, timeout=3):
        print(result.compute, result.status.value, result.latency_ms, result.message)

Every check runs the owning plugin's ``validate_connection`` in a daemon thread of
its own, so a hundred checks of 200 ms take about 200 ms. The framework, not the
plugin, enforces the timeout: a check still running at its deadline is abandoned
(its thread is never joined, and being a daemon it cannot keep the process alive)
and reported unhealthy, "timed out after X s"; until that thread ends, the same
compute is reported timed out at once instead of being checked again, so a plugin
that hangs forever costs one thread, not one per round. A plugin that raises is reported
unhealthy with its plugin, distribution and error class, the message redacted. A
check never raises and never affects the others.

Credentials are resolved from their references at check time; a reference that
cannot be resolved makes the check unhealthy naming the variable, never a value,
and the plugin is not called.
"""

from __future__ import annotations

import contextvars
import functools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks import _log
from floe_hooks._deadline import _Worker, start_worker
from floe_hooks._text import error_type as _error_type
from floe_hooks._text import one_line as _one_line
from floe_hooks.errors import ConfigError, FloeError
from floe_hooks.models import ComputeConfig, ConnectionResult, ConnectionStatus

if TYPE_CHECKING:
    from floe_hooks.manager import PluginManager
    from floe_hooks.secrets import SecretValue
    from floe_hooks.telemetry import HookCall

__all__ = [
    "check_health",
    "effective_timeout",
    "transitions",
    "Transition",
    "result_fields",
    "DEFAULT_TIMEOUT",
    "MAX_WORKERS",
]

#: Seconds a check may take when neither the caller nor the compute sets a timeout.
DEFAULT_TIMEOUT = 5.0
#: Checks running at once; a check abandoned at its timeout frees its place.
MAX_WORKERS = 256

_UNHEALTHY = ConnectionStatus.UNHEALTHY

# Checks abandoned at their timeout whose thread may still run, by (manager, compute
# name): a compute whose last check never returned is not checked again until it does,
# so a plugin that hangs forever costs one thread, not one per round of --watch.
_abandoned: dict[tuple[int, str], _Worker[None]] = {}
_abandoned_lock = threading.Lock()


def result_fields(result: ConnectionResult) -> dict[str, Any]:
    """A result as the fields of a ``floe validate`` row (table and ``--format json``), after its names."""
    return {
        "status": result.status.value,
        "latency_ms": round(result.latency_ms, 3),
        "message": result.message,
        "warnings": list(result.warnings),
        "details": dict(result.details),
    }


def _still_running(key: tuple[int, str]) -> float | None:
    """Seconds since the abandoned check of ``key`` started, if its thread still runs."""
    with _abandoned_lock:
        worker = _abandoned.get(key)
        if worker is None:
            return None
        if not worker.thread.is_alive():
            del _abandoned[key]
            return None
        return time.perf_counter() - worker.started


def effective_timeout(compute: ComputeConfig, timeout: float | None = None) -> float:
    """The timeout of one check: ``timeout`` if given, else the compute's, else 5 s."""
    if timeout is not None:
        return timeout
    return compute.timeout_seconds or DEFAULT_TIMEOUT


def _check_timeout(timeout: float | None) -> None:
    from floe_hooks._limits import duration_problem

    problem = duration_problem(timeout) if timeout is not None else None
    if problem is not None:
        raise ConfigError(problem, path="timeout")


@attrs.define
class _Slot:
    """One check in flight."""

    index: int
    compute: ComputeConfig
    timeout: float
    started: float = 0.0
    deadline: float = 0.0
    worker: _Worker[None] | None = None
    result: ConnectionResult | None = None
    error_type: str | None = None
    calls: list[HookCall] = attrs.field(factory=list)


def _unhealthy(compute: ComputeConfig, message: str, latency_ms: float) -> ConnectionResult:
    from floe_hooks._redact import redact

    return ConnectionResult(
        status=_UNHEALTHY, latency_ms=max(latency_ms, 0.0), message=redact(message), compute=compute.name
    )


#: What a plugin's result may carry into floe's output: characters per text, warnings,
#: details. A check answers in a line or two; the rest of a runaway answer is cut.
_MAX_TEXT, _MAX_ITEMS = 2000, 50


def _short(text: str) -> str:
    if len(text) <= _MAX_TEXT:
        return text
    return f"{text[:_MAX_TEXT]}... ({len(text) - _MAX_TEXT} more characters)"


#: Largest latency a result may report (a day, in milliseconds): a bigger one is a plugin bug.
_MAX_LATENCY_MS = 86_400_000.0


class _BadResult(Exception):
    """A plugin's result that breaks the contract (a field of the wrong type)."""


def _text(value: object, field: str) -> str:
    """``value`` as an exact ``str`` (no subclass method runs), lone surrogates replaced."""
    if not isinstance(value, str):
        raise _BadResult(f"{field} is {type(value).__name__}, expected str")
    text = str.__str__(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no output stream can write it
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _latency(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _BadResult(f"latency_ms is {type(value).__name__}, expected a number")
    number = float(int.__index__(value)) if isinstance(value, int) and value < 2**64 else None
    if isinstance(value, float):
        number = float.__float__(value)
    if number is None or not 0 <= number <= _MAX_LATENCY_MS:
        raise _BadResult(f"latency_ms is out of range (0 to {_MAX_LATENCY_MS:g} ms)")
    return number


def _clean(result: ConnectionResult, compute: ComputeConfig) -> ConnectionResult:
    """The plugin's result as plain built-in values, every text redacted and bounded.

    Runs in the check's own thread, inside its timeout: whatever the plugin returned
    (``str`` subclasses with their own methods, bytes, huge numbers, lone surrogates) is
    turned into exact ``str``/``float``/``tuple``/``dict`` values, or refused, before the
    framework's output touches it. Drivers echo DSNs into messages: every text is masked,
    then cut.

    :raises _BadResult: a field of the wrong type.
    """
    from floe_hooks._redact import redact

    status = result.status
    if type(status) is not ConnectionStatus:
        raise _BadResult(f"status is {type(status).__name__}, expected floe_hooks.ConnectionStatus")
    raw_warnings = result.warnings
    if not isinstance(raw_warnings, tuple):
        raise _BadResult(f"warnings is {type(raw_warnings).__name__}, expected a tuple of str")
    warnings = [
        _short(redact(_text(w, "a warning"))) for w in tuple.__getitem__(raw_warnings, slice(_MAX_ITEMS))
    ]
    if len(raw_warnings) > _MAX_ITEMS:
        warnings.append(f"... and {len(raw_warnings) - _MAX_ITEMS} more warnings")
    raw_details = result.details
    if not isinstance(raw_details, Mapping):
        raise _BadResult(f"details is {type(raw_details).__name__}, expected a mapping of str to str")
    details = {}
    for key, value in list(raw_details.items())[:_MAX_ITEMS]:
        details[_short(redact(_text(key, "a details key")))] = _short(redact(_text(value, "a details value")))
    return ConnectionResult(
        status=status,
        latency_ms=_latency(result.latency_ms),
        message=_short(redact(_text(result.message, "message"))),
        warnings=tuple(warnings),
        details=details,
        compute=compute.name,
    )


def _run(
    manager: PluginManager,
    slot: _Slot,
    secrets: Mapping[str, SecretValue],
) -> None:
    """Body of a check's worker thread: one check, never raising."""
    from floe_hooks import telemetry

    compute = slot.compute
    try:
        with telemetry.capture(slot.calls):
            result = manager.validate_connection(compute, timeout=slot.timeout, secrets=secrets)
        try:
            slot.result = _clean(result, compute)  # in this thread: bounded by the check's timeout
        except _BadResult as exc:
            owner = manager.plugin_for(compute.type).describe()
            slot.error_type = "PluginContractError"
            slot.result = _unhealthy(
                compute,
                f"plugin {owner}: validate_connection returned a ConnectionResult whose {exc}",
                (time.perf_counter() - slot.started) * 1000,
            )
        else:
            if slot.result.status is _UNHEALTHY:
                slot.error_type = telemetry.CONNECTION_ERROR
    except FloeError as exc:
        slot.error_type = _error_type(exc)
        slot.result = _unhealthy(compute, str(exc), (time.perf_counter() - slot.started) * 1000)
    except BaseException as exc:  # a plugin's SystemExit must not end the host's thread silently
        slot.error_type = type(exc).__name__
        try:
            owner = manager.plugin_for(compute.type).describe()
        except FloeError:
            owner = repr(compute.type)
        slot.result = _unhealthy(
            compute,
            f"plugin {owner}: validate_connection raised {_one_line(exc)}",
            (time.perf_counter() - slot.started) * 1000,
        )


def check_health(
    computes: Iterable[ComputeConfig],
    *,
    timeout: float | None = None,
    manager: PluginManager | None = None,
    environ: Mapping[str, str] | None = None,
    max_workers: int = MAX_WORKERS,
    on_result: Callable[[int, ConnectionResult], None] | None = None,
) -> list[ConnectionResult]:
    """Check every compute concurrently, each under a timeout the framework enforces.

    :param computes: the computes to check (``Manifest.computes``, or any selection).
    :param timeout: seconds allowed to every check; by default each compute's
        ``timeout_seconds``, else :data:`DEFAULT_TIMEOUT` (5 s).
    :param manager: the plugin manager to use (default: the process-wide one).
    :param environ: where credentials' ``env`` references are looked up (default:
        ``os.environ``); values are resolved now, at check time.
    :param max_workers: checks running at once (default 256). One thread per check up
        to that; a check abandoned at its timeout frees its place at once.
    :param on_result: called in the caller's thread as ``on_result(index, result)`` as
        each check ends (progress displays).
    :return: one :class:`~floe_hooks.ConnectionResult` per compute, in the order given,
        with ``compute`` set to the compute's name. Never raises for a failing check:
        timeouts, exceptions, missing credentials and unknown compute types are all
        ``unhealthy`` results whose message says what happened.
    :raises ConfigError: only when ``timeout`` or ``max_workers`` is not a positive number.
    """
    from floe_hooks import _redact, telemetry
    from floe_hooks.manager import get_plugin_manager
    from floe_hooks.secrets import resolve_secrets

    _check_timeout(timeout)
    if max_workers < 1:
        raise ConfigError(f"max_workers must be at least 1, got {max_workers!r}", path="max_workers")
    computes = list(computes)
    manager = manager or get_plugin_manager()
    results: list[ConnectionResult | None] = [None] * len(computes)

    with _log.scope():
        began = time.perf_counter()
        _log.info("validate_started", computes=len(computes), timeout=timeout)

        def finish(index: int, result: ConnectionResult, error_type: str | None) -> None:
            results[index] = result
            compute = computes[index]
            _log.info(
                "validate_result",
                compute=compute.name,
                type=compute.type,
                status=result.status.value,
                latency_ms=round(result.latency_ms, 3),
                message=result.message,
                warnings=list(result.warnings),
                error_type=error_type,
            )
            if on_result is not None:
                on_result(index, result)

        pending: list[tuple[_Slot, dict[str, SecretValue]]] = []
        for index, compute in enumerate(computes):
            slot = _Slot(index, compute, effective_timeout(compute, timeout))
            started = time.perf_counter()
            try:
                manager.plugin_for(compute.type)
            except FloeError as exc:
                result = _unhealthy(compute, str(exc), (time.perf_counter() - started) * 1000)
                telemetry.record_validation(
                    compute.type, _UNHEALTHY.value, result.latency_ms, _error_type(exc)
                )
                finish(index, result, _error_type(exc))
                continue
            age = _still_running((id(manager), compute.name))
            if age is not None:
                result = _unhealthy(
                    compute,
                    f"timed out: the check started {age:.0f} s ago was abandoned at its timeout "
                    "and has not returned yet",
                    0.0,
                )
                telemetry.record_validation(compute.type, _UNHEALTHY.value, 0.0, telemetry.TIMEOUT_ERROR)
                finish(index, result, telemetry.TIMEOUT_ERROR)
                continue
            values, missing = resolve_secrets(compute, environ)
            for value in values.values():
                _redact.remember(value)
            if missing:
                result = _unhealthy(
                    compute,
                    "credentials not available: " + "; ".join(missing),
                    (time.perf_counter() - started) * 1000,
                )
                telemetry.record_validation(compute.type, _UNHEALTHY.value, result.latency_ms, "ConfigError")
                finish(index, result, "ConfigError")
                continue
            pending.append((slot, dict(values)))

        _supervise(manager, pending, max_workers, finish)

        done = [r for r in results if r is not None]
        counts = {s.value: sum(r.status is s for r in done) for s in ConnectionStatus}
        _log.info("validate_finished", duration_ms=round((time.perf_counter() - began) * 1000, 3), **counts)
    return done


def _supervise(
    manager: PluginManager,
    pending: list[tuple[_Slot, dict[str, SecretValue]]],
    max_workers: int,
    finish: Callable[[int, ConnectionResult, str | None], None],
) -> None:
    """Start the checks, at most ``max_workers`` at once, and collect or abandon each."""
    from floe_hooks import telemetry

    done: queue.SimpleQueue[int] = queue.SimpleQueue()
    running: dict[int, _Slot] = {}
    waiting = list(reversed(pending))
    while waiting or running:
        while waiting and len(running) < max_workers:
            slot, secrets = waiting.pop()
            slot.started = time.perf_counter()
            slot.deadline = slot.started + slot.timeout
            running[slot.index] = slot
            slot.worker = start_worker(
                functools.partial(_run, manager, slot, secrets),
                f"floe-check-{slot.compute.name}",
                context=contextvars.copy_context(),  # the caller's span and correlation id
                on_done=functools.partial(done.put, slot.index),
            )
        nearest = min(s.deadline for s in running.values())
        try:
            index = done.get(timeout=max(nearest - time.perf_counter(), 0.0))
        except queue.Empty:
            index = None
        if index is not None:
            slot_done = running.pop(index, None)
            if slot_done is not None and slot_done.result is not None:
                finish(index, slot_done.result, slot_done.error_type)
            continue
        now = time.perf_counter()
        for slot in [s for s in running.values() if s.deadline <= now]:
            del running[slot.index]
            if slot.result is not None:  # finished at the deadline; its notice is on the way
                finish(slot.index, slot.result, slot.error_type)
                continue
            # Abandoned: its daemon thread runs on, never joined; a late notice is ignored.
            if slot.worker is not None:
                with _abandoned_lock:
                    _abandoned[(id(manager), slot.compute.name)] = slot.worker
            seconds = f"{slot.timeout:g}"
            result = _unhealthy(slot.compute, f"timed out after {seconds} s", (now - slot.started) * 1000)
            if slot.calls:
                for call in slot.calls:
                    call.timed_out(slot.timeout, result.latency_ms)
            else:
                telemetry.record_validation(
                    slot.compute.type, _UNHEALTHY.value, result.latency_ms, telemetry.TIMEOUT_ERROR
                )
            _log.info("validate_timeout", compute=slot.compute.name, timeout=slot.timeout)
            finish(slot.index, result, telemetry.TIMEOUT_ERROR)


@attrs.frozen
class Transition:
    """A compute whose status changed between two rounds of checks (``floe validate --watch``).

    :ivar compute: the compute's name.
    :ivar before: its previous status (None in the first round).
    :ivar after: its status now.
    :ivar result: the result of the round that saw the change.
    """

    compute: str
    before: ConnectionStatus | None
    after: ConnectionStatus
    result: ConnectionResult

    def describe(self) -> str:
        """``warehouse: healthy -> degraded (message)``."""
        before = self.before.value if self.before is not None else "unknown"
        text = f"{self.compute}: {before} -> {self.after.value}"
        return f"{text} ({self.result.message})" if self.result.message else text


def transitions(
    previous: Mapping[str, ConnectionStatus], results: Sequence[ConnectionResult]
) -> list[Transition]:
    """The results whose status differs from ``previous`` (by compute name), in order."""
    changed = []
    for result in results:
        name = result.compute or ""
        before = previous.get(name)
        if before is not result.status:
            changed.append(Transition(name, before, result.status, result))
    return changed
