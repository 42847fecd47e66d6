"""Value rules with one definition, shared by the models, the loader, the schema and the CLI."""

from __future__ import annotations

import re

__all__ = ["COMPUTE_NAME", "COMPUTE_NAME_PATTERN", "name_problem", "positive_seconds"]

#: A compute name or type: lowercase letters, digits and underscores, starting with a
#: letter, at most 63 characters (a dbt target, a Kubernetes label value, an identifier).
COMPUTE_NAME_PATTERN = r"[a-z][a-z0-9_]{0,62}"
COMPUTE_NAME = re.compile(COMPUTE_NAME_PATTERN)


def name_problem(value: str, what: str) -> str | None:
    """Why ``value`` is no valid ``what`` (a compute name or type, a catalog name) by :data:`COMPUTE_NAME`."""
    if COMPUTE_NAME.fullmatch(value):
        return None
    return (
        f"{value!r} is not a valid {what}: use lowercase letters, digits and underscores, "
        "starting with a letter (at most 63 characters)"
    )


def positive_seconds(value: float) -> bool:
    """True for a usable duration: greater than 0 and at most a week (false for nan and inf).

    The one duration rule; :func:`floe_hooks._limits.duration_problem` says why a value breaks it.
    """
    from floe_hooks._limits import duration_problem

    return duration_problem(value) is None
