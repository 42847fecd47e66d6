"""Finding ``floe.computes`` entry points fast.

``importlib.metadata.entry_points()`` parses the metadata of every installed
distribution; with dbt installed that is about a hundred of them and costs more than
importing pluggy. This scanner does what it does for plain directories on ``sys.path``
(the only thing virtualenvs and editable installs use) but reads only the
``entry_points.txt`` files, and only parses the few that mention our group. Same
semantics: the first distribution of a given normalized name on ``sys.path`` wins.
Anything unusual (a zip on ``sys.path``) falls back to ``importlib.metadata``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from typing import NamedTuple

GROUP = "floe.computes"


class EntryPoint(NamedTuple):
    """A ``floe.computes`` entry point and the distribution that declares it."""

    name: str
    value: str
    distribution: str | None
    version: str | None

    def load(self) -> object:
        """Import and return the object the entry point names (``module`` or ``module:attr``)."""
        import importlib

        # "module:attr [extra]" with optional blanks: pkgutil wants "module:attr"
        name = "".join(self.value.split("[")[0].split())
        if ":" not in name:  # a module, the usual case: what resolve_name would do, without importing pkgutil
            return importlib.import_module(name)
        import pkgutil

        return pkgutil.resolve_name(name)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _section(text: str, group: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            inside = line == f"[{group}]"
            continue
        if inside and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def _metadata(folder: str, meta: str) -> tuple[str | None, str | None]:
    name = version = None
    try:
        with open(os.path.join(folder, meta), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("Name:"):
                    name = line[5:].strip()
                elif line.startswith("Version:"):
                    version = line[8:].strip()
                elif not line.strip() or (name and version):
                    break
    except OSError:
        pass
    return name, version


def scan(group: str = GROUP, path: Iterable[str] | None = None) -> list[EntryPoint]:
    """All entry points of ``group`` visible on ``path`` (default ``sys.path``), sorted by name."""
    entries = list(sys.path if path is None else path)
    if any(os.path.isfile(entry) for entry in entries if entry):
        return _scan_importlib(group, entries)
    seen: set[str] = set()
    found: list[EntryPoint] = []
    marker = f"[{group}]"
    for entry in entries:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for child in names:
            if child.endswith(".dist-info"):
                meta = "METADATA"
            elif child.endswith(".egg-info"):
                meta = "PKG-INFO"
            else:
                continue
            stem = child.rpartition(".")[0]
            key = _normalize(stem.split("-")[0])
            if key in seen:
                continue
            seen.add(key)
            folder = os.path.join(entry or ".", child)
            try:
                with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            if marker not in text:
                continue
            dist, version = _metadata(folder, meta)
            for name, value in _section(text, group):
                found.append(EntryPoint(name, value, dist, version))
    return sorted(found, key=lambda ep: ep.name)


def _scan_importlib(group: str, entries: list[str]) -> list[EntryPoint]:
    from importlib import metadata

    found = []
    seen: set[str] = set()
    for dist in metadata.distributions(path=entries):
        key = _normalize(dist.metadata["Name"] or "")
        if key in seen:
            continue
        seen.add(key)
        for ep in dist.entry_points:
            if ep.group == group:
                found.append(EntryPoint(ep.name, ep.value, dist.metadata["Name"], dist.version))
    return sorted(found, key=lambda ep: ep.name)
