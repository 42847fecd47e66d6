"""Merging layered mappings from several files, and locating an error in the layer that supplied it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from floe_hooks.errors import ConfigError


@attrs.frozen
class _Layer:
    """A mapping from one file, at a field path, that contributes to a merged value."""

    raw: Mapping[str, Any]
    file: str
    prefix: str
    short: bool = False  # the short form ``- name``: errors point at the item itself


def _is_secret_ref(value: Mapping[str, Any]) -> bool:
    return bool(value) and set(value) <= {"env", "secret", "key"}


def check_overlay_keys(
    overlay: Mapping[str, Any],
    allowed: Sequence[str],
    fixed: Callable[[str], str],
    *,
    file: str,
    prefix: str,
) -> None:
    """Refuse an environment overlay's key that is fixed (``name``, ``type``) or not in ``allowed``.

    :param fixed: the sentence refusing a fixed key, given the key; "; allowed: ..." follows it.
    :raises ConfigError: located at ``<prefix>.<key>`` in ``file``.
    """
    for key in overlay:
        if key in ("name", "type"):
            raise ConfigError(
                f"{fixed(key)}; allowed: {', '.join(allowed)}", file=file, path=f"{prefix}.{key}"
            )
        if key not in allowed:
            raise ConfigError(
                f"unknown key {key!r}; allowed: {', '.join(allowed)}", file=file, path=f"{prefix}.{key}"
            )


def _merge(
    base: Mapping[str, Any], over: Mapping[str, Any], *, replace_values: bool = False
) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if (
            not replace_values
            and isinstance(value, Mapping)
            and isinstance(old, Mapping)
            and not _is_secret_ref(value)
            and not _is_secret_ref(old)
        ):
            out[key] = _merge(old, value, replace_values=key == "credentials")
        else:
            out[key] = value
    return out


def _merged(layers: Sequence[_Layer]) -> dict[str, Any]:
    if len(layers) == 1:
        return dict(layers[0].raw)
    out: dict[str, Any] = {}
    for layer in layers:
        out = _merge(out, layer.raw)
    return out


_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _tokens(path: str | None) -> list[str | int]:
    if not path:
        return []
    return [int(m[1]) if m[1] is not None else m[2] for m in _TOKEN.finditer(path)]


def _depth(raw: Any, tokens: list[str | int]) -> int:
    depth = 0
    for token in tokens:
        found = (
            token < len(raw)
            if isinstance(token, int) and isinstance(raw, list)
            else isinstance(raw, Mapping) and token in raw
        )
        if not found:
            break
        raw = raw[token]
        depth += 1
    return depth


def _join(prefix: str, path: str | None) -> str:
    if not path:
        return prefix
    if not prefix:
        return path
    return f"{prefix}{'' if path.startswith('[') else '.'}{path}"


def _relocate(exc: ConfigError, layers: Sequence[_Layer]) -> ConfigError:
    """Point an error about a merged value at the file and path that supplied the bad part."""
    tokens = _tokens(exc.path)
    best, best_depth = layers[-1], -1
    for layer in reversed(layers):  # the topmost layer wins ties: it overrides the others
        depth = _depth(layer.raw, tokens)
        if depth > best_depth:
            best, best_depth = layer, depth

    def place(path: str | None) -> str:
        # the short form `- name` has no keys to point at, but a missing config field does
        if best.short and not (path or "").startswith("config"):
            return best.prefix
        return _join(best.prefix, path)

    problems = tuple((place(path), message) for path, message in exc.problems)
    return ConfigError(exc.message, file=best.file, path=place(exc.path), problems=problems)
