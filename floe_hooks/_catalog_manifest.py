"""The manifest's ``catalog:`` block: structured, governed across ``extends:``, overlaid per environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from floe_hooks._layers import check_overlay_keys
from floe_hooks.errors import ConfigError

if TYPE_CHECKING:
    from floe_hooks.catalog import LakehouseCatalog


def structure_catalog(raw: Any, file: str, path: str = "catalog") -> LakehouseCatalog:
    """Structure a merged ``catalog:`` mapping, with located errors."""
    from floe_hooks._structure import structure
    from floe_hooks.catalog import LakehouseCatalog

    if not isinstance(raw, Mapping):
        kind = "null" if raw is None else type(raw).__name__
        raise ConfigError(f"expected a mapping, got {kind}", file=file, path=path)
    for key, value in (
        (raw.get("credentials") or {}).items() if isinstance(raw.get("credentials"), Mapping) else ()
    ):
        if not isinstance(value, Mapping):
            # never echo the value: it is likely a secret pasted where a reference belongs
            raise ConfigError(
                "a literal secret value is not allowed here; use {env: VAR}, {file: PATH} or "
                "{secret: NAME, key: KEY}",
                file=file,
                path=f"{path}.credentials.{key}",
            )
    return structure(raw, LakehouseCatalog, file=file, path=path)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if key != "credentials" and isinstance(value, Mapping) and isinstance(old, Mapping):
            out[key] = _merge(old, value)
        elif key == "credentials" and isinstance(value, Mapping) and isinstance(old, Mapping):
            out[key] = {**old, **value}  # a reference is replaced whole, never merged
        else:
            out[key] = value
    return out


class CatalogLevel:
    """The catalog of one manifest of an ``extends:`` chain (used by :mod:`floe_hooks.manifest`).

    :ivar raw: the catalog mapping as declared (None: no catalog).
    :ivar owner: the file that declared it.
    :ivar overlays: per environment, (file, overlay mapping) pairs, root first.
    """

    def __init__(self) -> None:
        self.raw: Mapping[str, Any] | None = None
        self.owner = ""
        self.base: LakehouseCatalog | None = None
        self.overlays: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        self.by_env: dict[str, LakehouseCatalog] = {}

    def resolve(self, env: str | None) -> LakehouseCatalog | None:
        """The catalog in environment ``env`` (None: the base)."""
        if env is None:
            return self.base
        return self.by_env.get(env, self.base)


def catalog_level(
    data: Mapping[str, Any],
    display: str,
    parent: CatalogLevel | None,
    parent_display: str | None,
    env_names: Sequence[str],
) -> CatalogLevel:
    """Resolve the ``catalog:`` of one manifest file given its parent's (governance + overlays).

    :param data: the manifest file's top-level mapping, as read.
    :raises ConfigError: a child replacing or dropping its parent's catalog (naming both files),
        an overlay changing ``name`` or ``type``, or a bad block.
    """
    from floe_hooks.catalog import CATALOG_OVERLAY_KEYS

    level = CatalogLevel()
    if parent is not None:
        level.raw, level.owner, level.base = parent.raw, parent.owner, parent.base
        level.overlays = {env: list(items) for env, items in parent.overlays.items()}
    if "catalog" in data:
        if level.raw is not None:
            what = "drop" if data["catalog"] is None else "replace"
            raise ConfigError(
                f"cannot {what} the catalog {level.raw.get('name')!r} set by {level.owner}, which "
                f"{display} extends (through {parent_display}): the catalog is the platform's; "
                "a child manifest "
                "inherits it as it is (environments.<env>.catalog may change its connection settings)"
                if parent_display != level.owner
                else f"cannot {what} the catalog {level.raw.get('name')!r} set by the parent manifest "
                f"{level.owner}: "
                "the catalog is the platform's; a child manifest inherits it as it is "
                "(environments.<env>.catalog may change its connection settings)",
                file=display,
                path="catalog",
            )
        level.raw = data["catalog"]
        level.owner = display
        level.base = structure_catalog(level.raw, display)
    catalog_name = level.raw.get("name") if level.raw is not None else None
    envs = data.get("environments")
    if isinstance(envs, Mapping):
        for env, section in envs.items():
            if not isinstance(section, Mapping) or "catalog" not in section:
                continue
            overlay = section["catalog"]
            prefix = f"environments.{env}.catalog"
            if overlay is None:
                continue
            if not isinstance(overlay, Mapping):
                raise ConfigError(
                    f"expected a mapping, got {type(overlay).__name__}", file=display, path=prefix
                )
            if level.raw is None:
                raise ConfigError(
                    "no catalog is declared to overlay; declare catalog: first", file=display, path=prefix
                )
            check_overlay_keys(
                overlay,
                CATALOG_OVERLAY_KEYS,
                lambda key: (
                    f"an environment may change the catalog's connection settings, never its {key}: "
                    f"every compute attaches it as {catalog_name!r} in every environment"
                ),
                file=display,
                prefix=prefix,
            )
            level.overlays.setdefault(str(env), []).append((display, overlay))
    if level.raw is not None:
        for env in env_names:
            layers = level.overlays.get(env)
            if not layers:
                continue
            merged: Mapping[str, Any] = level.raw
            for _, overlay in layers:
                merged = _merge(merged, overlay)
            level.by_env[env] = structure_catalog(merged, layers[-1][0], f"environments.{env}.catalog")
    return level
