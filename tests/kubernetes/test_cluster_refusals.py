"""Output that could not run on a cluster is refused (exit 2, one located line, nothing written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from floe_hooks.cli import main
from floe_hooks.errors import ConfigError
from floe_hooks.kubernetes import K8S_INT_MAX, check_cluster, kubernetes_objects

from .conftest import TWO_TRANSFORMS, K8sProject, two_computes

QUICKSTART_LIKE = {
    "version": 1,
    "compute": {
        "default": "warehouse",
        "approved": [
            {"name": "ingest", "type": "duckdb", "config": {"path": "ingest.duckdb"}},
            {
                "name": "warehouse",
                "type": "duckdb",
                "config": {
                    "path": "/data/warehouse.duckdb",
                    "attach": [{"path": "ingest.duckdb", "alias": "ingest", "read_only": True}],
                },
            },
        ],
    },
}
QUICKSTART_TRANSFORMS = (
    {"name": "staging", "path": "models/staging", "compute": "ingest"},
    {"name": "marts", "path": "models/marts"},
)


def _refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run `floe k8s floe.yaml ARGS` in every format; each must fail alike and write nothing."""
    messages = set()
    for fmt in ("argo", "jobs"):
        assert main(["k8s", "floe.yaml", "--format", fmt, *args]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        messages.add(captured.err)
    assert not Path("target").exists()
    (message,) = messages
    assert message.count("\n") == 1
    assert message.startswith("floe: error: ")
    return message.rstrip("\n")


def test_a_duckdb_file_on_the_pods_own_disk_is_refused(
    project: K8sProject, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(QUICKSTART_LIKE, QUICKSTART_TRANSFORMS)
    assert _refused(capsys) == (
        "floe: error: manifest.yaml: compute.approved[name=ingest].config.path: compute 'ingest': the DuckDB "
        "file 'ingest.duckdb' is on the pod's own disk: the plan's 2 steps run in separate pods, and "
        "no other "
        "pod sees it; put it under kubernetes.shared_volume's mount_path or exchange data through a catalog "
        "(--allow-pod-local accepts this)"
    )


def test_a_file_outside_the_declared_volume_is_refused(
    project: K8sProject, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest: dict[str, Any] = {
        **QUICKSTART_LIKE,
        "kubernetes": {"shared_volume": {"claim_name": "lake", "mount_path": "/data"}},
    }
    manifest["compute"]["approved"][0]["config"]["path"] = "/data/ingest.duckdb"
    project.write(manifest, QUICKSTART_TRANSFORMS)
    assert _refused(capsys) == (
        "floe: error: manifest.yaml: compute.approved[name=warehouse].config.attach[0].path: compute "
        "'warehouse': the DuckDB file 'ingest.duckdb' is not under the shared volume's mount_path /data: the "
        "plan's 2 steps run in separate pods, and no other pod sees it; put it under "
        "kubernetes.shared_volume's mount_path or exchange data through a catalog (--allow-pod-local "
        "accepts this)"
    )


def test_allow_pod_local_turns_the_refusal_into_warnings(
    project: K8sProject, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(QUICKSTART_LIKE, QUICKSTART_TRANSFORMS)
    assert main(["k8s", "floe.yaml", "--allow-pod-local"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": compute '")[0] for line in err] == [
        "floe: warning: manifest.yaml: compute.approved[name=ingest].config.path",
        "floe: warning: manifest.yaml: compute.approved[name=warehouse].config.path",
        "floe: warning: manifest.yaml: compute.approved[name=warehouse].config.attach[0].path",
    ]
    kinds = [o["kind"] for o in yaml.safe_load_all(Path("target/floe/k8s/kubernetes.yaml").read_text())]
    assert kinds == ["ConfigMap", "Workflow"]


def test_files_on_the_shared_volume_pass(project: K8sProject) -> None:
    manifest: dict[str, Any] = {
        **QUICKSTART_LIKE,
        "kubernetes": {"shared_volume": {"claim_name": "lake", "mount_path": "/data"}},
    }
    approved = manifest["compute"]["approved"]
    approved[0]["config"]["path"] = "/data/ingest.duckdb"
    approved[1]["config"]["attach"][0]["path"] = "/data/ingest.duckdb"
    project.write(manifest, QUICKSTART_TRANSFORMS)
    assert check_cluster(project.compile()) == []


def test_one_step_and_in_memory_or_remote_databases_pass(project: K8sProject) -> None:
    project.write(QUICKSTART_LIKE, ({"name": "all", "path": "models"},))
    assert check_cluster(project.compile()) == []  # one pod: nothing to share
    manifest: dict[str, Any] = {
        **QUICKSTART_LIKE,
        "compute": {
            "default": "warehouse",
            "approved": [
                {"name": "ingest", "type": "duckdb"},  # :memory:
                {"name": "warehouse", "type": "duckdb", "config": {"path": "md:analytics"}},
            ],
        },
    }
    project.write(manifest, QUICKSTART_TRANSFORMS)
    assert check_cluster(project.compile()) == []


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.3.2.1", "127.3.2.1"),
        ("localhost", "localhost"),
        ("LocalHost.", "LocalHost."),
        ("::1", "::1"),
        ("[::1]:5432", "::1"),
        ("localhost:5432", "localhost"),
        ("postgresql://floe@127.0.0.1:5432/db", "127.0.0.1"),
    ],
)
def test_a_loopback_host_is_refused(
    project: K8sProject, capsys: pytest.CaptureFixture[str], host: str, shown: str
) -> None:
    manifest = two_computes()
    manifest["compute"]["approved"][1]["config"]["host"] = host
    project.write(manifest, TWO_TRANSFORMS)
    assert _refused(capsys, "--allow-pod-local") == (
        "floe: error: manifest.yaml: compute.approved[name=warehouse].config.host: compute 'warehouse': "
        f"{shown!r} is a loopback address: in a pod it is the pod itself, not the machine floe ran on; use a "
        "host the cluster reaches (a Service name or the server's address)"
    )


def test_a_loopback_host_in_a_duckdb_attachment_is_refused(
    project: K8sProject, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(
        {
            "version": 1,
            "compute": {
                "approved": [
                    {
                        "name": "solo",
                        "type": "duckdb",
                        "config": {"attach": [{"path": "dbname=x host=localhost", "type": "postgres"}]},
                    }
                ]
            },
        },
        ({"name": "all", "path": "models"},),
    )
    assert _refused(capsys) == (
        "floe: error: manifest.yaml: compute.approved[name=solo].config.attach[0].path: compute 'solo': "
        "'localhost' is a loopback address: in a pod it is the pod itself, not the machine floe ran "
        "on; use a "
        "host the cluster reaches (a Service name or the server's address)"
    )


def test_hosts_the_cluster_can_reach_pass(project: K8sProject) -> None:
    for host in ("db.internal", "10.0.0.7", "127.example.com", "localhost-db", "2001:db8::1"):
        manifest = two_computes(kubernetes={"shared_volume": {"claim_name": "x", "mount_path": "/data"}})
        manifest["compute"]["approved"][0]["config"]["path"] = "/data/lake.duckdb"
        manifest["compute"]["approved"][1]["config"]["host"] = host
        project.write(manifest, TWO_TRANSFORMS)
        assert check_cluster(project.compile()) == [], host


def test_an_unused_compute_is_not_checked(project: K8sProject) -> None:
    manifest = two_computes()
    manifest["compute"]["approved"][1]["config"]["host"] = "127.0.0.1"
    project.write(manifest, ({"name": "all", "path": "models", "compute": "lake"},))
    assert check_cluster(project.compile()) == []


@pytest.mark.parametrize("field", ["backoff_limit", "ttl_seconds_after_finished"])
def test_integers_kubernetes_rejects_are_refused(
    project: K8sProject, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    project.write(two_computes(kubernetes={"image": "x:1", field: K8S_INT_MAX + 1}), TWO_TRANSFORMS)
    assert _refused(capsys, "--allow-pod-local") == (
        f"floe: error: manifest.yaml: kubernetes.{field}: must be at most 2147483647 (a Kubernetes int32), "
        "got 2147483648"
    )  # the loader refuses it first; kubernetes.py keeps its own check for hand-built settings
    project.write(two_computes(kubernetes={"image": "x:1", field: K8S_INT_MAX}), TWO_TRANSFORMS)
    assert kubernetes_objects(project.compile(), allow_pod_local=True)  # the largest one is fine


@pytest.mark.parametrize("mount", ["/tmp", "/etc/floe", "/etc/floe/dbt/x", "/tmp/data"])
def test_a_shared_volume_over_floes_own_mounts_is_refused(
    project: K8sProject, capsys: pytest.CaptureFixture[str], mount: str
) -> None:
    project.write(
        two_computes(kubernetes={"shared_volume": {"claim_name": "x", "mount_path": mount}}), TWO_TRANSFORMS
    )
    fixed, what = (
        ("/tmp", "scratch emptyDir")
        if mount.startswith("/tmp")
        else ("/etc/floe/dbt", "profiles.yml ConfigMap")
    )
    assert _refused(capsys, "--allow-pod-local") == (
        f"floe: error: manifest.yaml: kubernetes.shared_volume.mount_path: {mount!r} overlaps {fixed}, where "
        f"floe mounts the {what}; choose another folder"
    )


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        (
            {"claim_name": "x", "mount_path": "data"},
            "kubernetes.shared_volume.mount_path: 'data' is not an absolute, normalised folder path "
            "(like /data)",
        ),
        (
            {"claim_name": "x", "mount_path": "/data/../etc"},
            "kubernetes.shared_volume.mount_path: '/data/../etc' is not an absolute, normalised "
            "folder path (like /data)",
        ),
        (
            {"claim_name": "Not_A_Claim", "mount_path": "/data"},
            "kubernetes.shared_volume.claim_name: 'Not_A_Claim' is not a Kubernetes name (lowercase "
            "letters, digits and '-')",
        ),
        (
            {"claim_name": "x"},
            "kubernetes.shared_volume.mount_path: required field is missing",
        ),
    ],
)
def test_the_shared_volume_is_checked_when_the_manifest_is_read(
    project: K8sProject, capsys: pytest.CaptureFixture[str], volume: dict[str, str], message: str
) -> None:
    project.write(two_computes(kubernetes={"shared_volume": volume}), TWO_TRANSFORMS)
    assert main(["compile", "floe.yaml"]) == 2
    assert capsys.readouterr().err == f"floe: error: manifest.yaml: {message}\n"


def test_needs_naming_no_earlier_step_are_refused(project: K8sProject) -> None:
    from .conftest import with_needs

    project.write(
        two_computes(kubernetes={"shared_volume": {"claim_name": "x", "mount_path": "/data"}}), TWO_TRANSFORMS
    )
    compiled = with_needs(project.compile(), {"lake": ["warehouse"]})
    with pytest.raises(ConfigError) as caught:
        kubernetes_objects(compiled, output="workflow", allow_pod_local=True)
    assert str(caught.value) == (
        "compiled_artifacts.json: run_plan[0].needs: step 'lake' needs 'warehouse', which runs only "
        "after it in the plan"
    )


@attrs.frozen
class CatalogStandIn:
    """The shape design.md gives the manifest's ``catalog:`` (until the lakehouse catalog is merged)."""

    name: str
    type: str
    metadata: dict[str, Any]
    data_path: str


class _ManifestWithCatalog:
    def __init__(self, manifest: Any, catalog: CatalogStandIn) -> None:
        self._manifest = manifest
        self.catalog = catalog

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manifest, name)


def _with_catalog(compiled: Any, **fields: Any) -> Any:
    catalog = CatalogStandIn(
        **{
            "name": "lake",
            "type": "ducklake",
            "metadata": {"type": "postgres", "host": "lake-db", "port": 5432},
            "data_path": "s3://bucket/lake/",
            **fields,
        }
    )
    manifest = _ManifestWithCatalog(compiled.product.manifest, catalog)
    return attrs.evolve(compiled, product=attrs.evolve(compiled.product, manifest=manifest))


def test_a_shared_catalog_carries_the_data_between_pods(project: K8sProject) -> None:
    project.write(QUICKSTART_LIKE, QUICKSTART_TRANSFORMS)
    compiled = _with_catalog(project.compile())
    assert check_cluster(compiled) == []  # the computes' own files are scratch: tables go to the catalog
    assert kubernetes_objects(compiled, output="workflow")


def test_a_catalog_endpoint_on_loopback_is_refused(project: K8sProject) -> None:
    project.write(QUICKSTART_LIKE, QUICKSTART_TRANSFORMS)
    compiled = _with_catalog(project.compile(), metadata={"type": "postgres", "host": "127.0.0.1"})
    with pytest.raises(ConfigError) as caught:
        check_cluster(compiled, allow_pod_local=True)
    assert str(caught.value) == (
        "manifest.yaml: catalog.metadata.host: '127.0.0.1' is a loopback address: in a pod it is the pod "
        "itself, not the machine floe ran on; use the catalog's address as the cluster reaches it"
    )
    compiled = _with_catalog(project.compile(), data_path="http://localhost:9000/lake/")
    with pytest.raises(ConfigError, match=r"^manifest.yaml: catalog.data_path: 'localhost' is a loopback"):
        check_cluster(compiled)


def test_a_catalog_kept_on_the_pods_own_disk_is_refused(project: K8sProject) -> None:
    project.write(QUICKSTART_LIKE, QUICKSTART_TRANSFORMS)
    compiled = _with_catalog(project.compile(), data_path="lake_files/")
    with pytest.raises(ConfigError) as caught:
        check_cluster(compiled)
    assert str(caught.value) == (
        "manifest.yaml: catalog.data_path: the catalog's path 'lake_files/' is on the pod's own disk: the "
        "plan's 2 steps run in separate pods, and no other pod sees it; keep the catalog's data and metadata "
        "where every pod reaches them (object storage, a database server) or under "
        "kubernetes.shared_volume's mount_path (--allow-pod-local accepts this)"
    )
    assert [str(w).split(":")[1] for w in check_cluster(compiled, allow_pod_local=True)] == [
        " catalog.data_path"
    ]


def test_a_timeout_no_deadline_can_hold_is_refused(project: K8sProject) -> None:
    manifest = two_computes()
    manifest["compute"]["approved"][1]["timeout_seconds"] = 3e9
    project.write(manifest, TWO_TRANSFORMS)
    with pytest.raises(ConfigError) as caught:  # the loader bounds every duration at 7 days first
        project.compile()
    assert str(caught.value) == (
        "manifest.yaml: compute.approved[1].timeout_seconds: must be a number of seconds greater than 0 "
        "and at most 604800 (7 days), got 3000000000.0"
    )
