"""``floe schema {manifest,product}``: JSON Schema of the two files, for editors."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser(
        "schema",
        help="print the JSON Schema of manifest.yaml or floe.yaml",
        description="Print the JSON Schema (draft 2020-12) of the platform manifest (including every "
        "installed plugin's config) or of the data product file.",
    )
    parser.add_argument("kind", choices=("manifest", "product"), help="which file")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the schema as JSON."""
    from floe_hooks._commands._output import dump_json
    from floe_hooks.schema import manifest_schema, product_schema

    dump_json(manifest_schema() if args.kind == "manifest" else product_schema())
    return 0
