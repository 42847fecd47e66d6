"""Fixtures for health checks and observability.

* ``plugins``: registers small fixture plugins, one compute type each, on a fresh
  :class:`PluginManager` (``empty_pm``): ``sleepy`` (200 ms, healthy), ``hung`` (waits
  on an Event the fixture sets at teardown, i.e. forever for the test), ``raiser``
  (raises, echoing its password), ``degraded``, ``down`` (answers unhealthy), ``ok``.
* ``otel``: the OpenTelemetry SDK with an in-memory span exporter and an in-memory
  metric reader (delta temporality), installed once per session as the global
  providers, emptied before each test.
* ``quiet_observability`` (autouse): every test starts with no registered secret and
  default log settings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from floe_hooks import ComputeConfig, ConnectionResult, PluginManager, SecretRef
from floe_hooks.testing import make_plugin


def health_plugin(
    name: str, validate: Callable[..., Any], *, profile: Callable[..., Any] | None = None
) -> ModuleType:
    """:func:`make_plugin` serving compute type ``name`` (version 2.5) whose health check is ``validate``.

    Its profile is ``{"type": name, "path": "<compute>.db"}`` unless ``profile`` makes it.
    """

    def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
        if profile is not None:
            return profile(compute)  # type: ignore[no-any-return]
        return {"type": name, "path": f"{compute.name}.db"}

    return make_plugin(
        name, version="2.5", api="1.0", generate_profile=generate_profile, validate_connection=validate
    )


class FixturePlugins:
    """What the fixture plugins saw, and the Event that releases the hung one."""

    def __init__(self, manager: PluginManager) -> None:
        self.manager = manager
        self.release = threading.Event()
        self.seen_secrets: dict[str, dict[str, Any]] = {}
        self.seen_correlation: list[str] = []
        self.seen_timeouts: dict[str, float] = {}
        self.hung_returned = threading.Event()

    def register_all(self) -> None:
        from floe_hooks import _log

        def sleepy(compute: ComputeConfig, timeout: float) -> ConnectionResult:
            self.seen_timeouts[compute.name] = timeout
            self.seen_correlation.append(_log.correlation_id())
            time.sleep(0.2)
            return ConnectionResult(status="healthy", latency_ms=200.0, message="answered select 1")

        def hung(compute: ComputeConfig) -> ConnectionResult:
            self.release.wait()
            self.hung_returned.set()
            return ConnectionResult(status="healthy", latency_ms=1.0)

        def raiser(compute: ComputeConfig, secrets: dict[str, Any]) -> ConnectionResult:
            password = secrets["password"].reveal() if "password" in secrets else "none"
            raise ConnectionRefusedError(f"could not connect to postgres://floe:{password}@db:5432")

        def degraded(compute: ComputeConfig) -> ConnectionResult:
            return ConnectionResult(
                status="degraded", latency_ms=3.0, message="answered", warnings=("extension json missing",)
            )

        def down(compute: ComputeConfig, secrets: dict[str, Any]) -> ConnectionResult:
            password = secrets["password"].reveal() if "password" in secrets else "none"
            return ConnectionResult(
                status="unhealthy",
                latency_ms=2.0,
                message=f"refused dsn=postgres://floe:{password}@db",
                warnings=(f"password {password} rejected",),
                details={"dsn": f"postgres://floe:{password}@db"},
            )

        def ok(compute: ComputeConfig, secrets: dict[str, Any]) -> ConnectionResult:
            self.seen_secrets[compute.name] = dict(secrets)
            self.seen_correlation.append(_log.correlation_id())
            return ConnectionResult(status="healthy", latency_ms=1.5, message="ok")

        for name, check in [
            ("sleepy", sleepy),
            ("hung", hung),
            ("raiser", raiser),
            ("degraded", degraded),
            ("down", down),
            ("ok", ok),
        ]:
            self.manager.register(health_plugin(name, check))


@pytest.fixture
def plugins(empty_pm: PluginManager) -> Iterator[FixturePlugins]:
    """The fixture plugins registered on a fresh manager; the hung one is released at teardown."""
    fixture = FixturePlugins(empty_pm)
    fixture.register_all()
    try:
        yield fixture
    finally:
        fixture.release.set()


def compute(name: str, type_: str | None = None, **kwargs: Any) -> ComputeConfig:
    """A compute of the fixture type ``type_`` (default: ``name``)."""
    return ComputeConfig(name=name, type=type_ or name, **kwargs)


def with_password(name: str, type_: str, variable: str, **kwargs: Any) -> ComputeConfig:
    """A compute whose ``password`` credential is the environment variable ``variable``."""
    return ComputeConfig(name=name, type=type_, credentials={"password": SecretRef(env=variable)}, **kwargs)


def _recorded(point: Any) -> bool:
    """False for the empty delta points older SDKs (1.20) keep reporting for past attribute sets."""
    return getattr(point, "count", None) != 0 and getattr(point, "value", None) != 0


class Telemetry:
    """The in-memory OpenTelemetry exporters, with helpers to read what was recorded."""

    def __init__(self, exporter: Any, reader: Any) -> None:
        self.exporter = exporter
        self.reader = reader

    def reset(self) -> None:
        self.exporter.clear()
        self.reader.get_metrics_data()  # delta temporality: collecting forgets

    def spans(self, name: str | None = None) -> list[Any]:
        return [s for s in self.exporter.get_finished_spans() if name is None or s.name == name]

    def points(self, metric: str) -> list[tuple[dict[str, Any], Any]]:
        """``(attributes, point)`` of every data point of ``metric`` since the last call."""
        data = self.reader.get_metrics_data()
        found: list[tuple[dict[str, Any], Any]] = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        found.extend((dict(p.attributes), p) for p in m.data.data_points if _recorded(p))
        return found

    def all_points(self) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        """Every data point since the last collection, by metric name."""
        data = self.reader.get_metrics_data()
        found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    points = [(dict(p.attributes), p) for p in m.data.data_points if _recorded(p)]
                    found.setdefault(m.name, []).extend(points)
        return found


_SESSION: dict[str, Telemetry] = {}


def _install_sdk() -> Telemetry:
    if "otel" in _SESSION:
        return _SESSION["otel"]
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader(
        preferred_temporality={Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA}
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    assert trace.get_tracer_provider() is tracer_provider, "another tracer provider was installed first"
    assert metrics.get_meter_provider() is meter_provider, "another meter provider was installed first"
    _SESSION["otel"] = Telemetry(exporter, reader)
    return _SESSION["otel"]


@pytest.fixture
def otel() -> Telemetry:
    """The OpenTelemetry SDK, installed globally once, emptied for this test."""
    telemetry = _install_sdk()
    telemetry.reset()
    return telemetry


@pytest.fixture(autouse=True)
def quiet_observability(monkeypatch: pytest.MonkeyPatch) -> None:
    """Default log settings whatever the environment (the root conftest resets the rest)."""
    monkeypatch.delenv("FLOE_LOG_LEVEL", raising=False)
    monkeypatch.delenv("FLOE_LOG_FORMAT", raising=False)
