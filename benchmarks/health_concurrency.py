"""Health checks at scale (design.md: 100 checks of 200 ms in under 1 s; a hung plugin costs its timeout).

Registers in-process fixture plugins (one sleeping 200 ms, one hanging until the end of
the run) and times :func:`floe_hooks.check_health`, best and median of ``--repeat`` runs:

* ``100 x 200 ms``: 100 computes whose check sleeps 200 ms (ideal: 200 ms).
* ``99 x 200 ms + 1 hung (timeout 0.5 s)``: the hung one must cost exactly its timeout.
* ``1000 x 200 ms, max_workers=256``: beyond the pool, a second and later waves.
* hook-call overhead: a ``generate_profile`` through the manager, telemetry inactive
  (no OpenTelemetry imported; then the API imported without an SDK), against the
  bare function call; and with the SDK installed (spans + metrics, no exporter work).

    python benchmarks/health_concurrency.py
    python benchmarks/health_concurrency.py --repeat 10 --sdk
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from floe_hooks import (
    ComputeConfig,
    ConnectionResult,
    PluginManager,
    PluginMetadata,
    ResourceSpec,
    hookimpl,
)
from floe_hooks.health import check_health

RELEASE = threading.Event()


def plugin(name: str, check: Any) -> object:
    def plugin_metadata() -> PluginMetadata:
        return PluginMetadata(name=name, version="1", floe_api_version="1.0", compute_types=(name,))

    def generate_profile(compute: ComputeConfig) -> dict[str, Any]:
        return {"type": name, "path": ":memory:"}

    def resource_requirements(compute: ComputeConfig) -> ResourceSpec:
        return ResourceSpec.preset("small")

    namespace = {
        "plugin_metadata": staticmethod(hookimpl(plugin_metadata)),
        "generate_profile": staticmethod(hookimpl(generate_profile)),
        "resource_requirements": staticmethod(hookimpl(resource_requirements)),
        "validate_connection": staticmethod(hookimpl(check)),
    }
    return type(name, (), namespace)()


def sleepy(compute: ComputeConfig) -> ConnectionResult:
    time.sleep(0.2)
    return ConnectionResult(status="healthy", latency_ms=200.0)


def hung(compute: ComputeConfig) -> ConnectionResult:
    RELEASE.wait()
    return ConnectionResult(status="healthy", latency_ms=0.0)


def manager() -> PluginManager:
    pm = PluginManager(autoload=False)
    pm.register(plugin("sleepy", sleepy))
    pm.register(plugin("hung", hung))
    return pm


def timed(repeat: int, run: Any) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return samples


def per_call(label: str, through: float, direct: float) -> None:
    print(f"{label:<48} {through:6.2f} us/call (bare function {direct:.2f})")


def report(label: str, samples: list[float], unit: str = "s", scale: float = 1.0) -> None:
    best, median = min(samples) * scale, statistics.median(samples) * scale
    print(f"{label:<48} best {best:8.3f} {unit}   median {median:8.3f} {unit}   (n={len(samples)})")


def hook_overhead(pm: PluginManager, calls: int) -> tuple[float, float]:
    """Microseconds per generate_profile through the manager, and per bare function call."""
    compute = ComputeConfig(name="c", type="sleepy")
    pm.generate_profile(compute)  # warm the cached subset caller
    bare = plugin("bare", sleepy).generate_profile  # type: ignore[attr-defined]
    start = time.perf_counter()
    for _ in range(calls):
        pm.generate_profile(compute)
    through = (time.perf_counter() - start) / calls * 1e6
    start = time.perf_counter()
    for _ in range(calls):
        bare(compute)
    direct = (time.perf_counter() - start) / calls * 1e6
    return through, direct


def wrapper_cost(calls: int) -> float:
    """Microseconds per ``telemetry.hook_call`` block alone (what the manager adds for telemetry)."""
    from floe_hooks import telemetry

    compute = ComputeConfig(name="c", type="sleepy")
    start = time.perf_counter()
    for _ in range(calls):
        with telemetry.hook_call("generate_profile", compute, None) as call:  # type: ignore[arg-type]
            call.returned(None)
    return (time.perf_counter() - start) / calls * 1e6


def install_sdk() -> None:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider

    trace.set_tracer_provider(TracerProvider())
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100_000, help="hook calls for the overhead figure")
    parser.add_argument("--sdk", action="store_true", help="also measure with the OpenTelemetry SDK")
    args = parser.parse_args()

    pm = manager()
    hundred = [ComputeConfig(name=f"c{i:03d}", type="sleepy") for i in range(100)]
    rounds = iter(range(1_000_000))
    thousand = [ComputeConfig(name=f"c{i:04d}", type="sleepy") for i in range(1000)]

    def run_hundred() -> None:
        results = check_health(hundred, manager=pm)
        assert all(r.status.value == "healthy" for r in results)

    def run_hung() -> None:
        # A new name each round: a compute whose abandoned check has not returned is not
        # checked again (it would be reported at once, costing nothing).
        stuck = ComputeConfig(name=f"stuck_{next(rounds)}", type="hung", timeout_seconds=0.5)
        results = check_health([*hundred[:99], stuck], manager=pm)
        assert results[-1].message == "timed out after 0.5 s", results[-1]

    def run_thousand() -> None:
        results = check_health(thousand, manager=pm, timeout=30)
        assert all(r.status.value == "healthy" for r in results)

    print(f"python {sys.version.split()[0]}, {threading.active_count()} threads at start")
    report("100 x 200 ms checks", timed(args.repeat, run_hundred))
    report("99 x 200 ms + 1 hung (timeout 0.5 s)", timed(args.repeat, run_hung))
    report("1000 x 200 ms checks (256 workers)", timed(max(1, args.repeat // 2), run_thousand))

    through, direct = hook_overhead(pm, args.calls)
    per_call("generate_profile via manager, no OpenTelemetry", through, direct)
    print(f"{'  of which telemetry.hook_call':<48} {wrapper_cost(args.calls):6.2f} us/call")
    import importlib

    for module in ("opentelemetry.trace", "opentelemetry.metrics"):  # the API without an SDK: inactive
        importlib.import_module(module)

    through, direct = hook_overhead(pm, args.calls)
    per_call("generate_profile via manager, API without SDK", through, direct)
    print(f"{'  of which telemetry.hook_call':<48} {wrapper_cost(args.calls):6.2f} us/call")
    if args.sdk:
        install_sdk()
        through, direct = hook_overhead(pm, args.calls // 10)
        per_call("generate_profile via manager, SDK installed", through, direct)
        report("100 x 200 ms checks, SDK installed", timed(args.repeat, run_hundred))
    RELEASE.set()


if __name__ == "__main__":
    main()
