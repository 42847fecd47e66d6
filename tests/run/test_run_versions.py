"""Versioned dbt models on two computes, with the real dbt-core + dbt-duckdb.

``dim_customers`` has two versions (``versions: [{v: 1}, {v: 2}]``, files
``dim_customers_v1.sql`` and ``dim_customers_v2.sql``). Version 1 is claimed by a transform
on ``legacy`` (legacy.duckdb), version 2 by the catch-all on ``current`` (current.duckdb,
attaching legacy.duckdb), where ``uses_v1`` refs version 1 across the computes. dbt's bare
name selects every version, so each step must select each version by ``name.vN``; a model
named like its folder (``marts``) must not select the folder either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from floe_hooks._graph import build_graph

from .conftest import write_tree

pytestmark = pytest.mark.run

FILES = {
    "manifest.yaml": """
        version: 1
        compute:
          default: current
          approved:
            - {name: legacy, type: duckdb, config: {path: legacy.duckdb}}
            - name: current
              type: duckdb
              config: {path: current.duckdb, attach: [{path: legacy.duckdb, alias: legacy, read_only: true}]}
    """,
    "floe.yaml": """
        name: shop
        platform: manifest.yaml
        transforms:
          - {name: old_customers, path: models/marts/dim_customers_v1.sql, compute: legacy}
          - {name: marts, path: models}
    """,
    "dbt_project.yml": """
        name: shop
        profile: shop
        config-version: 2
        models: {shop: {+materialized: table}}
    """,
    "models/marts/dim_customers_v1.sql": "select 1 as id, 'ann' as name\n",
    "models/marts/dim_customers_v2.sql": (
        "select * from (values (1, 'ann', 'a@x'), (2, 'bob', 'b@x')) t(id, name, email)\n"
    ),
    "models/marts/uses_v1.sql": "select count(*) as n from {{ ref('dim_customers', v=1) }}\n",
    "models/marts/marts.sql": "select 1 as one\n",
    "models/marts/schema.yml": """
        version: 2
        models:
          - name: dim_customers
            latest_version: 2
            columns:
              - name: id
                data_tests: [unique]
            versions:
              - v: 1
                config: {database: legacy}
              - v: 2
    """,
}
TRANSFORMS = [
    ("old_customers", "models/marts/dim_customers_v1.sql", "legacy"),
    ("marts", "models", "current"),
]
V1, V2 = "model.shop.dim_customers.v1", "model.shop.dim_customers.v2"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("versions"), FILES)


@pytest.fixture(scope="module")
def run(shop: Path) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, "-m", "floe_hooks.cli", "run", "floe.yaml", "--format", "json"],
        cwd=shop,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert process.returncode == 0, process.stderr
    document: dict[str, Any] = json.loads(process.stdout)
    return document | {"stderr": process.stderr}


def ran(root: Path, step: dict[str, Any]) -> list[str]:
    results = json.loads((root / step["run_results"]).read_text())
    return sorted(r["unique_id"] for r in results["results"])


def tables(database: Path) -> set[str]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return {row[0] for row in connection.execute("select table_name from duckdb_tables()").fetchall()}


def test_each_version_runs_exactly_once_on_its_own_compute(shop: Path, run: dict[str, Any]) -> None:
    by = {step["compute"]: step for step in run["steps"]}
    assert by["current"]["needs"] == ["legacy"]  # uses_v1 refs version 1 across the computes
    legacy, current = ran(shop, by["legacy"]), ran(shop, by["current"])
    assert [uid for uid in legacy if not uid.startswith("test.")] == [V1]
    assert [uid for uid in current if not uid.startswith("test.")] == [
        "model.shop.dim_customers.v2",
        "model.shop.marts",
        "model.shop.uses_v1",
    ]
    every = legacy + current
    assert every.count(V1) == every.count(V2) == 1
    # each version's own test with its version, once
    assert [uid.split(".")[2] for uid in legacy if uid.startswith("test.")] == ["unique_dim_customers_v1_id"]
    assert [uid.split(".")[2] for uid in current if uid.startswith("test.")] == ["unique_dim_customers_v2_id"]
    assert tables(shop / "legacy.duckdb") == {"dim_customers_v1"}
    assert tables(shop / "current.duckdb") == {"dim_customers_v2", "marts", "uses_v1"}
    with duckdb.connect(str(shop / "current.duckdb"), read_only=True) as connection:
        assert connection.execute("select n from uses_v1").fetchall() == [(1,)]
    assert "dim_customers.v1" in by["legacy"]["command"]
    # the progress lines tell the versions apart
    assert "  [legacy] OK    model dim_customers.v1 (" in run["stderr"]
    assert "  [current] OK    model dim_customers.v2 (" in run["stderr"]


def test_every_step_selector_lists_exactly_its_node_in_dbt_ls(shop: Path, run: dict[str, Any]) -> None:
    from dbt.cli.main import dbtRunner

    out = shop / "target" / "floe"
    manifest = json.loads((out / "steps" / "legacy" / "manifest.json").read_text())
    graph = build_graph(manifest, project="shop", transforms=TRANSFORMS, default="current")
    assert graph.selectors[V1] == "dim_customers.v1"
    assert graph.selectors[V2] == "dim_customers.v2"
    assert graph.selectors["model.shop.marts"] == "shop.marts.marts"  # `marts` is also its folder

    base = ["--project-dir", str(shop), "--profiles-dir", str(out), "--target", "current", "--quiet",
            "--target-path", str(out / "steps" / "ls"), "--log-path", str(out / "steps" / "ls")]  # fmt: skip
    parsed = dbtRunner().invoke(["parse", *base])
    assert parsed.success

    def listed(selector: str) -> set[str]:
        args = ["ls", *base, "--select", selector, "--indirect-selection", "empty"]
        result = dbtRunner(manifest=parsed.result).invoke(
            [*args, "--output", "json", "--output-keys", "unique_id"]
        )
        assert result.success, selector
        return {json.loads(line)["unique_id"] for line in result.result}

    # why a version needs its own selector: the bare name and the folder select more
    assert {V1, V2} <= listed("dim_customers")
    assert "model.shop.uses_v1" in listed("marts")
    for uid, selector in graph.selectors.items():
        assert listed(selector) == {uid}, selector
