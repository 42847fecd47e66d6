"""The per-class copier behind hook isolation equals ``copy.copy``, for models and anything else."""

from __future__ import annotations

import copy

import attrs

from floe_duckdb.config import DuckDBConfig
from floe_hooks import ComputeConfig, ResourceSpec
from floe_hooks.manager import _shallow_copy


def test_a_slotted_model_copy_is_equal_distinct_and_shares_its_values() -> None:
    config = DuckDBConfig(path="w.duckdb", settings={"threads": "4"}, extensions=("json",))
    compute = ComputeConfig(name="w", type="duckdb", config=config, resources="medium")
    for original in (config, compute, ResourceSpec.resolve("small")):
        twin = _shallow_copy(original)
        assert type(twin) is type(original)
        assert twin == original
        assert twin is not original
        for field in attrs.fields(type(original)):
            assert getattr(twin, field.name) is getattr(original, field.name)  # shallow, like copy.copy
    assert _shallow_copy(config).settings is config.settings


def test_other_objects_are_copied_by_copy_copy() -> None:
    @attrs.define(slots=False)
    class Plain:
        items: list[int]

    plain = Plain([1])
    twin = _shallow_copy(plain)
    assert twin == plain
    assert twin is not plain
    assert twin.items is plain.items
    assert _shallow_copy({"a": [1]}) == copy.copy({"a": [1]})
