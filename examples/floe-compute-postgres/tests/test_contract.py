"""The plugin passes floe's contract suite: the few lines every plugin author writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import floe_compute_postgres

from floe_hooks.testing import ComputePluginContract


class TestPostgresContract(ComputePluginContract):
    plugin = floe_compute_postgres
    compute_type = "postgres"
    entry_point = "postgres"
    sample_config: ClassVar[Mapping[str, Any]] = {
        "host": "db.internal",
        "port": 5433,
        "user": "floe",
        "dbname": "analytics",
        "schema": "marts",
        "sslmode": "require",
        "connect_timeout": 5,
        "keepalives_idle": 30,
        "search_path": "marts,public",
        "retries": 3,
    }
    # nothing listens on port 1 of the loopback interface: refused at once
    broken_config: ClassVar[Mapping[str, Any]] = {
        "host": "127.0.0.1",
        "port": 1,
        "user": "floe",
        "dbname": "analytics",
    }
    credentials: ClassVar[Mapping[str, Mapping[str, str]]] = {"password": {"env": "PG_PASSWORD"}}
