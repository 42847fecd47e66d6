"""Invoke dbt for ``floe run``: in this process through ``dbtRunner``, or as a child process.

dbt is an optional dependency (``pip install 'floe-hooks[dbt]'``) and is imported only
here, only when a run starts. Two ways to run one invocation, with the same results:

* **in process** (:class:`dbt.cli.main.dbtRunner`): no interpreter start-up and no
  second import of dbt; used when the steps run one after the other and no compute
  has secrets (dbt reads secrets from the environment, and floe never puts them in
  its own). dbt is not safe to run twice at once in one process, so only one in-process
  invocation runs at a time, and the working directory is the project's meanwhile.
* **as a child process**: for steps that run in parallel and for every compute with
  secrets, which reach that child's environment only. ``--log-format json`` lets floe
  read dbt's per-node events from its output.

Either way a callback receives each node's start and finish as a :class:`NodeEventData`.
:func:`list_output` runs ``dbt ls`` the same two ways and returns what it printed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from floe_hooks.errors import FloeError

__all__ = ["DbtNotInstalledError", "NodeEventData", "require_dbt", "invoke", "list_output", "DBT_MAIN"]

#: How a child process starts dbt's command line with this interpreter.
DBT_MAIN = "from dbt.cli.main import cli; cli()"
_lock = threading.Lock()  # one in-process dbt invocation at a time
_PRINTED = ("PrintEvent", "ListCmdOut")  # the events that carry a command's output (``dbt ls``)


class DbtNotInstalledError(FloeError):
    """``floe run`` needs dbt-core, which is an optional dependency."""

    exit_code = 2


def require_dbt() -> None:
    """Raise :class:`DbtNotInstalledError` (one line) unless dbt-core can be imported."""
    # find_spec("dbt.cli.main") would import dbt.cli, and with it all of dbt (seconds): look for the file
    spec = importlib.util.find_spec("dbt")
    places = list(spec.submodule_search_locations or []) if spec is not None else []
    if not any((Path(place) / "cli" / "main.py").is_file() for place in places):
        raise DbtNotInstalledError(
            "floe run needs dbt, which is not installed: pip install 'floe-hooks[dbt]'"
        )


@attrs.frozen
class NodeEventData:
    """A node started (``finished`` False) or finished, as dbt reported it."""

    unique_id: str
    name: str
    resource_type: str
    finished: bool
    status: str
    started_at: str
    finished_at: str
    message: str = ""
    execution_time: float = 0.0


def _from_json(line: str) -> NodeEventData | None:
    """A node event from one line of a child's JSON log.

    dbt logs ``NodeStart``/``NodeFinished`` at debug level only, so a child at the
    default level is read through the info-level lines that carry the node:
    ``LogStartLine`` when it starts, ``Log*Result`` (``LogModelResult``,
    ``LogTestResult``...) or ``SkippingDetails`` when it ends.
    """
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
        name = str(record["info"]["name"])
        data = record["data"]
        info = data["node_info"]
    except (ValueError, KeyError, TypeError):
        return None
    finished = name.endswith("Result") or name == "SkippingDetails"
    if not finished and name != "LogStartLine":
        return None
    status = "skipped" if name == "SkippingDetails" else str(info.get("node_status", ""))
    return NodeEventData(
        unique_id=str(info.get("unique_id", "")),
        name=str(info.get("node_name", "")),
        resource_type=str(info.get("resource_type", "")),
        finished=finished,
        status=status,
        started_at=str(info.get("node_started_at", "")),
        finished_at=str(info.get("node_finished_at") or (record["info"].get("ts", "") if finished else "")),
        message=str(data.get("result_message") or data.get("message") or ""),
        execution_time=float(data.get("execution_time") or 0.0),
    )


def _from_message(msg: Any) -> NodeEventData | None:
    name = msg.info.name
    if name not in ("NodeStart", "NodeFinished"):
        return None
    info = msg.data.node_info
    result = msg.data.run_result if name == "NodeFinished" else None
    return NodeEventData(
        unique_id=info.unique_id,
        name=info.node_name,
        resource_type=info.resource_type,
        finished=name == "NodeFinished",
        status=(result.status if result is not None and result.status else info.node_status),
        started_at=info.node_started_at,
        finished_at=info.node_finished_at,
        message=result.message if result is not None else "",
        execution_time=float(result.execution_time) if result is not None else 0.0,
    )


def invoke(
    args: Sequence[str],
    *,
    cwd: Path,
    in_process: bool,
    env: Mapping[str, str] | None = None,
    on_event: Callable[[NodeEventData], None] | None = None,
    manifest: Any = None,
) -> tuple[int, Any]:
    """Run ``dbt <args>``; return its exit status (0 ok, 1 a node failed, 2 dbt failed) and result.

    :param cwd: dbt's working directory (relative database paths resolve against it).
    :param in_process: through ``dbtRunner`` (``env`` must then be None) or a child process.
    :param env: extra environment of the child process only (secrets).
    :param on_event: called with each node's start and finish.
    :param manifest: an already parsed dbt manifest to reuse (in process only).
    :return: the status and, in process, dbt's own result object (``None`` otherwise).
    """
    if in_process:
        if env:
            raise ValueError("secrets never enter this process's environment: run dbt as a child process")
        return _in_process(args, cwd, on_event, manifest)
    return _child(args, cwd, env, on_event), None


def _in_process(
    args: Sequence[str], cwd: Path, on_event: Callable[[NodeEventData], None] | None, manifest: Any
) -> tuple[int, Any]:
    from dbt.cli.main import dbtRunner

    def callback(msg: Any) -> None:
        if on_event is not None:
            event = _from_message(msg)
            if event is not None:
                on_event(event)

    import contextlib

    with _lock, contextlib.redirect_stdout(sys.stderr):  # floe's stdout is floe's (--format json)
        previous = os.getcwd()
        os.chdir(cwd)
        try:
            result = dbtRunner(manifest=manifest, callbacks=[callback]).invoke(list(args))
        finally:
            os.chdir(previous)
    if result.success:
        return 0, result
    return (2 if result.exception is not None else 1), result


def _child(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None,
    on_event: Callable[[NodeEventData], None] | None,
    on_print: Callable[[str], None] | None = None,
    on_error: Callable[[str], None] | None = None,
) -> int:
    """Run dbt as a child process; read its JSON log line by line.

    :param on_print: receives what dbt prints as its output (``dbt ls``'s lines).
    :param on_error: receives each of dbt's error messages (default: shown on stderr).
    """
    environ = dict(os.environ)
    environ.update(env or {})
    environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    command = [sys.executable, "-c", DBT_MAIN, *args, "--log-format", "json"]
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=sys.stderr if _has_fileno(sys.stderr) else subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            event = _from_json(line.strip())
            if event is not None:
                if on_event is not None:
                    on_event(event)
                continue
            if on_print is not None and _field(line, "info", "name") in _PRINTED:
                printed = _field(line, "data", "msg")
                if printed is not None:
                    on_print(printed)
            elif '"level": "error"' in line:
                message = _field(line, "info", "msg")
                if message is not None:
                    (on_error or _show_error)(message)
        return process.wait()


def _field(line: str, *keys: str) -> str | None:
    """One string field of a line of dbt's JSON log (None: not JSON, or no such field)."""
    try:
        value: Any = json.loads(line)
        for key in keys:
            value = value[key]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _show_error(message: str) -> None:
    """dbt's own error messages of a child process, on stderr (its JSON log is not shown)."""
    sys.stderr.write(f"dbt: {message}\n")


def list_output(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[int, list[str], str]:
    """Run ``dbt ls <args>`` quietly; return its status, the lines it printed and its error.

    In this process without ``env``; with ``env`` (secrets) as a child process whose
    environment alone holds them. Nothing of dbt's is shown: its last error message (one
    line, ``""`` when there is none) is returned for the caller to report.

    :param args: dbt's arguments, starting with ``ls``.
    """
    if not env:
        _, result = _in_process([*args, "--log-level", "none"], cwd, None, None)
        error = "" if result.exception is None else _last_line(str(result.exception))
        found = [str(line) for line in result.result or []] if result.success else []
        return (0 if result.success else 2), found, error
    lines: list[str] = []
    errors: list[str] = []
    status = _child([*args, "--quiet"], cwd, env, None, on_print=lines.append, on_error=errors.append)
    return status, lines, _last_line(errors[-1]) if errors else ""


def _last_line(message: str) -> str:
    """The last non-blank line of a message of dbt's (its reason; the first lines are headings)."""
    found = [line.strip() for line in message.splitlines() if line.strip()]
    return found[-1] if found else ""


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, ValueError, OSError):
        return False
    return True


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file dbt wrote, or None when it is missing or unreadable."""
    try:
        with path.open("rb") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
