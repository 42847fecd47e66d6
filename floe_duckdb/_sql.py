"""Identifier and literal quoting for the SQL this plugin writes, and the names it accepts.

Kept free of DuckDB imports: the config validators use it at compile time.
"""

from __future__ import annotations

import re

#: An unquoted SQL identifier as dbt-duckdb writes them (aliases, setting names, option keys).
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

#: DuckDB's reserved keywords (``duckdb_keywords()`` where ``keyword_category = 'reserved'``,
#: over the supported releases: 1.1 also reserves ``grant``):
#: dbt-duckdb writes attach aliases unquoted, so none of these may be one.
RESERVED = frozenset(
    {
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "default",
        "deferrable",
        "desc",
        "describe",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lambda",
        "lateral",
        "leading",
        "limit",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "pivot",
        "pivot_longer",
        "pivot_wider",
        "placing",
        "primary",
        "qualify",
        "references",
        "returning",
        "select",
        "show",
        "some",
        "summarize",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "unpivot",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    }
)


def identifier_problem(value: object) -> str | None:
    """Why ``value`` cannot be written as an unquoted identifier, or None when it can."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        return (
            f"{value!r} is not a valid identifier: use letters, digits and underscores, "
            "starting with a letter or underscore (at most 63 characters)"
        )
    if value.lower() in RESERVED:
        return f"{value!r} is a reserved SQL keyword; choose another name"
    return None


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted identifier (embedded quotes doubled)."""
    if "\x00" in name:
        raise ValueError("an identifier cannot contain a NUL character")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a single-quoted string literal (embedded quotes doubled).

    DuckDB's ``'...'`` strings know no backslash escapes, so doubling the quote is the
    whole escaping; NUL cannot be represented and is refused.
    """
    if "\x00" in value:
        raise ValueError("a SQL string literal cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"
