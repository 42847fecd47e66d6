"""OpenTelemetry: a span per hook call, validation and profile metrics, nothing without an SDK."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from plugin_site import Site  # tests/conftest.py puts tests/ on sys.path

from floe_hooks import ComputeConfig, PluginError, PluginManager
from floe_hooks.health import check_health

from .conftest import FixturePlugins, Telemetry, compute, health_plugin, with_password

SPAN = "floe.validate_connection"


def _by_compute(spans: list[Any]) -> dict[str, Any]:
    return {s.attributes["floe.compute.name"]: s for s in spans}


def test_every_hook_call_makes_a_span_with_compute_and_plugin_attributes(
    plugins: FixturePlugins, otel: Telemetry
) -> None:
    target = compute("wh", "ok", resources="medium")
    plugins.manager.generate_profile(target)
    plugins.manager.resource_requirements(target)
    plugins.manager.validate_connection(target, timeout=1.0)
    spans = otel.spans()
    assert [s.name for s in spans] == ["floe.generate_profile", "floe.resource_requirements", SPAN]
    for span in spans:
        assert span.attributes["floe.compute.name"] == "wh"
        assert span.attributes["floe.compute.type"] == "ok"
        assert span.attributes["floe.plugin.name"] == "ok"
        assert span.attributes["floe.plugin.distribution"] == ""  # registered by hand
        assert span.attributes["floe.plugin.version"] == "2.5"
        assert "error.type" not in span.attributes
        assert span.status.is_ok
    assert spans[0].attributes["floe.status"] == "ok"
    assert spans[2].attributes["floe.status"] == "healthy"


def test_spans_of_a_health_check_are_children_of_the_callers_span(
    plugins: FixturePlugins, otel: Telemetry
) -> None:
    from opentelemetry import trace

    tracer = trace.get_tracer("host-app")
    with tracer.start_as_current_span("host.request") as parent:
        check_health([compute("ok"), compute("s", "sleepy"), compute("down")], manager=plugins.manager)
    spans = _by_compute(otel.spans(SPAN))
    assert set(spans) == {"ok", "s", "down"}
    for span in spans.values():
        assert span.parent is not None
        assert span.parent.span_id == parent.get_span_context().span_id
        assert span.context.trace_id == parent.get_span_context().trace_id
    assert spans["down"].attributes["floe.status"] == "unhealthy"
    assert spans["down"].attributes["error.type"] == "ComputeConnectionError"


def test_a_failing_plugin_span_has_the_error_type_and_no_message(
    plugins: FixturePlugins, otel: Telemetry
) -> None:
    check_health(
        [with_password("pg", "raiser", "PG_PW")], manager=plugins.manager, environ={"PG_PW": "span-canary-99"}
    )
    [span] = otel.spans(SPAN)
    assert span.attributes["floe.status"] == "unhealthy"
    assert span.attributes["error.type"] == "ConnectionRefusedError"
    assert not span.status.is_ok
    assert span.status.description == "ConnectionRefusedError raised"
    assert list(span.events) == []  # no exception event: its message could carry a secret


def test_a_timed_out_check_ends_its_span_at_the_timeout(plugins: FixturePlugins, otel: Telemetry) -> None:
    check_health([compute("hung")], manager=plugins.manager, timeout=0.2)
    [span] = otel.spans(SPAN)  # ended although the plugin is still running
    assert span.attributes["floe.status"] == "unhealthy"
    assert span.attributes["error.type"] == "ComputeTimeoutError"
    assert span.status.description == "timed out after 0.2 s"
    plugins.release.set()
    assert plugins.hung_returned.wait(5)
    # the late return changes nothing: still one span, still timed out
    assert [s.attributes["error.type"] for s in otel.spans(SPAN)] == ["ComputeTimeoutError"]


def test_a_failing_generate_profile_span_and_metric(empty_pm: PluginManager, otel: Telemetry) -> None:
    def broken(compute: ComputeConfig) -> dict[str, Any]:
        raise KeyError("host")

    empty_pm.register(health_plugin("broken", lambda compute: None, profile=broken))
    with pytest.raises(PluginError, match="generate_profile raised KeyError"):
        empty_pm.generate_profile(compute("b", "broken"))
    [span] = otel.spans("floe.generate_profile")
    assert span.attributes["floe.status"] == "error"
    assert span.attributes["error.type"] == "KeyError"
    [(attributes, point)] = otel.points("floe.profile.duration")
    assert attributes == {"floe.compute.type": "broken", "floe.status": "error", "error.type": "KeyError"}
    assert point.count == 1


def test_profile_generation_duration_is_a_histogram_in_ms(plugins: FixturePlugins, otel: Telemetry) -> None:
    for name in ("a", "b", "c"):
        plugins.manager.generate_profile(compute(name, "ok"))
    [(attributes, point)] = otel.points("floe.profile.duration")
    assert attributes == {"floe.compute.type": "ok", "floe.status": "ok"}
    assert point.count == 3
    assert point.sum >= 0


def test_validation_metrics_cover_every_outcome(plugins: FixturePlugins, otel: Telemetry) -> None:
    computes = [
        compute("ok"),
        compute("s", "sleepy"),
        compute("degraded"),
        compute("down"),
        with_password("pg", "raiser", "PG_PW"),
        compute("hung", timeout_seconds=0.2),
        with_password("nocreds", "ok", "MISSING_VAR"),
        compute("nope"),
    ]
    check_health(computes, manager=plugins.manager, environ={"PG_PW": "x-secret-x"})
    points = otel.all_points()

    durations = {(a["floe.compute.type"], a["floe.status"]): p for a, p in points["floe.validation.duration"]}
    assert {key: p.count for key, p in durations.items()} == {
        ("ok", "healthy"): 1,
        ("sleepy", "healthy"): 1,
        ("degraded", "degraded"): 1,
        ("down", "unhealthy"): 1,
        ("raiser", "unhealthy"): 1,
        ("hung", "unhealthy"): 1,
        ("ok", "unhealthy"): 1,
        ("nope", "unhealthy"): 1,
    }
    assert durations[("sleepy", "healthy")].sum >= 200  # milliseconds
    assert durations[("hung", "unhealthy")].sum >= 200

    errors = {
        (a["floe.compute.type"], a["error.type"]): (a["floe.status"], p.value)
        for a, p in points["floe.validation.errors"]
    }
    assert errors == {
        ("down", "ComputeConnectionError"): ("unhealthy", 1),
        ("raiser", "ConnectionRefusedError"): ("unhealthy", 1),
        ("hung", "ComputeTimeoutError"): ("unhealthy", 1),
        ("ok", "ConfigError"): ("unhealthy", 1),
        ("nope", "UnknownComputeTypeError"): ("unhealthy", 1),
    }


def test_metric_attributes_are_low_cardinality(plugins: FixturePlugins, otel: Telemetry) -> None:
    check_health([compute(f"c{i}", "ok") for i in range(5)], manager=plugins.manager)
    [(attributes, point)] = otel.points("floe.validation.duration")
    assert attributes == {"floe.compute.type": "ok", "floe.status": "healthy"}
    assert point.count == 5


def test_discovered_plugins_report_their_distribution_and_version(site_root: Path, otel: Telemetry) -> None:
    site = Site(site_root)
    site.good("lake", version="3.1.4")  # its metadata says 1.0: the span names the distribution's
    manager = PluginManager(path=site.path, strict=True)
    check_health([compute("lake")], manager=manager)
    [span] = otel.spans(SPAN)
    assert span.attributes["floe.plugin.distribution"] == "floe-compute-lake"
    assert span.attributes["floe.plugin.version"] == "3.1.4"


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# hand-written: a fresh interpreter whose imported modules are the measure (testing imports pytest)
_PLUGIN = """
    import sys, types
    from floe_hooks import (PluginManager, PluginMetadata, ConnectionResult, ResourceSpec, hookimpl,
                            ComputeConfig, check_health)

    class Plugin:
        @staticmethod
        @hookimpl
        def plugin_metadata():
            return PluginMetadata(name="p", version="1", floe_api_version="1.0", compute_types=("p",))
        @staticmethod
        @hookimpl
        def generate_profile(compute):
            return {"type": "p"}
        @staticmethod
        @hookimpl
        def validate_connection(compute):
            return ConnectionResult(status="healthy", latency_ms=1.0)
        @staticmethod
        @hookimpl
        def resource_requirements(compute):
            return ResourceSpec.preset("small")

    pm = PluginManager(autoload=False)
    pm.register(Plugin())
    c = ComputeConfig(name="c", type="p")
