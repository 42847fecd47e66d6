"""The Argo Workflow of a two-compute DuckLake product, rehearsed task by task against the real catalog.

``floe k8s --format argo`` writes the Workflow; ``tests/kubernetes/rehearsal.py`` runs each
task in a fresh, empty folder holding only what its pod would (the image's dbt project,
the ConfigMap's ``profiles.yml``, the container's ``env``), with the catalog's credentials
from ``secretKeyRef``s. The two pods share nothing but the catalog: metadata in the real
PostgreSQL server, data in the folder standing for the claim mounted at ``/lake``.

The rehearsal's liberties: the claim is a local folder (mount paths rewritten, as the
harness does for every volume), and the cluster's name of the metadata server
(``lake-pg.data.svc``) is resolved to the server's loopback address, as cluster DNS would
resolve it to the Service. The image's DuckDB extensions are the wheels of this
environment, linked into a folder under ``/var/tmp``: never under ``/tmp``, the pods'
scratch mount, which the harness rewrites wherever a path starts with it (a checkout or
venv under ``/tmp`` would be rewritten too).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import PROJECT, floe, load_sibling, write_manifest

pytestmark = pytest.mark.lakehouse

SERVICE = "lake-pg.data.svc"


def _rehearsal() -> Any:
    return load_sibling("floe_tests_argo_rehearsal", "kubernetes/rehearsal.py")


@pytest.fixture
def image_extensions() -> Iterator[Path]:
    """The image's extension folder: outside /tmp, whatever folder the checkout is in."""
    folder = Path(tempfile.mkdtemp(prefix="floe-image-extensions-", dir="/var/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_argo_workflow_runs_task_by_task_on_the_catalog(
    tmp_path: Path, pg_server: Any, lake_db: str, extension_directory: Path, image_extensions: Path
) -> None:
    from .test_lakehouse import MARTS, _read_marts

    src = tmp_path / "src"
    shutil.copytree(PROJECT, src)
    catalog = {
        "name": "lake",
        "type": "ducklake",
        "metadata": {
            "type": "postgres",
            "host": SERVICE,
            "port": pg_server.port,
            "dbname": lake_db,
            "user": pg_server.user,
        },
        "data_path": "/lake/data/",
        "credentials": {"password": {"env": "LAKE_PG_PASSWORD", "secret": "lake-pg", "key": "password"}},
    }
    from floe_duckdb.extensions import link_wheel_extensions

    from .conftest import EXTENSIONS

    in_image = image_extensions
    assert sorted(link_wheel_extensions(in_image, EXTENSIONS)) == sorted(EXTENSIONS)
    path = write_manifest(src, catalog, in_image)
    manifest = yaml.safe_load(path.read_text())
    manifest["kubernetes"] = {
        "image": "registry.example/shop-dbt:1.0",
        "namespace": "data",
        "shared_volume": {"claim_name": "lake-data", "mount_path": "/lake"},
    }
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))

    done = floe("k8s", "floe.yaml", "--format", "argo", "--out", "-", cwd=src)
    assert done.returncode == 0, done.stderr
    assert pg_server.password not in done.stdout
    configmap, workflow = list(yaml.safe_load_all(done.stdout))
    tasks = {t["name"]: t for t in workflow["spec"]["templates"][0]["dag"]["tasks"]}
    assert set(tasks) == {"a", "b"}
    assert tasks["b"]["dependencies"] == ["a"]
    containers = {t["name"]: t["container"] for t in workflow["spec"]["templates"] if "container" in t}
    for container in containers.values():
        assert {
            "name": "DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "lake-pg", "key": "password"}},
        } in container["env"]
    written = floe("k8s", "floe.yaml", "--format", "argo", cwd=src)
    assert "needs Kubernetes Secrets (name/key) in namespace data: lake-pg/password\n" in written.stdout
    # cluster DNS: the Service name reaches the server
    configmap["data"] = {k: v.replace(SERVICE, "127.0.0.1") for k, v in configmap["data"].items()}

    image = tmp_path / "image"
    shutil.copytree(PROJECT, image, ignore=shutil.ignore_patterns("floe.yaml", "manifest.yaml", "target"))
    claim = tmp_path / "pvc-lake-data"
    claim.mkdir()
    result = _rehearsal().rehearse(
        workflow,
        image_dir=image,
        configmaps={configmap["metadata"]["name"]: configmap},
        work=tmp_path / "pods",
        claims={"lake-data": claim},
        secrets={("lake-pg", "password"): pg_server.password},
    )
    assert result.phase == "Succeeded", result.report() + "".join(
        a.stdout[-3000:] + a.stderr[-2000:] for n in result.nodes.values() for a in n.attempts
    )
    assert result.order.index("a") < result.order.index("b")
    pods = sorted(p.name for p in (tmp_path / "pods").iterdir())
    assert [p[:2] for p in pods] == ["a-", "b-"]
    assert not list((tmp_path / "pods" / pods[0]).rglob("b.duckdb"))
    assert not list((tmp_path / "pods" / pods[1]).rglob("a.duckdb"))
    assert list(claim.rglob("*.parquet")), "DuckLake wrote no data files into the claim"
    assert sorted(p.name for p in claim.iterdir()) == ["data"]  # only the catalog's data
    assert _read_marts(extension_directory, pg_server, lake_db, str(claim / "data") + "/") == MARTS


def test_a_catalog_credential_without_a_kubernetes_secret_is_refused_by_floe_k8s(
    tmp_path: Path, extension_directory: Path
) -> None:
    src = tmp_path / "src"
    shutil.copytree(PROJECT, src)
    catalog = {
        "name": "lake",
        "type": "ducklake",
        "metadata": {"type": "postgres", "host": SERVICE, "port": 5432, "dbname": "lake", "user": "floe"},
        "data_path": "s3://bucket/lake/",
        "credentials": {"password": {"env": "LAKE_PG_PASSWORD"}},
    }
    path = write_manifest(src, catalog, extension_directory)
    manifest = yaml.safe_load(path.read_text())
    manifest["kubernetes"] = {"image": "registry.example/shop-dbt:1.0", "namespace": "data"}
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    done = floe("k8s", "floe.yaml", "--format", "argo", cwd=src)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "floe: error: manifest.yaml: catalog.credentials.password: catalog 'lake': the reference "
        "credentials.password only works locally; a pod reads secrets from a Secret: add 'secret: NAME' "
        "and 'key: KEY' to this reference (keep 'env' or 'file' for local runs)\n"
    )
    assert not (src / "target" / "floe" / "k8s").exists()
