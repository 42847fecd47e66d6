"""run_product, the Python API, with the real dbt: node callbacks, spans, log events and secrets.

Two computes: ``lake`` (DuckDB, a seed and a model) and ``vault``, a fixture plugin whose
dbt-duckdb profile reads a secret (as ``external_root``, a setting dbt-duckdb accepts and
this project never uses). The vault step must get its secret, and only it.
"""

from __future__ import annotations

import json
import os
import types
from pathlib import Path
from typing import Any

import pytest

from floe_hooks import (
    ComputeConfig,
    ConnectionResult,
    NodeEvent,
    PluginManager,
    ResourceSpec,
    StepResult,
    profile_secret,
    run_product,
)
from floe_hooks.testing import make_plugin

from .conftest import write_tree

pytestmark = pytest.mark.run
SECRET = "vault-token-8c1f-not-for-logs"


def _vault() -> types.ModuleType:
    def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
        return {"type": "duckdb", "path": "vault.duckdb", "external_root": profile_secret(compute, "token")}

    return make_plugin(
        "vault",
        version="1",
        generate_profile=generate_profile,
        validate_connection=ConnectionResult(status="healthy", latency_ms=0.1),
        resource_requirements=ResourceSpec.preset("small"),
        exclusive_resources=["file:vault.duckdb"],
    )


FILES = {
    "manifest.yaml": """
        version: 1
        compute:
          default: lake
          approved:
            - {name: lake, type: duckdb, config: {path: lake.duckdb}}
            - {name: vault, type: vault, credentials: {token: {env: VAULT_TOKEN}}}
    """,
    "floe.yaml": """
        name: hr
        platform: manifest.yaml
        transforms:
          - {name: all, path: models}
          - {name: seeds, path: seeds}
          - {name: guarded, path: models/guarded, compute: vault}
    """,
    "dbt_project.yml": "name: hr\nprofile: hr\nconfig-version: 2\nmodels: {hr: {+materialized: table}}\n",
    "seeds/people.csv": "id,name\n1,ann\n2,bob\n",
    "models/adults.sql": "select * from {{ ref('people') }}\n",
    "models/guarded/vaulted.sql": "select 42 as answer\n",
}


@pytest.fixture
def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tree(tmp_path, FILES)
    monkeypatch.setenv("VAULT_TOKEN", SECRET)
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("FLOE_LOG_FORMAT", "json")
    monkeypatch.setenv("FLOE_LOG_LEVEL", "info")
    return tmp_path / "floe.yaml"


def test_run_product_reports_nodes_steps_spans_and_events(
    product: Path, otel: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    pm = PluginManager(strict=False)
    pm.register(_vault(), name="vault")
    nodes: list[NodeEvent] = []
    steps: list[StepResult] = []
    result = run_product(product, manager=pm, on_node=nodes.append, on_step=steps.append)

    assert (result.status, result.exit_code, result.graph_source) == ("success", 0, "dbt")
    by = {s.compute: s for s in result.steps}
    assert (by["lake"].succeeded, by["vault"].succeeded) == (2, 1)
    assert by["vault"].mode == "subprocess"  # it has a secret: never in this process
    assert {(e.compute, e.name, e.status) for e in nodes if e.finished} == {
        ("lake", "people", "success"),
        ("lake", "adults", "success"),
        ("vault", "vaulted", "success"),
    }
    assert [s.status for s in steps if s.compute == "vault"] == ["running", "success"]

    # the secret went to the vault step's dbt process only: not here, not into any file floe wrote
    assert not any(k.startswith("DBT_ENV_SECRET_") for k in os.environ)
    out = product.parent / "target" / "floe"
    for name in ("profiles.yml", "compiled_artifacts.json", "run_results.json"):
        assert SECRET not in (out / name).read_text()

    spans = otel.spans()
    run = [s for s in spans if s.name == "floe.run"]
    step_spans = [s for s in spans if s.name == "floe.run.step"]
    node_spans = [s for s in spans if s.name == "floe.run.node"]
    assert len(run) == 1
    assert {s.attributes["floe.compute.name"] for s in step_spans} == {"lake", "vault"}
    assert all(s.parent.span_id == run[0].context.span_id for s in step_spans)
    assert {s.attributes["dbt.node.unique_id"] for s in node_spans} == {
        "seed.hr.people",
        "model.hr.adults",
        "model.hr.vaulted",
    }
    assert {s.attributes["floe.correlation_id"] for s in [*run, *step_spans, *node_spans]} == {
        result.correlation_id
    }

    err = capsys.readouterr().err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    for name in ("run_started", "step_started", "step_finished", "run_finished"):
        assert name in names
    assert {e["correlation_id"] for e in events if e["event"].startswith(("run_", "step_"))} == {
        result.correlation_id
    }
    assert SECRET not in err
