"""floe-hooks: plug compute engines into dbt through pluggy hooks.

A compute plugin is a module of hook implementations registered under the
``floe.computes`` entry-point group. Everything an author needs comes from here::

    from floe_hooks import hookimpl, PluginMetadata, ConnectionResult, ResourceSpec, profile_secret

    @hookimpl
    def plugin_metadata():
        return PluginMetadata(name="mycompute", version="1.0.0", floe_api_version="1.0",
                              compute_types=("mycompute",))

    @hookimpl
    def generate_profile(compute):
        return {"type": "mycompute", "host": compute.config["host"]}

    @hookimpl
    def validate_connection(compute, timeout):
        return ConnectionResult(status="healthy", latency_ms=1.0)

    @hookimpl
    def resource_requirements(compute):
        return ResourceSpec.resolve(compute.resources)

The contract, with every argument and return value, is :mod:`floe_hooks.hookspecs`.
Host applications use :class:`PluginManager` / :func:`get_plugin_manager`.
"""

# ruff: noqa: F401  (the names of _COMPATIBLE are imported on purpose, outside __all__)
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from floe_hooks._markers import hookimpl, hookspec
from floe_hooks._notes import note
from floe_hooks._plugin_info import PluginMetadata
from floe_hooks._version import FLOE_API_VERSION, __version__
from floe_hooks.errors import (
    ComputeConnectionError,
    ComputeTimeoutError,
    ConfigError,
    FloeError,
    IncompatibleAPIError,
    PluginConflictError,
    PluginContractError,
    PluginError,
    PluginLoadError,
    UnknownComputeTypeError,
)
from floe_hooks.manager import (
    PluginFailure,
    PluginInfo,
    PluginManager,
    api_compatible,
    get_plugin_manager,
    set_plugin_manager,
)

if TYPE_CHECKING:
    from floe_hooks._convert import unstructure
    from floe_hooks._structure import structure
    from floe_hooks.catalog import LakehouseCatalog, catalog_template, edge_problem
    from floe_hooks.compile import (
        CompiledCompute,
        CompiledProject,
        RunStep,
        compile_file,
        compile_product,
        write_outputs,
    )
    from floe_hooks.health import check_health
    from floe_hooks.kubernetes import kubernetes_objects, render_kubernetes, write_kubernetes
    from floe_hooks.manifest import (
        KubernetesSettings,
        Manifest,
        Product,
        Transform,
        load_computes,
        load_manifest,
        load_product,
    )
    from floe_hooks.models import (
        WORKLOAD_SIZES,
        CatalogConfig,
        ComputeConfig,
        ConnectionResult,
        ConnectionStatus,
        ResourceSpec,
        SqlStatement,
        WorkloadSize,
    )
    from floe_hooks.run import NodeEvent, RunResult, StepResult, run_product
    from floe_hooks.schema import manifest_schema, product_schema
    from floe_hooks.secrets import (
        SECRET_METADATA,
        DbtTemplate,
        SecretBinding,
        SecretRef,
        SecretValue,
        profile_secret,
        secret_bindings,
    )

#: The public surface, exactly what README.md's "Public API" lists: what a plugin author
#: imports, then what a host application calls. Every other name (below, and in the
#: modules) is an implementation detail that may change.
__all__ = [
    # plugin authors
    "hookimpl",
    "FLOE_API_VERSION",
    "PluginMetadata",
    "ComputeConfig",
    "ConnectionResult",
    "ConnectionStatus",
    "ResourceSpec",
    "WorkloadSize",
    "CatalogConfig",
    "SqlStatement",
    "SECRET_METADATA",
    "SecretRef",
    "SecretValue",
    "DbtTemplate",
    "profile_secret",
    "note",
    "FloeError",
    "ConfigError",
    "PluginError",
    "PluginContractError",
    # host applications
    "__version__",
    "PluginManager",
    "PluginInfo",
    "PluginFailure",
    "get_plugin_manager",
    "load_manifest",
    "load_product",
    "load_computes",
    "Manifest",
    "Product",
    "Transform",
    "compile_product",
    "compile_file",
    "write_outputs",
    "CompiledProject",
    "check_health",
    # floe run (lazy; dbt itself is imported only when a run starts)
    "run_product",
    "RunResult",
    "StepResult",
    "NodeEvent",
    "render_kubernetes",
    "write_kubernetes",
    "manifest_schema",
    "product_schema",
    "structure",
    "unstructure",
    # the lakehouse catalog (lazy)
    "LakehouseCatalog",
    "catalog_template",
    "edge_problem",
    "PluginLoadError",
    "PluginConflictError",
    "IncompatibleAPIError",
    "UnknownComputeTypeError",
]

#: Still importable from here for code written against earlier releases, not documented:
#: use the public names above (or the module that defines one of these).
_COMPATIBLE = (
    "hookspec",
    "WORKLOAD_SIZES",
    "SecretBinding",
    "secret_bindings",
    "api_compatible",
    "set_plugin_manager",
    "KubernetesSettings",
    "CompiledCompute",
    "RunStep",
    "kubernetes_objects",
    "ComputeConnectionError",
    "ComputeTimeoutError",
)

# Names loaded on first access: modules that import heavier libraries (cattrs, yaml...),
# and the models a plugin returns, which ``floe plugins`` never builds (about a
# millisecond of attrs class-building each).
_LAZY = {
    "WORKLOAD_SIZES": "floe_hooks.models",
    "CatalogConfig": "floe_hooks.models",
    "ComputeConfig": "floe_hooks.models",
    "ConnectionResult": "floe_hooks.models",
    "ConnectionStatus": "floe_hooks.models",
    "ResourceSpec": "floe_hooks.models",
    "SqlStatement": "floe_hooks.models",
    "WorkloadSize": "floe_hooks.models",
    "SECRET_METADATA": "floe_hooks.secrets",
    "DbtTemplate": "floe_hooks.secrets",
    "SecretBinding": "floe_hooks.secrets",
    "SecretRef": "floe_hooks.secrets",
    "SecretValue": "floe_hooks.secrets",
    "profile_secret": "floe_hooks.secrets",
    "secret_bindings": "floe_hooks.secrets",
    "structure": "floe_hooks._structure",
    "unstructure": "floe_hooks._convert",
    "check_health": "floe_hooks.health",
    "KubernetesSettings": "floe_hooks.manifest",
    "Manifest": "floe_hooks.manifest",
    "Product": "floe_hooks.manifest",
    "Transform": "floe_hooks.manifest",
    "load_manifest": "floe_hooks.manifest",
    "load_product": "floe_hooks.manifest",
    "load_computes": "floe_hooks.manifest",
    "CompiledCompute": "floe_hooks.compile",
    "CompiledProject": "floe_hooks.compile",
    "RunStep": "floe_hooks.compile",
    "compile_product": "floe_hooks.compile",
    "compile_file": "floe_hooks.compile",
    "write_outputs": "floe_hooks.compile",
    "run_product": "floe_hooks.run",
    "RunResult": "floe_hooks.run",
    "StepResult": "floe_hooks.run",
    "NodeEvent": "floe_hooks.run",
    "kubernetes_objects": "floe_hooks.kubernetes",
    "render_kubernetes": "floe_hooks.kubernetes",
    "write_kubernetes": "floe_hooks.kubernetes",
    "manifest_schema": "floe_hooks.schema",
    "product_schema": "floe_hooks.schema",
    "LakehouseCatalog": "floe_hooks.catalog",
    "catalog_template": "floe_hooks.catalog",
    "edge_problem": "floe_hooks.catalog",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'floe_hooks' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *_COMPATIBLE})
