"""A cluster-free rehearsal: each task of the Workflow ``floe k8s`` writes, run like its pod, with real dbt.

The product (``argo_project``) has three DuckDB steps whose files live on a shared volume:
``raw`` and ``audit`` are independent, ``mart`` reads ``raw``'s tables. The artifact carries
that graph as ``floe run`` records it (``graph.source: dbt``). Each task runs in a fresh,
empty folder holding only what its pod would (see ``rehearsal.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from floe_hooks import PluginManager, compile_product, load_product
from floe_hooks.kubernetes import render_kubernetes

from .conftest import validate_argo, with_needs
from .rehearsal import Rehearsal, rehearse

PROJECT = Path(__file__).parent / "argo_project"

pytestmark = pytest.mark.argo


def _image(tmp_path: Path) -> Path:
    """What the image holds at its working directory: the dbt project, not floe's files."""
    image = tmp_path / "image"
    shutil.copytree(
        PROJECT, image, ignore=shutil.ignore_patterns("floe.yaml", "manifest.yaml", "target", "logs")
    )
    return image


def _objects(tmp_path: Path, **kubernetes: Any) -> list[dict[str, Any]]:
    source = tmp_path / "source"
    shutil.copytree(PROJECT, source)
    if kubernetes:
        manifest = yaml.safe_load((source / "manifest.yaml").read_text())
        manifest["kubernetes"].update(kubernetes)
        (source / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    pm = PluginManager(strict=False)
    compiled = compile_product(load_product(source / "floe.yaml", manager=pm), manager=pm)
    compiled = with_needs(compiled, {"mart": ["raw"]})  # as `floe run` records dbt's graph
    objects = list(yaml.safe_load_all(render_kubernetes(compiled, output="workflow")))
    validate_argo(objects[1])
    return objects


def _rehearse(tmp_path: Path, objects: list[dict[str, Any]], image: Path) -> tuple[Rehearsal, Path]:
    configmap, workflow = objects
    volume = tmp_path / "pvc-lakeside-data"
    volume.mkdir()
    result = rehearse(
        workflow,
        image_dir=image,
        configmaps={configmap["metadata"]["name"]: configmap},
        work=tmp_path / "pods",
        claims={"lakeside-data": volume},
        secrets={},
    )
    return result, volume


def test_the_workflow_builds_the_pipeline_task_by_task(tmp_path: Path) -> None:
    result, volume = _rehearse(tmp_path, _objects(tmp_path), _image(tmp_path))
    assert result.phase == "Succeeded", result.report() + "".join(
        a.stdout[-3000:] + a.stderr[-2000:] for n in result.nodes.values() for a in n.attempts
    )
    assert result.order.index("raw") < result.order.index("mart")
    with duckdb.connect(str(volume / "mart.duckdb"), read_only=True) as mart:
        rows = mart.execute(
            "select name, orders, revenue from customer_revenue order by customer_id"
        ).fetchall()
    assert [(n, o, float(r)) for n, o, r in rows] == [
        ("Alice", 2, 155.5),
        ("Bob", 1, 99.9),
        ("Chandra", 1, 12.0),
    ]
    with duckdb.connect(str(volume / "audit.duckdb"), read_only=True) as audit:
        assert audit.execute("select count(*) from audit_calendar").fetchone() == (7,)
    # the pods kept nothing of their own: dbt's target and logs went to each pod's scratch emptyDir
    for pod in (tmp_path / "pods").iterdir():
        assert not list((pod / "workdir").glob("*.duckdb")), pod
        assert not (pod / "workdir" / "target").exists()
        assert list(pod.glob("volumes/*-scratch/dbt/target/run_results.json")), pod


def test_a_failing_task_stops_its_dependents_and_the_workflow_fails(tmp_path: Path) -> None:
    image = _image(tmp_path)
    (image / "models" / "raw" / "raw_orders.sql").write_text("select * from a_table_that_is_not_there\n")
    result, volume = _rehearse(tmp_path, _objects(tmp_path, backoff_limit=1), image)
    assert result.phase == "Failed"
    assert {name: node.phase for name, node in result.nodes.items()} == {
        "raw": "Failed",
        "audit": "Succeeded",  # failFast: false: the independent branch finishes
        "mart": "Omitted",
    }
    assert len(result.nodes["raw"].attempts) == 2  # backoff_limit 1: one retry
    assert "a_table_that_is_not_there" in result.nodes["raw"].attempts[-1].stdout
    assert not (volume / "mart.duckdb").exists()
    report = result.report().splitlines()
    assert report[0] == "Status: Failed"
    assert " ✖ raw Failed (2 attempts) Error (exit code 1)" in report
    assert " ○ mart Omitted omitted: depends condition not met" in report


def test_a_task_whose_secret_is_missing_errors_before_dbt_starts(tmp_path: Path) -> None:
    """A compute with a Secret reference: the pod gets the value the test supplies, or errors without it."""
    objects = _objects(tmp_path)
    workflow = objects[1]
    raw = next(t for t in workflow["spec"]["templates"] if t["name"] == "raw")
    raw["container"]["env"].append(
        {
            "name": "DBT_ENV_SECRET_RAW_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "raw-creds", "key": "token"}},
        }
    )
    result, _ = _rehearse(tmp_path, objects, _image(tmp_path))
    assert result.nodes["raw"].phase == "Error"
    assert result.nodes["raw"].message == 'secret "raw-creds" key "token" not found'
    assert result.nodes["mart"].phase == "Omitted"
