"""``floe new-plugin NAME [--dir DIR]``: a third-party compute plugin that passes its contract suite."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser(
        "new-plugin",
        help="write a new compute plugin distribution (floe-compute-NAME)",
        description="Write DIR/floe-compute-NAME: setup.cfg with the floe.computes entry point, a "
        "module with every required hook and a frozen typed config, py.typed, a README and tests "
        "running floe's contract suite. It installs and passes them as written.",
    )
    parser.add_argument("name", metavar="NAME", help="the compute type, e.g. clickhouse")
    parser.add_argument("--dir", default=".", metavar="DIR", help="where to create it (default: here)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the distribution; print its folder and the next steps."""
    from floe_hooks._scaffold import new_plugin

    target = new_plugin(args.name, args.dir)
    print(target)
    print(
        f"next: pip install -e '{target}[test]' && pytest {target}/tests",
        file=sys.stderr,
    )
    return 0
