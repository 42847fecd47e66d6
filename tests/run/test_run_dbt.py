"""``floe run`` with the real dbt-core + dbt-duckdb: three computes, parallel steps, failure, ``--retry``.

The product: seeds and staging on ``ingest`` (ingest.duckdb), marts on ``warehouse``
(warehouse.duckdb, attaching ingest.duckdb read-only) that ``ref()`` the staging models,
and an independent ``side`` compute (side.duckdb) whose step shares nothing with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from .conftest import floe_cli, write_tree

pytestmark = pytest.mark.run

MANIFEST = """
version: 1
compute:
  default: warehouse
  approved:
    - {name: ingest, type: duckdb, threads: 2, config: {path: ingest.duckdb}}
    - name: warehouse
      type: duckdb
      config: {path: warehouse.duckdb, attach: [{path: ingest.duckdb, alias: ingest, read_only: true}]}
    - {name: side, type: duckdb, config: {path: side.duckdb}}
"""
FLOE = """
name: shop
platform: manifest.yaml
transforms:
  - {name: raw, path: seeds, compute: ingest}
  - {name: staging, path: models/staging, compute: ingest}
  - {name: side, path: models/side, compute: side}
  - {name: marts, path: models}
"""
PROJECT = """
name: shop
profile: shop
config-version: 2
model-paths: [models]
seed-paths: [seeds]
models:
  shop:
    +materialized: table
    staging: {+database: ingest}
seeds:
  shop: {+database: ingest}
