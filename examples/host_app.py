"""A host application that embeds floe's plugin manager instead of running ``floe``.

It shows the host API end to end:

* a manager that does not autoload installed plugins, and explicit registration of
  a module (``floe_duckdb``) and of an inline plugin object (an in-house engine);
* blocking a plugin by name, before and after it was loaded;
* every capability through the typed façade (``generate_profile``,
  ``validate_connection``, ``resource_requirements``, ``catalog_attachment_sql``),
  never ``pm.hook.<name>(**kwargs)``;
* the framework's concurrent, timeout-enforced health check (``check_health``).

Run it: ``python examples/host_app.py [--json]``. It prints one line per step (or one
JSON document) and exits 0.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

import floe_duckdb
from floe_hooks import (
    CatalogConfig,
    ComputeConfig,
    ConnectionResult,
    ConnectionStatus,
    PluginContractError,
    PluginLoadError,
    PluginManager,
    PluginMetadata,
    ResourceSpec,
    SecretRef,
    SecretValue,
    hookimpl,
    profile_secret,
)


@attrs.frozen
class EchoConfig:
    """The config of the in-house ``echo`` engine."""

    endpoint: str = "echo://local"
    delay_ms: int = 0


class EchoEngine:
    """An inline plugin: any object with ``@hookimpl`` methods will do."""

    def __init__(self) -> None:
        self.checks = 0

    @hookimpl
    def plugin_metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="echo",
            version="0.0.1",
            floe_api_version="1.0",
            compute_types=("echo",),
            description="in-house engine registered by the host",
            dbt_adapter="dbt-echo>=0.1",
            config_class=EchoConfig,
        )

    @hookimpl
    def generate_profile(self, compute: ComputeConfig) -> dict[str, Any]:
        return {
            "type": "echo",
            "endpoint": compute.config.endpoint,
            "token": profile_secret(compute, "token"),
        }

    @hookimpl
    def validate_connection(self, compute: ComputeConfig, timeout: float) -> ConnectionResult:
        # takes only the arguments it needs: pluggy passes them by name
        self.checks += 1
        delay = compute.config.delay_ms / 1000
        time.sleep(min(delay, timeout * 2))  # misbehaves on purpose when delay > timeout
        return ConnectionResult(ConnectionStatus.HEALTHY, delay * 1000, message="echo answered")

    @hookimpl
    def resource_requirements(self, compute: ComputeConfig) -> ResourceSpec:
        return ResourceSpec.resolve(compute.resources, default="small")


class Rogue:
    """A plugin the host refuses to load."""

    @hookimpl
    def plugin_metadata(self) -> PluginMetadata:
        return PluginMetadata(name="rogue", version="6.6.6", floe_api_version="1.0", compute_types=("rogue",))


def run(workdir: Path) -> dict[str, Any]:
    """Exercise the host API (DuckDB files go to ``workdir``); returns what happened, step by step."""
    from floe_hooks import check_health

    report: dict[str, Any] = {}

    # 1. An embedded manager: nothing installed is loaded behind the host's back.
    pm = PluginManager(autoload=False, strict=True, blocked=["rogue"])
    pm.register(floe_duckdb)  # a module, registered by hand under its metadata name
    echo = EchoEngine()
    pm.register(echo)  # an object
    report["plugins"] = [(p.name, p.metadata.version, list(p.metadata.compute_types)) for p in pm.plugins]

    # 2. Blocking: "rogue" was blocked up front; "echo" gets blocked later, then comes back.
    try:
        pm.register(Rogue())
    except PluginLoadError as exc:
        report["blocked_register"] = str(exc)

    # 3. The computes a manifest would give us (a host can also call load_manifest()).
    lake = ComputeConfig(
        name="lake",
        type="duckdb",
        threads=2,
        config=floe_duckdb.DuckDBConfig(path=str(workdir / "lake.duckdb")),
        resources="medium",
    )
    echo_compute = ComputeConfig(
        name="echo1",
        type="echo",
        config=EchoConfig(delay_ms=10),
        credentials={"token": SecretRef(env="ECHO_TOKEN")},
    )
    slow_echo = attrs.evolve(echo_compute, name="echo2", config=EchoConfig(delay_ms=2000))

    # 4. Each capability through the typed façade: only the owner of compute.type runs.
    report["profiles"] = {c.name: pm.generate_profile(c) for c in (lake, echo_compute)}
    report["resources"] = {c.name: pm.resource_requirements(c).to_kubernetes() for c in (lake, echo_compute)}
    direct = pm.validate_connection(lake, timeout=5.0)
    report["validate_direct"] = (direct.compute, direct.status.value, direct.message)
    catalog = CatalogConfig(
        name="lakehouse",
        uri="https://catalog.example/api/catalog",
        warehouse="prod",
        client_id=SecretRef(env="CATALOG_ID"),
        client_secret=SecretRef(env="CATALOG_SECRET"),
    )
    secrets: Mapping[str, SecretValue] = {
        "client_id": SecretValue("host-app-id"),
        "client_secret": SecretValue("host-app-secret-value"),
    }
    statements = pm.catalog_attachment_sql(lake, catalog, secrets)
    report["catalog_sql"] = [str(s) for s in statements]  # sensitive statements print masked
    try:
        pm.catalog_attachment_sql(echo_compute, catalog, secrets)
    except PluginContractError as exc:
        report["optional_hook_missing"] = str(exc)

    # 5. Concurrent checks with an enforced timeout: echo2 sleeps past it.
    results = check_health(
        [lake, echo_compute, slow_echo], timeout=0.5, manager=pm, environ={"ECHO_TOKEN": "t0ken-value"}
    )
    report["health"] = {r.compute: (r.status.value, r.message) for r in results}

    # 6. Block a loaded plugin: its compute type is no longer served.
    pm.block("echo")
    report["after_block"] = sorted(pm.compute_types)
    try:
        pm.generate_profile(echo_compute)
    except Exception as exc:
        report["blocked_call"] = f"{type(exc).__name__}: {exc}"
    return report


def main(argv: list[str]) -> int:
    """Print the report (``--json`` for machines)."""
    with tempfile.TemporaryDirectory(prefix="floe-host-") as workdir:
        report = run(Path(workdir))
    if "--json" in argv:
        print(json.dumps(report, indent=2, default=str))
    else:
        for step, value in report.items():
            print(f"{step}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
