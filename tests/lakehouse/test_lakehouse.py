"""Two DuckDB computes hand tables over through a DuckLake catalog, nothing else (``tox -e lakehouse``).

``floe run --isolate-steps`` runs each dbt step in its own fresh, empty working directory,
as two pods would: compute ``a`` (its own ``a.duckdb``) builds the staging model, compute
``b`` (its own ``b.duckdb``) builds the mart from it. The only thing they share is the
catalog: metadata in a real PostgreSQL server, data in a folder or in an S3 bucket; floe
hands the catalog's resolved credentials to each step's dbt only. The dbt project has no
``+database`` and no alias.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from floe_hooks import compile_file, load_product
from floe_hooks.catalog import catalog_environment
from floe_hooks.cli import main as cli_main

from .conftest import PROJECT, S3Server, floe, write_manifest

pytestmark = pytest.mark.lakehouse

MARTS = [("ada", 2, 15.5), ("bulk", 1000, 1000.0), ("grace", 2, 10.0), ("linus", 1, 1.0)]


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(PROJECT, src)
    return src


def _pg_catalog(server: Any, dbname: str, data_path: str, **more: Any) -> dict[str, Any]:
    return {
        "name": "lake",
        "type": "ducklake",
        "metadata": {
            "type": "postgres",
            "host": "127.0.0.1",
            "port": server.port,
            "dbname": dbname,
            "user": server.user,
        },
        "data_path": data_path,
        "credentials": {"password": {"env": "LAKE_PG_PASSWORD"}},
        **more,
    }


def _read_marts(
    extension_directory: Path, server: Any, dbname: str, data_path: str, s3: S3Server | None = None
) -> Any:
    """The mart as a third party sees it: attach the same catalog and read it."""
    config = {"extension_directory": str(extension_directory), "autoinstall_known_extensions": False}
    with duckdb.connect(config=config) as conn:
        conn.execute("LOAD ducklake; LOAD postgres; LOAD httpfs")
        conn.execute(
            f"CREATE SECRET __default_postgres (TYPE postgres, HOST '127.0.0.1', PORT '{server.port}', "
            f"DATABASE '{dbname}', USER '{server.user}', PASSWORD '{server.password}')"
        )
        if s3 is not None:
            conn.execute(
                f"CREATE SECRET s3 (TYPE s3, KEY_ID '{s3.key_id}', SECRET 'x', ENDPOINT '{s3.endpoint}', "
                f"URL_STYLE 'path', USE_SSL false, REGION '{s3.region}')"
            )
        conn.execute(f"ATTACH 'ducklake:postgres:' AS lake (DATA_PATH '{data_path}', READ_ONLY)")
        return conn.execute("select * from lake.main.customer_revenue order by customer").fetchall()


def _compile(src: Path) -> tuple[Path, dict[str, Any]]:
    done = floe("compile", "floe.yaml", cwd=src)
    assert done.returncode == 0, done.stderr
    out = src / "target" / "floe"
    return out / "profiles.yml", json.loads((out / "compiled_artifacts.json").read_text())


def _run_isolated(src: Path, env: dict[str, str]) -> tuple[Path, Path, str]:
    """``floe run --isolate-steps`` (each step in a fresh empty folder): the two work folders, the logs."""
    done = floe("run", "floe.yaml", "--isolate-steps", cwd=src, env=env)
    assert done.returncode == 0, f"floe run failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    out = src / "target" / "floe"
    record = json.loads((out / "run_results.json").read_text())
    steps = [(s["compute"], s["needs"], s["status"], s["mode"], s["failed"]) for s in record["steps"]]
    assert steps == [("a", [], "success", "subprocess", 0), ("b", ["a"], "success", "subprocess", 0)]
    assert [s["succeeded"] for s in record["steps"]] == [1, 1]
    assert not list(src.glob("*.duckdb")), "a step wrote a database file into the project"
    return out / "steps" / "a" / "work", out / "steps" / "b" / "work", done.stdout + done.stderr


def test_the_dbt_project_carries_no_database_or_alias() -> None:
    text = "\n".join(
        p.read_text() for p in PROJECT.rglob("*") if p.is_file() and p.suffix in (".sql", ".yml")
    )
    assert "database" not in text.replace("no +database", "")
    assert "alias" not in text.replace("no alias", "")


def test_two_pods_share_nothing_but_a_ducklake_on_postgres_and_a_folder(
    tmp_path: Path, pg_server: Any, lake_db: str, extension_directory: Path
) -> None:
    src = _source(tmp_path)
    data = str(tmp_path / "lake-data") + "/"
    write_manifest(src, _pg_catalog(pg_server, lake_db, data), extension_directory)
    profiles, artifact = _compile(src)

    assert artifact["catalog"]["name"] == "lake"
    assert artifact["catalog"]["attached_by"] == ["a", "b"]
    assert artifact["catalog"]["env"] == [
        {
            "variable": "DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD",
            "path": "credentials.password",
            "from": {"env": "LAKE_PG_PASSWORD"},
        }
    ]
    catalog = load_product(src / "floe.yaml").manifest.catalog
    env = catalog_environment(catalog, {"LAKE_PG_PASSWORD": pg_server.password})
    assert list(env) == ["DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD"]

    pod_a, pod_b, logs = _run_isolated(src, {"LAKE_PG_PASSWORD": pg_server.password})

    assert (pod_a / "a.duckdb").exists()
    assert not (pod_a / "b.duckdb").exists()
    assert (pod_b / "b.duckdb").exists()
    assert not (pod_b / "a.duckdb").exists()
    assert _read_marts(extension_directory, pg_server, lake_db, data) == MARTS
    assert list(Path(data).rglob("*.parquet")), "DuckLake wrote no data files into the folder"
    for text in (
        profiles.read_text(),
        (src / "target" / "floe" / "compiled_artifacts.json").read_text(),
        (src / "target" / "floe" / "run_results.json").read_text(),
        logs,
    ):
        assert pg_server.password not in text
    for path in (src / "target").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".log", ".yml", ".sql"):
            assert pg_server.password not in path.read_text(errors="replace"), path


def test_two_pods_share_a_ducklake_with_data_on_s3_and_a_canary_leaks_nowhere(
    tmp_path: Path,
    pg_server: Any,
    lake_db: str,
    extension_directory: Path,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    canary = "canary-" + secrets.token_hex(16)
    secret_file = tmp_path / "mounted" / "s3-secret"
    secret_file.parent.mkdir()
    secret_file.write_text(canary + "\n")
    src = _source(tmp_path)
    data = f"s3://{s3_server.bucket}/lake/"
    catalog = _pg_catalog(
        pg_server,
        lake_db,
        data,
        storage={
            "endpoint": s3_server.endpoint,
            "region": s3_server.region,
            "url_style": "path",
            "use_ssl": False,
        },
    )
    catalog["credentials"] = {
        "password": {"env": "LAKE_PG_PASSWORD"},
        "s3_key_id": {"env": "LAKE_S3_KEY_ID"},
        "s3_secret": {"file": str(secret_file)},
    }
    write_manifest(src, catalog, extension_directory)
    _, artifact = _compile(src)
    assert [e["variable"] for e in artifact["catalog"]["env"]] == [
        "DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD",
        "DBT_ENV_SECRET_CATALOG_LAKE_S3_KEY_ID",
        "DBT_ENV_SECRET_CATALOG_LAKE_S3_SECRET",
    ]
    resolved = load_product(src / "floe.yaml").manifest.catalog
    env = catalog_environment(
        resolved, {"LAKE_PG_PASSWORD": pg_server.password, "LAKE_S3_KEY_ID": s3_server.key_id}
    )
    assert env["DBT_ENV_SECRET_CATALOG_LAKE_S3_SECRET"] == canary

    pod_a, pod_b, logs = _run_isolated(
        src, {"LAKE_PG_PASSWORD": pg_server.password, "LAKE_S3_KEY_ID": s3_server.key_id}
    )

    assert _read_marts(extension_directory, pg_server, lake_db, data, s3_server) == MARTS
    keys = s3_server.keys()
    assert keys, "DuckLake wrote nothing into the bucket"
    assert all(k.startswith("lake/") and k.endswith(".parquet") for k in keys), keys
    # floe validate with debug logs sees the catalog (and its secrets) too
    check = floe(
        "--log-level",
        "debug",
        "validate",
        "manifest.yaml",
        "--format",
        "json",
        cwd=src,
        env={"LAKE_PG_PASSWORD": pg_server.password, "LAKE_S3_KEY_ID": s3_server.key_id},
    )
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["catalog"]["status"] == "healthy", report
    logs += check.stdout + check.stderr
    assert canary not in logs
    for root in (src, pod_a, pod_b):
        for path in root.rglob("*"):
            if path.is_file():
                assert canary.encode() not in path.read_bytes(), path
    assert canary not in json.dumps(dict(os.environ))

    # spans: floe compile (the catalog_profile hook) and floe validate (the catalog row) in
    # this process, the OpenTelemetry SDK recording, the canary resolvable from its file
    spans = _spans_of(
        lambda: (
            compile_file(src / "floe.yaml", out=tmp_path / "again"),
            cli_main(["--log-level", "debug", "validate", str(src / "manifest.yaml"), "--format", "json"]),
        ),
        monkeypatch,
        {"LAKE_PG_PASSWORD": pg_server.password, "LAKE_S3_KEY_ID": s3_server.key_id},
    )
    assert "floe.catalog_profile" in spans
    captured = capsys.readouterr()
    assert '"status": "healthy"' in captured.out
    assert canary not in spans + captured.out + captured.err


def _spans_of(work: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    """Run ``work`` with an in-memory span exporter; every finished span as JSON text."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    work()
    return "\n".join(span.to_json() for span in exporter.get_finished_spans())


