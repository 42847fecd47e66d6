"""The ``floe`` command: a thin shell over functions a host application can call.

Each sub-command lives in :mod:`floe_hooks._commands` with ``add_parser`` and ``run``;
their heavy imports happen inside ``run``, so ``floe plugins`` stays fast.

Standard output belongs to floe. Plugin code that prints through ``sys.stdout`` is sent to
stderr by the plugin manager; the console script (:func:`run`, also what
``python -m floe_hooks.cli`` calls) goes further, before anything else happens: it moves
its stdout to a private file descriptor, points file descriptor 1 at stderr, and gives
``sys.stdout`` the private descriptor (same encoding, errors and line buffering). So what
anyone writes to fd 1 directly (``os.write(1, ...)``, a C extension's ``printf``, a
subprocess inheriting stdout, ``sys.__stdout__``) lands on stderr, and
``floe plugins --format json``, ``floe validate --format json``, ``floe schema`` and
``floe k8s --out -`` stay parseable. :func:`main`, the in-process API, leaves the
process's file descriptors alone: a host application (or pytest's ``capsys``/``capfd``)
calling ``main([...])`` sees floe's output on whatever ``sys.stdout`` is, and only writes
through ``sys.stdout`` are redirected for plugin code there.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from floe_hooks._version import __version__

#: sub-command -> module in floe_hooks._commands
COMMANDS = ("plugins", "compile", "validate", "resources", "schema", "k8s", "run", "new-plugin")


def _terminal_width() -> int:
    """What ``shutil.get_terminal_size`` answers, without importing shutil (and zlib, bz2...)."""
    import os

    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help formatter knows its width up front (no shutil import)."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=_terminal_width() - 2)  # type: ignore[call-arg]


def _parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The ``floe`` parser; only the sub-command named in ``argv`` is built, when there is one."""
    parser = _Parser(
        prog="floe",
        description="Compile floe manifests into dbt profiles and check compute plugins.",
    )
    parser.add_argument("--version", action="version", version=f"floe-hooks {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="log threshold (default: warning, or $FLOE_LOG_LEVEL)",
    )
    parser.add_argument(
        "--log-format",
        choices=("console", "json"),
        help="log format on stderr (default: console, or $FLOE_LOG_FORMAT)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # Building a sub-parser costs about a millisecond: build only the one that will run,
    # or all of them when none is named (usage and --help list every command).
    named = [arg for arg in argv if arg in COMMANDS][:1]
    for name in named or COMMANDS:
        module = importlib.import_module(f"floe_hooks._commands.{name.replace('-', '_')}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``floe``; returns the exit status (0 ok, 1 failed check, 2 bad input)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if sys.stdout is None:  # started with stdout closed (`floe compile ... >&-`): output goes nowhere
        import os

        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    parser = _parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from floe_hooks import _log
    from floe_hooks.errors import FloeError

    _log.configure(args.log_level, args.log_format)
    with _log.correlation() as correlation_id:
        try:
            status = int(args.run(args))
            sys.stdout.flush()
            return status
        except FloeError as exc:
            if exc.correlation_id is None:
                exc.correlation_id = correlation_id
            _log.debug("command_failed", command=args.command, error=type(exc).__name__)
            if args.debug:
                raise
            from floe_hooks._redact import redact

            # one line, whatever a plugin put in a message it raised
            print(f"floe: error: {' '.join(redact(str(exc)).splitlines())}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("floe: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # the reader went away (`floe plugins | head`): no traceback, and none at exit either
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1


def _own_stdout() -> None:
    """Keep file descriptor 1 away from floe's output: see the module docstring.

    Does nothing when stdout is not an ordinary file descriptor (already replaced, or
    closed); when fd 1 is closed it still points it at stderr, so that the next file
    floe opens cannot become fd 1 and receive a plugin's stray writes.
    """
    import os

    try:
        os.fstat(2)
    except OSError:  # no stderr to send strays to: leave things as they are
        return
    stream = sys.stdout
    try:
        if stream is None or stream.fileno() != 1:
            raise ValueError
    except (AttributeError, ValueError, OSError):  # not fd 1 (or no stdout at all)
        try:
            os.fstat(1)
        except OSError:
            os.dup2(2, 1)
        return
    import io

    stream.flush()
    raw = io.FileIO(os.dup(1), "w")  # not inheritable (PEP 446): subprocesses never get it
    # unbuffered (python -u, PYTHONUNBUFFERED) when stdout was: it then sits on a raw FileIO
    unbuffered = isinstance(getattr(stream, "buffer", None), io.RawIOBase)
    try:
        own = io.TextIOWrapper(
            raw if unbuffered else io.BufferedWriter(raw),
            encoding=stream.encoding,
            errors=stream.errors,
            line_buffering=bool(stream.line_buffering),  # a TTY's, as Python set it up
            write_through=getattr(stream, "write_through", False),
        )
    except Exception:  # an odd stream (no encoding...): keep it, unprotected
        raw.close()
        return
    os.dup2(2, 1)
    sys.stdout = own


#: Exit status when plugin code ends the process (``os._exit``) before floe printed its
#: result: a plugin failure, never the 0 that would read as success.
PLUGIN_EXITED = 1


def _guard_os_exit() -> None:
    """Make ``os._exit`` called by plugin code before floe finished end with :data:`PLUGIN_EXITED`.

    A plugin runs in floe's process: ``os._exit(0)`` in a health check would otherwise end
    ``floe validate`` at once with status 0 and an empty report. The guard names the
    thread on stderr and exits 1. It holds in this process only (a forked child exits as
    it asks) and cannot see a C extension calling the C library's ``_exit``, a signal, or
    ``os.abort()`` (134): see "How far isolation goes" in ``docs/health.md``.
    """
    import contextlib
    import os
    import threading

    global _real_exit
    if _real_exit is not None:
        return
    real_exit = _real_exit = os._exit
    pid = os.getpid()

    def guarded_exit(status: int) -> NoReturn:
        if os.getpid() == pid:
            with contextlib.suppress(Exception):  # nothing more to do on the way out
                sys.stderr.write(
                    f"floe: error: plugin code ended the process with os._exit({status!r}) in thread "
                    f"{threading.current_thread().name!r} before floe printed its result\n"
                )
                sys.stderr.flush()
            status = PLUGIN_EXITED
        real_exit(status)

    os._exit = guarded_exit


_real_exit: Callable[[int], NoReturn] | None = None


def run() -> None:
    """Console-script entry point.

    First moves floe's stdout off file descriptor 1 (see the module docstring), and
    guards ``os._exit`` against plugin code (see :func:`_guard_os_exit`). Exits with the
    command's status when it is done even if a plugin left a thread running: a
    non-daemon one would keep the interpreter waiting forever, and a daemon one abandoned
    at its timeout (still importing DuckDB, say) can abort the interpreter's shutdown
    (status 134). So while any other thread is alive, OpenTelemetry SDK providers are
    flushed, logging is shut down, output is flushed, and the process ends at once with
    the status (``os._exit``: other exit handlers do not run).
    """
    _own_stdout()
    _guard_os_exit()
    status = main()
    import threading

    if any(t.is_alive() for t in threading.enumerate() if t is not threading.main_thread()):
        # os._exit skips exit handlers: flush what floe writes to through public APIs
        import contextlib
        import logging
        import os

        from floe_hooks import telemetry

        telemetry.flush()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        (_real_exit or os._exit)(status)
    sys.exit(status)


if __name__ == "__main__":
    run()
