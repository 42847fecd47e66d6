"""The body of :func:`floe_hooks.run_product`: compile, parse, plan, run the steps, record."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks import _dbt, _log, _schedule
from floe_hooks.errors import ConfigError
from floe_hooks.run import (
    RUN_RESULTS_FILE,
    DbtParseError,
    NodeEvent,
    RunResult,
    StepResult,
    counts,
    read_run_results,
)

if TYPE_CHECKING:
    from floe_hooks._graph import StepGraph
    from floe_hooks.compile import CompiledProject
    from floe_hooks.manager import PluginManager

_EMPTY = ("--indirect-selection", "empty")


class Run:
    """One ``floe run``, from compile to the published record."""

    def __init__(
        self,
        path: Path,
        *,
        env: str | None,
        select: str | None,
        jobs: int | None,
        retry: bool,
        force: bool,
        isolate_steps: bool = False,
        on_node: Callable[[NodeEvent], None] | None,
        on_step: Callable[[StepResult], None] | None,
        manager: PluginManager | None,
        correlation_id: str,
    ) -> None:
        self.path = path
        self.env = env
        self.select = select
        self.jobs = jobs
        self.retry = retry
        self.force = force
        self.isolate = isolate_steps
        self.on_node = on_node
        self.on_step = on_step
        self.manager = manager
        self.cid = correlation_id
        self.results: dict[str, StepResult] = {}
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ phases

    def execute(self) -> RunResult:
        from floe_hooks.compile import compile_product, default_out_dir
        from floe_hooks.manager import get_plugin_manager, hook_timeout_from_env, run_with_hook_deadline
        from floe_hooks.manifest import load_product

        manager = self.manager or get_plugin_manager()
        self.pm = manager
        timeout = hook_timeout_from_env()
        product = load_product(self.path, env=self.env, manager=manager)
        compiled = run_with_hook_deadline(lambda: compile_product(product, manager=manager), timeout)
        if product.project is None:
            raise ConfigError(
                "floe run needs the dbt project beside this file (dbt_project.yml not found)",
                file=str(self.path),
            )
        self.compiled = compiled
        self.root = product.project.root.resolve()
        self.out = default_out_dir(self.path).resolve()
        self.previous = read_run_results(self.out)
        if not self._published_profiles_match(compiled):
            self._publish(compiled, self.previous)  # dbt parses with them: as `floe compile` writes them
        # Otherwise the outputs are published once the graph is known (_run), with its run plan:
        # a run that stops before (bad --select, an edge refused) leaves the last run's outputs
        # as they were, and an up-to-date run keeps those of the run it reuses.
        self.compiled_state = compiled.artifacts_json()
        started = time.time()
        self.resources = {c.name: manager.exclusive_resources(c.compute) for c in compiled.computes}
        self.secrets = {c.name: self._secret_env(c) for c in compiled.computes}
        for name, values in self._catalog_env(product.manifest, manager).items():
            self.secrets[name] = {**self.secrets[name], **values}
        _log.info(
            "run_started", product=product.name, file=str(self.path), environment=self.env, select=self.select
        )
        state = self._fingerprint()
        if self._up_to_date(state):
            assert self.previous is not None
            return self._up_to_date_result(started, state)
        span = _schedule.run_span(product.name, self.cid, {"floe.environment": self.env})
        try:
            return self._run(product, compiled, span, started)
        except BaseException as exc:
            span.end(type(exc).__name__)
            raise

    def _run(self, product: Any, compiled: CompiledProject, span: Any, started: float) -> RunResult:
        graph = self._parse()
        self._check_edges(graph)  # before any step: an edge the computes cannot hand over stops here
        planned = self._planned(graph)
        self.compiled = compiled = self._with_graph(compiled, graph)
        self._publish(compiled, self.previous)
        jobs = self.jobs or max(1, len(graph.steps))
        self.span = span
        order = [s.compute for s in graph.steps]
        needs = {s.compute: s.needs for s in graph.steps}
        # In this process only when every step runs here, one after the other: an engine may
        # keep a database open in the process after dbt returns (dbt-duckdb does, until the
        # next target or exit), which a child process of a later step could not open.
        serial = jobs == 1 or len(_alone(order, needs)) == len(order)
        inside = serial and not self.isolate and not any(self.secrets[c] for c in order)
        self.mode = {c: "in-process" if inside else "subprocess" for c in order}
        self.planned = planned
        self.index = {c: i for i, c in enumerate(order, 1)}
        self.needs = needs
        _schedule.schedule(order, needs, self.resources, jobs, self._run_step, self._skip)
        steps = tuple(self.results[c] for c in order)
        failed = any(s.status in ("failed", "skipped") for s in steps)
        result = RunResult(
            product=product.name,
            environment=self.env,
            status="failed" if failed else "success",
            steps=steps,
            graph_source="dbt",
            started_at=started,
            duration_s=round(time.time() - started, 3),
            jobs=jobs,
            correlation_id=self.cid,
            run_results_path=str(self.out / RUN_RESULTS_FILE),
            fingerprint="" if failed or self.select else self._fingerprint(),
        )
        self._publish(compiled, result.to_dict() | {"select": self.select})
        span.end(result.status, **{"floe.steps": len(steps)})
        _log.info("run_finished", product=product.name, status=result.status, duration_s=result.duration_s)
        return result

    def _published_profiles_match(self, compiled: CompiledProject) -> bool:
        """True when ``profiles.yml`` in the output folder is already the one just compiled."""
        from floe_hooks.compile import PROFILES_FILE

        try:
            return (self.out / PROFILES_FILE).read_text(encoding="utf-8") == compiled.profiles_yml
        except (OSError, UnicodeDecodeError):
            return False

    def _publish(self, compiled: CompiledProject, record: Mapping[str, Any] | None) -> None:
        from floe_hooks._atomic import publish_files
        from floe_hooks.compile import ARTIFACTS_FILE, PROFILES_FILE

        files = {PROFILES_FILE: compiled.profiles_yml, ARTIFACTS_FILE: compiled.artifacts_json()}
        if record is not None:
            files[RUN_RESULTS_FILE] = json.dumps(record, indent=2, sort_keys=True) + "\n"
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            publish_files(self.out, files)
        except OSError as exc:
            raise ConfigError(f"cannot write outputs: {exc.strerror or exc}", file=str(self.out)) from None

    # ------------------------------------------------------------------ state

    def _secret_env(self, compiled: Any) -> dict[str, str]:
        from floe_hooks.secrets import resolve_secrets

        if not compiled.secrets:
            return {}
        values, missing = resolve_secrets(compiled.compute)
        if missing:
            raise ConfigError(f"compute {compiled.name!r}: {missing[0]}", file=str(self.path))
        return {b.variable: values[b.path].reveal() for b in compiled.secrets}

    def _catalog_env(self, manifest: Any, manager: PluginManager) -> dict[str, dict[str, str]]:
        """The catalog's resolved credentials, per compute that attaches it (none without a catalog)."""
        from floe_hooks.catalog import catalog_environment
        from floe_hooks.compile import _catalog_computes

        attaching = _catalog_computes(manifest, manager)
        if not attaching:
            return {}
        try:
            values = catalog_environment(manifest.catalog)
        except ConfigError as exc:
            raise exc.with_location(file=str(manifest.path)) from None
        return {name: dict(values) for name in attaching}

    def _check_edges(self, graph: StepGraph) -> None:
        """Refuse, before any step runs, an edge whose downstream compute cannot read its upstream's data."""
        from floe_hooks.catalog import edge_error, edge_problem

        product = self.compiled.product
        computes = {c.name: c.compute for c in self.compiled.computes}
        for up, down in graph.edges:
            reason = edge_problem(product.manifest.catalog, computes[up], computes[down], manager=self.pm)
            if reason is None:
                continue
            parent, child = graph.examples[(up, down)]
            upstream, downstream = graph.nodes[parent], graph.nodes[child]
            index = next(
                (i for i, t in enumerate(product.transforms) if t.name == downstream.transform),
                next((i for i, t in enumerate(product.transforms) if t.compute == down), None),
            )
            path = f"transforms[{index}].compute" if index is not None else None
            raise edge_error(str(self.path), path, upstream.name, up, downstream.name, down, reason)

    def _workdir(self, compute: str) -> Path:
        """Where the step's dbt runs: the project, or (``isolate_steps``) a fresh empty folder."""
        if not self.isolate:
            return self.root
        import shutil

        work = self.out / "steps" / compute / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        return work

    def _fingerprint(self) -> str:
        from floe_hooks._version import __version__

        files = [
            self.root / key[5:] for keys in self.resources.values() for key in keys if key.startswith("file:")
        ]
        extra = {
            "profiles": self.compiled.profiles_yml,
            "artifacts": self.compiled_state,  # as compiled: a manifest outside the project counts too
            "env": str(self.env),
            "floe": __version__,
        }
        if self.isolate:  # the database files live in the steps' work folders, emptied each run
            extra["isolate_steps"] = "true"
        return _schedule.fingerprint(self.root, extra, files)

    def _up_to_date(self, state: str) -> bool:
        previous = self.previous or {}
        return (
            not self.force
            and not self.retry
            and self.select is None
            and previous.get("status") in ("success", "up-to-date")
            and previous.get("select") is None
            and previous.get("fingerprint") == state
        )

    def _up_to_date_result(self, started: float, state: str) -> RunResult:
        assert self.previous is not None
        steps = tuple(
            StepResult(
                step=int(s["step"]),
                compute=str(s["compute"]),
                needs=tuple(s["needs"]),
                command=(),
                status="reused",
                nodes=int(s.get("nodes", 0)),
                run_results=s.get("run_results"),
                reason="nothing changed since the last successful run",
            )
            for s in self.previous.get("steps", [])
        )
        result = RunResult(
            product=self.compiled.product.name,
            environment=self.env,
            status="up-to-date",
            steps=steps,
            graph_source="dbt",
            started_at=started,
            duration_s=round(time.time() - started, 3),
            jobs=0,
            correlation_id=self.cid,
            run_results_path=str(self.out / RUN_RESULTS_FILE),
            fingerprint=state,
        )
        _log.info("run_finished", product=result.product, status=result.status, duration_s=result.duration_s)
        return result

    # ------------------------------------------------------------------ dbt

    def _base_args(self, verb: str, compute: str) -> list[str]:
        folder = self.out / "steps" / compute
        return [
            verb,
            "--project-dir", str(self.root),
            "--profiles-dir", str(self.out),
            "--profile", self.compiled.product.dbt_profile,
            "--target", compute,
            "--target-path", str(folder),
            "--log-path", str(folder),
        ]  # fmt: skip

    def _parse(self) -> StepGraph:
        from floe_hooks._graph import build_graph

        product = self.compiled.product
        default = product.manifest.default
        # parse on a compute without secrets when there is one: then it happens in this process
        # the first transform's compute most likely runs first: its step then reuses this parse
        first = product.transforms[0].compute
        candidates = [first, default] + [c.name for c in self.compiled.computes]
        target = next((c for c in candidates if not self.secrets[c]), default)
        args = [*self._base_args("parse", target), "--quiet"]
        status, result = _dbt.invoke(
            args, cwd=self.root, in_process=not self.secrets[target], env=self.secrets[target] or None
        )
        manifest = _dbt.read_json(self.out / "steps" / target / "manifest.json")
        if status != 0 or manifest is None:
            raise DbtParseError(
                f"{self.path}: dbt could not parse the project at {self.root} (its messages are above)"
            )
        self.parsed = (target, getattr(result, "result", None) if result is not None else None)
        return build_graph(
            manifest,
            project=str((manifest.get("metadata") or {}).get("project_name") or product.project.name),  # type: ignore[union-attr]
            transforms=[(t.name, t.path, t.compute) for t in product.transforms],
            default=default,
            file=str(self.path),
        )

    def _planned(self, graph: StepGraph) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Per step: the nodes to run and their selectors, after ``--select`` and ``retry``."""
        chosen: set[str] | None = None
        if self.select is not None:
            chosen = self._resolve_selection(graph)
        previous = {s.get("compute"): s for s in (self.previous or {}).get("steps", [])} if self.retry else {}
        planned = {}
        for step in graph.steps:
            nodes = [n for n in step.nodes if chosen is None or n in chosen]
            before = previous.get(step.compute)
            if before is not None and before.get("status") in ("success", "reused", "nothing"):
                nodes = []
                self.results[step.compute] = StepResult(
                    self._index(graph, step.compute), step.compute, step.needs, (), "reused",
                    reason="succeeded in the previous run",
                )  # fmt: skip
            elif before is not None and before.get("status") == "failed" and before.get("run_results"):
                last = _dbt.read_json(self.path.parent / str(before["run_results"]))
                again = {
                    str(r.get("unique_id"))
                    for r in (last or {}).get("results") or []
                    if r.get("status") in ("error", "fail", "runtime error", "skipped")
                }
                ran = {str(r.get("unique_id")) for r in (last or {}).get("results") or []}
                nodes = [n for n in nodes if n in again or n not in ran]
            planned[step.compute] = (tuple(nodes), _selectors(graph, step, nodes))
        return planned

    @staticmethod
    def _index(graph: StepGraph, compute: str) -> int:
        return [s.compute for s in graph.steps].index(compute) + 1

    def _resolve_selection(self, graph: StepGraph) -> set[str]:
        """The unique ids ``--select`` names, as ``dbt ls`` resolves it on the parsed target.

        On a compute with secrets (with a catalog, every compute attaching it) dbt runs as
        a child process whose environment alone holds them, as the parse did.
        """
        target, _ = self.parsed
        args = [*self._base_args("ls", target), "--select", str(self.select), "--output", "json",
                "--output-keys", "unique_id"]  # fmt: skip
        status, lines, error = _dbt.list_output(args, cwd=self.root, env=self.secrets[target] or None)
        if status != 0:
            reason = f": {error}" if error else ""
            raise ConfigError(f"dbt refused the selection {self.select!r}{reason}", file=str(self.path))
        chosen: set[str] = set()
        for line in lines:
            try:
                chosen.add(str(json.loads(line)["unique_id"]))
            except (ValueError, KeyError, TypeError):
                continue
        chosen &= set(graph.nodes)
        if not chosen:  # dbt's own warning is not shown (its output is read, not printed)
            _log.warning("select_matched_nothing", select=self.select)
        return chosen

    def _with_graph(self, compiled: CompiledProject, graph: StepGraph) -> CompiledProject:
        from floe_hooks._artifact import _artifacts
        from floe_hooks.compile import RunStep

        plan = tuple(RunStep(s.compute, s.transforms, s.select, s.needs, _EMPTY) for s in graph.steps)
        edges = {"source": "dbt", "edges": [list(edge) for edge in graph.edges]}
        artifacts = _artifacts(compiled.product, compiled.computes, plan, compiled.profiles_yml, edges)
        return attrs.evolve(compiled, run_plan=plan, artifacts=artifacts)

    # ------------------------------------------------------------------ steps

    def _skip(self, compute: str, need: str) -> None:
        why = (
            "failed"
            if self.results.get(need, None) is None or self.results[need].status == "failed"
            else "was skipped"
        )
        result = StepResult(
            self.index[compute], compute, self.needs[compute], (), "skipped",
            nodes=len(self.planned[compute][0]), reason=f"needs {need}, which {why}",
        )  # fmt: skip
        self.results[compute] = result
        _log.info("step_finished", compute=compute, status="skipped", reason=result.reason)
        if self.on_step is not None:
            self.on_step(result)

    def _run_step(self, compute: str) -> bool:
        if compute in self.results:  # reused (retry)
            if self.on_step is not None:
                self.on_step(self.results[compute])
            return True
        nodes, select = self.planned[compute]
        index, needs = self.index[compute], self.needs[compute]
        folder = self.out / "steps" / compute
        rel_results = os.path.relpath(folder / "run_results.json", self.path.parent)
        if not nodes:
            result = StepResult(index, compute, needs, (), "nothing", reason="no node selected")
            self.results[compute] = result
            if self.on_step is not None:
                self.on_step(result)
            return True
        args = [*self._base_args("build", compute), "--select", *select, *_EMPTY]
        command = ("dbt", *args)
        mode = self.mode[compute]
        if mode == "in-process":
            args.append("--quiet")  # floe prints the nodes; a child's JSON log is read, not shown
        started = time.time()
        begin = StepResult(index, compute, needs, command, "running", mode, started, nodes=len(nodes))
        _log.info("step_started", compute=compute, step=index, nodes=len(nodes), mode=mode)
        if self.on_step is not None:
            self.on_step(begin)
        span = _schedule.step_span(self.span, compute, self.cid)

        def on_event(data: _dbt.NodeEventData) -> None:
            event = NodeEvent(compute, **attrs.asdict(data))
            if event.finished:
                _schedule.node_span(span, compute, event, self.cid)
            if self.on_node is not None:
                self.on_node(event)

        manifest = None
        if mode == "in-process" and self.parsed[0] == compute:
            manifest = self.parsed[1]
        try:
            (folder / "run_results.json").unlink(missing_ok=True)
            status, _ = _dbt.invoke(
                args,
                cwd=self._workdir(compute),
                in_process=mode == "in-process",
                env=self.secrets[compute] or None,
                on_event=on_event,
                manifest=manifest,
            )
        except Exception as exc:  # dbt itself broke: the step fails, the run goes on
            print(f"floe: step {compute}: dbt raised {type(exc).__name__}", file=sys.stderr)
            status = 2
        results = _dbt.read_json(folder / "run_results.json")
        succeeded, failed, skipped = counts(results)
        ok = status == 0 and failed == 0
        result = StepResult(
            index, compute, needs, command, "success" if ok else "failed", mode, started,
            duration_s=round(time.time() - started, 3), nodes=len(nodes), succeeded=succeeded,
            failed=failed if ok or failed else max(1, failed), skipped=skipped,
            run_results=rel_results if results is not None else None,
        )  # fmt: skip
        self.results[compute] = result
        span.end(result.status, **{"floe.nodes": len(nodes), "floe.failed": result.failed})
        _log.info("step_finished", compute=compute, status=result.status, duration_s=result.duration_s,
                  succeeded=succeeded, failed=result.failed, skipped=skipped)  # fmt: skip
        if self.on_step is not None:
            self.on_step(result)
        return ok


def _alone(order: list[str], needs: Mapping[str, tuple[str, ...]]) -> set[str]:
    """Steps no other step could run beside: every other is upstream or downstream of them."""
    upstream: dict[str, set[str]] = {}
    for compute in order:  # topological order: needs come first
        found: set[str] = set()
        for need in needs.get(compute, ()):
            found |= {need} | upstream[need]
        upstream[compute] = found
    return {c for c in order if all(o == c or o in upstream[c] or c in upstream[o] for o in order)}


def _selectors(graph: StepGraph, step: Any, nodes: list[str]) -> tuple[str, ...]:
    return tuple(step.select) if list(nodes) == list(step.nodes) else graph.select(nodes)
