"""Every emitted object is valid for the Kubernetes API server: strict schemas of 1.30 and 1.37."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from floe_hooks.kubernetes import kubernetes_objects

from .conftest import K8S_VERSIONS, TWO_TRANSFORMS, K8sProject, container, jobs, two_computes, validate

SCENARIOS: dict[str, tuple[dict[str, Any], tuple[dict[str, Any], ...], str | None]] = {
    "two computes, defaults": (two_computes(), TWO_TRANSFORMS, None),
    "every kubernetes setting, prod overlay": (
        two_computes(
            kubernetes={
                "image": "registry.example/dbt@sha256:" + "a" * 64,
                "namespace": "data",
                "service_account": "dbt-runner",
                "backoff_limit": 3,
                "ttl_seconds_after_finished": None,
                "image_pull_policy": "IfNotPresent",
                "labels": {"team": "analytics", "example.com/cost-center": "cc-42"},
            },
            environments={
                "prod": {
                    "kubernetes": {"namespace": "data-prod"},
                    "compute": {"lake": {"resources": "large"}},
                }
            },
        ),
        TWO_TRANSFORMS,
        "prod",
    ),
    "a plan that comes back to a compute": (
        two_computes(),
        (*TWO_TRANSFORMS, {"name": "exports", "path": "models/exports", "compute": "lake"}),
        None,
    ),
    "custom resources without ephemeral storage": (
        {
            "version": 1,
            "compute": {
                "approved": [
                    {
                        "name": "solo",
                        "type": "duckdb",
                        "resources": {
                            "cpu_request": "250m",
                            "cpu_limit": "1.5",
                            "memory_request": "1G",
                            "memory_limit": "3Gi",
                        },
                    }
                ]
            },
        },
        ({"name": "all", "path": "models"},),
        None,
    ),
}


@pytest.fixture(params=sorted(SCENARIOS))
def objects(request: pytest.FixtureRequest, project: K8sProject) -> list[dict[str, Any]]:
    manifest, transforms, env = SCENARIOS[request.param]
    project.write(manifest, transforms)
    return kubernetes_objects(project.compile(env))


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_object_validates_strictly(objects: list[dict[str, Any]], version: str) -> None:
    assert next(o["kind"] for o in objects) == "ConfigMap"
    assert len(jobs(objects)) >= 1
    for obj in objects:
        validate(obj, version)


def test_the_validator_is_not_vacuous(project: K8sProject) -> None:
    """What the strict schemas refuse: an unknown field, a wrong type, a container without a name."""
    project.write(two_computes(), TWO_TRANSFORMS)
    job = next(o for o in kubernetes_objects(project.compile()) if o["kind"] == "Job")
    broken = []
    unknown = copy.deepcopy(job)
    container(unknown)["memoryLimit"] = "1Gi"  # type: ignore[index]
    broken.append(unknown)
    wrong_type = copy.deepcopy(job)
    wrong_type["spec"]["backoffLimit"] = "zero"
    broken.append(wrong_type)
    no_name = copy.deepcopy(job)
    del container(no_name)["name"]  # type: ignore[attr-defined]
    broken.append(no_name)
    for obj in broken:
        for version in K8S_VERSIONS:
            with pytest.raises(kubernetes_validate.ValidationError):
                validate(obj, version)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_each_version_is_checked_against_its_own_schemas(project: K8sProject, version: str) -> None:
    """kubernetes-validate falls back to an older schema set when it lacks one: it must not here."""
    project.write(two_computes(), TWO_TRANSFORMS)
    for obj in kubernetes_objects(project.compile()):
        assert kubernetes_validate.validate(obj, version, strict=True) == version