"""
FILES = {
    "seeds/raw_orders.csv": "order_id,customer,amount\n1,ann,10\n2,ann,5\n3,bob,7\n",
    "models/staging/stg_orders.sql": "select order_id, customer, amount from {{ ref('raw_orders') }}\n",
    "models/staging/stg_customers.sql": "select distinct customer from {{ ref('stg_orders') }}\n",
    "models/staging/schema.yml": """
        version: 2
        models:
          - name: stg_orders
            columns:
              - name: order_id
                data_tests: [unique, not_null]
    """,
    "models/marts/revenue.sql": (
        "select c.customer, sum(o.amount) as revenue from {{ ref('stg_customers') }} c\n"
        "join {{ ref('stg_orders') }} o using (customer) group by c.customer\n"
    ),
    "models/marts/schema.yml": """
        version: 2
        models:
          - name: revenue
            columns:
              - name: customer
                data_tests:
                  - unique
                  - not_null
                  # parents on two computes: runs once, in the warehouse step, after both exist
                  - relationships: {arguments: {to: "ref('stg_customers')", field: customer}}
    """,
    "models/side/numbers.sql": "select count(*) as n from range(2000000)\n",
}


def write(root: Path) -> None:
    write_tree(root, {"manifest.yaml": MANIFEST, "floe.yaml": FLOE, "dbt_project.yml": PROJECT, **FILES})


def floe_run(root: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    process = floe_cli(root, *args)
    assert process.stdout, process.stderr
    return process.returncode, json.loads(process.stdout), process.stderr


def steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["compute"]: step for step in document["steps"]}


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    write(root)
    return root


def test_marts_on_one_compute_read_staging_built_on_another(shop: Path) -> None:
    code, document, stderr = floe_run(shop)
    assert code == 0, stderr
    by = steps(document)
    assert by["warehouse"]["needs"] == ["ingest"]
    assert by["side"]["needs"] == []
    assert all(s["status"] == "success" for s in by.values())
    # a seed, 2 models and 2 tests on ingest; revenue and its 3 tests on warehouse
    assert (by["ingest"]["nodes"], by["warehouse"]["nodes"], by["side"]["nodes"]) == (5, 4, 1)
    assert any(arg.startswith("relationships_revenue_customer") for arg in by["warehouse"]["command"])
    assert not any(arg.startswith("relationships_") for arg in by["ingest"]["command"])
    assert rows(shop / "warehouse.duckdb", "select customer, revenue from revenue order by 1") == [
        ("ann", 15),
        ("bob", 7),
    ]
    assert rows(shop / "side.duckdb", "select n from numbers") == [(2000000,)]
    artifact = json.loads((shop / "target/floe/compiled_artifacts.json").read_text())
    assert artifact["graph"] == {"source": "dbt", "edges": [["ingest", "warehouse"]]}
    published = json.loads((shop / "target/floe/run_results.json").read_text())
    assert published["status"] == "success"
    assert (shop / by["ingest"]["run_results"]).is_file()  # dbt's own record of the step


def test_the_independent_step_ran_beside_the_first(shop: Path) -> None:
    by = steps(json.loads((shop / "target/floe/run_results.json").read_text()))
    ingest, side = by["ingest"], by["side"]
    assert (ingest["mode"], side["mode"]) == ("subprocess", "subprocess")
    assert side["started_at"] < ingest["started_at"] + ingest["duration_s"]
    assert ingest["started_at"] < side["started_at"] + side["duration_s"]
    warehouse = by["warehouse"]
    assert warehouse["started_at"] >= ingest["started_at"] + ingest["duration_s"] - 0.01


OUTPUTS = ("profiles.yml", "compiled_artifacts.json", "run_results.json")


def outputs(shop: Path) -> dict[str, bytes]:
    return {name: (shop / "target/floe" / name).read_bytes() for name in OUTPUTS}


def test_an_unchanged_project_is_up_to_date(shop: Path) -> None:
    before = outputs(shop)
    code, document, _ = floe_run(shop)
    assert (code, document["status"]) == (0, "up-to-date")
    assert {s["status"] for s in document["steps"]} == {"reused"}
    # the outputs of the run it reuses stand: the run plan of dbt's graph, not compile's guess
    assert outputs(shop) == before
    artifact = json.loads(before["compiled_artifacts.json"])
    assert artifact["graph"]["source"] == "dbt"


def test_a_refused_selection_leaves_every_output_as_it_was(shop: Path) -> None:
    before = outputs(shop)
    process = floe_cli(shop, "--select", "bogus:x")
    assert process.returncode == 2
    assert process.stderr.strip() == (
        "floe: error: floe.yaml: dbt refused the selection 'bogus:x': 'bogus' is not a valid method name"
    )
    assert outputs(shop) == before


def test_a_failing_model_skips_its_dependents_and_retry_completes(shop: Path) -> None:
    good = (shop / "models/staging/stg_customers.sql").read_text()
    (shop / "models/staging/stg_customers.sql").write_text(
        "select no_such_column from {{ ref('stg_orders') }}\n"
    )
    code, document, _ = floe_run(shop, "--force")
    by = steps(document)
    assert code == 1
    assert (by["ingest"]["status"], by["ingest"]["failed"]) == ("failed", 1)
    assert (by["warehouse"]["status"], by["warehouse"]["reason"]) == ("skipped", "needs ingest, which failed")
    assert by["side"]["status"] == "success"

    (shop / "models/staging/stg_customers.sql").write_text(good)
    code, document, stderr = floe_run(shop, "--retry")
    by = steps(document)
    assert code == 0, stderr
    assert by["side"]["status"] == "reused"
    assert by["ingest"]["status"] == "success"
    assert by["ingest"]["nodes"] == 1  # only the model that failed
    assert by["warehouse"]["status"] == "success"
    assert rows(shop / "warehouse.duckdb", "select count(*) from revenue") == [(2,)]


def test_select_runs_only_the_chosen_nodes_on_their_compute(shop: Path) -> None:
    code, document, stderr = floe_run(shop, "--select", "revenue")
    by = steps(document)
    assert code == 0, stderr
    # as with dbt build, the tests of a selected model come with it
    assert (by["warehouse"]["status"], by["warehouse"]["nodes"]) == ("success", 4)
    assert (by["ingest"]["status"], by["side"]["status"]) == ("nothing", "nothing")
