"""A plugin's profile made safe to write: plain values, dbt literals, no known secret echoed.

:func:`_plain` copies a plugin's ``generate_profile`` result into exact built-in values
(bounded in size and depth); :func:`dbt_literal` spells each plain string so that dbt's
Jinja rendering gives back exactly that string; :func:`_registered_secret_at` finds a
secret value a plugin echoed. Used by :mod:`floe_hooks.compile` and ``floe resources``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from floe_hooks.models import ComputeConfig
from floe_hooks.secrets import DbtTemplate, SecretBinding

__all__ = ["dbt_literal", "MAX_PROFILE_BYTES"]


#: Largest profile a plugin may return, counting a byte per value plus its text (16 MiB):
#: a dbt output is a few hundred bytes, and even one echoing every byte a floe file may
#: hold stays far below, so this only stops a runaway plugin.
MAX_PROFILE_BYTES = 16 * 1024 * 1024
_MAX_PROFILE_DEPTH = 32


def _plain(value: Any, where: str, budget: list[int] | None = None, depth: int = 0) -> Any:
    """YAML/JSON-safe copy of a plugin's profile; anything else is a contract violation.

    Exact built-in types come out, and :class:`~floe_hooks.DbtTemplate` for a template
    (a subclass's own methods are plugin code, and the YAML dumper refuses a ``str``
    subclass); a profile nested deeper than 32 levels (one that contains itself) or
    larger than :data:`MAX_PROFILE_BYTES` is refused rather than followed or written.
    """
    if budget is None:
        budget = [MAX_PROFILE_BYTES]
    budget[0] -= 1 + (len(value) if isinstance(value, str) else 0)
    if budget[0] < 0:
        raise TypeError(f"{where}: the profile is larger than {MAX_PROFILE_BYTES} bytes")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, DbtTemplate):
        return DbtTemplate(str.__str__(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        number = int.__index__(value)
        if not -(2**63) <= number < 2**63:  # what YAML and JSON readers hold (and str() of an
            raise TypeError(f"{where}: an integer outside the 64-bit range")  # int > 4300 digits fails)
        return number
    if isinstance(value, float):
        return float.__float__(value)
    if depth >= _MAX_PROFILE_DEPTH:
        raise TypeError(f"{where}: nested deeper than {_MAX_PROFILE_DEPTH} levels (does it contain itself?)")
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string")
            if not _encodable(key):
                raise TypeError(f"{where}: a key is not valid Unicode text (it holds a lone surrogate)")
            budget[0] -= len(key)
            out[str.__str__(key)] = _plain(item, f"{where}.{key}", budget, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]", budget, depth + 1) for i, item in enumerate(value)]
    raise TypeError(f"{where} is a {type(value).__name__}, not a YAML value")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# dbt renders every string value of profiles.yml with Jinja (dbt.config.renderer.ProfileRenderer:
# native rendering, then its secret placeholders are substituted). A string comes back changed
# when Jinja's lexer finds a tag in it ({{ {% {#; dbt's own _HAS_RENDER_CHARS_PAT also lists the
# closing }} %} #}), when it holds a carriage return (the lexer turns \r\n and \r into \n), or
# when it ends with a newline (Jinja drops one trailing newline). Native rendering of a plain
# string is one text node, which dbt returns as the str it is: '123', 'True', 'None' stay strings.
# A lone surrogate is escaped too: no YAML emitter can write it as it is.
_DBT_ALTERS = re.compile(r"[{][{%#]|[}%#][}]|[\r\ud800-\udfff]")
# After rendering, dbt replaces its secret placeholder in any value containing this text, and
# returns None for a value containing it without a placeholder: no spelling of such a literal
# survives, so it is refused.
_DBT_SECRET_PREFIX = "DBT_ENV_SECRET"


_NAMED_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def dbt_literal(text: str) -> str:
    """How ``profiles.yml`` spells the literal ``text`` so that dbt renders exactly ``text``.

    A string dbt would leave as it is comes back unchanged. One it would alter (it holds
    ``{{``, ``{%``, ``{#``, ``}}``, ``%}``, ``#}`` or a carriage return, or ends with a
    newline) becomes one Jinja string-literal expression, ``{{ '...' }}``: backslash and
    quote are escaped, and every non-printable character (controls, newlines, U+2028...)
    becomes a ``\\x``/``\\u``/``\\U`` escape, which Jinja's lexer decodes back::

        >>> dbt_literal("models/a b")
        'models/a b'
        >>> dbt_literal("{{ env_var('HOME') }}")
        "{{ '{{ env_var(\\\\'HOME\\\\') }}' }}"

    :raises ValueError: ``text`` contains ``DBT_ENV_SECRET``, which dbt replaces in any
        rendered value (with a secret's value, or the whole value with ``None``).
    """
    if _DBT_SECRET_PREFIX in text:
        raise ValueError(
            f"contains {_DBT_SECRET_PREFIX!r}, which dbt replaces in any value it renders; only "
            "profile_secret() may write it"
        )
    if not _DBT_ALTERS.search(text) and not text.endswith("\n"):
        return text
    return "{{ '" + "".join(map(_escape_char, text)) + "' }}"


def _for_dbt(value: Any, where: str) -> Any:
    """The profile as ``profiles.yml`` holds it: literals spelled by :func:`dbt_literal`, templates kept."""
    if isinstance(value, DbtTemplate):
        return str.__str__(value)
    if isinstance(value, str):
        try:
            return dbt_literal(value)
        except ValueError as exc:
            raise ValueError(f"its dbt profile value at {where} {exc}") from None
    if isinstance(value, dict):
        return {key: _for_dbt(item, f"{where}.{key}" if where else key) for key, item in value.items()}
    if isinstance(value, list):
        return [_for_dbt(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _register_known_secrets(
    computes: Sequence[ComputeConfig], bindings: Mapping[str, Sequence[SecretBinding]] | None = None
) -> None:
    """Register for masking every referenced secret whose value this process can see.

    Compiling never needs a secret's value, and a missing one is no error; but a value that
    is set (``{env: VAR}`` or its ``DBT_ENV_SECRET_...`` variable) is masked from here on in
    every message, and a plugin result echoing it is refused (:func:`_registered_secret_at`).
    ``bindings``: each compute's :func:`~floe_hooks.secrets.secret_bindings`, when the caller
    has them already.
    """
    import os

    from floe_hooks._redact import remember
    from floe_hooks.secrets import _resolve_bindings, secret_bindings

    for compute in computes:
        found = bindings[compute.name] if bindings is not None else secret_bindings(compute)
        values, _ = _resolve_bindings(found, os.environ)
        for value in values.values():
            remember(value)


def _registered_secret_at(value: Any, where: str) -> str | None:
    """Where a registered secret's value appears in a plugin's plain result, or None."""
    from floe_hooks._redact import known, redact

    if not known():
        return None
    if isinstance(value, str):
        return where if redact(value) != value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if redact(key) != key:
                return f"{where} (a key)"
            found = _registered_secret_at(item, f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _registered_secret_at(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None
