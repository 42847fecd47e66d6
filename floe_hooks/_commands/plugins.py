"""``floe plugins``: the installed compute plugins and their health."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser(
        "plugins",
        help="list installed compute plugins",
        description="List installed compute plugins (entry-point group floe.computes). "
        "Exit status 1 when any failed to load.",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def collect() -> list[dict[str, Any]]:
    """One row per plugin, healthy or failed, sorted by name."""
    from floe_hooks.manager import get_plugin_manager

    pm = get_plugin_manager()
    rows: dict[str, dict[str, Any]] = {}
    failures = {f.name: f for f in pm.failures}
    for info in pm.registered:
        rows[info.name] = {
            "name": info.name,
            "version": info.metadata.version,
            "distribution": info.distribution,
            "distribution_version": info.distribution_version,
            "api_version": info.metadata.floe_api_version,
            "compute_types": list(info.metadata.compute_types),
            "dbt_adapter": info.metadata.dbt_adapter,
            "description": info.metadata.description,
            "hooks": list(info.hooks),
            "status": "ok",
            "reason": None,
        }
    for failure in failures.values():
        row = rows.setdefault(
            failure.name,
            {
                "name": failure.name,
                "version": None,
                "distribution": failure.distribution,
                "distribution_version": failure.version,
                "api_version": None,
                "compute_types": [],
                "dbt_adapter": None,
                "description": "",
                "hooks": [],
            },
        )
        row["status"] = "failed"
        row["reason"] = f"{failure.error}: {failure.reason}"
    return [rows[name] for name in sorted(rows)]


def run(args: argparse.Namespace) -> int:
    """Print the plugins; 1 when any failed."""
    from floe_hooks._commands._output import dump_json, table

    rows = collect()
    if args.format == "json":
        dump_json({"plugins": rows})
    else:
        table(
            ("name", "version", "distribution", "api", "types", "hooks", "status"),
            [
                (
                    r["name"],
                    r["version"] or "-",
                    f"{r['distribution'] or '-'} {r['distribution_version'] or ''}".strip(),
                    r["api_version"] or "-",
                    ",".join(r["compute_types"]) or "-",
                    ",".join(r["hooks"]) or "-",
                    "ok" if r["status"] == "ok" else f"failed: {r['reason']}",
                )
                for r in rows
            ],
        )
    return 1 if any(r["status"] != "ok" for r in rows) else 0
