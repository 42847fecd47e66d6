"""floe_hooks._graph: dbt's manifest becomes the step DAG (fake manifests, no dbt)."""

from __future__ import annotations

from typing import Any

import pytest

from floe_hooks import ConfigError
from floe_hooks._graph import build_graph


def node(kind: str, name: str, path: str, *parents: str, package: str = "shop") -> tuple[str, dict[str, Any]]:
    uid = f"{kind}.{package}.{name}"
    return uid, {
        "resource_type": kind,
        "name": name,
        "package_name": package,
        "original_file_path": path,
        "depends_on": {"nodes": list(parents)},
    }


def manifest(*nodes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"nodes": dict(nodes)}


TRANSFORMS = [
    ("raw", "seeds", "ingest"),
    ("staging", "models/staging", "ingest"),
    ("marts", "models", "warehouse"),
]


def graph(*nodes: tuple[str, dict[str, Any]], transforms: Any = TRANSFORMS) -> Any:
    return build_graph(manifest(*nodes), project="shop", transforms=transforms, default="warehouse")


def test_a_mart_on_another_compute_that_refs_staging_makes_an_edge() -> None:
    g = graph(
        node("seed", "raw_orders", "seeds/raw_orders.csv"),
        node("model", "stg_orders", "models/staging/stg_orders.sql", "seed.shop.raw_orders"),
        node("model", "revenue", "models/marts/revenue.sql", "model.shop.stg_orders"),
    )
    assert [(s.compute, s.needs) for s in g.steps] == [("ingest", ()), ("warehouse", ("ingest",))]
    assert g.edges == (("ingest", "warehouse"),)
    assert g.step("ingest").select == ("stg_orders", "raw_orders")  # by unique id: model. < seed.
    assert g.step("ingest").transforms == ("raw", "staging")


def test_the_most_specific_path_wins_and_unclaimed_files_go_to_the_default() -> None:
    g = graph(
        node("model", "stg", "models/staging/stg.sql"),
        node("model", "top", "models/top.sql"),
        node("model", "elsewhere", "other/x.sql"),
        transforms=[("staging", "models/staging", "ingest"), ("all", "models", "lake")],
    )
    assert g.nodes["model.shop.stg"].compute == "ingest"
    assert g.nodes["model.shop.top"].compute == "lake"
    assert (g.nodes["model.shop.elsewhere"].compute, g.nodes["model.shop.elsewhere"].transform) == (
        "warehouse",
        None,
    )


def test_independent_computes_have_no_edge() -> None:
    g = graph(
        node("model", "a", "models/staging/a.sql"),
        node("model", "b", "models/b.sql"),
    )
    assert g.edges == ()
    assert all(s.needs == () for s in g.steps)


def test_a_test_on_two_computes_runs_once_in_the_step_after_both_parents() -> None:
    g = graph(
        node("model", "stg", "models/staging/stg.sql"),
        node("model", "mart", "models/mart.sql", "model.shop.stg"),
        node("test", "rel_mart_stg", "models/staging/schema.yml", "model.shop.mart", "model.shop.stg"),
    )
    assert g.nodes["test.shop.rel_mart_stg"].compute == "warehouse"
    assert "rel_mart_stg" in g.step("warehouse").select
    assert "rel_mart_stg" not in g.step("ingest").select


def test_a_test_across_independent_computes_orders_them() -> None:
    g = graph(
        node("model", "a", "models/staging/a.sql"),
        node("model", "b", "models/b.sql"),
        node("test", "same_rows", "tests/same_rows.sql", "model.shop.a", "model.shop.b"),
    )
    placed = g.nodes["test.shop.same_rows"].compute
    other = "ingest" if placed == "warehouse" else "warehouse"
    assert (other, placed) in g.edges
    assert sum("same_rows" in s.select for s in g.steps) == 1


def test_a_cycle_between_computes_names_the_models() -> None:
    with pytest.raises(ConfigError) as info:
        graph(
            node("model", "a", "models/staging/a.sql", "model.shop.b"),
            node("model", "b", "models/b.sql", "model.shop.a"),
        )
    message = str(info.value)
    assert message.startswith("floe.yaml: transforms: the dbt graph has a cycle between computes ")
    assert "model.shop.a on ingest depends on model.shop.b on warehouse" in message
    assert "model.shop.b on warehouse depends on model.shop.a on ingest" in message


def test_a_cycle_inside_one_compute_is_dbt_s_business() -> None:
    g = graph(
        node("model", "a", "models/staging/a.sql"), node("model", "b", "models/staging/b.sql", "model.shop.a")
    )
    assert [s.compute for s in g.steps] == ["ingest"]


def test_names_shared_across_packages_are_qualified() -> None:
    g = graph(
        node("model", "orders", "models/staging/orders.sql"),
        node("model", "orders", "models/orders.sql", package="utils"),
    )
    assert g.step("ingest").select == ("orders,package:shop,resource_type:model",)
    assert g.step("warehouse").select == ("orders,package:utils,resource_type:model",)


def test_a_node_dbt_cannot_name_exactly_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"dbt cannot select model\.shop\.a b \(models/a b\.sql\) exactly"):
        graph(node("model", "a b", "models/a b.sql"))


def test_nodes_that_are_not_run_are_left_out() -> None:
    g = graph(node("model", "a", "models/a.sql"), node("analysis", "look", "analyses/look.sql"))
    assert set(g.nodes) == {"model.shop.a"}


def versioned(name: str, version: int, path: str) -> tuple[str, dict[str, Any]]:
    uid = f"model.shop.{name}.v{version}"
    return uid, {
        "resource_type": "model",
        "name": name,
        "version": version,
        "package_name": "shop",
        "original_file_path": path,
        "fqn": ["shop", *path.split("/")[1:-1], name, f"v{version}"],
        "depends_on": {"nodes": []},
    }


def test_each_version_of_a_model_is_selected_alone_on_its_own_compute() -> None:
    g = graph(
        versioned("dim", 1, "models/staging/dim_v1.sql"),
        versioned("dim", 2, "models/marts/dim_v2.sql"),
        node("model", "dim_v10", "models/marts/dim_v10.sql"),
    )
    assert g.step("ingest").select == ("dim.v1",)
    assert g.step("warehouse").select == ("dim.v2", "dim_v10")
    assert (g.nodes["model.shop.dim.v1"].compute, g.nodes["model.shop.dim.v2"].compute) == (
        "ingest",
        "warehouse",
    )


def test_a_model_named_like_its_folder_is_selected_by_its_fqn() -> None:
    marts = node("model", "marts", "models/marts/marts.sql")
    marts[1]["fqn"] = ["shop", "marts", "marts"]
    other = node("model", "revenue", "models/marts/revenue.sql")
    other[1]["fqn"] = ["shop", "marts", "revenue"]
    # `marts` alone would also select every node under models/marts (dbt matches fqn prefixes)
    assert graph(marts, other).step("warehouse").select == ("shop.marts.marts", "revenue")


def test_a_model_named_like_its_package_is_selected_by_its_fqn() -> None:
    g = graph(node("model", "shop", "models/shop.sql"), node("model", "b", "models/b.sql"))
    assert g.selectors["model.shop.shop"] == "shop.shop"
