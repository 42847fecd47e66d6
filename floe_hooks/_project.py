"""Check a product's transforms against the dbt project beside it, reading files only (no dbt).

``floe compile`` calls :func:`check_project` when ``dbt_project.yml`` sits next to
``floe.yaml``; without one nothing is checked (a product compiled ahead of its project).

* The product ``name`` must equal ``dbt_project.yml``'s ``profile:``, unless ``floe.yaml``
  states the profile itself (``profile:``).
* Every transform path must match a file under the project's ``model-paths``,
  ``seed-paths`` or ``snapshot-paths``.
* Each node file (a ``.sql``/``.py`` model or snapshot, a ``.csv`` seed) belongs to the
  transform with the most specific path containing it (:func:`claim`); a file no
  transform claims runs on the default compute and is listed as ``unclaimed``.
* A transform reaches dbt only as exactly its files (:meth:`DbtProject.selection`): a
  ``path:`` selector when the path is plain (letters, digits, ``_ . / -``) and no other
  compute claims a file under it, else one selector per file, so that no character of a
  path (space, comma, ``+``, ``*``, ``@``, ``tag:``...) can widen or narrow what dbt runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks.errors import ConfigError

if TYPE_CHECKING:
    from floe_hooks.manifest import Transform

__all__ = ["DbtProject", "check_project", "claim", "plain_selector", "PROJECT_FILE"]

PROJECT_FILE = "dbt_project.yml"
#: What dbt runs from each kind of project folder.
_KINDS = (("model-paths", ("models",), (".sql", ".py")), ("seed-paths", ("seeds",), (".csv",)),
          ("snapshot-paths", ("snapshots",), (".sql",)))  # fmt: skip
#: A path dbt's selector syntax reads as exactly itself: no space, comma, graph operator
#: (``+ @``), wildcard (``* ? [ ]``) or method separator (``:``).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
#: A node name dbt's default (fqn) selector matches as exactly that leaf.
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def plain_selector(path: str) -> bool:
    """True when ``path:<path>`` selects exactly that path (no character dbt interprets)."""
    return _PLAIN_PATH.fullmatch(path) is not None and ".." not in path.split("/")


def claim(parts: Sequence[str], paths: Mapping[tuple[str, ...], str]) -> str | None:
    """The value of the most specific entry of ``paths`` whose key is a prefix of ``parts``."""
    for end in range(len(parts), 0, -1):
        owner = paths.get(tuple(parts[:end]))
        if owner is not None:
            return owner
    return None


@attrs.frozen
class DbtProject:
    """The dbt project beside ``floe.yaml``, as far as files tell.

    :ivar root: the project folder.
    :ivar name: ``dbt_project.yml``'s ``name``.
    :ivar profile: its ``profile:`` (None when it names none).
    :ivar roots: the model, seed and snapshot folders, relative to ``root``.
    :ivar owners: every node file (relative POSIX path) -> the transform that claims it
        (None: unclaimed, it runs on the default compute), in sorted order.
    :ivar selections: transform name -> its exact dbt ``--select`` arguments; key ``""``
        holds the unclaimed files'.
    """

    root: Path
    name: str
    profile: str | None
    roots: tuple[str, ...]
    owners: Mapping[str, str | None]
    selections: Mapping[str, tuple[str, ...]]

    @property
    def unclaimed(self) -> tuple[str, ...]:
        """Node files no transform claims, sorted: they run on the default compute."""
        return tuple(f for f, owner in self.owners.items() if owner is None)

    def selection(self, transform: str) -> tuple[str, ...]:
        """The exact ``--select`` arguments of one transform (``""``: the unclaimed files)."""
        return self.selections.get(transform, ())


def _paths(raw: Mapping[str, Any], key: str, default: tuple[str, ...], file: str) -> tuple[str, ...]:
    value = raw.get(key, list(default))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError("expected a list of folder names", file=file, path=key)
    return tuple("/".join(p for p in v.strip().split("/") if p not in ("", ".")) for v in value)


def _walk(root: Path, folder: str, suffixes: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    base = root / folder
    for current, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = Path(current).relative_to(root).as_posix()
        found.extend(
            f"{rel}/{name}" for name in files if name.endswith(suffixes) and not name.startswith(".")
        )
    return found


def check_project(
    floe_yaml: Path,
    display: str,
    name: str,
    profile: str | None,
    transforms: Sequence[Transform],
    default: str,
) -> DbtProject | None:
    """Check ``transforms`` against the dbt project beside ``floe_yaml`` (None: there is none).

    :raises ConfigError: located in ``floe.yaml`` (or ``dbt_project.yml`` when it is unreadable).
    """
    project_file = floe_yaml.parent / PROJECT_FILE
    if not project_file.is_file():
        return None
    from floe_hooks._yaml import read_yaml

    project_display = os.path.join(os.path.dirname(display), PROJECT_FILE)
    raw = read_yaml(project_file, project_display)
    if not isinstance(raw, Mapping):
        raise ConfigError("expected a mapping at the top level", file=project_display)
    project_profile = raw.get("profile")
    if project_profile is not None and not isinstance(project_profile, str):
        raise ConfigError("expected a string", file=project_display, path="profile")
    if profile is None and project_profile != name:
        wanted = repr(project_profile) if project_profile else "no profile"
        raise ConfigError(
            f"the product name {name!r} must be the dbt profile, but {project_display} names {wanted}; "
            f"rename one of them, or state the profile in {os.path.basename(display)} (profile: ...)",
            file=display,
            path="name",
        )
    root = floe_yaml.parent
    roots: list[str] = []
    files: list[str] = []
    for key, fallback, suffixes in _KINDS:
        for folder in _paths(raw, key, fallback, project_display):
            roots.append(folder)
            files.extend(_walk(root, folder, suffixes))
    files = sorted(set(files))
    by_path = {tuple(t.path.split("/")): t.name for t in transforms}
    # every prefix of every file and every project folder: a transform path must be one of them
    reachable: set[tuple[str, ...]] = set()
    for item in files:
        parts = item.split("/")
        reachable.update(tuple(parts[:end]) for end in range(1, len(parts) + 1))
    for index, transform in enumerate(transforms):
        if tuple(transform.path.split("/")) not in reachable:
            where = "; ".join(
                f"{key}: {', '.join(_paths(raw, key, fallback, project_display))}"
                for key, fallback, _ in _KINDS
            )
            raise ConfigError(
                f"{transform.path!r} matches no model, seed or snapshot file of the dbt project ({where})",
                file=display,
                path=f"transforms[{index}].path",
            )
    owners = {item: claim(item.split("/"), by_path) for item in files}
    selections = _selections(transforms, owners, default, display)
    return DbtProject(
        root=root,
        name=str(raw.get("name", "")),
        profile=project_profile,
        roots=tuple(roots),
        owners=owners,
        selections=selections,
    )


def _selections(
    transforms: Sequence[Transform], owners: Mapping[str, str | None], default: str, display: str
) -> dict[str, tuple[str, ...]]:
    compute_of = {t.name: t.compute for t in transforms}
    compute_of[""] = default
    # a transform's path selects exactly its files when no file under it runs elsewhere
    spills: set[str] = set()
    by_path = {t.path: t.name for t in transforms}
    for item, owner in owners.items():
        parts = item.split("/")
        for end in range(1, len(parts)):
            outer = by_path.get("/".join(parts[:end]))
            if outer is not None and compute_of[outer] != compute_of[owner or ""]:
                spills.add(outer)
    path_of = {t.name: t.path for t in transforms}
    selections: dict[str, list[str]] = {t.name: [] for t in transforms}
    selections[""] = []
    for transform in transforms:
        if transform.name not in spills and plain_selector(transform.path):
            selections[transform.name].append(f"path:{transform.path}")
    for item, owner in owners.items():
        key = owner or ""
        if key and selections[key][:1] == [f"path:{path_of[key]}"]:
            continue  # covered by the transform's own path selector
        if plain_selector(item):
            selections[key].append(f"path:{item}")
            continue
        stem = item.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if not _PLAIN_NAME.fullmatch(stem):
            index = next((i for i, t in enumerate(transforms) if t.name == owner), None)
            raise ConfigError(
                f"dbt cannot select {item!r} exactly: rename the file to letters, digits and underscores",
                file=display,
                path=f"transforms[{index}].path" if index is not None else "transforms",
            )
        selections[key].append(stem)
    return {key: tuple(value) for key, value in selections.items()}
