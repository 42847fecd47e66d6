"""The Jobs of examples/quickstart, run the way their pods run them, with the real dbt.

Each Job's container command runs in a copy of the example (the image's working
directory), with exactly the Job's environment, the ConfigMap's profiles.yml at the
mount path (here a folder standing in for the volume) and an empty scratch folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from floe_hooks import PluginManager, compile_product, load_product
from floe_hooks.kubernetes import PROFILES_DIR, SCRATCH_DIR, kubernetes_objects

from .conftest import container, jobs

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart"

pytestmark = pytest.mark.dbt


def _dbt() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def _mounted(value: str, mounts: dict[str, Path]) -> str:
    for inside, outside in mounts.items():
        if value == inside or value.startswith(inside + "/"):
            return str(outside) + value[len(inside) :]
    return value


def _run_like_a_pod(
    job: dict[str, Any], workdir: Path, mounts: dict[str, Path]
) -> subprocess.CompletedProcess[str]:
    spec = container(job)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_") and k != "HOME"}
    for entry in spec["env"]:
        assert "value" in entry, f"the quickstart needs no secret, got {entry}"
        env[entry["name"]] = _mounted(entry["value"], mounts)
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1")
    command = [_dbt(), *spec["command"][1:]]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


def test_the_quickstart_jobs_build_the_models_step_by_step(tmp_path: Path) -> None:
    workdir = tmp_path / "quickstart"
    shutil.copytree(
        EXAMPLE, workdir, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*", "dbt_packages")
    )
    pm = PluginManager(strict=False)
    compiled = compile_product(load_product(workdir / "floe.yaml", manager=pm), manager=pm)
    # one shared working directory stands for the image: the DuckDB files are shared here as they
    # would not be on a cluster, hence allow_pod_local (test_argo_rehearsal gives each pod its own)
    objects = kubernetes_objects(compiled, output="jobs", allow_pod_local=True)

    profiles_volume = tmp_path / "volumes" / "profiles"
    scratch = tmp_path / "volumes" / "scratch"
    profiles_volume.mkdir(parents=True)
    scratch.mkdir()
    (profiles_volume / "profiles.yml").write_text(objects[0]["data"]["profiles.yml"])
    mounts = {PROFILES_DIR: profiles_volume, SCRATCH_DIR: scratch}

    steps = jobs(objects)
    assert [j["metadata"]["labels"]["floe.dev/compute"] for j in steps] == ["ingest", "warehouse"]
    for job in steps:  # in step order, as `kubectl apply -l floe.dev/step=N` + `kubectl wait` would
        result = _run_like_a_pod(job, workdir, mounts)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        assert "Completed successfully" in result.stdout

    # dbt wrote its artifacts and logs to the scratch volume, not into the (read-only) image
    assert (scratch / "dbt" / "target" / "run_results.json").is_file()
    assert (scratch / "dbt" / "logs" / "dbt.log").is_file()
    assert not (workdir / "target").exists()
    assert not (workdir / "logs").exists()

    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as warehouse:
        rows = warehouse.execute("select name, orders from customer_revenue order by customer_id").fetchall()
    assert rows == [("Alice", 2), ("Bob", 1), ("Chandra", 2), ("Dana", 0)]
