"""Running code in daemon threads with deadlines, and sending what plugin code prints to stderr.

One primitive, :func:`start_worker`, is the only place floe starts a thread: ``code()`` in a
named daemon thread, optionally as plugin code (prints to stderr) and in a copy of the
caller's context, with its value or exception kept for whoever waits (:class:`_Worker`).
A worker whose time is up is abandoned, never joined. Every waiter builds on it:
:func:`_bounded` (an entry point's import, ``plugin_metadata``: wait at most a timeout);
:func:`run_with_hook_deadline` (a whole piece of host work, failed when one hook call inside
it outlives the timeout; the per-call bookkeeping, ``_in_flight``/``_abandoned``, is kept by
:meth:`floe_hooks.manager.PluginManager._call`); the health checks of
:mod:`floe_hooks.health`, which keep their own pool on top (at most ``max_workers`` at once,
each result reported as it arrives, abandoned checks remembered across rounds); the
contract suite's ``validate_connection`` check; and ``floe validate``'s catalog probe.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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


class _Worker(Generic[_T]):
    """``code()`` running in a daemon thread of its own: wait for it, or abandon it.

    The one place floe starts a thread for code it must be able to stop waiting for
    (an import, ``plugin_metadata``, a health check, a compile under a hook deadline).
    A worker nobody waits for any more is abandoned: a daemon, never joined, it cannot
    keep the process alive. Start one with :func:`start_worker`.

    :ivar thread: the thread (named, a daemon).
    :ivar started: :func:`time.perf_counter` just before the thread started.
    """

    def __init__(
        self,
        code: Callable[[], _T],
        name: str,
        context: contextvars.Context | None,
        plugin: bool,
        on_done: Callable[[], object] | None,
    ) -> None:
        self._plugin = plugin
        self._ended = threading.Event()
        self._outcome: tuple[bool, Any] | None = None
        # passed as arguments, which the thread drops when it ends: an abandoned worker
        # kept for its age does not keep the code's arguments (secrets included) alive
        self.thread = threading.Thread(
            target=self._main, args=(code, context, on_done), name=name, daemon=True
        )
        self.started = 0.0

    def _call(self, code: Callable[[], _T]) -> _T:
        if not self._plugin:
            return code()
        with _plugin_code():
            return code()

    def _main(
        self,
        code: Callable[[], _T],
        context: contextvars.Context | None,
        on_done: Callable[[], object] | None,
    ) -> None:
        try:
            value = self._call(code) if context is None else context.run(self._call, code)
            self._outcome = (True, value)
        except BaseException as exc:  # handed to whoever asks for the outcome
            self._outcome = (False, exc)
        finally:
            self._ended.set()
            if on_done is not None:
                on_done()

    def wait(self, timeout: float | None) -> bool:
        """Wait at most ``timeout`` seconds (None: for ever) for the code to end; True if it has."""
        return self._ended.wait(timeout)

    def done(self) -> bool:
        """Whether the code has ended (returned or raised)."""
        return self._ended.is_set()

    def outcome(self) -> _T:
        """What the code returned, or raise what it raised (call once :meth:`done`).

        Plugin code (``plugin=True``) that raised a ``BaseException`` which is neither an
        ``Exception`` nor ``SystemExit`` (``GeneratorExit``, ``KeyboardInterrupt``, its
        own class) raises :class:`~floe_hooks._text.PluginRaised`: raised in a thread of
        its own, it is never the user's Ctrl-C but a plugin failure like any other.
        """
        if self._outcome is None:
            raise RuntimeError(f"{self.thread.name} has not ended")
        ok, value = self._outcome
        if ok:
            return value  # type: ignore[no-any-return]
        if self._plugin and not isinstance(value, (Exception, SystemExit)):
            raise _PluginRaised(value)
        raise value


def start_worker(
    code: Callable[[], _T],
    name: str,
    *,
    context: contextvars.Context | None = None,
    plugin: bool = False,
    on_done: Callable[[], object] | None = None,
) -> _Worker[_T]:
    """Start ``code()`` in a daemon thread called ``name`` and return its :class:`_Worker`.

    :param context: run the code in this context (``contextvars.copy_context()`` in the
        caller: its OpenTelemetry span and log correlation id); None: the thread's own.
    :param plugin: the code is plugin code: what it prints goes to stderr
        (:func:`_plugin_code`), and an odd ``BaseException`` it raises is a plugin failure.
    :param on_done: called without arguments in the worker's thread once the code has
        ended, returned or raised, and :meth:`_Worker.done` is true.
    """
    worker = _Worker(code, name, context, plugin, on_done)
    worker.started = time.perf_counter()
    worker.thread.start()
    return worker


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
    worker = start_worker(code, thread_name, plugin=True)
    if not worker.wait(timeout):
        raise _TimedOut(thread_name)
    return worker.outcome()


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

    def watched() -> _T:
        ident = threading.get_ident()
        _deadline_threads.add(ident)
        try:
            return work()  # an _Abandoned unwinding it is the outcome nobody asks for
        finally:
            _abandoned.discard(ident)  # a later thread may get this id
            _deadline_threads.discard(ident)

    worker = start_worker(watched, "floe-hooks-deadline", context=contextvars.copy_context())
    ident = worker.thread.ident
    assert ident is not None
    while not worker.done():
        call = _in_flight.get(ident)
        if call is None:
            worker.wait(0.05)  # between hook calls: look again soon
            continue
        hook, owner, started = call
        late = started + timeout - time.monotonic()
        if late > 0:
            worker.wait(late)
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
    return worker.outcome()
