"""Which values of a plugin's ``config:`` block are literal secrets (refused at load time).

A manifest holds references to secrets, never their values. Two rules find a literal
where a reference belongs, in every compute's structured config:

1. **The plugin's own config class.** A field declared with
   ``attrs.field(metadata={SECRET_METADATA: True})`` holds a secret: any literal there is
   refused. ``{SECRET_METADATA: False}`` declares a field that only looks like one (the
   *name* of a DuckDB secret, say) and exempts it from rule 2. (A field typed
   :class:`~floe_hooks.SecretRef` already refuses literals when it is structured.)
2. **A name heuristic, the second net**, applied to every field of the config classes
   and to every key of every nested mapping (free-form ``settings``, ``options``,
   headers): a name whose last word is ``password``, ``secret``, ``token``,
   ``credential``, ``signature``, ``passphrase``..., a ``key`` qualified as a secret one
   (``access_key``, ``api_key``, ``AccountKey``), ``key`` alone (fsspec's S3 key),
   ``key_id``, ``Authorization``, ``connection_string``.

A literal is a non-empty string or a number (booleans and None are settings, not
secrets). The error names the field, never the value::

    manifest.yaml: compute.approved[0].config.filesystems[0].options.key: a literal secret
    value is not allowed here; use {env: VAR} or {secret: NAME, key: KEY}
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import attrs

from floe_hooks.secrets import _LEAVES, SECRET_METADATA, SecretRef

__all__ = ["SECRET_METADATA", "looks_secret", "literal_secret_path", "LITERAL_SECRET_MESSAGE"]

LITERAL_SECRET_MESSAGE = (
    "a literal secret value is not allowed here; use {env: VAR} or {secret: NAME, key: KEY}"
)

_LAST_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "credential",
        "credentials",
        "signature",
        "cookie",
        "apikey",
        "authorization",
    }
)
_KEY_QUALIFIERS = frozenset(
    {
        "access",
        "secret",
        "private",
        "api",
        "account",
        "client",
        "encryption",
        "master",
        "signing",
        "storage",
        "shared",
        "sas",
        "auth",
        "subscription",
        "app",
        "service",
    }
)
_WHOLE = frozenset({"key", "keyid", "authorization", "connectionstring", "sas", "dsn"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


@functools.lru_cache(maxsize=4096)  # a config repeats the same few names in every compute
def looks_secret(name: str) -> bool:
    """True when a field or key called ``name`` likely holds a secret (the second net).

    >>> [looks_secret(n) for n in ("http_proxy_password", "Authorization", "sas_token", "key", "region")]
    [True, True, True, True, False]
    """
    words = _words(name)
    if not words:
        return False
    if "".join(words) in _WHOLE or words[-1] in _LAST_WORDS:
        return True
    if len(words) >= 2 and words[-1] == "key" and words[-2] in _KEY_QUALIFIERS:
        return True
    return len(words) >= 2 and words[-2:] == ["key", "id"]


def _literal(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, (int, float))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@functools.lru_cache(maxsize=1024)
def _secret_fields(cls: Any) -> tuple[tuple[str, bool], ...]:
    """Each field of an attrs class, and whether it is a secret field (marked or by its name)."""
    out = []
    for field in attrs.fields(cls):
        marked = field.metadata.get(SECRET_METADATA)
        out.append((field.name, marked is True or (marked is None and looks_secret(field.name))))
    return tuple(out)


def literal_secret_path(config: Any, path: str = "", depth: int = 0) -> str | None:
    """The field path of the first literal secret in a structured ``config``, or None.

    ``config`` is what the plugin's config class structured (an attrs instance), or the
    plain mapping of an untyped config. See the module docstring for the rules.
    """
    if depth > 64 or isinstance(config, (SecretRef, *_LEAVES)):
        return None
    if attrs.has(type(config)):
        kind: Any = type(config)  # a class is hashable; mypy's Hashable protocol misses type[...]
        for name, secret in _secret_fields(kind):
            value = getattr(config, name, None)
            if secret and _literal(value):
                return _join(path, name)
            if not isinstance(value, _LEAVES):
                found = literal_secret_path(value, _join(path, name), depth + 1)
                if found is not None:
                    return found
    elif isinstance(config, Mapping):
        for key, value in config.items():
            if isinstance(key, str) and looks_secret(key) and _literal(value):
                return _join(path, key)
            if not isinstance(value, _LEAVES):
                found = literal_secret_path(value, _join(path, str(key)), depth + 1)
                if found is not None:
                    return found
    elif isinstance(config, (list, tuple)):
        for index, value in enumerate(config):
            if not isinstance(value, _LEAVES):
                found = literal_secret_path(value, f"{path}[{index}]", depth + 1)
                if found is not None:
                    return found
    return None
