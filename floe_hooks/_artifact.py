"""The ``compiled_artifacts.json`` document: what an orchestrator runs where, a line per item.

Built by :mod:`floe_hooks.compile` (schema version :data:`ARTIFACT_VERSION`, documented in
``docs/compiled-artifacts.md``) and rebuilt by ``floe run`` once dbt's graph gives the
real edges between steps.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from floe_hooks.compile import CompiledCompute, RunStep
    from floe_hooks.manifest import Product

__all__ = ["ARTIFACT_VERSION", "PROFILES_FILE", "ARTIFACTS_FILE"]

#: Version of the ``compiled_artifacts.json`` schema: MAJOR changes break readers.
ARTIFACT_VERSION = "1.1"
#: File names inside the output directory.
PROFILES_FILE = "profiles.yml"
ARTIFACTS_FILE = "compiled_artifacts.json"


def _json_lines(data: Mapping[str, Any]) -> str:
    """JSON, two levels indented and each deeper value compact on its line.

    Readable and diff-friendly (a compute, a transform, a run step per line) and written
    by the C encoder: ``indent=`` would use the pure-Python one, 5x slower on large plans.
    """
    dump = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    lines = ["{"]
    for index, (key, value) in enumerate(data.items()):
        comma = "," if index < len(data) - 1 else ""
        if isinstance(value, Mapping) and value:
            inner = [f"    {dump(k)}: {dump(v)}" for k, v in value.items()]
            lines.append(f"  {dump(key)}: {{\n" + ",\n".join(inner) + f"\n  }}{comma}")
        elif isinstance(value, list) and value:
            inner = [f"    {dump(v)}" for v in value]
            lines.append(f"  {dump(key)}: [\n" + ",\n".join(inner) + f"\n  ]{comma}")
        else:
            lines.append(f"  {dump(key)}: {dump(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _relative(path: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(path, start)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


def _artifacts(
    product: Product,
    computes: Sequence[CompiledCompute],
    run_plan: Sequence[RunStep],
    profiles_yml: str,
    graph: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    from floe_hooks._convert import unstructure
    from floe_hooks._version import __version__

    manifest = product.manifest
    base = product.path.parent
    used = {step.compute for step in run_plan}
    return {
        "schema_version": ARTIFACT_VERSION,
        "generator": {"name": "floe-hooks", "version": __version__},
        "product": {"name": product.name, "file": product.path.name},
        "manifest": {
            "file": _relative(manifest.path, base),
            "chain": [_relative(p, base) for p in manifest.chain],
        },
        "environment": manifest.environment,
        "profile": {
            "name": product.dbt_profile,
            "file": PROFILES_FILE,
            "target": manifest.default,
            "sha256": hashlib.sha256(profiles_yml.encode("utf-8")).hexdigest(),
        },
        "default_compute": manifest.default,
        "computes": {
            c.name: {
                "type": c.compute.type,
                "target": c.name,
                "plugin": {
                    "name": c.plugin.name,
                    "version": c.plugin.metadata.version,
                    "distribution": c.plugin.distribution,
                    "distribution_version": c.plugin.distribution_version,
                },
                "dbt_adapter": c.dbt_adapter,
                "threads": c.compute.threads,
                "timeout_seconds": c.compute.timeout_seconds,
                "config": unstructure(c.compute.config),
                "credentials": {k: unstructure(v) for k, v in c.compute.credentials.items()},
                "resources": {
                    "preset": c.compute.resources
                    if isinstance(c.compute.resources, str)
                    else ("plugin-default" if c.compute.resources is None else "custom"),
                    **c.resources.to_kubernetes(),
                },
                "env": [
                    {"variable": b.variable, "path": b.path, "from": unstructure(b.ref)} for b in c.secrets
                ],
                "transforms": list(c.transforms),
                "select": list(c.select),
            }
            for c in computes
        },
        "transforms": [
            {
                "name": t.name,
                "path": t.path,
                "compute": t.compute,
                "uses_default": t.uses_default,
                "select": t.select
                if product.project is None
                else " ".join(product.project.selection(t.name)),
            }
            for t in product.transforms
        ],
        "unclaimed": list(product.project.unclaimed) if product.project is not None else [],
        "run_plan": [
            {
                "step": index,
                "compute": step.compute,
                "target": step.compute,
                "transforms": list(step.transforms),
                "select": list(step.select),
                "command": step.command(product.dbt_profile),
                "needs": list(step.needs),
            }
            for index, step in enumerate(run_plan, 1)
        ],
        "graph": dict(graph)
        if graph is not None
        else {"source": "transforms", "edges": [[s.needs[0], s.compute] for s in run_plan if s.needs]},
        "dbt_adapters": sorted({c.dbt_adapter for c in computes if c.dbt_adapter and c.name in used}),
        "kubernetes": unstructure(manifest.kubernetes),
    }
