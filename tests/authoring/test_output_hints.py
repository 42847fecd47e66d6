"""Small facts in floe's outputs: the artifact names plugin-default resources; ``--out -`` keeps the hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from floe_hooks.cli import main

MANIFEST = {
    "version": 1,
    "compute": {
        "default": "marts",
        "approved": [
            {"name": "staging", "type": "duckdb", "config": {"path": "s.duckdb"}, "resources": "medium"},
            {"name": "marts", "type": "duckdb", "config": {"path": "marts.duckdb"}},
            {
                "name": "custom",
                "type": "duckdb",
                "config": {"path": "c.duckdb"},
                "resources": {
                    "cpu_request": "250m",
                    "cpu_limit": "500m",
                    "memory_request": "256Mi",
                    "memory_limit": "512Mi",
                },
            },
        ],
    },
}
PRODUCT = {
    "name": "analytics",
    "platform": "manifest.yaml",
    "transforms": [
        {"name": "staging", "path": "models/staging", "compute": "staging"},
        {"name": "marts", "path": "models/marts"},
    ],
}


@pytest.fixture
def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump(MANIFEST))
    (tmp_path / "floe.yaml").write_text(yaml.safe_dump(PRODUCT))
    (tmp_path / "dbt_project.yml").write_text("name: analytics\nprofile: analytics\n")
    for folder in ("staging", "marts"):
        (tmp_path / "models" / folder).mkdir(parents=True)
        (tmp_path / "models" / folder / f"{folder}.sql").write_text("select 1 as id\n")
    return Path("floe.yaml")


def test_the_artifact_says_which_resources_the_plugin_chose(product: Path) -> None:
    assert main(["compile", str(product)]) == 0
    artifact = json.loads(Path("target/floe/compiled_artifacts.json").read_text())
    presets = {name: c["resources"]["preset"] for name, c in artifact["computes"].items()}
    assert presets == {"staging": "medium", "marts": "plugin-default", "custom": "custom"}


def test_printing_the_cluster_plan_still_says_to_apply_it_in_order(
    product: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["k8s", str(product), "--out", "-", "--format", "jobs", "--allow-pod-local"]) == 0
    captured = capsys.readouterr()
    assert "kind: Job" in captured.out
    assert captured.err.splitlines()[-1] == (
        "floe: 2 Jobs: apply them in order (label floe.dev/step=1, 2, ...), waiting for each to complete, "
        "or use --format argo; --out DIR prints the commands"
    )
    assert main(["k8s", str(product), "--out", "-", "--allow-pod-local"]) == 0  # a Workflow orders itself
    captured = capsys.readouterr()
    assert "kind: Workflow" in captured.out
    assert "apply them in order" not in captured.err
