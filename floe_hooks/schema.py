"""JSON Schema (draft 2020-12) of ``manifest.yaml`` and ``floe.yaml``, for editors and CI.

Generated from the attrs classes the loader structures into, so the schema and the
loader cannot drift apart; each installed plugin's ``config_class`` becomes the schema
of ``config:`` for computes of its type::

    floe schema manifest > manifest.schema.json

    # manifest.yaml, first line, for the YAML language server:
    # yaml-language-server: $schema=manifest.schema.json

The loader stays the authority: it also checks what a schema cannot express (the
default is approved, names are unique, governance, parity, quantities).
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import re
import typing
from typing import TYPE_CHECKING, Any

import attrs

from floe_hooks._rules import COMPUTE_NAME_PATTERN
from floe_hooks.models import WORKLOAD_SIZES, ComputeConfig, ResourceSpec
from floe_hooks.secrets import SecretRef

if TYPE_CHECKING:
    from floe_hooks.manager import PluginManager

__all__ = ["manifest_schema", "product_schema", "attrs_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NAME_PATTERN = f"^{COMPUTE_NAME_PATTERN}$"  # the loader's own rule: they cannot drift
_IVAR = re.compile(r":ivar (\w+):(.*?)(?=\n\s*:\w|\n\s*\n|\Z)", re.DOTALL)


def _description(cls: type) -> tuple[str, dict[str, str]]:
    doc = inspect.getdoc(cls) or ""
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    fields = {m[1]: " ".join(m[2].split()) for m in _IVAR.finditer(doc)}
    return summary, fields


def _def_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def ref(self, cls: type) -> dict[str, Any]:
        name = _def_name(cls)
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: recursion stops here
            self.defs[name] = self.attrs_class(cls)
        return {"$ref": f"#/$defs/{name}"}

    def attrs_class(self, cls: type) -> dict[str, Any]:
        summary, docs = _description(cls)
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            if not field.init:
                continue
            key = field.alias or field.name
            prop = self.type(hints.get(field.name, Any))
            if key in docs:
                prop = {**prop, "description": docs[key]}
            if field.default is attrs.NOTHING:
                required.append(key)
            elif not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                default = field.default
                if isinstance(default, tuple):
                    default = list(default)
                if default is None or isinstance(default, (str, int, float, bool, list)):
                    prop = {**prop, "default": default}
            properties[key] = prop
        schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if summary:
            schema["description"] = summary
        if required:
            schema["required"] = required
        return schema

    def type(self, tp: Any) -> dict[str, Any]:
        if tp is Any or tp is object:
            return {}
        if tp is type(None):
            return {"type": "null"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        if tp is SecretRef:
            return self.secret_ref()
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"enum": [m.value for m in tp]}
        if isinstance(tp, type) and attrs.has(tp):
            return self.ref(tp)
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is typing.Literal:
            return {"enum": list(args)}
        if origin is typing.Union or type(tp).__name__ == "UnionType":
            return {"anyOf": [self.type(a) for a in args]}
        if origin in (list, collections.abc.Sequence, collections.abc.MutableSequence, set, frozenset):
            return {"type": "array", "items": self.type(args[0]) if args else {}}
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.type(args[0])}
            items = [self.type(a) for a in args]
            return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
        if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
            return {"type": "object", "additionalProperties": self.type(args[1]) if args else {}}
        return {}

    def secret_ref(self) -> dict[str, Any]:
        name = _def_name(SecretRef)
        if name not in self.defs:
            schema = self.attrs_class(SecretRef)
            schema["description"] = (
                "A reference to a secret, never its value: {env: VAR} and/or {secret: NAME, key: KEY}."
            )
            schema["anyOf"] = [{"required": ["env"]}, {"required": ["secret", "key"]}]
            schema["dependentRequired"] = {"secret": ["key"], "key": ["secret"]}
            self.defs[name] = schema
        return {"$ref": f"#/$defs/{name}"}


def attrs_schema(cls: type) -> dict[str, Any]:
    """A standalone JSON Schema of one attrs class (its nested classes under ``$defs``)."""
    builder = _Builder()
    root = builder.attrs_class(cls)
    return {"$schema": DIALECT, **root, "$defs": builder.defs}


def _installed(manager: PluginManager | None) -> list[tuple[str, type | None]]:
    if manager is None:
        from floe_hooks.manager import get_plugin_manager

        manager = get_plugin_manager()
    types: list[tuple[str, type | None]] = []
    for info in manager.plugins:
        for compute_type in info.metadata.compute_types:
            types.append((compute_type, manager.config_class(compute_type)))
    return sorted(types, key=lambda item: item[0])


def manifest_schema(manager: PluginManager | None = None) -> dict[str, Any]:
    """JSON Schema of ``manifest.yaml``, with each installed plugin's ``config:`` schema."""
    from floe_hooks.manifest import OVERLAY_KEYS, SUPPORTED_VERSIONS, KubernetesSettings

    builder = _Builder()
    installed = _installed(manager)
    compute = builder.attrs_class(ComputeConfig)
    props = compute["properties"]
    props["name"] = {**props["name"], "pattern": _NAME_PATTERN}
    props["type"] = {
        **props["type"],
        "pattern": _NAME_PATTERN,
        "examples": [t for t, _ in installed],
    }
    props["resources"] = {
        "description": props["resources"].get("description", ""),
        "anyOf": [{"enum": list(WORKLOAD_SIZES)}, builder.ref(ResourceSpec), {"type": "null"}],
    }
    props["config"] = {**props["config"], "type": ["object", "null"]}
    compute["required"] = ["name"]  # a child manifest inherits the type from its parent
    compute["allOf"] = [
        {
            "if": {"properties": {"type": {"const": compute_type}}, "required": ["type"]},
            "then": {"properties": {"config": {"anyOf": [builder.ref(cls), {"type": "null"}]}}},
        }
        for compute_type, cls in installed
        if cls is not None
    ]
    builder.defs["compute"] = compute
    builder.defs["compute-name"] = {
        "type": "string",
        "pattern": _NAME_PATTERN,
        "description": "Short form: a compute whose name is its type, with defaults; in a child "
        "manifest, the parent's compute of that name, unchanged.",
    }
    builder.defs["compute-overlay"] = {
        "type": ["object", "null"],
        "description": "Changes to one compute in one environment; never its type (parity).",
        "properties": {key: props[key] for key in OVERLAY_KEYS} | {"config": {"type": ["object", "null"]}},
        "additionalProperties": False,
    }
    kubernetes = builder.ref(KubernetesSettings)
    from floe_hooks.catalog import catalog_schema

    catalog, catalog_overlay = catalog_schema(builder)
    return {
        "$schema": DIALECT,
        "title": "floe platform manifest (manifest.yaml)",
        "description": "Approved computes, the default compute, environment overlays and governance.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "version": {"enum": list(SUPPORTED_VERSIONS), "default": 1},
            "extends": {
                "type": "string",
                "description": "Path of the parent manifest (relative to this file); this one may "
                "only narrow its approved list.",
            },
            "compute": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "default": {
                        "type": "string",
                        "pattern": _NAME_PATTERN,
                        "description": "The compute of transforms that name none; the dbt target.",
                    },
                    "approved": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"anyOf": [{"$ref": "#/$defs/compute-name"}, {"$ref": "#/$defs/compute"}]},
                    },
                },
            },
            "environments": {
                "type": "object",
                "description": "Per-environment overlays (dev, staging, prod...).",
                "additionalProperties": {
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "properties": {
                        "compute": {
                            "type": "object",
                            "additionalProperties": {"$ref": "#/$defs/compute-overlay"},
                        },
                        "kubernetes": kubernetes,
                        "catalog": catalog_overlay,
                    },
                },
            },
            "kubernetes": kubernetes,
            "catalog": catalog,
        },
        "$defs": builder.defs,
    }


def product_schema() -> dict[str, Any]:
    """JSON Schema of a data product's ``floe.yaml``."""
    from floe_hooks.manifest import SUPPORTED_VERSIONS

    return {
        "$schema": DIALECT,
        "title": "floe data product (floe.yaml)",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "platform", "transforms"],
        "properties": {
            "version": {"enum": list(SUPPORTED_VERSIONS), "default": 1},
            "name": {
                "type": "string",
                "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,127}$",
                "description": "The product's name; the dbt profile name.",
            },
            "platform": {
                "type": "string",
                "description": "Path of the platform manifest, relative to this file.",
            },
            "transforms": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "path"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
                        "path": {
                            "type": "string",
                            "description": "Folder of dbt models, relative to the dbt project.",
                        },
                        "compute": {
                            "type": "string",
                            "pattern": _NAME_PATTERN,
                            "description": "An approved compute; the manifest's default when left out.",
                        },
                    },
                },
            },
        },
    }
