"""The Iceberg REST catalog of ``manifest.yaml`` reaches the dbt-duckdb profile and DuckDB accepts it.

``tox -e iceberg``: the ``iceberg`` extension comes from PyPI wheels. What runs against a
server is the REST catalog stub of ``test_iceberg.py`` on 127.0.0.1 (OAuth2 token,
``/v1/config``, namespaces): the ATTACH and the secret floe generates are executed by
dbt-duckdb's own code paths (its ``Attachment.to_sql`` and ``Secret.to_sql``) and by a real
``dbt debug``; writing tables needs a real Iceberg REST server, which is not offline.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from floe_hooks import PluginManager, compile_product, load_product

from .test_iceberg import extension_directory as extension_directory
from .test_iceberg import rest_catalog  # noqa: F401 - a fixture

pytestmark = pytest.mark.iceberg


@pytest.fixture(autouse=True)
def no_secret_of_earlier_tests() -> Iterator[None]:
    """Secrets other tests of this process registered for masking (``floe``...) are not this one's."""
    from floe_hooks import _redact

    _redact.forget_all()
    yield
    _redact.forget_all()


CLIENT_ID, CLIENT_SECRET = "floe-client", "s3cr3t-'quoted'"


def _compile(tmp_path: Path, pm: PluginManager, endpoint: str, extensions: Path) -> dict[str, Any]:
    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "manifest.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "compute": {
                    "approved": [
                        {
                            "name": "warehouse",
                            "type": "duckdb",
                            "config": {
                                "path": str(tmp_path / "w.duckdb"),
                                "extension_directory": str(extensions),
                                "autoinstall_extensions": False,
                            },
                        }
                    ]
                },
                "catalog": {
                    "name": "lake",
                    "type": "iceberg_rest",
                    "uri": endpoint,
                    "warehouse": "analytics",
                    "scope": "PRINCIPAL_ROLE:ALL",
                    "credentials": {
                        "client_id": {"env": "LAKE_CLIENT_ID"},
                        "client_secret": {"env": "LAKE_CLIENT_SECRET"},
                    },
                },
            }
        )
    )
    (tmp_path / "floe.yaml").write_text(
        "name: shop\nplatform: manifest.yaml\ntransforms:\n  - {name: marts, path: models/marts}\n"
    )
    compiled = compile_product(load_product(tmp_path / "floe.yaml", manager=pm), manager=pm)
    (tmp_path / "profiles.yml").write_text(compiled.profiles_yml)
    return dict(compiled.compute("warehouse").profile)


_TEMPLATE = re.compile(r"\{\{ env_var\('(\w+)'\) \}\}")


def _render(value: Any, env: dict[str, str]) -> Any:
    """What dbt's Jinja does with floe's env_var() templates."""
    if isinstance(value, str):
        return _TEMPLATE.sub(lambda m: env[m[1]], value)
    if isinstance(value, dict):
        return {k: _render(v, env) for k, v in value.items()}
    return value


ENV = {
    "DBT_ENV_SECRET_CATALOG_LAKE_CLIENT_ID": CLIENT_ID,
    "DBT_ENV_SECRET_CATALOG_LAKE_CLIENT_SECRET": CLIENT_SECRET,
}


def test_the_rest_catalog_reaches_the_profile_and_attaches_through_dbt_duckdb(
    tmp_path: Path,
    installed_pm: PluginManager,
    extension_directory: Path,
    rest_catalog: Any,  # noqa: F811
) -> None:
    from dbt.adapters.duckdb.credentials import Attachment
    from dbt.adapters.duckdb.secrets import Secret

    endpoint, seen = rest_catalog
    profile = _compile(tmp_path, installed_pm, endpoint, extension_directory)
    assert profile["database"] == "lake"
    assert profile["attach"] == [
        {
            "path": "analytics",
            "alias": "lake",
            "options": {"type": "iceberg", "endpoint": endpoint, "secret": "floe_catalog_lake"},
        }
    ]
    (secret,) = profile["secrets"]
    assert secret["client_secret"] == "{{ env_var('DBT_ENV_SECRET_CATALOG_LAKE_CLIENT_SECRET') }}"

    rendered = _render(dict(secret), ENV)
    create = Secret.create(secret_type=rendered.pop("type"), **rendered).to_sql()
    attach = Attachment(**profile["attach"][0]).to_sql()
    config = {"extension_directory": str(extension_directory), "autoinstall_known_extensions": False}
    with duckdb.connect(config=config) as conn:
        for name in profile["extensions"]:
            conn.load_extension(name)
        conn.execute(create)
        conn.execute(attach)
        assert ("lake", "iceberg") in conn.execute(
            "select database_name, type from duckdb_databases()"
        ).fetchall()
    token = next(entry for entry in seen if entry[0] == "POST")
    assert token[1] == "/v1/oauth/tokens"
    assert any(entry[1].startswith("/v1/config?warehouse=analytics") for entry in seen)


def test_real_dbt_connects_through_the_generated_profile(
    tmp_path: Path,
    installed_pm: PluginManager,
    extension_directory: Path,
    rest_catalog: Any,  # noqa: F811
) -> None:
    endpoint, seen = rest_catalog
    _compile(tmp_path, installed_pm, endpoint, extension_directory)
    (tmp_path / "dbt_project.yml").write_text(
        "name: shop\nversion: '1.0'\nconfig-version: 2\nprofile: shop\n"
    )
    env = {**os.environ, **ENV, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "debug",
            "--connection",
            "--profiles-dir",
            ".",
            "--no-use-colors",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Connection test: [OK connection ok]" in done.stdout
    assert any(entry[0] == "POST" for entry in seen)
    assert CLIENT_SECRET not in done.stdout + done.stderr


def test_an_unreachable_catalog_fails_at_connecting_not_at_parsing(
    tmp_path: Path,
    installed_pm: PluginManager,
    extension_directory: Path,
) -> None:
    from dbt.adapters.duckdb.credentials import Attachment

    profile = _compile(tmp_path, installed_pm, "http://127.0.0.1:1", extension_directory)
    (secret,) = profile["secrets"]
    rendered = _render(dict(secret), ENV)
    from dbt.adapters.duckdb.secrets import Secret

    config = {"extension_directory": str(extension_directory), "autoinstall_known_extensions": False}
    with duckdb.connect(config=config) as conn:
        for name in profile["extensions"]:
            conn.load_extension(name)
        # DuckDB parses both statements; the secret fetches its OAuth2 token at once, and fails there
        create = Secret.create(secret_type=rendered.pop("type"), **rendered).to_sql()
        with pytest.raises(duckdb.Error) as info:
            conn.execute(create)
    with duckdb.connect(config=config) as conn:  # the ATTACH alone, without the secret, parses too
        conn.execute("LOAD httpfs; LOAD iceberg")
        attach = Attachment(
            **{
                **profile["attach"][0],
                "options": {
                    "type": "iceberg",
                    "endpoint": "http://127.0.0.1:1",
                    "authorization_type": "none",
                },
            }
        ).to_sql()
        with pytest.raises(duckdb.Error) as attach_info:
            conn.execute(attach)
    assert not isinstance(attach_info.value, duckdb.ParserException)
    assert not isinstance(info.value, duckdb.ParserException)
    assert "Could not connect to server" in str(info.value)
    assert CLIENT_SECRET not in str(info.value)
