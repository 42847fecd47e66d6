"""The Argo Workflow: its DAG is the step graph, its tasks run the plan's commands, Argo's schema takes it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from floe_hooks.cli import main
from floe_hooks.kubernetes import (
    DAG_TEMPLATE,
    PROFILES_DIR,
    RETRY_BACKOFF,
    SCRATCH_DIR,
    kubernetes_objects,
    render_kubernetes,
    step_dependencies,
)

from .conftest import (
    K8S_VERSIONS,
    K8sProject,
    argo_validator,
    container,
    jobs,
    validate,
    validate_argo,
    warehouse_compute,
    with_needs,
)

SHARED = {"claim_name": "lake-data", "mount_path": "/data"}


def three_steps(**kubernetes: Any) -> dict[str, Any]:
    """raw and audit on DuckDB files on the shared volume, mart on a password-protected server."""
    return {
        "version": 1,
        "compute": {
            "default": "mart",
            "approved": [
                {
                    "name": "raw",
                    "type": "duckdb",
                    "timeout_seconds": 900,
                    "config": {"path": "/data/raw.duckdb"},
                },
                {
                    "name": "audit",
                    "type": "duckdb",
                    "config": {"path": "/data/audit.duckdb"},
                    "resources": "large",
                },
                warehouse_compute("mart", timeout_seconds=1.5),
            ],
        },
        "kubernetes": {
            "image": "registry.example/dbt:1.11",
            "namespace": "data",
            "backoff_limit": 2,
            "shared_volume": SHARED,
            **kubernetes,
        },
    }


THREE_TRANSFORMS = (
    {"name": "staging", "path": "models/staging", "compute": "raw"},
    {"name": "checks", "path": "models/checks", "compute": "audit"},
    {"name": "marts", "path": "models/marts"},
)


def _workflow(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (workflow,) = [o for o in objects if o["kind"] in ("Workflow", "WorkflowTemplate")]
    return workflow


def _dag(workflow: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    (dag,) = [t for t in workflow["spec"]["templates"] if t["name"] == workflow["spec"]["entrypoint"]]
    return {task["name"]: tuple(task.get("dependencies", ())) for task in dag["dag"]["tasks"]}


def _templates(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in workflow["spec"]["templates"] if "container" in t}


@pytest.fixture
def compiled_three(project: K8sProject) -> Any:
    project.write(three_steps(), THREE_TRANSFORMS)
    return with_needs(project.compile(), {"mart": ["raw"]})


def test_the_dag_is_the_step_graph_of_the_artifact(compiled_three: Any) -> None:
    workflow = _workflow(yaml.safe_load_all(render_kubernetes(compiled_three, output="workflow")))  # type: ignore[arg-type]
    graph = step_dependencies(compiled_three.artifacts["run_plan"], compiled_three.artifacts["graph"])
    assert graph == {"raw": (), "audit": (), "mart": ("raw",)}
    assert _dag(workflow) == graph  # read back from the YAML: audit is independent, mart waits for raw
    assert workflow["spec"]["entrypoint"] == DAG_TEMPLATE
    (dag,) = [t for t in workflow["spec"]["templates"] if t["name"] == DAG_TEMPLATE]
    assert dag["dag"]["failFast"] is False  # like floe run: independent steps finish, dependents are omitted


def test_each_task_runs_the_plan_command_with_its_target_and_selection(compiled_three: Any) -> None:
    workflow = _workflow(kubernetes_objects(compiled_three, output="workflow"))
    templates = _templates(workflow)
    expected = {
        "raw": ("raw", "path:models/staging"),
        "audit": ("audit", "path:models/checks"),
        "mart": ("mart", "path:models/marts"),
    }
    for entry in compiled_three.artifacts["run_plan"]:
        command = templates[entry["compute"]]["container"]["command"]
        assert command == entry["command"]
        target, select = expected[entry["compute"]]
        assert command[command.index("--target") + 1] == target
        assert command[command.index("--select") + 1 :] == [select]
        assert command[command.index("--profile") + 1] == "analytics"


def test_the_command_is_taken_from_the_plan_not_rebuilt(compiled_three: Any) -> None:
    artifacts = dict(compiled_three.artifacts)
    artifacts["run_plan"] = [
        {**entry, "command": ["dbt", "build", "--target", entry["target"], "--select", *entry["select"]]}
        for entry in artifacts["run_plan"]
    ]
    import attrs

    changed = attrs.evolve(compiled_three, artifacts=artifacts)
    for output in ("workflow", "jobs"):
        objects = kubernetes_objects(changed, output=output)
        commands = (
            [t["container"]["command"] for t in _templates(_workflow(objects)).values()]
            if output == "workflow"
            else [container(j)["command"] for j in jobs(objects)]
        )
        assert commands == [e["command"] for e in artifacts["run_plan"]]
        assert all(c[1] == "build" for c in commands)


def test_each_task_has_the_container_of_the_job(compiled_three: Any) -> None:
    templates = _templates(_workflow(kubernetes_objects(compiled_three, output="workflow")))
    job_containers = [container(j) for j in jobs(kubernetes_objects(compiled_three, output="jobs"))]
    assert [t["container"] for t in templates.values()] == job_containers
    mart = templates["mart"]["container"]
    assert mart["image"] == "registry.example/dbt:1.11"
    assert mart["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
    }
    assert {
        "name": "DBT_ENV_SECRET_MART_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "wh-creds", "key": "password"}},
    } in mart["env"]
    assert templates["audit"]["container"]["resources"]["limits"]["memory"] == "16Gi"  # the large preset
    assert all(
        e.get("valueFrom") is None for e in templates["raw"]["container"]["env"]
    )  # a task gets only its own compute's secrets


def test_mounts_retries_deadlines_and_labels(compiled_three: Any) -> None:
    workflow = _workflow(kubernetes_objects(compiled_three, output="workflow"))
    spec = workflow["spec"]
    assert spec["volumes"] == [
        {
            "name": "profiles",
            "configMap": {
                "name": "analytics-dbt-profiles",
                "items": [{"key": "profiles.yml", "path": "profiles.yml"}],
            },
        },
        {"name": "scratch", "emptyDir": {}},
        {"name": "shared", "persistentVolumeClaim": {"claimName": "lake-data"}},
    ]
    assert spec["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert spec["ttlStrategy"] == {"secondsAfterCompletion": 86400}
    for name, template in _templates(workflow).items():
        assert template["container"]["volumeMounts"] == [
            {"name": "profiles", "mountPath": PROFILES_DIR, "readOnly": True},
            {"name": "scratch", "mountPath": SCRATCH_DIR},
            {"name": "shared", "mountPath": "/data"},
        ]
        assert template["retryStrategy"] == {"limit": "2", "retryPolicy": "Always", "backoff": RETRY_BACKOFF}
        assert template["metadata"]["labels"]["floe.dev/compute"] == name
    templates = _templates(workflow)
    assert templates["raw"]["activeDeadlineSeconds"] == "900"
    assert templates["mart"]["activeDeadlineSeconds"] == "2"  # 1.5 s, rounded up to whole seconds
    assert "activeDeadlineSeconds" not in templates["audit"]  # no timeout_seconds: no deadline
    assert [t["metadata"]["labels"]["floe.dev/step"] for t in templates.values()] == ["1", "2", "3"]
    labels = workflow["metadata"]["labels"]
    assert labels["floe.dev/product"] == "analytics"
    assert labels["app.kubernetes.io/component"] == "dbt-workflow"
    assert "floe.dev/version" in labels
    assert spec["podMetadata"]["labels"]["floe.dev/product"] == "analytics"
    assert workflow["metadata"]["generateName"] == "analytics-"
    assert workflow["metadata"]["namespace"] == "data"


def test_environment_label_and_template_variant(project: K8sProject) -> None:
    manifest = three_steps()
    manifest["environments"] = {"prod": {"kubernetes": {"namespace": "data-prod"}}}
    project.write(manifest, THREE_TRANSFORMS)
    compiled = project.compile("prod")
    template = _workflow(kubernetes_objects(compiled, output="workflow-template"))
    assert template["kind"] == "WorkflowTemplate"
    assert template["metadata"]["name"] == "analytics-prod"
    assert template["metadata"]["namespace"] == "data-prod"
    assert template["metadata"]["labels"]["floe.dev/environment"] == "prod"
    assert template["spec"]["workflowMetadata"]["labels"]["floe.dev/environment"] == "prod"
    assert _dag(template) == {"raw": (), "audit": ("raw",), "mart": ("audit",)}  # no dbt graph: a chain
    validate_argo(template)


@pytest.mark.parametrize("output", ["workflow", "workflow-template"])
@pytest.mark.parametrize("needs", [None, {"mart": ["raw"]}, {"mart": ["raw", "audit"], "audit": ["raw"]}])
def test_every_workflow_validates_against_argos_schema(
    project: K8sProject, output: str, needs: dict[str, list[str]] | None
) -> None:
    project.write(
        three_steps(service_account="dbt-runner", image_pull_policy="Always", labels={"team": "a"}),
        THREE_TRANSFORMS,
    )
    compiled = project.compile()
    if needs is not None:
        compiled = with_needs(compiled, needs)
    objects = list(yaml.safe_load_all(render_kubernetes(compiled, output=output)))
    validate_argo(objects[1])
    for version in K8S_VERSIONS:
        validate(objects[0], version)  # the ConfigMap


def test_argos_schema_is_not_vacuous(compiled_three: Any) -> None:
    workflow = _workflow(kubernetes_objects(compiled_three, output="workflow"))
    broken = []
    wrong_type = copy.deepcopy(workflow)
    wrong_type["spec"]["templates"][0]["dag"]["tasks"][0]["dependencies"] = "raw"
    broken.append((wrong_type, False))
    no_name = copy.deepcopy(workflow)
    del no_name["spec"]["templates"][0]["dag"]["tasks"][1]["name"]
    broken.append((no_name, False))
    unknown = copy.deepcopy(workflow)
    unknown["spec"]["templates"][1]["retryStrategy"]["backofff"] = {}
    broken.append((unknown, True))  # only the closed schema (argo submit --strict) sees a typo
    for obj, closed in broken:
        with pytest.raises(jsonschema.ValidationError):
            argo_validator("Workflow", closed).validate(obj)


def test_jobs_wait_for_the_same_graph(compiled_three: Any) -> None:
    objects = kubernetes_objects(compiled_three, output="jobs")
    after = {j["metadata"]["name"]: j["metadata"]["annotations"].get("floe.dev/after") for j in jobs(objects)}
    assert after == {"analytics-raw": None, "analytics-audit": None, "analytics-mart": "analytics-raw"}
    for obj in objects:
        for version in K8S_VERSIONS:
            validate(obj, version)
    for job in jobs(objects):
        assert {"name": "shared", "persistentVolumeClaim": {"claimName": "lake-data"}} in job["spec"][
            "template"
        ]["spec"]["volumes"]


def test_output_is_byte_identical(compiled_three: Any) -> None:
    for output in ("workflow", "workflow-template", "jobs"):
        first = render_kubernetes(compiled_three, output=output)
        assert first == render_kubernetes(compiled_three, output=output)
        assert "&id0" not in first  # no YAML anchors: every object reads on its own
        from floe_hooks.kubernetes import dump_objects

        objects = kubernetes_objects(compiled_three, output=output)
        assert dump_objects(objects, emitter="python") == dump_objects(objects)


def test_floe_k8s_writes_a_workflow_for_several_steps(
    project: K8sProject, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(three_steps(), THREE_TRANSFORMS)
    assert main(["k8s", "floe.yaml"]) == 0
    path = Path("target/floe/k8s/kubernetes.yaml")
    first = path.read_bytes()
    kinds = [o["kind"] for o in yaml.safe_load_all(first)]
    assert kinds == ["ConfigMap", "Workflow"]
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"wrote {path}",
        "needs Kubernetes Secrets (name/key) in namespace data: wh-creds/password",
        "needs the PersistentVolumeClaim lake-data in namespace data",
        "submit:",
        f"  kubectl apply -n data -f {path} -l app.kubernetes.io/component=dbt-profiles",
        f"  argo submit -n data --watch {path}",
    ]
    assert main(["k8s", "floe.yaml"]) == 0
    assert path.read_bytes() == first
    assert main(["k8s", "floe.yaml", "--format", "argo", "--template"]) == 0
    assert [o["kind"] for o in yaml.safe_load_all(path.read_text())] == ["ConfigMap", "WorkflowTemplate"]
    assert (
        capsys.readouterr().out.splitlines()[-1]
        == "  argo submit -n data --watch --from workflowtemplate/analytics"
    )
    assert main(["k8s", "floe.yaml", "--format", "jobs"]) == 0
    assert [o["kind"] for o in yaml.safe_load_all(path.read_text())] == ["ConfigMap", "Job", "Job", "Job"]


def test_one_step_defaults_to_a_job(project: K8sProject, capsys: pytest.CaptureFixture[str]) -> None:
    project.write(three_steps(), ({"name": "all", "path": "models"},))
    assert main(["k8s", "floe.yaml", "--out", "-"]) == 0
    assert [o["kind"] for o in yaml.safe_load_all(capsys.readouterr().out)] == ["ConfigMap", "Job"]
    assert main(["k8s", "floe.yaml", "--out", "-", "--format", "argo"]) == 0
    workflow = list(yaml.safe_load_all(capsys.readouterr().out))[1]
    assert _dag(workflow) == {"mart": ()}
    validate_argo(workflow)


def test_template_goes_with_argo_only(project: K8sProject, capsys: pytest.CaptureFixture[str]) -> None:
    project.write(three_steps(), THREE_TRANSFORMS)
    assert main(["k8s", "floe.yaml", "--format", "jobs", "--template"]) == 2
    assert capsys.readouterr().err == (
        "floe: error: --template makes a WorkflowTemplate: it goes with --format argo, not jobs\n"
    )
    assert not Path("target").exists()


def test_two_transforms_of_one_compute_are_one_task(project: K8sProject) -> None:
    """The plan has one step per compute, so a compute named twice is one task, never two."""
    transforms = (*THREE_TRANSFORMS, {"name": "exports", "path": "models/exports", "compute": "raw"})
    project.write(three_steps(), transforms)
    compiled = project.compile()
    workflow = _workflow(kubernetes_objects(compiled, output="workflow"))
    assert _dag(workflow) == {"raw": (), "audit": ("raw",), "mart": ("audit",)}
    needs = with_needs(compiled, {"mart": ["raw"]})
    assert _dag(_workflow(kubernetes_objects(needs, output="workflow"))) == {
        "raw": (),
        "audit": (),
        "mart": ("raw",),
    }
    validate_argo(_workflow(kubernetes_objects(needs, output="workflow")))


def test_the_module_examples_hold() -> None:
    import doctest

    import floe_hooks._k8s_base
    import floe_hooks.kubernetes

    # the public names step_names, step_dependencies, dns_label... are defined in _k8s_base
    results = [doctest.testmod(m) for m in (floe_hooks.kubernetes, floe_hooks._k8s_base)]
    assert (sum(r.failed for r in results), sum(r.attempted for r in results) > 0) == (0, True)


def test_what_argos_controller_checks_beyond_the_schema(project: K8sProject) -> None:
    """Names Argo accepts, unique; the entrypoint and every task's template exist; the DAG is acyclic."""
    import graphlib
    import re

    transforms = (*THREE_TRANSFORMS, {"name": "exports", "path": "models/exports", "compute": "raw"})
    project.write(three_steps(), transforms)
    for compiled in (project.compile(), with_needs(project.compile(), {"mart": ["raw"]})):
        for output in ("workflow", "workflow-template"):
            spec = _workflow(kubernetes_objects(compiled, output=output))["spec"]
            names = [t["name"] for t in spec["templates"]]
            assert len(names) == len(set(names))
            assert spec["entrypoint"] in names
            graph = _dag(_workflow(kubernetes_objects(compiled, output=output)))
            for name in (*names, *graph):
                assert re.fullmatch(r"[a-zA-Z0-9][-a-zA-Z0-9]*", name)
                assert len(name) <= 63
            assert set(graph) <= set(names)
            assert all(set(upstream) <= set(graph) for upstream in graph.values())
            list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