"""


def test_without_an_sdk_neither_opentelemetry_nor_structlog_is_imported() -> None:
    out = _python(
        _PLUGIN
        + """
    pm.generate_profile(c)
    check_health([c, ComputeConfig(name="d", type="p")], manager=pm)
    print(sorted(m for m in sys.modules if m.split(".")[0] in ("opentelemetry", "structlog")))
    """
    )
    assert out.strip() == "[]"


def test_an_sdk_installed_later_in_the_process_is_picked_up() -> None:
    out = _python(
        _PLUGIN
        + """
    pm.generate_profile(c)
    assert "opentelemetry" not in sys.modules
    from opentelemetry import trace
    pm.generate_profile(c)  # the API imported, no SDK yet: still nothing recorded, no error
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    pm.generate_profile(c)
    check_health([c], manager=pm)
    print([s.name for s in exporter.get_finished_spans()])
    """
    )
    assert out.strip() == "['floe.generate_profile', 'floe.validate_connection']"


def test_importing_floe_hooks_stays_free_of_telemetry_and_logging_modules() -> None:
    out = _python(
        """
        import sys, floe_hooks
        ours = ("floe_hooks.telemetry", "floe_hooks._log", "floe_hooks._redact", "floe_hooks.health")
        heavy = ("opentelemetry", "structlog")
        print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in ours))
        """
    )
    assert out.strip() == "[]"
