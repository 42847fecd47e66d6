"""Our quantity validation rejects what the Kubernetes schemas let through."""

from __future__ import annotations

import copy

import pytest

from floe_hooks import ConfigError, ResourceSpec
from floe_hooks.kubernetes import kubernetes_objects

from .conftest import K8S_VERSIONS, TWO_TRANSFORMS, K8sProject, container, jobs, two_computes, validate

# Strings the schema's int-or-string type accepts but the API server would refuse.
NOT_QUANTITIES = ["lots", "1.5.5Gi", "12 Mi", "-1Gi", "1e", "0x10", "1GB", "Gi", ""]


@pytest.mark.parametrize("bad", NOT_QUANTITIES)
def test_the_schema_lets_a_bad_quantity_through(project: K8sProject, bad: str) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    job = copy.deepcopy(jobs(kubernetes_objects(project.compile()))[0])
    container(job)["resources"]["limits"]["memory"] = bad  # type: ignore[index]
    for version in K8S_VERSIONS:
        validate(job, version)  # no error: the schema cannot tell


@pytest.mark.parametrize("bad", NOT_QUANTITIES)
def test_resource_spec_refuses_it(bad: str) -> None:
    with pytest.raises(ConfigError, match="memory_limit") as info:
        ResourceSpec("100m", "500m", "256Mi", bad)
    assert "Kubernetes quantity" in str(info.value)


def test_a_manifest_with_memory_lots_fails_before_anything_is_rendered(project: K8sProject) -> None:
    manifest = two_computes()
    manifest["compute"]["approved"][0]["resources"] = {
        "cpu_request": "100m",
        "cpu_limit": "1",
        "memory_request": "256Mi",
        "memory_limit": "lots",
    }
    project.write(manifest, TWO_TRANSFORMS)
    with pytest.raises(ConfigError) as info:
        project.compile()
    assert str(info.value).startswith("manifest.yaml: compute.approved[0].resources.memory_limit: 'lots'")


def test_a_request_above_its_limit_is_refused_too() -> None:
    """The schema has no notion of request <= limit; the API server refuses the pod."""
    with pytest.raises(ConfigError, match="greater than"):
        ResourceSpec("2", "1", "256Mi", "512Mi")


def test_rendered_quantities_are_exactly_the_plugins(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    compiled = project.compile()
    for job in jobs(kubernetes_objects(compiled)):
        compute = compiled.compute(job["metadata"]["annotations"]["floe.dev/compute"])
        assert container(job)["resources"] == compute.resources.to_kubernetes()
        assert set(container(job)["resources"]["limits"]) == {"cpu", "memory", "ephemeral-storage"}
