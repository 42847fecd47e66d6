"""The canary: one unique credential value, pushed through everything floe does, appears nowhere.

A manifest whose credentials resolve to a unique value is compiled (API and CLI) and
validated (healthy, a plugin that raises echoing its DSN, a plugin that answers
unhealthy echoing it, a hung plugin), with JSON logs at debug level and the
OpenTelemetry SDK recording spans and metrics. Afterwards the value is searched for
in: captured stdout/stderr, log lines, span names/attributes/events/status, metric
attributes, every file under the project folder, exception messages and the reprs
of every object handed back.
"""

from __future__ import annotations

import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

import floe_duckdb
from floe_hooks import (
    ComputeConfig,
    ConnectionResult,
    PluginError,
    PluginManager,
    SecretValue,
    _log,
    profile_secret,
    set_plugin_manager,
)
from floe_hooks.cli import main
from floe_hooks.compile import compile_file
from floe_hooks.health import check_health
from floe_hooks.manifest import load_computes

from .conftest import Telemetry, health_plugin

CANARY = f"canary-{uuid.uuid4().hex}"

MANIFEST = """
version: 1
compute:
  default: warehouse
  approved:
    - name: warehouse
      type: duckdb
      config:
        path: {root}/warehouse.duckdb
        plugins:
          - module: sqlalchemy
            alias: sql
            credentials: {{connection_url: {{env: CANARY_TOKEN}}}}
    - name: pg
      type: pgx
      timeout_seconds: 2
      credentials: {{password: {{env: CANARY_TOKEN}}}}
"""

PRODUCT = """
name: analytics
platform: manifest.yaml
transforms:
  - {name: staging, path: models/staging, compute: pg}
  - {name: marts, path: models/marts}
"""


class Driver:
    """A fake database driver that, like real ones, echoes its DSN when things go wrong."""

    def __init__(self) -> None:
        self.mode = "healthy"
        self.seen: list[str] = []
        self.release = threading.Event()

    def check(self, compute: ComputeConfig, secrets: dict[str, SecretValue]) -> ConnectionResult:
        password = secrets["password"].reveal()
        self.seen.append(password)
        dsn = f"postgresql://floe:{password}@127.0.0.1:5432/analytics"
        if self.mode == "raise":
            raise ConnectionError(f"could not connect to {dsn}: connection refused")
        if self.mode == "unhealthy":
            return ConnectionResult(
                status="unhealthy",
                latency_ms=1.0,
                message=f"auth failed for {dsn}",
                warnings=(f"password {password!r} was rejected",),
                details={"dsn": dsn, password: "as a key"},
            )
        if self.mode == "hang":
            self.release.wait()
        return ConnectionResult(
            status="healthy", latency_ms=1.0, message="select 1 ok", details={"server": "16"}
        )

    def profile(self, compute: ComputeConfig) -> dict[str, Any]:
        return {
            "type": "postgres",
            "host": "127.0.0.1",
            "user": "floe",
            "password": profile_secret(compute, "password"),
            "dbname": "analytics",
            "schema": "public",
        }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_pm: PluginManager) -> Any:
    root = tmp_path / "project"
    root.mkdir()
    (root / "manifest.yaml").write_text(textwrap.dedent(MANIFEST.format(root=root)))
    (root / "floe.yaml").write_text(textwrap.dedent(PRODUCT))
    monkeypatch.setenv("CANARY_TOKEN", CANARY)
    driver = Driver()
    empty_pm.register(floe_duckdb, name="duckdb")

    def check(compute: ComputeConfig, secrets: dict[str, SecretValue]) -> ConnectionResult:
        return driver.check(compute, secrets)

    empty_pm.register(health_plugin("pgx", check, profile=driver.profile))
    set_plugin_manager(empty_pm)
    yield root, driver, empty_pm
    driver.release.set()


def _span_texts(otel: Telemetry) -> list[str]:
    texts = []
    for span in otel.spans():
        texts.append(span.name)
        texts.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
        texts.append(str(span.status.description))
        for event in span.events:
            texts.append(event.name)
            texts.extend(f"{k}={v}" for k, v in (event.attributes or {}).items())
    return texts


def _metric_texts(otel: Telemetry) -> list[str]:
    texts = []
    for name, points in otel.all_points().items():
        texts.append(name)
        texts.extend(f"{k}={v}" for attributes, _ in points for k, v in attributes.items())
    return texts


def test_the_canary_appears_nowhere(
    project: Any, otel: Telemetry, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root, driver, manager = project
    _log.configure("debug", "json")
    seen: list[str] = []  # every text floe handed back or raised
    exits: list[int] = []

    def cli(*argv: str) -> None:
        exits.append(main(["--log-level", "debug", "--log-format", "json", *argv]))

    # compile, through the API and the CLI
    compiled = compile_file(root / "floe.yaml", out=root / "target" / "api", manager=manager)
    seen.append(repr(compiled))
    cli("compile", str(root / "floe.yaml"), "--out", str(root / "target" / "cli"))
    cli("resources", str(root / "floe.yaml"))

    # validate, healthy: the driver really received the canary
    manifest = load_computes(root / "floe.yaml", manager=manager)
    seen.append(repr(manifest))
    results = check_health(manifest.computes, manager=manager)
    assert [r.status.value for r in results] == ["degraded", "healthy"]  # warehouse file not created yet
    assert driver.seen == [CANARY]
    cli("validate", str(root / "floe.yaml"))
    cli("validate", str(root / "manifest.yaml"), "--format", "json")
    seen.extend(repr(r) for r in results)

    # validate, failing in every way a driver fails
    for mode in ("raise", "unhealthy", "hang"):
        driver.mode = mode
        results = check_health(manifest.computes, manager=manager)
        assert results[1].status.value == "unhealthy", mode
        seen.extend(repr(r) for r in results)
        cli("validate", str(root / "manifest.yaml"), "--compute", "pg")
        cli("validate", str(root / "manifest.yaml"), "--compute", "pg", "--format", "json")
    cli("validate", str(root / "manifest.yaml"), "--compute", "pg", "--watch", "0.01", "--watch-count", "2")

    # the plugin's exception through the plain manager call, and the secrets it was given
    driver.mode = "raise"
    secrets = {"password": SecretValue(CANARY)}
    with pytest.raises(PluginError) as raised:
        manager.validate_connection(manifest.compute("pg"), timeout=1.0, secrets=secrets)
    seen.extend([str(raised.value), repr(raised.value), repr(secrets), str(secrets["password"])])

    assert driver.seen.count(CANARY) >= 8  # the canary really went through every check
    assert exits == [0, 0, 0, 0] + [1] * 7, exits
    captured = capsys.readouterr()
    assert '"event": "validate_result"' in captured.err  # JSON logs at debug were written
    assert "floe.validate_connection" in _span_texts(otel)
    assert "floe.profile.duration" in _metric_texts(otel) or otel.spans("floe.generate_profile")

    written = {
        str(path): path.read_text(errors="replace")
        for path in tmp_path.rglob("*")
        if path.is_file() and path.suffix not in (".duckdb", ".wal")
    }
    assert any(p.endswith("profiles.yml") for p in written)
    assert "DBT_ENV_SECRET_PG_PASSWORD" in "".join(written.values())

    places = {
        "stdout": [captured.out],
        "stderr and logs": [captured.err],
        "spans": _span_texts(otel),
        "metrics": _metric_texts(otel),
        "written files": list(written.values()) + list(written),
        "messages and reprs": seen,
    }
    leaks = {where: [t for t in texts if CANARY in t][:3] for where, texts in places.items()}
    assert {where: found for where, found in leaks.items() if found} == {}
