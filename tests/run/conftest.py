"""Fixtures and helpers for the floe run tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (relative path -> text, dedented) under ``root``; returns ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def floe_cli(
    root: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``floe run floe.yaml --format json ARGS`` in ``root``, as a user runs it (a child process)."""
    return subprocess.run(
        [sys.executable, "-m", "floe_hooks.cli", "run", "floe.yaml", "--format", "json", *args],
        cwd=root,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


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
