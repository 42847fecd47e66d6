"""Fixtures for the Kubernetes output: temporary products, a fake server compute, schema validation."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import kubernetes_validate
import pytest
import yaml
from server_plugin import server_plugin  # tests/conftest.py puts tests/ on sys.path

from floe_hooks import PluginManager, set_plugin_manager
from floe_hooks.compile import CompiledProject, compile_product
from floe_hooks.manifest import load_product

#: The Kubernetes versions every emitted object must validate against (strict schemas).
K8S_VERSIONS = ("1.30", "1.37")


@attrs.frozen
class WarehouseConfig:
    """Config of the fake server compute (``fakewh``) that needs a password."""

    host: str
    user: str = "floe"


def _fake_warehouse() -> object:
    return server_plugin("fakewh", WarehouseConfig)


@pytest.fixture
def pm() -> PluginManager:
    """The installed plugins (floe_duckdb through its entry point) plus the fake ``fakewh``."""
    manager = PluginManager(strict=False)
    manager.register(_fake_warehouse(), name="fakewh")
    return manager


class K8sProject:
    """A temporary folder holding ``manifest.yaml`` and ``floe.yaml``, compiled on demand."""

    def __init__(self, root: Path, pm: PluginManager) -> None:
        self.root = root
        self.pm = pm

    def write(
        self,
        manifest: Mapping[str, Any],
        transforms: Iterable[Mapping[str, Any]] = ({"name": "marts", "path": "models/marts"},),
        *,
        name: str = "analytics",
    ) -> Path:
        """Write both files from plain data; return the floe.yaml path (relative to the root)."""
        (self.root / "manifest.yaml").write_text(yaml.safe_dump(dict(manifest), sort_keys=False))
        product = {"name": name, "platform": "manifest.yaml", "transforms": [dict(t) for t in transforms]}
        (self.root / "floe.yaml").write_text(yaml.safe_dump(product, sort_keys=False))
        return Path("floe.yaml")

    def compile(self, env: str | None = None) -> CompiledProject:
        """Load and compile ``floe.yaml`` the way ``floe k8s`` does."""
        return compile_product(load_product("floe.yaml", env=env, manager=self.pm), manager=self.pm)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pm: PluginManager) -> K8sProject:
    """A project folder that is also the working directory (messages show short paths)."""
    monkeypatch.chdir(tmp_path)
    set_plugin_manager(pm)  # `floe k8s` in-process uses the same plugins (reset by tests/conftest.py)
    return K8sProject(tmp_path, pm)


def warehouse_compute(name: str, **fields: Any) -> dict[str, Any]:
    """A ``fakewh`` compute whose password comes from the Secret ``wh-creds`` (``WH_PASSWORD`` locally)."""
    return {
        "name": name,
        "type": "fakewh",
        **fields,
        "config": {"host": "db.internal"},
        "credentials": {"password": {"env": "WH_PASSWORD", "secret": "wh-creds", "key": "password"}},
    }


def two_computes(**extra: Any) -> dict[str, Any]:
    """A manifest with a DuckDB compute (its file on a shared volume) and a ``fakewh`` one with a password.

    ``kubernetes=`` replaces the ``kubernetes:`` block except the shared volume (unless it sets one).
    """
    manifest: dict[str, Any] = {
        "version": 1,
        "compute": {
            "default": "warehouse",
            "approved": [
                {
                    "name": "lake",
                    "type": "duckdb",
                    "threads": 2,
                    "config": {"path": "/data/lake.duckdb"},  # on the volume both steps' pods mount
                    "resources": "medium",
                },
                warehouse_compute("warehouse"),
            ],
        },
        "kubernetes": {
            "image": "registry.example/dbt:1.11",
            "namespace": "data",
            "shared_volume": {"claim_name": "lake-data", "mount_path": "/data"},
        },
    }
    kubernetes = extra.pop("kubernetes", None)
    if kubernetes is not None:  # the shared volume stays unless the test sets its own (or None)
        manifest["kubernetes"] = {"shared_volume": manifest["kubernetes"]["shared_volume"], **kubernetes}
    manifest.update(extra)
    return manifest


TWO_TRANSFORMS = (
    {"name": "staging", "path": "models/staging", "compute": "lake"},
    {"name": "marts", "path": "models/marts"},
)


def validate(obj: Mapping[str, Any], version: str) -> None:
    """Strict schema validation: unknown fields, wrong types and missing required fields fail."""
    kubernetes_validate.validate(dict(obj), version, strict=True)


def jobs(objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The Jobs among ``objects``, in order."""
    return [o for o in objects if o["kind"] == "Job"]


def container(job: Mapping[str, Any]) -> Mapping[str, Any]:
    """The one container of a Job's pod."""
    containers = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]  # type: ignore[no-any-return]


def profiles(objects: Iterable[Mapping[str, Any]]) -> Any:
    """The parsed ``profiles.yml`` of the ConfigMap among ``objects``."""
    (configmap,) = [o for o in objects if o["kind"] == "ConfigMap"]
    return yaml.safe_load(configmap["data"]["profiles.yml"])


def with_needs(compiled: CompiledProject, needs: Mapping[str, Iterable[str]]) -> CompiledProject:
    """``compiled`` as ``floe run`` records dbt's graph: ``graph.source: dbt`` and each step's ``needs``.

    ``needs`` is keyed by step name (:func:`~floe_hooks.kubernetes.step_names`: the compute,
    or ``<compute>-step<N>`` on a revisit); a step it does not name needs nothing.
    """
    from floe_hooks.kubernetes import step_names

    artifacts = dict(compiled.artifacts)
    plan = artifacts["run_plan"]
    artifacts["run_plan"] = [
        {**entry, "needs": list(needs.get(name, ()))}
        for name, entry in zip(step_names(plan), plan, strict=True)
    ]
    artifacts["graph"] = {"source": "dbt"}
    return attrs.evolve(compiled, artifacts=artifacts)


ARGO_SCHEMA_FILE = Path(__file__).parent / "argo_schema" / "schema.json"


def _closed(schema: Any) -> Any:
    """The schema with each object that lists ``properties`` closed to others (``argo submit --strict``)."""
    if isinstance(schema, dict):
        out = {key: _closed(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@functools.lru_cache(maxsize=4)
def argo_validator(kind: str, closed: bool) -> Any:
    """A validator of ``kind`` by Argo Workflows' published schema (v4.1.2); ``closed``: unknown keys fail."""
    import json

    import jsonschema

    published = json.loads(ARGO_SCHEMA_FILE.read_text())
    definitions = _closed(published["definitions"]) if closed else published["definitions"]
    schema = {
        "$schema": published["$schema"],
        "definitions": definitions,
        "$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}",
    }
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_argo(obj: Mapping[str, Any]) -> None:
    """Validate a Workflow or WorkflowTemplate against Argo's schema, as published and closed."""
    for closed in (False, True):
        argo_validator(obj["kind"], closed).validate(dict(obj))
