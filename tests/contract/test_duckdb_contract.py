"""floe_duckdb passes the contract suite every third-party plugin runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import floe_duckdb
from floe_hooks.testing import ComputePluginContract


class TestDuckDBContract(ComputePluginContract):
    plugin = floe_duckdb
    compute_type = "duckdb"
    entry_point = "duckdb"
    sample_config: ClassVar[Mapping[str, Any]] = {
        "path": "warehouse.duckdb",
        "schema": "main",
        "memory_limit": "1GB",
    }
    # a directory where the database file should be: DuckDB cannot open it
    broken_config: ClassVar[Mapping[str, Any]] = {"path": "/"}
    # the suite's own folder: a missing file is not created, a text file is unhealthy
    target_config: ClassVar[Mapping[str, Any]] = {"path": "{target}"}
