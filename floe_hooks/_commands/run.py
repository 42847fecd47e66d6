"""``floe run``: compile, then run the dbt project step by step and print what happens."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser(
        "run",
        help="compile, then run the dbt project on its computes in the graph's order",
        description="Compile FLOE_YAML as `floe compile` does, parse the dbt project once, and run "
        "`dbt build` per compute in the dependency order of dbt's graph (independent steps in "
        "parallel). Writes target/floe/run_results.json. Exit status 0 success, 1 a node failed "
        "(dependent steps skipped), 2 bad input or dbt missing. Needs dbt: pip install 'floe-hooks[dbt]'.",
    )
    parser.add_argument("floe_yaml", metavar="FLOE_YAML", help="the data product file (floe.yaml)")
    parser.add_argument("--env", help="apply this environment's overlay from the manifest")
    parser.add_argument(
        "--select", metavar="SELECTOR", help="run only these dbt nodes (dbt selection syntax)"
    )
    parser.add_argument(
        "--jobs", type=int, metavar="N", help="most steps at once (default: all that are ready)"
    )
    parser.add_argument("--retry", action="store_true", help="run only what failed or was skipped last time")
    parser.add_argument(
        "--force", action="store_true", help="run even if nothing changed since the last success"
    )
    parser.add_argument(
        "--isolate-steps",
        action="store_true",
        help="run each step in its own fresh, empty working directory, as pods would",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    parser.set_defaults(run=run)


_FAILED = ("error", "fail", "runtime error")
_SYMBOL = {
    "success": "OK",
    "pass": "PASS",
    "warn": "WARN",
    "error": "ERROR",
    "fail": "FAIL",
    "skipped": "SKIP",
}


def run(args: argparse.Namespace) -> int:
    """Run the product; progress lines as it goes, then a summary (or one JSON document)."""
    from floe_hooks._commands._output import dump_json, table
    from floe_hooks._commands._progress import Progress
    from floe_hooks._redact import redact
    from floe_hooks.run import NodeEvent, StepResult, run_product

    # with --format json stdout carries the document only: progress goes to stderr
    out = sys.stderr if args.format == "json" else sys.stdout
    progress = Progress(out)

    def say(line: str) -> None:
        progress.say(redact(line))  # dbt scrubs its secrets; floe masks the ones it knows as well

    def on_node(event: NodeEvent) -> None:
        if event.finished:
            progress.node_finished()
            word = _SYMBOL.get(event.status, event.status.upper())
            say(
                f"  [{event.compute}] {word:<5} {event.resource_type} {_label(event.unique_id, event.name)} "
                f"({event.execution_time:.2f}s)"
                + (
                    f": {event.message.splitlines()[0][:300]}"
                    if event.status in _FAILED and event.message
                    else ""
                )
            )

    def on_step(step: StepResult) -> None:
        if step.status == "running":
            progress.step_started(step.compute, step.nodes)
            say(f"[{step.compute}] step {step.step} started: {step.nodes} nodes ({step.mode})")
        elif step.status in ("skipped", "reused", "nothing"):
            progress.step_finished(step.compute, step.nodes)
            say(f"[{step.compute}] step {step.step} {step.status}: {step.reason}")
        else:
            progress.step_finished(step.compute, step.nodes)
            say(
                f"[{step.compute}] step {step.step} {step.status}: {step.succeeded} ok, "
                f"{step.failed} failed, "
                f"{step.skipped} skipped in {step.duration_s:.2f}s"
            )

    try:
        result = run_product(
            args.floe_yaml,
            env=args.env,
            select=args.select,
            jobs=args.jobs,
            retry=args.retry,
            force=args.force,
            isolate_steps=args.isolate_steps,
            on_node=on_node,
            on_step=on_step,
        )
    finally:
        progress.close()
    if args.format == "json":
        dump_json(result.to_dict())
        return result.exit_code
    if result.status == "up-to-date":
        say(
            "up to date: nothing changed since the last successful run "
            f"({result.duration_s:.2f}s; --force runs again)"
        )
    rows = [
        (s.step, s.compute, ",".join(s.needs) or "-", s.status, s.nodes, s.succeeded, s.failed, s.skipped,
         f"{s.duration_s:.2f}s")
        for s in result.steps
    ]  # fmt: skip
    table(("step", "compute", "needs", "status", "nodes", "ok", "failed", "skipped", "time"), rows, out)
    kept = result.status == "up-to-date"  # nothing written: the reused run's record stands
    say(
        f"{result.status}: {len(result.steps)} steps in {result.duration_s:.2f}s; "
        f"{'results of the reused run in' if kept else 'wrote'} {result.run_results_path}"
    )
    return result.exit_code


def _label(unique_id: str, name: str) -> str:
    """A node's name, with its version for one version of a model (``model.p.name.v2``)."""
    parts = unique_id.split(".")
    return f"{name}.{parts[3]}" if parts[0] == "model" and len(parts) == 4 else name
