"""Running plugin code in daemon threads with deadlines, and sending what it prints to stderr.

Two shapes, one module: :func:`_bounded` runs one piece of plugin code (an entry point's
import, ``plugin_metadata``) in a thread of its own and waits at most a timeout for it;
:func:`run_with_hook_deadline` runs a whole piece of host work in a worker thread and fails it
when one hook call inside it outlives the timeout (the per-call bookkeeping,
``_in_flight``/``_abandoned``, is kept by :meth:`floe_hooks.manager.PluginManager._call`).
Health checks keep their own pool of threads (:mod:`floe_hooks.health`): they report each
result as it arrives and remember abandoned checks across rounds, which neither shape does.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from floe_hooks._text import PluginRaised as _PluginRaised
from floe_hooks._text import one_line as _one_line
from floe_hooks.errors import ComputeTimeoutError, PluginLoadError

if TYPE_CHECKING:
    from floe_hooks._discovery import EntryPoint
    from floe_hooks.manager import PluginInfo

_T = TypeVar("_T")


def _checked_timeout(seconds: float) -> float:
    from floe_hooks._limits import duration_problem

    problem = duration_problem(seconds)  # at most a week: a thread wait overflows past ~9.2e9 s
    if problem is not None:
        raise ValueError(f"a timeout {problem}")
    return float(seconds)


_in_plugin: contextvars.ContextVar[bool] = contextvars.ContextVar("floe_in_plugin", default=False)


class _PluginStdout:
    """``sys.stdout`` once plugins have run: writes made by plugin code go to stderr.

    ``floe plugins --format json`` and ``floe validate --format json`` own stdout. The
    stand-in is installed once and left in place, because swapping ``sys.stdout`` around
    each call would race between the threads of concurrent health checks; whether a
    write is a plugin's is a context variable of the thread that makes it.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` to stderr inside plugin code, to the real stdout elsewhere."""
        if _in_plugin.get():
            err = sys.stderr
            return int(err.write(text)) if err is not None else len(text)
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _plugin_code() -> Iterator[None]:
    """Run plugin code (an import, a hook) with what it prints sent to stderr."""
    if sys.stdout is not None and not isinstance(sys.stdout, _PluginStdout):
        sys.stdout = _PluginStdout(sys.stdout)
    token = _in_plugin.set(True)
    try:
        yield
    finally:
        _in_plugin.reset(token)


def _call_metadata(function: Callable[[], object], timeout: float, name: str) -> object:
    """What ``plugin_metadata`` returns, asked once in a bounded thread (see :func:`_bounded`).

    :raises PluginLoadError: it raised, or did not return within ``timeout`` seconds.
    """
    try:
        return _bounded(function, timeout, f"floe-metadata-{name}")
    except _TimedOut:
        raise PluginLoadError(f"plugin_metadata did not return within {timeout:g} s") from None
    except (Exception, SystemExit) as exc:
        raise PluginLoadError(f"plugin_metadata raised {_one_line(exc)}") from None


class _TimedOut(Exception):
    """Plugin code (an import, ``plugin_metadata``) still running when its time was up."""


def _import_bounded(ep: EntryPoint, timeout: float) -> object:
    """``ep.load()``, waited for at most ``timeout`` seconds: see :func:`_bounded`."""
    return _bounded(ep.load, timeout, f"floe-import-{ep.name}")


def _bounded(code: Callable[[], _T], timeout: float, thread_name: str) -> _T:
    """``code()`` in a daemon thread, waited for at most ``timeout`` seconds.

    Returns what it returns, re-raises what it raised (``SystemExit`` included), or
    raises :class:`_TimedOut`. A thread still running is abandoned: it is a daemon, so it
    never holds up the interpreter's exit, and nobody joins it. What it prints, then or
    later, goes to stderr like any plugin code's.
    """
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            with _plugin_code():
                outcome.append((True, code()))
        except BaseException as exc:  # handed to the waiting thread, which decides
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name=thread_name, daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise _TimedOut(thread_name)
    loaded, value = outcome[0]
    if loaded:
        return value  # type: ignore[no-any-return]
    if not isinstance(value, (Exception, SystemExit)):
        # GeneratorExit, KeyboardInterrupt, a custom BaseException: raised by plugin code in
        # its own thread, so never the user's Ctrl-C; a plugin failure like any other
        raise _PluginRaised(value)
    raise value


#: thread id -> (hook, plugin, start) of the deadline-bound hook call that thread is in
_in_flight: dict[int, tuple[str, PluginInfo, float]] = {}
#: threads whose caller stopped waiting: they unwind as soon as their plugin call returns
_abandoned: set[int] = set()
#: the worker threads of run_with_hook_deadline: only their hook calls are timed
_deadline_threads: set[int] = set()
#: makes "is the call still running? then give up on it" one step against its return
_deadline_lock = threading.Lock()


class _Abandoned(BaseException):
    """Unwinds a thread whose hook call outlived its deadline (nobody waits for its result)."""


def run_with_hook_deadline(work: Callable[[], _T], timeout: float) -> _T:
    """Run ``work()`` in a worker thread; fail it when one hook call takes over ``timeout`` s.

    Compile-time hooks (``generate_profile``, ``resource_requirements``,
    ``catalog_attachment_sql``) are pure and local, so one that runs for ``timeout``
    seconds is hung: this raises :class:`~floe_hooks.errors.ComputeTimeoutError` naming the plugin,
    its distribution and the hook (``generate_profile did not return within 30 s``) and
    stops waiting. The worker is a daemon, never joined, so it cannot keep the process
    alive; should the hung call ever return, the worker unwinds at once instead of carrying
    on (``work`` never writes anything after its caller gave up). Health checks
    (``validate_connection``) have timeouts of their own and are not counted. ``work`` runs
    in a copy of the caller's context (log correlation id, OpenTelemetry span); what it
    returns or raises is returned or raised here. ``floe compile``, ``floe k8s`` and
    ``floe resources`` run under it with ``FLOE_HOOK_TIMEOUT`` (default 30 s)::

        compiled = run_with_hook_deadline(lambda: compile_product(product), timeout=30)

    :raises ComputeTimeoutError: a hook call outlived ``timeout`` (a ``PluginError``).
    """
    timeout = _checked_timeout(timeout)
    context = contextvars.copy_context()
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def target() -> None:
        _deadline_threads.add(threading.get_ident())
        try:
            outcome.append((True, context.run(work)))
        except _Abandoned:
            pass
        except BaseException as exc:  # handed to the waiting thread
            outcome.append((False, exc))
        finally:
            _abandoned.discard(threading.get_ident())  # a later thread may get this id
            _deadline_threads.discard(threading.get_ident())
            done.set()

    worker = threading.Thread(target=target, name="floe-hooks-deadline", daemon=True)
    worker.start()
    ident = worker.ident
    assert ident is not None
    while not done.is_set():
        call = _in_flight.get(ident)
        if call is None:
            done.wait(0.05)  # between hook calls: look again soon
            continue
        hook, owner, started = call
        late = started + timeout - time.monotonic()
        if late > 0:
            done.wait(late)
            continue
        with _deadline_lock:
            expired = _in_flight.get(ident) is call
            if expired:
                _abandoned.add(ident)
        if expired:
            raise ComputeTimeoutError(
                f"{hook} did not return within {timeout:g} s",
                hook=hook,
                timeout=timeout,
                plugin=owner.name,
                distribution=owner.distribution,
                version=owner.distribution_version,
            )
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value
