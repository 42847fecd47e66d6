"""``floe validate``: health-check computes concurrently, each under an enforced timeout."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from floe_hooks.models import ComputeConfig, ConnectionResult


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    from floe_hooks._limits import MAX_SECONDS

    if not (0 < value <= MAX_SECONDS):  # also false for nan
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds > 0 and at most {MAX_SECONDS:g} (7 days), got {text[:40]!r}"
        )
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser(
        "validate",
        help="health-check computes concurrently",
        description="Health-check the approved computes of a manifest.yaml (or of the platform "
        "manifest a floe.yaml points to), concurrently, each under a timeout the framework "
        "enforces. Exit status: 0 all healthy (degraded too, unless --strict), 1 any unhealthy, "
        "2 bad input.",
    )
    parser.add_argument(
        "path",
        metavar="MANIFEST_OR_FLOE_YAML",
        help="manifest.yaml, or floe.yaml (then relative database paths resolve from its folder, "
        "where dbt runs)",
    )
    parser.add_argument(
        "--compute",
        action="append",
        metavar="NAME",
        help="check only this compute (repeatable; default: every approved compute)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="S",
        help="seconds allowed to each check (default: the compute's timeout_seconds, else 5)",
    )
    parser.add_argument("--env", metavar="ENV", help="apply this environment's overlay first")
    parser.add_argument("--strict", action="store_true", help="treat degraded as a failure (exit 1)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--watch",
        type=_seconds,
        metavar="SECONDS",
        help="re-check every SECONDS and print status changes until interrupted (Ctrl-C)",
    )
    # Stop --watch after N rounds (scripts and tests); not part of the advertised interface.
    parser.add_argument("--watch-count", type=_count, metavar="N", help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def select(computes: Sequence[ComputeConfig], names: Sequence[str] | None, file: str) -> list[ComputeConfig]:
    """The computes named by ``--compute`` (all when none), in the manifest's order.

    :raises ConfigError: for a name the manifest does not approve, listing the allowed ones.
    """
    from floe_hooks.errors import ConfigError

    if not names:
        return list(computes)
    known = [c.name for c in computes]
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown compute {', '.join(map(repr, unknown))}; allowed: {', '.join(known) or 'none'}",
            file=file,
            path="--compute",
        )
    wanted = set(names)
    return [c for c in computes if c.name in wanted]


def exit_code(results: Sequence[ConnectionResult], strict: bool) -> int:
    """0 when every result is healthy (or degraded, unless ``strict``), else 1."""
    from floe_hooks.models import ConnectionStatus

    bad = {ConnectionStatus.UNHEALTHY}
    if strict:
        bad.add(ConnectionStatus.DEGRADED)
    return 1 if any(r.status in bad for r in results) else 0


def _row(compute: ComputeConfig, result: ConnectionResult) -> dict[str, Any]:
    from floe_hooks.health import result_fields

    return {"compute": compute.name, "type": compute.type, **result_fields(result)}


def _print_report(
    computes: Sequence[ComputeConfig],
    results: Sequence[ConnectionResult],
    fmt: str,
    catalog: dict[str, Any] | None = None,
) -> None:
    from floe_hooks._commands._output import dump_json, table

    rows = [_row(c, r) for c, r in zip(computes, results, strict=True)]
    if fmt == "json":
        every = [*rows, *([catalog] if catalog else [])]
        summary = {s: sum(r["status"] == s for r in every) for s in ("healthy", "degraded", "unhealthy")}
        dump_json({"computes": rows, **({"catalog": catalog} if catalog else {}), "summary": summary})
        return
    if catalog:  # its own row: the catalog every compute exchanges tables through
        rows.append({**catalog, "compute": f"catalog {catalog['name']}"})
    table(
        ("compute", "type", "status", "latency", "message", "warnings"),
        [
            (
                r["compute"],
                r["type"],
                r["status"],
                f"{r['latency_ms']:.1f} ms",
                r["message"] or "-",
                "; ".join(r["warnings"]) or "-",
            )
            for r in rows
        ],
    )


class _Progress:
    """``checking 3/10 computes`` on stderr, rewritten in place; only on a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.shown = total > 0 and sys.stderr.isatty()
        self._draw()

    def _draw(self) -> None:
        if self.shown:
            sys.stderr.write(f"\rfloe: checking computes: {self.done}/{self.total} done\x1b[K")
            sys.stderr.flush()

    def __call__(self, index: int, result: ConnectionResult) -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _check(
    computes: Sequence[ComputeConfig], args: argparse.Namespace, manager: Any
) -> list[ConnectionResult]:
    from floe_hooks.health import check_health

    progress = _Progress(len(computes))
    try:
        return check_health(computes, timeout=args.timeout, manager=manager, on_result=progress)
    finally:
        progress.close()


def _watch(computes: Sequence[ComputeConfig], args: argparse.Namespace, manager: Any) -> int:
    import datetime
    import json
    import time

    from floe_hooks.health import transitions
    from floe_hooks.models import ConnectionStatus

    types = {c.name: c.type for c in computes}
    previous: dict[str, ConnectionStatus] = {}
    code = 0
    rounds = 0
    try:
        while True:
            began = time.monotonic()
            results = _check(computes, args, manager)
            code = exit_code(results, args.strict)
            now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            changes = transitions(previous, results)
            if args.format == "json":
                for change in changes:
                    line = {
                        "time": now,
                        "compute": change.compute,
                        "type": types.get(change.compute),
                        "from": change.before.value if change.before is not None else None,
                        "to": change.after.value,
                        "latency_ms": round(change.result.latency_ms, 3),
                        "message": change.result.message,
                        "warnings": list(change.result.warnings),
                    }
                    print(json.dumps(line, sort_keys=True))
            elif not previous:
                _print_report(computes, results, "table")
            else:
                for change in changes:
                    print(f"{now}  {change.describe()}")
            sys.stdout.flush()
            previous = {r.compute or "": r.status for r in results}
            rounds += 1
            if args.watch_count is not None and rounds >= args.watch_count:
                return code
            time.sleep(max(args.watch - (time.monotonic() - began), 0.0))
    except KeyboardInterrupt:
        return code


def run(args: argparse.Namespace) -> int:
    """Check the selected computes; 0 healthy, 1 unhealthy (or degraded with --strict)."""
    from floe_hooks.manager import get_plugin_manager
    from floe_hooks.manifest import load_computes

    manager = get_plugin_manager()
    manifest = load_computes(args.path, env=args.env, manager=manager)
    computes = select(manifest.computes, args.compute, args.path)
    from pathlib import Path

    if Path(manifest.path).resolve() != Path(args.path).resolve():
        # a floe.yaml: check from its folder, where dbt runs, so that relative database
        # paths mean what they mean to dbt; the folder of the path as given, never of a
        # symlink's target (dbt runs beside the link)
        os.chdir(os.path.dirname(os.path.abspath(args.path)))
    if args.watch is not None:
        return _watch(computes, args, manager)
    catalog = manifest.catalog if not args.compute else None
    if catalog is None:
        results = _check(computes, args, manager)
        _print_report(computes, results, args.format)
        return exit_code(results, args.strict)
    from floe_hooks.catalog import check_catalog_concurrently

    wait = check_catalog_concurrently(catalog, args.timeout)
    results = _check(computes, args, manager)
    row = wait()
    _print_report(computes, results, args.format, row[1])
    return exit_code([*results, row[0]], args.strict)
