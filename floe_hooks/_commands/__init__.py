"""Sub-commands of ``floe``: each module has ``add_parser(subparsers)`` and ``run(args)``."""
