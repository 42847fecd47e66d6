"""``floe compile``: write profiles.yml and compiled_artifacts.json for a data product."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser(
        "compile",
        help="compile floe.yaml into dbt profiles and a run plan",
        description="Resolve the product's platform manifest (governance, environment overlay), "
        "validate every compute selection and write DIR/profiles.yml and DIR/compiled_artifacts.json "
        "atomically. Exit status 2 on bad input; nothing is written then.",
    )
    parser.add_argument("floe_yaml", metavar="FLOE_YAML", help="the data product file (floe.yaml)")
    parser.add_argument("--env", help="apply this environment's overlay from the manifest")
    parser.add_argument(
        "--out", metavar="DIR", help="output directory (default: target/floe beside FLOE_YAML)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Compile and write; print what was written and how to run dbt with it."""
    import shlex

    from floe_hooks._notes import collecting
    from floe_hooks.compile import compile_product, default_out_dir, write_outputs
    from floe_hooks.manager import hook_timeout_from_env, run_with_hook_deadline
    from floe_hooks.manifest import load_product

    timeout = hook_timeout_from_env()
    product = load_product(args.floe_yaml, env=args.env)
    with collecting() as notes:  # what plugins said while compiling: printed after the paths
        compiled = run_with_hook_deadline(lambda: compile_product(product), timeout)
    out = args.out if args.out is not None else default_out_dir(args.floe_yaml)
    paths = write_outputs(compiled, out)
    for path in paths:
        print(f"wrote {path}")
    for step in compiled.run_plan:
        print(f"run: {shlex.join(step.command(product.dbt_profile))}")  # paste-safe in a shell
    variables = sorted({b.variable for c in compiled.computes for b in c.secrets})
    if variables:
        print(f"export before running dbt: {', '.join(variables)}")
    for text in notes:
        print(f"note: {text}")
    return 0