def test_an_unreachable_metadata_store_is_unhealthy_in_floe_validate(
    tmp_path: Path, extension_directory: Path
) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    catalog = {
        "name": "lake",
        "type": "ducklake",
        "metadata": {"type": "postgres", "host": "127.0.0.1", "port": port, "dbname": "lake", "user": "floe"},
        "data_path": str(tmp_path) + "/",
        "credentials": {"password": {"env": "LAKE_PG_PASSWORD"}},
    }
    write_manifest(tmp_path, catalog, extension_directory)
    done = floe(
        "validate",
        "manifest.yaml",
        "--timeout",
        "2",
        "--format",
        "json",
        cwd=tmp_path,
        env={"LAKE_PG_PASSWORD": "x"},
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["catalog"]["status"] == "unhealthy"
    assert report["catalog"]["message"] == f"metadata store 127.0.0.1:{port} unreachable: Connection refused"
    assert [c["status"] for c in report["computes"]] == ["healthy", "healthy"] or report["computes"]
    assert report["summary"]["unhealthy"] >= 1
    table = floe("validate", "manifest.yaml", "--timeout", "2", cwd=tmp_path, env={"LAKE_PG_PASSWORD": "x"})
    assert table.returncode == 1
    assert any(line.startswith("catalog lake") and "unhealthy" in line for line in table.stdout.splitlines())


def test_a_reachable_metadata_store_is_healthy_and_creates_nothing(
    tmp_path: Path, pg_server: Any, lake_db: str, extension_directory: Path
) -> None:
    data = tmp_path / "lake-data"
    data.mkdir()
    write_manifest(tmp_path, _pg_catalog(pg_server, lake_db, str(data) + "/"), extension_directory)
    done = floe(
        "validate",
        "manifest.yaml",
        "--format",
        "json",
        cwd=tmp_path,
        env={"LAKE_PG_PASSWORD": pg_server.password},
    )
    report = json.loads(done.stdout)
    assert report["catalog"]["status"] == "healthy", report
    assert list(data.iterdir()) == []
    import psycopg

    params = {**pg_server.admin_params(), "dbname": lake_db}
    with psycopg.connect(**params) as conn:
        tables = conn.execute(
            "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')"
        ).fetchall()
    assert tables == [(0,)]


def test_a_child_manifest_replacing_the_catalog_is_refused_by_floe_compile(
    tmp_path: Path, extension_directory: Path
) -> None:
    platform = tmp_path / "platform"
    platform.mkdir()
    catalog = {
        "name": "lake",
        "type": "ducklake",
        "metadata": {"type": "duckdb", "path": "lake.ducklake"},
        "data_path": "lake_data/",
    }
    write_manifest(platform, catalog, extension_directory)
    src = _source(tmp_path)
    mine = {**catalog, "name": "mine"}
    (src / "manifest.yaml").write_text(
        json.dumps({"extends": "../platform/manifest.yaml", "catalog": mine})  # JSON is YAML
    )
    done = floe("compile", "floe.yaml", cwd=src)
    assert done.returncode == 2
    assert done.stderr == (
        "floe: error: manifest.yaml: catalog: cannot replace the catalog 'lake' set by the parent manifest "
        "../platform/manifest.yaml: the catalog is the platform's; a child manifest inherits it as it is "
        "(environments.<env>.catalog may change its connection settings)\n"
    )
    assert not (src / "target").exists()
