"""``floe run``: compile a product, then run its dbt project step by step in the graph's order.

::

    from floe_hooks import run_product

    result = run_product("floe.yaml", jobs=2, on_node=lambda e: print(e.compute, e.name, e.status))
    result.status            # "success", "failed" or "up-to-date"
    [(s.compute, s.status, s.succeeded, s.failed) for s in result.steps]

What happens (``docs/run.md`` has the whole story):

1. **Compile** exactly as ``floe compile``: same checks, same outputs, same atomic publish.
2. **Parse** the dbt project once and derive the step DAG (:mod:`floe_hooks._graph`): one
   step per compute, an edge wherever a node of one depends on a node of another.
3. **Run** each step as ``dbt build --target <compute>`` naming exactly its nodes, with
   a target path of its own (``target/floe/steps/<compute>``). Independent steps run in
   parallel up to ``jobs`` (child processes); steps whose computes share an exclusive
   resource (``exclusive_resources`` hook) never overlap; when the steps form a chain
   and no compute has secrets, they run inside this process (``dbtRunner``). Each compute's
   secrets reach only its own dbt process, as the ``DBT_ENV_SECRET_*`` variables.
4. **Record** ``target/floe/run_results.json`` (published with the compile outputs as
   one generation), OpenTelemetry spans (run, step, node) and structlog events
   ``run_started``, ``step_started``, ``step_finished``, ``run_finished``.

A failed node fails its step; steps downstream are skipped and say which step they
needed; independent steps finish. ``retry=True`` runs again only what failed or was
skipped. An unchanged project (same files, profiles, selection and database files as
the last successful run) is not run again: the result is ``up-to-date`` (``force=True``
runs anyway).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks.errors import ConfigError, FloeError

if TYPE_CHECKING:
    from floe_hooks.manager import PluginManager

__all__ = ["NodeEvent", "StepResult", "RunResult", "run_product", "RUN_RESULTS_FILE", "RUN_RESULTS_VERSION"]

#: File name of floe's run record, beside ``profiles.yml`` and ``compiled_artifacts.json``.
RUN_RESULTS_FILE = "run_results.json"
#: Version of the ``run_results.json`` schema.
RUN_RESULTS_VERSION = "1.0"
_FAILED_NODE = frozenset({"error", "fail", "runtime error"})
_OK_NODE = frozenset({"success", "pass"})


@attrs.frozen
class NodeEvent:
    """A dbt node started or finished, in one step (what the ``on_node`` callback receives).

    :ivar compute: the step's compute.
    :ivar unique_id: dbt's node id.
    :ivar name: the node's name.
    :ivar resource_type: ``model``, ``seed``, ``snapshot``, ``test``, ``unit_test``.
    :ivar finished: False when it started, True when it finished.
    :ivar status: dbt's status (``success``, ``pass``, ``error``, ``fail``, ``warn``, ``skipped``...).
    :ivar started_at: ISO timestamp (UTC) dbt gave, or ``""``.
    :ivar finished_at: ISO timestamp (UTC), or ``""``.
    :ivar message: dbt's result message (finished nodes).
    :ivar execution_time: seconds dbt measured (finished nodes).
    """

    compute: str
    unique_id: str
    name: str
    resource_type: str
    finished: bool
    status: str
    started_at: str = ""
    finished_at: str = ""
    message: str = ""
    execution_time: float = 0.0


@attrs.frozen
class StepResult:
    """One step of a run.

    :ivar step: its position in the plan, from 1.
    :ivar compute: the compute (dbt ``--target``).
    :ivar needs: computes whose steps it waited for.
    :ivar command: the dbt command line it ran (``dbt build ...``; empty when not run).
    :ivar status: ``success``, ``failed``, ``skipped`` (a needed step failed: ``reason``),
        ``reused`` (succeeded before; ``retry``), or ``nothing`` (no node selected).
    :ivar mode: ``in-process`` or ``subprocess`` (None when not run).
    :ivar started_at: Unix time it started (None when not run).
    :ivar duration_s: wall time in seconds.
    :ivar nodes: nodes it was to run.
    :ivar succeeded: nodes that succeeded or passed (warnings included).
    :ivar failed: nodes that errored or failed.
    :ivar skipped: nodes dbt skipped (a node they needed failed).
    :ivar run_results: dbt's own ``run_results.json`` of the step, relative to the product folder.
    :ivar reason: why it was skipped.
    """

    step: int
    compute: str
    needs: tuple[str, ...]
    command: tuple[str, ...]
    status: str
    mode: str | None = None
    started_at: float | None = None
    duration_s: float = 0.0
    nodes: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    run_results: str | None = None
    reason: str = ""


@attrs.frozen
class RunResult:
    """A whole ``floe run``.

    :ivar product: the product's name.
    :ivar environment: the environment overlay, if any.
    :ivar status: ``success``, ``failed`` or ``up-to-date`` (nothing changed: dbt not run).
    :ivar steps: every step of the plan, in plan order.
    :ivar graph_source: ``dbt`` (edges from the parsed manifest).
    :ivar started_at: Unix time.
    :ivar duration_s: wall time in seconds.
    :ivar jobs: most steps run at once.
    :ivar correlation_id: shared by the run's log events and spans.
    :ivar run_results_path: where ``run_results.json`` was published.
    :ivar fingerprint: digest of the state the run left (see :mod:`floe_hooks._schedule`).
    """

    product: str
    environment: str | None
    status: str
    steps: tuple[StepResult, ...]
    graph_source: str
    started_at: float
    duration_s: float
    jobs: int
    correlation_id: str
    run_results_path: str
    fingerprint: str = ""

    @property
    def exit_code(self) -> int:
        """``floe run``'s exit status: 0 success (or up to date), 1 a step failed or was skipped."""
        return 0 if self.status in ("success", "up-to-date") else 1

    def to_dict(self) -> dict[str, Any]:
        """The ``run_results.json`` document."""
        return {
            "schema_version": RUN_RESULTS_VERSION,
            **{k: v for k, v in attrs.asdict(self, recurse=False).items() if k != "steps"},
            "steps": [attrs.asdict(step) for step in self.steps],
        }


