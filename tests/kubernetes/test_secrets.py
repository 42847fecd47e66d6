"""Secrets reach the pods as secretKeyRef env entries; an env-only reference is an error; no value leaks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from floe_hooks import ConfigError
from floe_hooks.cli import main
from floe_hooks.kubernetes import kubernetes_objects, render_kubernetes

from .conftest import TWO_TRANSFORMS, K8sProject, container, jobs, profiles, two_computes

SENTINEL = "s3cr3t-Value-That-Must-Not-Leak"


def _job_of(objects: list[dict], compute: str) -> dict:  # type: ignore[type-arg]
    return next(j for j in jobs(objects) if j["metadata"]["labels"]["floe.dev/compute"] == compute)


def _lake_with_s3_secret(ref: dict[str, str]) -> dict:  # type: ignore[type-arg]
    manifest = two_computes()
    manifest["compute"]["approved"][0]["config"]["secrets"] = [
        {"type": "s3", "options": {"region": "eu-west-1"}, "credentials": {"key_id": ref, "secret": ref}}
    ]
    return manifest


def test_a_credential_becomes_a_secret_key_ref(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    objects = kubernetes_objects(project.compile())
    env = container(_job_of(objects, "warehouse"))["env"]
    secret_env = [e for e in env if "valueFrom" in e]
    assert secret_env == [
        {
            "name": "DBT_ENV_SECRET_WAREHOUSE_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "wh-creds", "key": "password"}},
        }
    ]
    # the variable the Job sets is the one profiles.yml reads
    output = profiles(objects)["analytics"]["outputs"]["warehouse"]
    assert output["password"] == "{{ env_var('DBT_ENV_SECRET_WAREHOUSE_PASSWORD') }}"


def test_references_inside_the_plugin_config_are_bound_too(project: K8sProject) -> None:
    project.write(_lake_with_s3_secret({"secret": "lake-s3", "key": "aws"}), TWO_TRANSFORMS)
    objects = kubernetes_objects(project.compile())
    env = {e["name"]: e for e in container(_job_of(objects, "lake"))["env"]}
    for field in ("KEY_ID", "SECRET"):
        variable = f"DBT_ENV_SECRET_LAKE_SECRETS_0_CREDENTIALS_{field}"
        assert env[variable] == {
            "name": variable,
            "valueFrom": {"secretKeyRef": {"name": "lake-s3", "key": "aws"}},
        }
        assert f"env_var('{variable}')" in str(profiles(objects)["analytics"]["outputs"]["lake"])
    # each Job gets only its own compute's secrets
    assert not any("WAREHOUSE" in name for name in env)


def test_every_template_in_a_jobs_profile_output_has_an_env_entry(project: K8sProject) -> None:
    project.write(_lake_with_s3_secret({"secret": "lake-s3", "key": "aws"}), TWO_TRANSFORMS)
    objects = kubernetes_objects(project.compile())
    outputs = profiles(objects)["analytics"]["outputs"]
    for job in jobs(objects):
        compute = job["metadata"]["annotations"]["floe.dev/compute"]
        wanted = set(re.findall(r"env_var\('([A-Z0-9_]+)'\)", str(outputs[compute])))
        given = {e["name"] for e in container(job)["env"]}
        assert wanted
        assert wanted <= given


def test_an_env_only_credential_is_an_error_naming_compute_and_field(project: K8sProject) -> None:
    manifest = two_computes()
    manifest["compute"]["approved"][1]["credentials"] = {"password": {"env": "WH_PASSWORD"}}
    project.write(manifest, TWO_TRANSFORMS)
    compiled = project.compile()  # fine locally: floe compile works
    with pytest.raises(ConfigError) as info:
        kubernetes_objects(compiled)
    message = str(info.value)
    assert message.startswith("manifest.yaml: compute.approved[name=warehouse].credentials.password: ")
    assert "compute 'warehouse'" in message
    assert "{env: WH_PASSWORD}" in message
    assert "add 'secret: NAME' and 'key: KEY'" in message


def test_an_env_only_reference_in_the_config_names_its_config_path(project: K8sProject) -> None:
    project.write(_lake_with_s3_secret({"env": "AWS_KEY"}), TWO_TRANSFORMS)
    with pytest.raises(ConfigError) as info:
        kubernetes_objects(project.compile())
    assert str(info.value).startswith(
        "manifest.yaml: compute.approved[name=lake].config.secrets[0].credentials.key_id: compute 'lake': "
    )


def test_an_env_only_reference_of_a_compute_without_transforms_is_no_obstacle(project: K8sProject) -> None:
    manifest = two_computes()
    manifest["compute"]["approved"][1]["credentials"] = {"password": {"env": "WH_PASSWORD"}}
    project.write(manifest, [TWO_TRANSFORMS[0]])  # only lake runs
    objects = kubernetes_objects(project.compile())
    assert [j["metadata"]["labels"]["floe.dev/compute"] for j in jobs(objects)] == ["lake"]


def test_no_secret_value_anywhere_in_the_output(project: K8sProject, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("WH_PASSWORD", "AWS_KEY", "DBT_ENV_SECRET_WAREHOUSE_PASSWORD"):
        monkeypatch.setenv(variable, SENTINEL)
    manifest = _lake_with_s3_secret({"env": "AWS_KEY", "secret": "lake-s3", "key": "aws"})
    project.write(manifest, TWO_TRANSFORMS)
    text = render_kubernetes(project.compile())
    assert SENTINEL not in text
    # and no env entry carries a literal value for a secret variable
    for job in jobs(kubernetes_objects(project.compile())):
        for entry in container(job)["env"]:
            if entry["name"].startswith("DBT_ENV_SECRET_"):
                assert set(entry) == {"name", "valueFrom"}


def test_the_command_refuses_env_only_references_and_writes_nothing(
    project: K8sProject, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    assert main(["k8s", "floe.yaml"]) == 0
    written = Path("target/floe/k8s/kubernetes.yaml")
    before = written.read_bytes()
    capsys.readouterr()

    manifest = two_computes()
    manifest["compute"]["approved"][1]["credentials"] = {"password": {"env": "WH_PASSWORD"}}
    manifest["kubernetes"]["namespace"] = "elsewhere"
    project.write(manifest, TWO_TRANSFORMS)
    assert main(["k8s", "floe.yaml"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(
        "floe: error: manifest.yaml: compute.approved[name=warehouse].credentials.password: "
    )
    assert written.read_bytes() == before
    assert sorted(p.name for p in written.parent.iterdir()) == ["kubernetes.yaml"]  # no temporary left
