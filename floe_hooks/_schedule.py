"""Run planned steps in the graph's order: in parallel up to ``jobs``, never two holding one resource.

The main thread drives a :class:`graphlib.TopologicalSorter`; each ready step starts
in a worker thread once no running step holds one of its exclusive resources (the
``exclusive_resources`` hook). A failed step marks every step downstream of it skipped,
naming the step that failed; independent steps carry on. Also here: the state
fingerprint that lets an unchanged project skip dbt entirely, and the OpenTelemetry
spans of steps and nodes.
"""

from __future__ import annotations

import datetime
import graphlib
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

__all__ = ["schedule", "fingerprint", "node_span", "step_span", "run_span"]


def schedule(
    steps: Sequence[str],
    needs: Mapping[str, Sequence[str]],
    resources: Mapping[str, Iterable[str]],
    jobs: int,
    execute: Callable[[str], bool],
    skip: Callable[[str, str], None],
) -> None:
    """Run every step once its needs succeeded; skip it (with the failed step's name) otherwise.

    :param steps: the step keys (computes).
    :param needs: step -> the steps it waits for.
    :param resources: step -> keys only one running step may hold.
    :param jobs: most steps running at once.
    :param execute: runs one step in a worker thread; True when it succeeded.
    :param skip: called in this thread for a step not run: ``(step, the failed or skipped step it needed)``.
    """
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for step in steps:
        sorter.add(step, *needs.get(step, ()))
    sorter.prepare()
    held: set[str] = set()
    blocked: dict[str, str] = {}  # step -> why it will not run
    waiting: list[str] = []
    running: dict[Future[bool], str] = {}
    order = {step: index for index, step in enumerate(steps)}
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="floe-step") as pool:
        while sorter.is_active():
            waiting.extend(sorter.get_ready())
            waiting.sort(key=order.__getitem__)
            for step in list(waiting):
                failed_need = next((n for n in needs.get(step, ()) if n in blocked), None)
                if failed_need is not None:
                    waiting.remove(step)
                    blocked[step] = failed_need
                    skip(step, failed_need)
                    sorter.done(step)
                    continue
                mine = set(resources.get(step, ()))
                if len(running) >= max(1, jobs) or mine & held:
                    continue
                waiting.remove(step)
                held |= mine
                running[pool.submit(_contextual(execute), step)] = step
            if not running:
                if waiting:  # pragma: no cover - a resource held by nobody cannot block
                    raise RuntimeError(f"steps {waiting} cannot start")
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                step = running.pop(future)
                held -= set(resources.get(step, ()))
                try:
                    ok = future.result()
                except BaseException:
                    ok = False
                    blocked[step] = step
                    sorter.done(step)
                    raise
                if not ok:
                    blocked[step] = step
                sorter.done(step)


def _contextual(function: Callable[[str], bool]) -> Callable[[str], bool]:
    import contextvars

    context = contextvars.copy_context()
    return lambda step: context.copy().run(function, step)


# --------------------------------------------------------------------------- fingerprint

_SKIP_DIRS = {"target", "logs", "dbt_packages", "node_modules", "__pycache__"}


def fingerprint(root: Path, extra: Mapping[str, str], files: Iterable[Path]) -> str:
    """A digest of what a run's outcome depends on: project text, settings, database files.

    Every file of the project (``target/``, ``logs/``, hidden folders and DuckDB data
    files excepted) by content; ``extra`` (profiles, environment, floe version...) by
    value; each of ``files`` (the databases the computes hold) by its existence only: an
    engine may still write a file as the process that ran dbt exits (DuckDB checkpoints on
    close), so its size and time say nothing about who changed it. A database deleted
    since the last run makes the next one run; one changed by another program does not.
    """
    digest = hashlib.sha256()
    for key in sorted(extra):
        digest.update(f"{key}={extra[key]}\0".encode())
    for current, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(names):
            if name.startswith(".") or ".duckdb" in name or name.endswith((".wal", ".pyc")):
                continue
            path = Path(current) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    for path in sorted(set(files)):
        digest.update(f"{path}\0{path.exists()}\0".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- spans


def _tracer() -> Any:
    from floe_hooks import telemetry

    return telemetry._tracer()


def _attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    from floe_hooks._redact import redact

    return {k: redact(v) if isinstance(v, str) else v for k, v in values.items() if v is not None}


class _Span:
    """A span that is a no-op when no tracer provider is installed."""

    def __init__(self, name: str, attributes: Mapping[str, Any], parent: Any = None) -> None:
        self.span: Any = None
        tracer = _tracer()
        if tracer is None:
            return
        from opentelemetry import trace

        context = trace.set_span_in_context(parent) if parent is not None else None
        self.span = tracer.start_span(name, context=context, attributes=_attributes(attributes))

    def end(self, status: str, **attributes: Any) -> None:
        if self.span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        self.span.set_attributes(_attributes({"floe.status": status, **attributes}))
        if status not in ("success", "pass", "reused", "nothing", "skipped"):
            self.span.set_status(Status(StatusCode.ERROR, status))
        self.span.end()


def run_span(product: str, correlation_id: str, attributes: Mapping[str, Any]) -> _Span:
    """The span of one ``floe run``."""
    return _Span("floe.run", {"floe.product": product, "floe.correlation_id": correlation_id, **attributes})


def step_span(parent: _Span, compute: str, correlation_id: str) -> _Span:
    """A child span of the run for one step."""
    return _Span(
        "floe.run.step", {"floe.compute.name": compute, "floe.correlation_id": correlation_id}, parent.span
    )


def _ns(stamp: str) -> int | None:
    if not stamp:
        return None
    try:
        moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)  # dbt stamps nodes in UTC
    return int(moment.timestamp() * 1e9)


def node_span(parent: _Span, compute: str, event: Any, correlation_id: str) -> None:
    """A finished span for one dbt node, with dbt's own start and finish times."""
    tracer = _tracer()
    if tracer is None or parent.span is None:
        return
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    span = tracer.start_span(
        "floe.run.node",
        context=trace.set_span_in_context(parent.span),
        start_time=_ns(event.started_at),
        attributes=_attributes(
            {
                "floe.compute.name": compute,
                "floe.correlation_id": correlation_id,
                "dbt.node.unique_id": event.unique_id,
                "dbt.node.resource_type": event.resource_type,
                "floe.status": event.status,
                "dbt.node.execution_time": event.execution_time,
            }
        ),
    )
    if event.status in ("error", "fail", "runtime error"):
        span.set_status(Status(StatusCode.ERROR, event.status))
    span.end(end_time=_ns(event.finished_at))
