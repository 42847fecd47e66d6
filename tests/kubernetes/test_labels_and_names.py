"""Labels and annotations find a product's jobs; names are valid DNS-1123 labels, deterministic, distinct."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floe_hooks import ConfigError, __version__
from floe_hooks.kubernetes import dns_label, kubernetes_objects, label_value

from .conftest import K8S_VERSIONS, TWO_TRANSFORMS, K8sProject, jobs, two_computes, validate

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


def _select(objects: list[dict[str, Any]], selector: Mapping[str, str]) -> list[str]:
    """What `kubectl get all -l k=v,...` would list: the names of the matching objects."""
    return [
        o["metadata"]["name"]
        for o in objects
        if all(o["metadata"]["labels"].get(k) == v for k, v in selector.items())
    ]


@pytest.fixture
def prod(project: K8sProject) -> list[dict[str, Any]]:
    manifest = two_computes(
        environments={"prod": {"kubernetes": {"namespace": "data-prod"}}},
        kubernetes={"image": "img:1", "labels": {"team": "analytics", "example.com/tier": "gold"}},
    )
    project.write(manifest, TWO_TRANSFORMS)
    return kubernetes_objects(project.compile("prod"))


def test_every_object_carries_the_product_labels(prod: list[dict[str, Any]]) -> None:
    for obj in prod:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "dbt"
        assert labels["app.kubernetes.io/part-of"] == "analytics"
        assert labels["app.kubernetes.io/managed-by"] == "floe"
        assert labels["app.kubernetes.io/instance"] == obj["metadata"]["name"]
        assert labels["floe.dev/product"] == "analytics"
        assert labels["floe.dev/environment"] == "prod"
        assert labels["floe.dev/version"] == __version__
        assert labels["team"] == "analytics"
        assert labels["example.com/tier"] == "gold"
        assert obj["metadata"]["namespace"] == "data-prod"
        assert obj["metadata"]["annotations"]["floe.dev/product"] == "analytics"
        assert obj["metadata"]["annotations"]["floe.dev/environment"] == "prod"


def test_jobs_and_their_pods_carry_compute_and_step(prod: list[dict[str, Any]]) -> None:
    for step, job in enumerate(jobs(prod), 1):
        labels = job["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "dbt-run"
        assert labels["floe.dev/step"] == str(step)
        assert labels["floe.dev/compute"] == job["metadata"]["annotations"]["floe.dev/compute"]
        assert job["spec"]["template"]["metadata"]["labels"] == labels  # `kubectl get pods -l` finds them


def test_label_selectors_find_a_products_jobs(prod: list[dict[str, Any]]) -> None:
    assert _select(prod, {"floe.dev/product": "analytics", "app.kubernetes.io/component": "dbt-run"}) == [
        "analytics-prod-lake",
        "analytics-prod-warehouse",
    ]
    assert _select(prod, {"floe.dev/product": "analytics", "floe.dev/compute": "lake"}) == [
        "analytics-prod-lake"
    ]
    assert _select(prod, {"floe.dev/step": "2"}) == ["analytics-prod-warehouse"]
    assert _select(prod, {"app.kubernetes.io/component": "dbt-profiles"}) == ["analytics-prod-dbt-profiles"]


def test_annotations_say_what_runs_and_in_which_order(prod: list[dict[str, Any]]) -> None:
    first, second = jobs(prod)
    assert first["metadata"]["annotations"]["floe.dev/transforms"] == "staging"
    assert second["metadata"]["annotations"]["floe.dev/transforms"] == "marts"
    assert "floe.dev/after" not in first["metadata"]["annotations"]
    assert second["metadata"]["annotations"]["floe.dev/after"] == "analytics-prod-lake"
    assert second["metadata"]["annotations"]["floe.dev/dbt-adapter"] == "dbt-postgres>=1.9"
    digests = {o["metadata"]["annotations"]["floe.dev/profiles-sha256"] for o in prod}
    assert len(digests) == 1


def test_without_an_environment_there_is_no_environment_label(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    for obj in kubernetes_objects(project.compile()):
        assert "floe.dev/environment" not in obj["metadata"]["labels"]
        assert "floe.dev/environment" not in obj["metadata"]["annotations"]


@pytest.mark.parametrize(
    ("labels", "path", "message"),
    [
        ({"bad key!": "x"}, "kubernetes.labels.bad key!", "not a Kubernetes label key"),
        ({"team": "has spaces"}, "kubernetes.labels.team", "not a Kubernetes label value"),
        ({"team": "x" * 64}, "kubernetes.labels.team", "not a Kubernetes label value"),
        ({"floe.dev/product": "other"}, "kubernetes.labels.floe.dev/product", "is set by floe"),
        (
            {"app.kubernetes.io/managed-by": "helm"},
            "kubernetes.labels.app.kubernetes.io/managed-by",
            "set by floe",
        ),
    ],
)
def test_extra_labels_are_checked(
    project: K8sProject, labels: Mapping[str, str], path: str, message: str
) -> None:
    project.write(two_computes(kubernetes={"labels": dict(labels)}), TWO_TRANSFORMS)
    with pytest.raises(ConfigError) as info:
        kubernetes_objects(project.compile())
    assert str(info.value).startswith(f"manifest.yaml: {path}: ")
    assert message in str(info.value)


def test_names_that_need_more_than_underscores_get_a_hash(project: K8sProject) -> None:
    long_name = "Sales_Analytics_" + "X" * 100
    manifest = two_computes(environments={"EU.Prod_1": {}})
    manifest["compute"]["approved"][0]["name"] = "lake_" + "z" * 55
    transforms = [
        {**TWO_TRANSFORMS[0], "compute": manifest["compute"]["approved"][0]["name"]},
        TWO_TRANSFORMS[1],
    ]
    project.write(manifest, transforms, name=long_name)
    objects = kubernetes_objects(project.compile("EU.Prod_1"))
    names = [o["metadata"]["name"] for o in objects]
    assert len(set(names)) == len(names)
    for obj in objects:
        name = obj["metadata"]["name"]
        assert len(name) <= 63
        assert DNS_LABEL.fullmatch(name)
        assert re.search(r"-[0-9a-f]{8}$", name)
        for value in obj["metadata"]["labels"].values():
            assert len(value) <= 63
            assert LABEL_VALUE.fullmatch(value)
        assert (
            obj["metadata"]["annotations"]["floe.dev/product"] == long_name
        )  # the exact values stay findable
        assert obj["metadata"]["annotations"]["floe.dev/environment"] == "EU.Prod_1"
        for version in K8S_VERSIONS:
            validate(obj, version)
    # the profiles volume points at the ConfigMap, whatever its name became
    for job in jobs(objects):
        assert job["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == names[0]
    # and the same input gives the same names
    assert [o["metadata"]["name"] for o in kubernetes_objects(project.compile("EU.Prod_1"))] == names


def test_one_job_per_compute_and_names_never_collide(project: K8sProject) -> None:
    manifest = two_computes()
    manifest["compute"]["approved"].append({"name": "lake_step1", "type": "duckdb"})
    transforms = [
        *TWO_TRANSFORMS,
        {"name": "exports", "path": "models/exports", "compute": "lake"},
        {"name": "tricky", "path": "models/tricky", "compute": "lake_step1"},
    ]
    project.write(manifest, transforms)
    objects = jobs(kubernetes_objects(project.compile()))
    names = [j["metadata"]["name"] for j in objects]
    # the plan has one step per compute: lake's two transforms share its job
    assert names == ["analytics-lake", "analytics-warehouse", "analytics-lake-step1"]
    assert [j["spec"]["template"]["spec"]["containers"][0]["command"][-2:] for j in objects] == [
        ["path:models/staging", "path:models/exports"],
        ["--select", "path:models/marts"],
        ["--select", "path:models/tricky"],
    ]
    assert [j["metadata"]["annotations"].get("floe.dev/after") for j in objects] == [None, *names[:2]]


def test_computes_the_plan_does_not_use_get_no_job(project: K8sProject) -> None:
    project.write(two_computes(), [TWO_TRANSFORMS[1]])
    assert [j["metadata"]["name"] for j in jobs(kubernetes_objects(project.compile()))] == [
        "analytics-warehouse"
    ]


@given(st.lists(st.text(max_size=80), min_size=1, max_size=4))
def test_dns_label_is_always_valid_and_deterministic(parts: list[str]) -> None:
    name = dns_label(*parts)
    assert len(name) <= 63
    assert DNS_LABEL.fullmatch(name)
    assert dns_label(*parts) == name


@given(st.text(max_size=80), st.text(max_size=80))
def test_dns_label_keeps_different_inputs_apart(a: str, b: str) -> None:
    if a.replace("_", "-") != b.replace("_", "-"):
        assert dns_label(a) != dns_label(b)


@given(st.text(max_size=100))
def test_label_value_is_always_valid(text: str) -> None:
    value = label_value(text)
    assert len(value) <= 63
    assert LABEL_VALUE.fullmatch(value)
    if len(text) <= 63 and LABEL_VALUE.fullmatch(text):
        assert value == text


def test_the_profiles_digest_matches_the_compiled_artifact(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    compiled = project.compile()
    for obj in kubernetes_objects(compiled):
        assert (
            obj["metadata"]["annotations"]["floe.dev/profiles-sha256"]
            == compiled.artifacts["profile"]["sha256"]
        )


def test_the_docstring_examples_hold() -> None:
    import doctest

    import floe_hooks._k8s_base

    # dns_label and label_value, public in floe_hooks.kubernetes, are defined in _k8s_base
    result = doctest.testmod(floe_hooks._k8s_base)
    assert result.attempted >= 3
    assert result.failed == 0
