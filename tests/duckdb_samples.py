"""A DuckDB compute config that sets every field: shared by the config and structuring tests.

The tests/ folder is on ``sys.path`` (tests/conftest.py): ``from duckdb_samples import FULL``.
"""

from __future__ import annotations

from typing import Any

FULL: dict[str, Any] = {
    "path": "build/warehouse.duckdb",
    "database": "warehouse",
    "schema": "analytics",
    "threads": 3,
    "memory_limit": "2GB",
    "extensions": ["httpfs", "spatial"],
    "extension_repositories": {"spatial": "core_nightly"},
    "extension_directory": "build/extensions",
    "autoinstall_extensions": False,
    "autoload_extensions": True,
    "settings": {"preserve_insertion_order": False, "temp_directory": "/tmp/duck"},
    "config_options": {"allow_unsigned_extensions": True},
    "attach": [
        {"path": "other.duckdb", "alias": "other", "read_only": True},
        {"path": "lake.sqlite", "alias": "lite", "type": "sqlite", "options": {"block_size": 262144}},
        {"path": "ducklake:meta.ducklake", "alias": "dl", "secret": "lake_secret", "is_ducklake": True},
    ],
    "secrets": [
        {
            "type": "s3",
            "name": "lake_secret",
            "provider": "config",
            "scope": ["s3://bucket/a", "s3://bucket/b"],
            "persistent": False,
            "options": {"region": "eu-west-1", "url_style": "path"},
            "credentials": {
                "key_id": {"env": "AWS_ACCESS_KEY_ID"},
                "secret": {"env": "AWS_SECRET_ACCESS_KEY"},
            },
        }
    ],
    "external_root": "build/external",
    "module_paths": ["lib"],
    "plugins": [
        {
            "module": "gsheet",
            "alias": "sheets",
            "config": {"method": "oauth"},
            "credentials": {"token": {"secret": "gsheet", "key": "token"}},
        }
    ],
    "filesystems": [{"fs": "s3", "options": {"anon": False}, "credentials": {"key": {"env": "FS_KEY"}}}],
    "retries": {"connect_attempts": 3, "query_attempts": 2, "retryable_exceptions": ["IOException"]},
    "keep_open": True,
    "disable_transactions": True,
    "is_ducklake": False,
    "remote": {"host": "bv.internal", "port": 5433, "user": "dbt", "password": {"env": "BV_PASSWORD"}},
    "motherduck_token": {"env": "MOTHERDUCK_TOKEN"},
}
