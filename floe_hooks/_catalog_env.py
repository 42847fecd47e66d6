"""How the catalog reaches dbt: its secret variables, their values when a step runs, its artifact entry."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks.errors import ConfigError

if TYPE_CHECKING:
    from floe_hooks.catalog import CatalogCredential, LakehouseCatalog


@attrs.frozen
class CatalogBinding:
    """One catalog secret: its field, the dbt variable it reaches dbt as, and its reference."""

    field: str
    variable: str
    ref: CatalogCredential


def catalog_bindings(catalog: LakehouseCatalog) -> tuple[CatalogBinding, ...]:
    """Every credential of the catalog with its dbt variable, in the manifest's order."""
    return tuple(CatalogBinding(f, catalog.variable(f), r) for f, r in catalog.credentials.items())


def catalog_template(catalog: LakehouseCatalog, field: str) -> Any:
    """The ``profiles.yml`` value of credential ``field``: a :class:`~floe_hooks.DbtTemplate`.

    :raises ConfigError: when the catalog has no such credential.
    """
    from floe_hooks.secrets import DbtTemplate

    if field not in catalog.credentials:
        raise ConfigError(
            f"catalog {catalog.name!r} has no credential {field!r}", path=f"catalog.credentials.{field}"
        )
    return DbtTemplate("{{ env_var('" + catalog.variable(field) + "') }}")


def _resolve(ref: CatalogCredential, variable: str, env: Mapping[str, str]) -> str | None:
    if ref.env is not None and ref.env in env:
        return env[ref.env]
    if ref.file is not None:
        try:
            with open(ref.file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            text = None
        if text is not None:
            return text[:-1] if text.endswith("\n") else text
    if variable in env:
        return env[variable]
    return None


def catalog_environment(
    catalog: LakehouseCatalog | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``DBT_ENV_SECRET_CATALOG_...`` variables a dbt step needs, resolved from their references.

    ``floe run`` (or any runner) adds these to the environment of each dbt process whose
    compute attaches the catalog. A reference is looked up as ``env``, then ``file``,
    then the ``DBT_ENV_SECRET_...`` variable itself (what a pod receives from a
    ``secretKeyRef``). Every resolved value is registered for redaction.

    :raises ConfigError: naming each reference that could not be resolved (never a value).
    """
    if catalog is None:
        return {}
    from floe_hooks._redact import remember
    from floe_hooks.secrets import SecretValue

    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    missing = []
    for binding in catalog_bindings(catalog):
        value = _resolve(binding.ref, binding.variable, env)
        if value is None:
            missing.append(f"{binding.field} ({binding.ref.describe()}, or {binding.variable})")
            continue
        remember(SecretValue(value))
        out[binding.variable] = value
    if missing:
        raise ConfigError(
            f"catalog {catalog.name!r}: credentials not available: {'; '.join(missing)}",
            path="catalog.credentials",
        )
    return out


def catalog_artifact(
    catalog: LakehouseCatalog | None, attached_by: Sequence[str] = ()
) -> dict[str, Any] | None:
    """The ``catalog`` entry of ``compiled_artifacts.json`` (documented in docs/compiled-artifacts.md)."""
    if catalog is None:
        return None
    from floe_hooks._convert import unstructure

    settings: dict[str, Any] = {}
    if catalog.metadata is not None:
        settings["metadata"] = {k: v for k, v in unstructure(catalog.metadata).items() if v is not None}
    for field in ("data_path", "uri", "warehouse", "oauth2_server_uri", "scope"):
        if getattr(catalog, field) is not None:
            settings[field] = getattr(catalog, field)
    if catalog.storage is not None:
        settings["storage"] = {k: v for k, v in unstructure(catalog.storage).items() if v is not None}
    return {
        "name": catalog.name,
        "type": catalog.type,
        "shared": catalog.shared,
        "settings": settings,
        "attached_by": list(attached_by),
        "env": [
            {
                "variable": b.variable,
                "path": f"credentials.{b.field}",
                "from": {k: v for k, v in unstructure(b.ref).items() if v is not None},
            }
            for b in catalog_bindings(catalog)
        ],
    }
