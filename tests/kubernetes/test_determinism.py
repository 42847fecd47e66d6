"""Same input, same bytes: sorted keys, a fixed order, no timestamps; hostile strings stay strings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from floe_hooks.cli import main
from floe_hooks.compile import dbt_literal
from floe_hooks.kubernetes import dump_objects, kubernetes_objects, render_kubernetes, write_kubernetes

from .conftest import (
    K8S_VERSIONS,
    TWO_TRANSFORMS,
    K8sProject,
    container,
    jobs,
    profiles,
    two_computes,
    validate,
)

HOSTILE = "it's \"quoted\": {{ env_var('X') }} #not-a-comment\n- item: [1, 2]\n  & *alias !!python/object"


def _mappings(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value, *(m for v in value.values() for m in _mappings(v))]
    if isinstance(value, list):
        return [m for v in value for m in _mappings(v)]
    return []


def test_rendering_twice_gives_the_same_bytes(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    assert render_kubernetes(project.compile()) == render_kubernetes(project.compile())


def test_separate_processes_with_different_hash_seeds_agree(project: K8sProject) -> None:
    """Set and dict ordering cannot leak in: two interpreters, two hash seeds, one output."""
    manifest = two_computes(kubernetes={"image": "img:1", "labels": {"b": "2", "a": "1", "c": "3"}})
    manifest["compute"]["approved"][1] = {"name": "warehouse", "type": "duckdb", "resources": "large"}
    project.write(manifest, TWO_TRANSFORMS)
    outputs = []
    for seed in ("1", "4242"):
        result = subprocess.run(
            [sys.executable, "-m", "floe_hooks.cli", "k8s", "floe.yaml", "--out", "-"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0] == render_kubernetes(project.compile(), output="workflow")


def test_writing_twice_gives_the_same_file(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    first = write_kubernetes(project.compile(), "out").read_bytes()
    second = write_kubernetes(project.compile(), "out").read_bytes()
    assert first == second
    assert first.decode() == render_kubernetes(project.compile())


def test_keys_are_sorted_and_nothing_is_time_dependent(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    text = render_kubernetes(project.compile())
    for document in yaml.safe_load_all(text):
        for mapping in _mappings(document):
            assert list(mapping) == sorted(mapping)
    assert "creationTimestamp" not in text
    assert "generateName" not in text


def test_objects_come_in_a_fixed_order(project: K8sProject) -> None:
    project.write(
        two_computes(),
        [{"name": "marts", "path": "models/marts"}, {"name": "raw", "path": "raw", "compute": "lake"}],
    )
    objects = kubernetes_objects(project.compile())
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("ConfigMap", "analytics-dbt-profiles"),
        ("Job", "analytics-warehouse"),  # run-plan order, not manifest order
        ("Job", "analytics-lake"),
    ]


def test_the_output_parses_back_to_the_objects(project: K8sProject) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    compiled = project.compile()
    assert list(yaml.safe_load_all(render_kubernetes(compiled))) == kubernetes_objects(compiled)


HOSTILE_VALUES = [
    HOSTILE,
    "yes",
    "null",
    "0755",
    "1e3",
    "~",
    "- a",
    "key: value",
    "{{ x }}",
    " padded ",
    "tab\there",
    "trailing \nspace",
    "\nleading newline",
    "end\n",
    "two\n\n",
    "ünï€ødé\nmulti-line",
    "emoji \U0001f600",
    "nel\x85inside",
    "line\u2028separator",
    "nul\x00byte",
    "\ufeffbom",
    "cr\r\nlf",
    "x" * 5000,
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_a_hostile_string_stays_a_string_value(value: str) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": value}}
    for emitter in ("c", "python"):
        text = dump_objects([obj], emitter=emitter)
        assert text.isascii()
        assert list(yaml.safe_load_all(text)) == [obj]


def test_libyaml_and_the_python_emitter_write_the_same_bytes(project: K8sProject) -> None:
    """Whether PyYAML has libyaml or not must not change the output."""
    manifest = two_computes(kubernetes={"image": "img:1", "labels": {"team": "x"}})
    manifest["compute"]["approved"][0]["config"]["path"] = "/data/ünï€ødé lake.duckdb"
    project.write(manifest, TWO_TRANSFORMS)
    objects = kubernetes_objects(project.compile())
    hostile = [{"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": v}} for v in HOSTILE_VALUES]
    for batch in (objects, hostile):
        assert dump_objects(batch, emitter="c") == dump_objects(batch, emitter="python")


def test_hostile_paths_survive_the_whole_pipeline(project: K8sProject) -> None:
    """A transform path and a DuckDB path full of YAML and shell syntax come back unchanged, as strings.

    A transform path may not hold a control character (a newline is refused when the
    product loads), so it carries every other kind of trouble: quotes, YAML and Jinja
    syntax, command substitution, ``;``, spaces and non-ASCII text.
    """
    transform_path = 'models/it\'s "x": {{ y }} - z; $(touch pwned) `id` #c & *a é 中文 🦆'
    duckdb_path = "data/\"lake\": {{ env_var('P') }} #x\n.duckdb"
    manifest = two_computes()
    manifest["compute"]["approved"][0]["config"]["path"] = duckdb_path
    project.write(manifest, [{"name": "odd", "path": transform_path, "compute": "lake"}])
    compiled = project.compile()
    text = render_kubernetes(compiled)
    objects = list(yaml.safe_load_all(text))
    assert objects == kubernetes_objects(compiled)
    (job,) = jobs(objects)
    assert container(job)["command"][-1] == f"path:{transform_path}"
    # profiles.yml spells the literal so that dbt's Jinja renders it back (tests/compile/test_dbt_literals.py)
    assert compiled.compute("lake").profile["path"] == duckdb_path
    assert profiles(objects)["analytics"]["outputs"]["lake"]["path"] == dbt_literal(duckdb_path)
    for obj in objects:
        for version in K8S_VERSIONS:
            validate(obj, version)


def test_the_command_writes_the_same_bytes_it_prints(
    project: K8sProject, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(two_computes(), TWO_TRANSFORMS)
    assert main(["k8s", "floe.yaml", "--out", "-"]) == 0
    printed = capsys.readouterr().out
    assert main(["k8s", "floe.yaml"]) == 0
    out = capsys.readouterr().out
    path = Path("target/floe/k8s/kubernetes.yaml")
    assert path.read_text() == printed
    assert f"wrote {path}" in out
    assert f"-f {path}" in out
    assert "argo submit" in out  # several steps: an Argo Workflow
    assert "wh-creds/password" in out


def test_the_output_does_not_depend_on_where_floe_runs(
    project: K8sProject, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project.root / "product").mkdir()
    K8sProject(project.root / "product", project.pm).write(two_computes(), TWO_TRANSFORMS)
    monkeypatch.chdir(project.root / "product")
    assert main(["k8s", "floe.yaml", "--out", "-"]) == 0
    here = capsys.readouterr().out
    monkeypatch.chdir(project.root)
    assert main(["k8s", "product/floe.yaml", "--out", "-"]) == 0
    assert capsys.readouterr().out == here
    assert "floe.dev/manifest: manifest.yaml" in here


def test_the_header_stays_ascii_and_comment_only() -> None:
    text = dump_objects([{"kind": "x"}], header="from flö.yaml\nsecond\x85line\r\nthird")
    assert text.isascii()
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) == 3
    assert list(yaml.safe_load_all(text)) == [{"kind": "x"}]
