"""Fixtures for the floe run tests."""

from __future__ import annotations

from typing import Any

import pytest

_EXPORTER: list[Any] = []


class Spans:
    """Finished spans captured by an in-memory exporter."""

    def __init__(self, exporter: Any) -> None:
        self.exporter = exporter

    def spans(self) -> list[Any]:
        """Every span finished since the test started."""
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def otel() -> Spans:
    """An OpenTelemetry SDK tracer provider (the session's, if another test installed one) exporting here."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if not _EXPORTER:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        _EXPORTER.append(exporter)
    _EXPORTER[0].clear()
    return Spans(_EXPORTER[0])
