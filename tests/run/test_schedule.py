"""The step scheduler, the exclusive_resources hook and floe run without dbt (no dbt needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from floe_hooks import ComputeConfig, PluginManager
from floe_hooks._schedule import schedule
from floe_hooks.testing import make_plugin


class Recorder:
    """Fake step execution: remembers when each step ran; steps in ``failing`` fail."""

    def __init__(self, failing: set[str] = frozenset(), seconds: float = 0.2) -> None:  # type: ignore[assignment]
        self.failing = failing
        self.seconds = seconds
        self.spans: dict[str, tuple[float, float]] = {}
        self.skipped: dict[str, str] = {}
        self.lock = threading.Lock()

    def execute(self, step: str) -> bool:
        start = time.monotonic()
        time.sleep(self.seconds)
        with self.lock:
            self.spans[step] = (start, time.monotonic())
        return step not in self.failing

    def skip(self, step: str, need: str) -> None:
        self.skipped[step] = need

    def overlap(self, a: str, b: str) -> bool:
        (s1, e1), (s2, e2) = self.spans[a], self.spans[b]
        return s1 < e2 and s2 < e1


def test_independent_steps_run_in_parallel_and_dependent_ones_in_order() -> None:
    rec = Recorder()
    schedule(["a", "b", "c"], {"b": ["a"]}, {}, 3, rec.execute, rec.skip)
    assert rec.overlap("a", "c")
    assert rec.spans["b"][0] >= rec.spans["a"][1]


def test_steps_sharing_a_resource_never_overlap() -> None:
    rec = Recorder()
    schedule(["a", "c"], {}, {"a": ["file:x.duckdb"], "c": ["file:x.duckdb"]}, 2, rec.execute, rec.skip)
    assert not rec.overlap("a", "c")


def test_jobs_bounds_how_many_run_at_once() -> None:
    rec = Recorder()
    schedule(["a", "b", "c"], {}, {}, 1, rec.execute, rec.skip)
    assert not any(rec.overlap(x, y) for x, y in [("a", "b"), ("a", "c"), ("b", "c")])


def test_a_failed_step_skips_its_dependents_by_name_and_lets_others_finish() -> None:
    rec = Recorder(failing={"a"})
    schedule(["a", "b", "d", "c"], {"b": ["a"], "d": ["b"]}, {}, 2, rec.execute, rec.skip)
    assert rec.skipped == {"b": "a", "d": "b"}
    assert set(rec.spans) == {"a", "c"}


def _compute(**config: object) -> ComputeConfig:
    pm = PluginManager(strict=False)
    cls = pm.config_class("duckdb")
    assert cls is not None
    return ComputeConfig(name="w", type="duckdb", config=cls(**config))


def test_duckdb_declares_its_file_and_local_attachments() -> None:
    from floe_duckdb import Attachment

    pm = PluginManager(strict=False)
    compute = _compute(
        path="./w.duckdb",
        attach=(
            Attachment(path="ingest.duckdb", alias="ingest"),
            Attachment(path="s3://b/x.duckdb", alias="x"),
        ),
    )
    assert pm.exclusive_resources(compute) == ["file:w.duckdb", "file:ingest.duckdb"]
    assert pm.exclusive_resources(_compute(path=":memory:")) == []


def test_a_plugin_written_for_api_1_0_loads_and_declares_nothing() -> None:
    pm = PluginManager(autoload=False, strict=False)
    pm.register(make_plugin("old", version="1", api="1.0"), name="old")
    assert [p.name for p in pm.plugins] == ["old"]
    assert pm.exclusive_resources(ComputeConfig(name="o", type="old")) == []


def test_without_dbt_floe_run_says_so_in_one_line(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "dbt"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")  # a dbt without dbt-core's command line
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "shadow")}
    process = subprocess.run(
        [sys.executable, "-m", "floe_hooks.cli", "run", "floe.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (process.returncode, process.stdout) == (2, "")
    assert process.stderr == (
        "floe: error: floe run needs dbt, which is not installed: pip install 'floe-hooks[dbt]'\n"
    )
