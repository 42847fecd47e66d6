"""``floe resources``: the job pod's requests and limits of every approved compute."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser(
        "resources",
        help="show resource requests and limits per compute",
        description="Resolve the product's platform manifest and print, per approved compute, the "
        "CPU, memory and ephemeral-storage requests and limits its plugin asks for.",
    )
    parser.add_argument("floe_yaml", metavar="FLOE_YAML", help="the data product file (floe.yaml)")
    parser.add_argument("--env", help="apply this environment's overlay from the manifest")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def collect(floe_yaml: str, env: str | None) -> list[dict[str, Any]]:
    """One row per approved compute, in manifest order."""
    from floe_hooks.manager import get_plugin_manager
    from floe_hooks.manifest import load_product

    pm = get_plugin_manager()
    product = load_product(floe_yaml, env=env, manager=pm)
    from floe_hooks._profile_values import _register_known_secrets

    _register_known_secrets(product.manifest.computes)  # a plugin echoing one is masked
    rows = []
    for compute in product.manifest.computes:
        spec = pm.resource_requirements(compute)
        rows.append(
            {
                "compute": compute.name,
                "type": compute.type,
                "preset": compute.resources if isinstance(compute.resources, str) else None,
                "custom": compute.resources is not None and not isinstance(compute.resources, str),
                "default": compute.name == product.manifest.default,
                **spec.to_kubernetes(),
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    """Print the table or JSON."""
    from floe_hooks._commands._output import dump_json, table
    from floe_hooks.manager import hook_timeout_from_env, run_with_hook_deadline

    rows = run_with_hook_deadline(lambda: collect(args.floe_yaml, args.env), hook_timeout_from_env())
    if args.format == "json":
        dump_json({"computes": rows})
        return 0

    def pair(row: dict[str, Any], key: str) -> str:
        request, limit = row["requests"].get(key), row["limits"].get(key)
        return f"{request or '-'} / {limit or '-'}"

    table(
        ("compute", "type", "preset", "cpu (req/limit)", "memory (req/limit)", "ephemeral (req/limit)"),
        [
            (
                r["compute"] + (" *" if r["default"] else ""),
                r["type"],
                r["preset"] or ("custom" if r["custom"] else "plugin default"),
                pair(r, "cpu"),
                pair(r, "memory"),
                pair(r, "ephemeral-storage"),
            )
            for r in rows
        ],
    )
    print("* the default compute (the dbt target of transforms that name none)")
    return 0
