"""What each Job runs, where, with which settings; DuckDB sized to its pod."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from floe_hooks import ConfigError
from floe_hooks.kubernetes import PROFILES_DIR, SCRATCH_DIR, kubernetes_objects

from .conftest import TWO_TRANSFORMS, K8sProject, container, jobs, profiles, two_computes


def _pod(job: dict[str, Any]) -> dict[str, Any]:
    return job["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_each_job_runs_its_computes_part_of_the_plan(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    compiled = project.compile()
    objects = kubernetes_objects(compiled)
    commands = [container(j)["command"] for j in jobs(objects)]
    assert commands == [
        ["dbt", "build", "--profile", "analytics", "--target", "lake", "--select", "path:models/staging"],
        ["dbt", "build", "--profile", "analytics", "--target", "warehouse", "--select", "path:models/marts"],
    ]
    assert commands == [step.command("analytics") for step in compiled.run_plan]


def test_several_transforms_on_one_compute_share_its_job(project: K8sProject) -> None:
    project.write(
        two_computes(),
        [
            {"name": "staging", "path": "models/staging", "compute": "lake"},
            {"name": "intermediate", "path": "models/intermediate", "compute": "lake"},
        ],
    )
    (job,) = jobs(kubernetes_objects(project.compile()))
    assert container(job)["command"][-3:] == ["--select", "path:models/staging", "path:models/intermediate"]
    assert job["metadata"]["annotations"]["floe.dev/transforms"] == "staging,intermediate"


def test_defaults_are_sane(project: K8sProject) -> None:
    manifest = two_computes()
    del manifest["kubernetes"]
    project.write(manifest, TWO_TRANSFORMS)
    job = jobs(kubernetes_objects(project.compile(), allow_pod_local=True))[0]
    assert job["metadata"]["namespace"] == "default"
    assert job["spec"]["backoffLimit"] == 0  # a failed dbt run is reported, not retried
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    pod = _pod(job)
    assert pod["restartPolicy"] == "Never"
    assert "serviceAccountName" not in pod
    assert pod["automountServiceAccountToken"] is False
    assert container(job)["image"] == "floe-dbt:latest"
    assert "imagePullPolicy" not in container(job)


def test_manifest_settings_and_their_environment_overlay_apply(project: K8sProject) -> None:
    manifest = two_computes(
        kubernetes={
            "image": "registry.example/dbt:1.11",
            "service_account": "dbt-runner",
            "backoff_limit": 2,
            "ttl_seconds_after_finished": None,
            "image_pull_policy": "Always",
        },
        environments={
            "prod": {"kubernetes": {"namespace": "data-prod", "image": "registry.example/dbt:1.12"}}
        },
    )
    project.write(manifest, TWO_TRANSFORMS)
    for env, namespace, image in ((None, "default", "dbt:1.11"), ("prod", "data-prod", "dbt:1.12")):
        for job in jobs(kubernetes_objects(project.compile(env))):
            assert job["metadata"]["namespace"] == namespace
            assert container(job)["image"] == f"registry.example/{image}"
            assert container(job)["imagePullPolicy"] == "Always"
            assert _pod(job)["serviceAccountName"] == "dbt-runner"
            assert job["spec"]["backoffLimit"] == 2
            assert "ttlSecondsAfterFinished" not in job["spec"]


def test_pods_run_non_root_with_nothing_extra(project: K8sProject) -> None:
    """The restricted Pod Security Standard: non-root, no escalation, no capabilities, seccomp."""
    project.write(two_computes(), TWO_TRANSFORMS)
    for job in jobs(kubernetes_objects(project.compile())):
        pod = _pod(job)
        assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        assert container(job)["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        }


def test_profiles_are_mounted_where_dbt_reads_them(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    compiled = project.compile()
    objects = kubernetes_objects(compiled)
    configmap = objects[0]
    assert configmap["data"] == {"profiles.yml": compiled.profiles_yml}  # byte for byte what compile wrote
    for job in jobs(objects):
        env = {e["name"]: e.get("value") for e in container(job)["env"]}
        assert env["DBT_PROFILES_DIR"] == PROFILES_DIR
        mounts = {m["name"]: m for m in container(job)["volumeMounts"]}
        assert mounts["profiles"] == {"name": "profiles", "mountPath": PROFILES_DIR, "readOnly": True}
        volumes = {v["name"]: v for v in _pod(job)["volumes"]}
        assert volumes["profiles"]["configMap"] == {
            "name": configmap["metadata"]["name"],
            "items": [{"key": "profiles.yml", "path": "profiles.yml"}],
        }
        # dbt's target/ and logs/ and HOME go to a writable emptyDir: the image may be read-only
        assert mounts["scratch"]["mountPath"] == SCRATCH_DIR
        assert volumes["scratch"] == {"name": "scratch", "emptyDir": {}}
        for variable in ("DBT_TARGET_PATH", "DBT_LOG_PATH", "HOME"):
            assert env[variable].startswith(SCRATCH_DIR)


def test_a_bad_image_reference_is_refused(project: K8sProject) -> None:
    project.write(two_computes(kubernetes={"image": "dbt:1\nkind: Secret"}), TWO_TRANSFORMS)
    with pytest.raises(ConfigError) as info:
        kubernetes_objects(project.compile())
    assert str(info.value).startswith("manifest.yaml: kubernetes.image: ")


# ---------------------------------------------------------------------------------------------- DuckDB

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def _duckdb_bytes(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-z]*)\s*", text.lower())
    assert match, text
    return int(float(match[1]) * _UNITS[match[2]])


def _lake(resources: Any, **config: Any) -> dict[str, Any]:
    manifest = two_computes()
    lake = manifest["compute"]["approved"][0]
    lake["resources"] = resources
    lake["config"].update(config)
    return manifest


@pytest.mark.parametrize(
    "resources",
    [
        "small",
        "medium",
        "large",
        {"cpu_request": "250m", "cpu_limit": "1500m", "memory_request": "1G", "memory_limit": "3Gi"},
        {"cpu_request": "1", "cpu_limit": "3", "memory_request": "2G", "memory_limit": "6G"},
    ],
)
def test_duckdb_memory_and_threads_fit_the_pod(project: K8sProject, resources: Any) -> None:
    project.write(_lake(resources), TWO_TRANSFORMS)
    objects = kubernetes_objects(project.compile())
    lake_job = jobs(objects)[0]
    limits = container(lake_job)["resources"]["limits"]
    settings = profiles(objects)["analytics"]["outputs"]["lake"]["settings"]

    from floe_hooks._quantity import cpu_millicores, memory_bytes

    pod_memory = memory_bytes(limits["memory"])
    engine_memory = _duckdb_bytes(settings["memory_limit"])
    # below the pod's limit, with headroom for dbt and Python, yet most of it
    assert 0.5 * pod_memory <= engine_memory <= 0.8 * pod_memory
    cores = cpu_millicores(limits["cpu"]) / 1000
    assert 1 <= settings["threads"] <= max(1, math.ceil(cores))


def test_an_explicit_duckdb_memory_limit_within_the_pod_is_kept(project: K8sProject) -> None:
    project.write(_lake("large", memory_limit="12GB", threads=6), TWO_TRANSFORMS)
    objects = kubernetes_objects(project.compile())
    settings = profiles(objects)["analytics"]["outputs"]["lake"]["settings"]
    assert settings == {"memory_limit": "12GB", "threads": 6}
    assert container(jobs(objects)[0])["resources"]["limits"]["memory"] == "16Gi"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"memory_limit": "64GB"}, "memory_limit"),
        ({"settings": {"memory_limit": "1GiB"}}, "settings.memory_limit"),
    ],
)
def test_a_duckdb_memory_limit_above_the_pods_is_refused(
    project: K8sProject, config: dict[str, Any], field: str
) -> None:
    project.write(_lake("small", **config), TWO_TRANSFORMS)
    compiled = project.compile()  # fine for a laptop run
    with pytest.raises(ConfigError) as info:
        kubernetes_objects(compiled)
    message = str(info.value)
    assert message.startswith(f"manifest.yaml: compute.approved[name=lake].config.{field}: ")
    assert "pod's memory limit 512Mi" in message
    assert "OOM-killed" in message


def test_a_percentage_memory_limit_is_left_to_duckdb(project: K8sProject) -> None:
    project.write(_lake("small", memory_limit="60%"), TWO_TRANSFORMS)
    objects = kubernetes_objects(project.compile())
    assert profiles(objects)["analytics"]["outputs"]["lake"]["settings"]["memory_limit"] == "60%"


def test_the_command_says_how_to_apply_step_by_step(
    project: K8sProject, capsys: pytest.CaptureFixture[str]
) -> None:
    from floe_hooks.cli import main

    project.write(two_computes(), TWO_TRANSFORMS)
    assert main(["k8s", "floe.yaml", "--out", "k8s", "--format", "jobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "wrote k8s/kubernetes.yaml"
    assert lines[1] == "needs Kubernetes Secrets (name/key) in namespace data: wh-creds/password"
    assert lines[2] == "needs the PersistentVolumeClaim lake-data in namespace data"
    assert lines[4:] == [
        "  kubectl apply -f k8s/kubernetes.yaml -l app.kubernetes.io/component=dbt-profiles",
        "  kubectl apply -f k8s/kubernetes.yaml -l floe.dev/step=1 && "
        "kubectl wait -n data --for=condition=complete --timeout=6h job/analytics-lake",
        "  kubectl apply -f k8s/kubernetes.yaml -l floe.dev/step=2 && "
        "kubectl wait -n data --for=condition=complete --timeout=6h job/analytics-warehouse",
    ]

    project.write(two_computes(), [TWO_TRANSFORMS[0]])
    assert main(["k8s", "floe.yaml", "--out", "k8s"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "wrote k8s/kubernetes.yaml",
        "needs the PersistentVolumeClaim lake-data in namespace data",
        "apply: kubectl apply -f k8s/kubernetes.yaml",
    ]


def test_a_profiles_yml_too_big_for_a_configmap_is_refused(project: K8sProject) -> None:
    manifest = two_computes()
    manifest["compute"]["approved"][0]["config"]["settings"] = {"custom_user_agent": "x" * (1024 * 1024)}
    project.write(manifest, TWO_TRANSFORMS)
    with pytest.raises(ConfigError) as info:
        kubernetes_objects(project.compile())
    assert str(info.value).startswith("manifest.yaml: profiles.yml is ")
    assert "a Kubernetes ConfigMap holds at most 1048576" in str(info.value)


def test_an_unwritable_output_directory_is_a_config_error(project: K8sProject) -> None:
    from floe_hooks.kubernetes import write_kubernetes

    project.write(two_computes(), TWO_TRANSFORMS)
    (project.root / "taken").write_text("a file, not a directory")
    with pytest.raises(ConfigError) as info:
        write_kubernetes(project.compile(), "taken")
    assert str(info.value).startswith("taken: cannot write Kubernetes manifests: ")
