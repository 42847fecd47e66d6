"""Iceberg for real and offline (``tox -e iceberg``).

pyiceberg writes a table through a SQLite catalog into a temporary folder; DuckDB reads it
with the ``iceberg`` extension taken from PyPI wheels (``duckdb-extension-iceberg``,
``-avro``, ``-httpfs``) linked into a local ``extension_directory``, autoinstall off, so
nothing is downloaded. The REST attachment SQL runs against a small REST catalog stub on
127.0.0.1, which shows that hostile values arrive intact as values.
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest

from floe_duckdb.extensions import link_wheel_extensions
from floe_hooks import CatalogConfig, ConnectionStatus, PluginManager, SecretRef, SecretValue

from ._dbt import PROJECT, assert_ok, dbt, write_profiles

pytestmark = pytest.mark.iceberg

EXTENSIONS = ["httpfs", "avro", "iceberg"]
ROWS = [("duck", 1.5), ("pond", 20.0), ("bread", 0.25), ("feather", 3.0)]


@pytest.fixture
def extension_directory(tmp_path: Path) -> Path:
    """A local extension folder filled from the installed wheels (nothing downloaded)."""
    folder = tmp_path / "extensions"
    linked = link_wheel_extensions(folder, EXTENSIONS)
    assert sorted(linked) == sorted(EXTENSIONS)
    return folder


@pytest.fixture
def iceberg_table(tmp_path: Path) -> str:
    """An Iceberg table written by pyiceberg (SQLite catalog, local warehouse): its metadata file."""
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "local",
        uri=f"sqlite:///{tmp_path / 'catalog.db'}",
        warehouse=(tmp_path / "warehouse").as_uri(),
    )
    catalog.create_namespace("shop")
    first = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "item": ["duck", "pond", "bread"],
            "amount": pa.array([1.5, 20.0, 0.25]),
        }
    )
    table = catalog.create_table("shop.orders", schema=first.schema)
    table.append(first)
    table.append(pa.table({"id": pa.array([4], pa.int64()), "item": ["feather"], "amount": pa.array([3.0])}))
    location = table.metadata_location
    assert location.startswith("file://")
    return urllib.parse.unquote(location.removeprefix("file://"))


def offline_config(extension_directory: Path, **more: Any) -> dict[str, Any]:
    return {
        "extensions": EXTENSIONS,
        "extension_directory": str(extension_directory),
        "autoinstall_extensions": False,
        **more,
    }


def connect_like_dbt_duckdb(profile: dict[str, Any]) -> Any:
    """Open DuckDB the way dbt-duckdb does with this profile: config, INSTALL+LOAD, SET."""
    conn = duckdb.connect(profile["path"], config=profile.get("config_options", {}))
    for name in profile.get("extensions", []):
        conn.install_extension(name)
        conn.load_extension(name)
    for key, value in profile["settings"].items():
        conn.execute(f"SET {key} = '{value}'")
    return conn


def test_the_check_loads_iceberg_from_the_local_folder(
    pm: PluginManager, duckdb_compute: Any, extension_directory: Path
) -> None:
    result = pm.validate_connection(duckdb_compute(offline_config(extension_directory)))
    assert result.status is ConnectionStatus.HEALTHY, result


def test_duckdb_reads_the_table_pyiceberg_wrote(
    pm: PluginManager, duckdb_compute: Any, extension_directory: Path, iceberg_table: str
) -> None:
    profile = pm.generate_profile(duckdb_compute(offline_config(extension_directory)))
    assert profile["config_options"] == {
        "extension_directory": str(extension_directory),
        "autoinstall_known_extensions": False,
    }
    with connect_like_dbt_duckdb(profile) as conn:
        rows = conn.execute(
            "select item, amount from iceberg_scan(?) order by id", [iceberg_table]
        ).fetchall()
        loaded = conn.execute(
            "select extension_name, install_path from duckdb_extensions() "
            "where loaded and install_path like ?",
            [f"{extension_directory}%"],
        ).fetchall()
    assert rows == ROWS
    assert sorted(name for name, _ in loaded) == sorted(EXTENSIONS)


def test_dbt_reads_the_iceberg_table_offline(
    pm: PluginManager, duckdb_compute: Any, extension_directory: Path, iceberg_table: str, tmp_path: Path
) -> None:
    shutil.copytree(PROJECT, tmp_path / "project")
    database = tmp_path / "warehouse.duckdb"
    compute = duckdb_compute(offline_config(extension_directory, path=str(database), schema="lake"))
    write_profiles(tmp_path, pm, compute)
    done = dbt(
        tmp_path,
        "run",
        "--select",
        "iceberg_orders",
        "--vars",
        json.dumps({"iceberg_metadata": iceberg_table}),
    )
    assert_ok(done, "Completed successfully")
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("select * from lake.iceberg_orders").fetchall() == ROWS
    assert pm.validate_connection(compute).status is ConnectionStatus.HEALTHY


class _RestCatalogStub(BaseHTTPRequestHandler):
    """Just enough of the Iceberg REST protocol to attach: token, config, namespaces."""

    seen: list[tuple[str, str, str]]

    def _json(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        self.seen.append(("POST", self.path, f"{body}|{self.headers.get('Authorization')}"))
        self._json({"access_token": "stub-token", "token_type": "bearer", "expires_in": 3600})

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path, str(self.headers.get("Authorization"))))
        if self.path.startswith("/v1/config"):
            self._json({"defaults": {}, "overrides": {"prefix": "stub"}})
        else:
            self._json({"namespaces": []})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def rest_catalog() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """A REST catalog stub on 127.0.0.1 and the requests it received."""
    seen: list[tuple[str, str, str]] = []
    handler = type("Handler", (_RestCatalogStub,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("warehouse", "client_id", "client_secret"),
    [
        ("analytics", "floe", "s3cr3t"),
        ("wh'; ATTACH 'evil.duckdb' AS evil; --", "id'; DROP SECRET x; --", "s3'cr&t=1 /* */"),
    ],
)
def test_rest_catalog_attach_runs_and_values_arrive_intact(
    pm: PluginManager,
    duckdb_compute: Any,
    extension_directory: Path,
    rest_catalog: tuple[str, list[tuple[str, str, str]]],
    warehouse: str,
    client_id: str,
    client_secret: str,
) -> None:
    endpoint, seen = rest_catalog
    compute = duckdb_compute(offline_config(extension_directory))
    catalog = CatalogConfig(
        name="lake",
        uri=endpoint,
        warehouse=warehouse,
        client_id=SecretRef(env="LAKE_CLIENT_ID"),
        client_secret=SecretRef(env="LAKE_CLIENT_SECRET"),
        scope="PRINCIPAL_ROLE:ALL",
    )
    secrets = {"client_id": SecretValue(client_id), "client_secret": SecretValue(client_secret)}
    statements = pm.catalog_attachment_sql(compute, catalog, secrets)
    profile = pm.generate_profile(compute)
    with connect_like_dbt_duckdb(profile) as conn:
        for statement in statements:
            conn.execute(statement.sql)
        databases = conn.execute("select database_name, type from duckdb_databases() order by 1").fetchall()
        secret_rows = conn.execute("select name, type from duckdb_secrets()").fetchall()
    assert ("lake", "iceberg") in databases
    assert not any(name == "evil" for name, _ in databases)
    assert secret_rows == [("floe_lake_catalog", "iceberg")]

    token = next(entry for entry in seen if entry[0] == "POST")
    assert token[1] == "/v1/oauth/tokens"
    body, authorization = token[2].split("|", 1)
    assert urllib.parse.parse_qs(body) == {
        "grant_type": ["client_credentials"],
        "scope": ["PRINCIPAL_ROLE:ALL"],
    }
    assert base64.b64decode(authorization.removeprefix("Basic ")).decode() == f"{client_id}:{client_secret}"
    config = next(entry for entry in seen if entry[1].startswith("/v1/config"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(config[1]).query)
    assert query == {"warehouse": [warehouse]}
    assert config[2] == "Bearer stub-token"
