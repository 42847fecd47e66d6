"""OpenTelemetry around every hook call, costing next to nothing when unconfigured.

Only ``opentelemetry-api`` is used, and only once a tracer or meter provider has been
installed by the host (``opentelemetry.trace.set_tracer_provider``): until then the
wrapper returns at once, without importing OpenTelemetry at all.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from floe_hooks.manager import PluginInfo
    from floe_hooks.models import ComputeConfig


def _active() -> bool:
    """True when the host has installed an OpenTelemetry SDK provider."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return False
    return type(trace.get_tracer_provider()).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider")


@contextmanager
def hook_call(hook: str, compute: ComputeConfig, plugin: PluginInfo) -> Iterator[Any]:
    """Span ``floe.<hook>`` around one hook call, when tracing is configured."""
    if not _active():
        yield None
        return
    from opentelemetry import trace

    tracer = trace.get_tracer("floe_hooks")
    with tracer.start_as_current_span(
        f"floe.{hook}",
        attributes={
            "floe.compute.name": compute.name,
            "floe.compute.type": compute.type,
            "floe.plugin.name": plugin.name,
            "floe.plugin.distribution": plugin.distribution or "",
            "floe.plugin.version": plugin.version or "",
        },
    ) as span:
        yield span
