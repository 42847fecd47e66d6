"""The pluggy markers of the ``floe`` project (re-exported by :mod:`floe_hooks`)."""

import pluggy

PROJECT = "floe"

#: Marks a function in ``floe_hooks.hookspecs`` as a hook specification.
hookspec = pluggy.HookspecMarker(PROJECT)

#: Marks a plugin's function as the implementation of the hook of the same name.
hookimpl = pluggy.HookimplMarker(PROJECT)