def run_product(
    floe_yaml: str | os.PathLike[str],
    *,
    env: str | None = None,
    select: str | None = None,
    jobs: int | None = None,
    retry: bool = False,
    force: bool = False,
    isolate_steps: bool = False,
    on_node: Callable[[NodeEvent], None] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    manager: PluginManager | None = None,
) -> RunResult:
    """Compile ``floe_yaml`` and run its dbt project, step by step (``floe run``).

    :param floe_yaml: the product file; its ``dbt_project.yml`` sits beside it.
    :param env: the environment overlay.
    :param select: a dbt selection (``--select`` syntax) to run only part of the project.
    :param jobs: most steps at once (default: the number of steps).
    :param retry: run only the steps and nodes that failed or were skipped last time.
    :param force: run even when nothing changed since the last successful run.
    :param isolate_steps: run each step's dbt (a child process) in a fresh, empty working
        directory ``target/floe/steps/<compute>/work``, with ``--project-dir`` naming the
        project, as a pod would: relative database files land there, so steps share
        nothing but what their profiles attach (the catalog).
    :param on_node: called (from worker threads) as each dbt node starts and finishes.
    :param on_step: called as each step starts (``status`` ``running``) and ends.
    :param manager: the plugin manager (default: the process-wide one).
    :return: the run; :attr:`RunResult.exit_code` is what ``floe run`` exits with.
    :raises ConfigError: bad input (nothing ran), including a dependency edge between two
        computes that cannot share data (:func:`floe_hooks.catalog.edge_problem`);
        ``DbtNotInstalledError`` without dbt.
    """
    from floe_hooks import _dbt, _log

    _dbt.require_dbt()
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    with _log.scope() as correlation_id:
        from floe_hooks._execute import Run

        return Run(
            Path(floe_yaml),
            env=env,
            select=select,
            jobs=jobs,
            retry=retry,
            force=force,
            isolate_steps=isolate_steps,
            on_node=on_node,
            on_step=on_step,
            manager=manager,
            correlation_id=correlation_id,
        ).execute()


def read_run_results(out_dir: Path) -> dict[str, Any] | None:
    """The last published ``run_results.json`` of ``out_dir``, or None."""
    try:
        data = json.loads((out_dir / RUN_RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class DbtParseError(FloeError):
    """dbt could not parse the project: ``floe run`` exits 2 before running anything."""

    exit_code = 2


def counts(results: Mapping[str, Any] | None) -> tuple[int, int, int]:
    """Succeeded (warnings included), failed and skipped nodes of a dbt ``run_results.json``."""
    succeeded = failed = skipped = 0
    for result in (results or {}).get("results") or []:
        status = str(result.get("status"))
        if status in _FAILED_NODE:
            failed += 1
        elif status == "skipped":
            skipped += 1
        else:
            succeeded += 1
    return succeeded, failed, skipped
