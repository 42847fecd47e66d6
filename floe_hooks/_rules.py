"""Value rules with one definition, shared by the models, the loader, the schema and the CLI."""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "COMPUTE_NAME",
    "COMPUTE_NAME_PATTERN",
    "CONTROL_PATTERN",
    "control_problem",
    "escape_controls",
    "first_control",
    "model_path_parts",
    "name_problem",
    "positive_seconds",
    "str_tuple",
]

#: A compute name or type: lowercase letters, digits and underscores, starting with a
#: letter, at most 63 characters (a dbt target, a Kubernetes label value, an identifier).
COMPUTE_NAME_PATTERN = r"[a-z][a-z0-9_]{0,62}"
COMPUTE_NAME = re.compile(COMPUTE_NAME_PATTERN)


#: A character no path in a manifest may hold: C0/C1 controls, DEL, the Unicode line separators.
#: Every one of them is non-printable, so printable text (nearly all) is answered by
#: ``str.isprintable`` and the expression is compiled only for the rest: compiling it
#: costs about a millisecond, which every ``floe`` command would pay on import.
CONTROL_PATTERN = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"


def first_control(text: str) -> str | None:
    """The first character of ``text`` matching :data:`CONTROL_PATTERN`, or None.

    >>> first_control("a\\u2028b"), first_control("caf\\xe9\\xa0"), first_control("ok")
    ('\\u2028', None, None)
    """
    if text.isprintable():
        return None
    found = re.search(CONTROL_PATTERN, text)
    return None if found is None else found[0]


def escape_controls(text: str) -> str:
    """``text`` with each :data:`CONTROL_PATTERN` character written as its escape, on one line.

    >>> print(escape_controls("key\\nwith\\tbreaks"))
    key\\nwith\\tbreaks
    """
    if text.isprintable():
        return text
    return re.sub(CONTROL_PATTERN, lambda m: repr(m[0])[1:-1], text)


def control_problem(text: str, what: str, *, quoted: bool = False) -> str | None:
    """Why ``text`` is no valid ``what`` (``a file path``, ``a model path``): the first control character.

    >>> print(control_problem("models/a\\tb", "a model path"))
    contains the control character '\\t'; a model path must be printable text
    """
    control = first_control(text)
    if control is None:
        return None
    subject = f"{text!r} contains" if quoted else "contains"
    return f"{subject} the control character {control!r}; {what} must be printable text"


def model_path_parts(text: str) -> tuple[tuple[str, ...], str | None]:
    """A transform's model path as its parts, and why it is no folder or file inside the dbt project.

    >>> model_path_parts("./models//staging/")
    (('models', 'staging'), None)
    >>> model_path_parts("../shared")[1]
    "'../shared' is not a relative path inside the dbt project (use '/', no '..')"
    """
    problem = control_problem(text, "a model path", quoted=True)
    if problem is not None:
        return (), problem
    # plain string operations: PurePosixPath costs 10 us a path, which adds up at 10,000 transforms
    parts = tuple(p for p in text.strip().split("/") if p not in ("", "."))
    if not text.strip() or "\\" in text or text.strip().startswith("/") or ".." in parts:
        return (), f"{text!r} is not a relative path inside the dbt project (use '/', no '..')"
    if not parts:
        return (), f"{text!r} selects the whole dbt project; name a folder of models"
    return parts, None


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


def str_tuple(value: Any) -> tuple[str, ...]:
    """The converter of the models' ``tuple[str, ...]`` fields: any iterable, as a tuple.

    >>> str_tuple(["duckdb", "motherduck"])
    ('duckdb', 'motherduck')
    """
    return tuple(value)
