"""step_dependencies: the one rule that orders steps in every cluster output."""

from __future__ import annotations

from typing import Any

import pytest

from floe_hooks.errors import ConfigError
from floe_hooks.kubernetes import step_dependencies, step_names


def plan(*computes: str, needs: dict[int, list[Any]] | None = None) -> list[dict[str, Any]]:
    steps = [{"step": i, "compute": c} for i, c in enumerate(computes, 1)]
    for index, wanted in (needs or {}).items():
        steps[index]["needs"] = wanted
    return steps


def test_without_a_dbt_graph_the_steps_are_chained_in_transform_order() -> None:
    steps = plan("raw", "audit", "mart", needs={2: ["raw"]})
    expected = {"raw": (), "audit": ("raw",), "mart": ("audit",)}
    assert step_dependencies(steps) == expected
    assert step_dependencies(steps, {"source": "transforms"}) == expected
    assert step_dependencies(steps, {"source": "something new"}) == expected  # unknown: the safe chain


def test_a_dbt_graph_gives_the_needs_as_edges() -> None:
    steps = plan("raw", "audit", "mart", needs={2: ["raw", "mart"], 1: []})
    assert step_dependencies(steps, {"source": "dbt"}) == {"raw": (), "audit": (), "mart": ("raw",)}


def test_a_revisited_compute_is_named_per_visit_and_a_need_takes_the_latest_earlier_visit() -> None:
    steps = plan("a", "b", "a", "c", needs={1: ["a"], 2: ["b"], 3: ["a", "b"]})
    assert step_names(steps) == ["a-step1", "b", "a-step3", "c"]
    assert step_dependencies(steps, {"source": "dbt"}) == {
        "a-step1": (),
        "b": ("a-step1",),
        "a-step3": ("b",),
        "c": ("b", "a-step3"),
    }
    assert step_dependencies(steps) == {
        "a-step1": (),
        "b": ("a-step1",),
        "a-step3": ("b",),
        "c": ("a-step3",),
    }


@pytest.mark.parametrize(
    ("needs", "message"),
    [
        ({0: ["mart"]}, "run_plan[0].needs: step 'raw' needs 'mart', which runs only after it in the plan"),
        ({1: ["nowhere"]}, "run_plan[1].needs: step 'mart' needs 'nowhere', which is no step of the plan"),
        ({1: "raw"}, "run_plan[1].needs: must be a list of compute names"),
        ({1: [3]}, "run_plan[1].needs: 3 is not a compute name"),
    ],
)
def test_needs_that_could_run_a_step_too_early_are_errors(needs: dict[int, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        step_dependencies(plan("raw", "mart", needs=needs), {"source": "dbt"})
    assert str(caught.value) == message


def test_every_edge_points_back_in_plan_order() -> None:
    """Whatever the needs, a step only waits for earlier steps: no output can deadlock or run early."""
    import itertools

    computes = ("a", "b", "c", "d")
    for subset in itertools.product([[], ["a"], ["b"], ["a", "c"]], repeat=4):
        steps = plan(*computes, needs=dict(enumerate(subset)))
        try:
            graph = step_dependencies(steps, {"source": "dbt"})
        except ConfigError:
            continue
        order = list(graph)
        for name, upstream in graph.items():
            assert all(order.index(u) < order.index(name) for u in upstream)
