"""``floe run --select`` when every compute has secrets, with the real dbt-core + dbt-duckdb.

Both DuckDB computes load a dbt-duckdb plugin (``plugins/token_guard.py`` in the project)
whose ``token`` is a credential reference (``{env: SHOP_TOKEN}``): the generated profile
reads it as ``env_var('DBT_ENV_SECRET_...')``, so no dbt command of this project (not
even ``dbt ls``) works without it, and the plugin fails any connection whose token did
not arrive. As with a lakehouse catalog, no compute is free of secrets: the selection is
resolved by a ``dbt ls`` child process that alone receives them.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from floe_hooks import run_product

from .conftest import floe_cli, write_tree

pytestmark = pytest.mark.run
SECRET = "shop-token-5d2e-never-written"
PLUGIN = "{module: token_guard, credentials: {token: {env: SHOP_TOKEN}}}"
FILES = {
    "manifest.yaml": f"""
        version: 1
        compute:
          default: warehouse
          approved:
            - name: ingest
              type: duckdb
              config: {{path: ingest.duckdb, module_paths: [plugins], plugins: [{PLUGIN}]}}
            - name: warehouse
              type: duckdb
              config:
                path: warehouse.duckdb
                attach: [{{path: ingest.duckdb, alias: ingest, read_only: true}}]
                module_paths: [plugins]
                plugins: [{PLUGIN}]
    """,
    "floe.yaml": """
        name: shop
        platform: manifest.yaml
        transforms:
          - {name: staging, path: models/staging, compute: ingest}
          - {name: marts, path: models/marts}
    """,
    "dbt_project.yml": """
        name: shop
        profile: shop
        config-version: 2
        models:
          shop:
            +materialized: table
            staging: {+database: ingest}
    """,
    "plugins/token_guard.py": """
        import os

        from dbt.adapters.duckdb.plugins import BasePlugin


        class Plugin(BasePlugin):
            def initialize(self, plugin_config):
                if plugin_config.get("token") != os.environ.get("SHOP_TOKEN"):
                    raise RuntimeError("token_guard: the token did not arrive")
    """,
    "models/staging/stg_orders.sql": (
        "select * from (values (1, 'ann', 10), (2, 'bob', 7)) t(order_id, customer, amount)\n"
    ),
    "models/staging/stg_customers.sql": "select distinct customer from {{ ref('stg_orders') }}\n",
    "models/marts/revenue.sql": (
        "select c.customer, sum(o.amount) as revenue from {{ ref('stg_customers') }} c\n"
        "join {{ ref('stg_orders') }} o using (customer) group by c.customer\n"
    ),
    "models/marts/order_count.sql": "select count(*) as n from {{ ref('stg_orders') }}\n",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("shop"), FILES)


def floe_run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return floe_cli(root, *args, env={"SHOP_TOKEN": SECRET})


def ran(root: Path, step: dict[str, Any]) -> set[str]:
    """The unique ids dbt's own run_results.json of one step lists."""
    results = json.loads((root / step["run_results"]).read_text())
    return {r["unique_id"] for r in results["results"]}


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_select_resolves_on_a_compute_with_secrets_and_runs_only_the_chosen_nodes(shop: Path) -> None:
    first = floe_run(shop)
    assert first.returncode == 0, first.stderr
    # the staging data changes: a selection without stg_orders must leave its table as it was
    (shop / "models/staging/stg_orders.sql").write_text(
        "select * from (values (1, 'ann', 99)) t(order_id, customer, amount)\n"
    )

    process = floe_run(shop, "--select", "stg_customers+")
    assert process.returncode == 0, process.stderr
    by = {s["compute"]: s for s in json.loads(process.stdout)["steps"]}
    assert (by["ingest"]["status"], by["warehouse"]["status"]) == ("success", "success")
    assert ran(shop, by["ingest"]) == {"model.shop.stg_customers"}
    assert ran(shop, by["warehouse"]) == {"model.shop.revenue"}
    assert (by["ingest"]["nodes"], by["warehouse"]["nodes"]) == (1, 1)
    assert rows(shop / "ingest.duckdb", "select amount from stg_orders order by order_id") == [(10,), (7,)]
    assert rows(shop / "warehouse.duckdb", "select customer, revenue from revenue order by 1") == [
        ("ann", 10),
        ("bob", 7),
    ]

    # the secret reached each dbt child only: no file under the project, no output of floe's
    assert SECRET not in process.stdout + process.stderr
    for path in shop.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_selection_dbt_refuses_is_one_line_exit_2(shop: Path) -> None:
    process = floe_run(shop, "--select", "bogus:x")
    assert process.returncode == 2
    assert process.stderr.strip().splitlines()[-1] == (
        "floe: error: floe.yaml: dbt refused the selection 'bogus:x': 'bogus' is not a valid method name"
    )
    assert "Traceback" not in process.stderr
    assert SECRET not in process.stdout + process.stderr


def test_run_product_keeps_the_secrets_out_of_its_own_environment(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_TOKEN", SECRET)
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    before = dict(os.environ)
    result = run_product(shop / "floe.yaml", select="order_count")
    by = {s.compute: s for s in result.steps}
    assert (result.status, by["ingest"].status, by["warehouse"].status) == ("success", "nothing", "success")
    assert by["warehouse"].mode == "subprocess"
    assert ran(shop, {"run_results": by["warehouse"].run_results}) == {"model.shop.order_count"}
    assert dict(os.environ) == before  # dbt ls and dbt build got the secrets in their children only


def test_a_selection_that_matches_nothing_runs_nothing_and_says_so(shop: Path) -> None:
    process = floe_run(shop, "--select", "no_such_model")
    assert process.returncode == 0, process.stderr
    assert [s["status"] for s in json.loads(process.stdout)["steps"]] == ["nothing", "nothing"]
    assert "select_matched_nothing" in process.stderr
    assert "select=no_such_model" in process.stderr
