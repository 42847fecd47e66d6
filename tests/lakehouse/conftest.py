"""The lakehouse data path for real: DuckLake on a real PostgreSQL, data in a folder or on S3.

The PostgreSQL server is the one ``tests/postgres/conftest.py`` starts (its class is
loaded from that file, not copied); the S3-compatible server is moto's server mode on
127.0.0.1. DuckDB's ``ducklake``, ``postgres_scanner`` and ``httpfs`` extensions come
from the ``duckdb-extension-*`` wheels, linked into a local ``extension_directory``:
nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).parent / "project"
EXTENSIONS = ["ducklake", "postgres_scanner", "httpfs"]


def load_sibling(name: str, relative: str) -> Any:
    """The module at ``tests/<relative>`` (a folder that is no package), imported once as ``name``."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / relative)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_pg = load_sibling("floe_tests_postgres_server", "postgres/conftest.py")
PostgresServer = _pg.PostgresServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A running PostgreSQL server (tests/postgres/conftest.py's), shared by the session."""
    server = _pg._started()
    yield server
    server.destroy()


@pytest.fixture
def lake_db(pg_server: Any) -> str:
    """A fresh, empty database on the server for one test's DuckLake metadata (owned by the role)."""
    import psycopg

    name = "lake_" + secrets.token_hex(4)
    with psycopg.connect(**pg_server.admin_params(), autocommit=True) as conn:
        conn.execute(f"create database {name} owner {pg_server.user}")
    return name


@pytest.fixture(scope="session")
def extension_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ducklake, postgres_scanner and httpfs from the installed wheels (nothing downloaded)."""
    from floe_duckdb.extensions import link_wheel_extensions

    folder = tmp_path_factory.mktemp("extensions")
    assert sorted(link_wheel_extensions(folder, EXTENSIONS)) == sorted(EXTENSIONS)
    return folder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Server:
    """moto's S3-compatible server on 127.0.0.1, with one bucket."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = _free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.bucket = "lake-bucket"
        self.key_id = "floe-key-" + secrets.token_hex(4)
        self.region = "us-east-1"
        self.client().create_bucket(Bucket=self.bucket)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=f"http://{self.endpoint}",
            aws_access_key_id="admin",
            aws_secret_access_key="admin",
            region_name=self.region,
        )

    def keys(self) -> list[str]:
        """Every object key in the bucket."""
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return [item["Key"] for item in listing.get("Contents", [])]

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    """An S3-compatible server (moto) on 127.0.0.1 with an empty bucket."""
    server = S3Server()
    yield server
    server.stop()


def floe(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``floe`` command (no proxy: every server here is on 127.0.0.1)."""
    exe = Path(sys.executable).with_name("floe")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={
            **{k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")},
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            **(env or {}),
        },
        timeout=600,
    )


def write_manifest(folder: Path, catalog: dict[str, Any], extension_directory: Path, **computes: Any) -> Path:
    """manifest.yaml with DuckDB computes a and b (each its own file) and ``catalog``."""
    offline = {"extension_directory": str(extension_directory), "autoinstall_extensions": False}
    approved = [
        {"name": "a", "type": "duckdb", "config": {"path": "a.duckdb", **offline}},
        {"name": "b", "type": "duckdb", "config": {"path": "b.duckdb", **offline}},
        *computes.get("extra", []),
    ]
    document = {"version": 1, "compute": {"default": "b", "approved": approved}, "catalog": catalog}
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
