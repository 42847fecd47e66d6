"""DuckDBConfig: every dbt-duckdb field typed, validated, located when wrong."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from duckdb_samples import FULL
from hypothesis import given
from hypothesis import strategies as st

from floe_duckdb import DuckDBConfig
from floe_hooks import ConfigError, structure, unstructure


def _error(data: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        structure(data, DuckDBConfig, file="manifest.yaml", path="compute.approved[0].config")
    return info.value


def test_every_field_structures_and_round_trips() -> None:
    cfg = structure(FULL, DuckDBConfig)
    assert cfg.attach[2].is_ducklake is True
    assert structure(unstructure(cfg), DuckDBConfig) == cfg


def test_the_full_example_sets_every_field() -> None:
    assert set(FULL) == {f.name for f in attrs.fields(DuckDBConfig)}


@pytest.mark.parametrize(
    "data",
    [
        {"path": "build/warehouse.duckdb", "database": "warehouse"},
        {"path": ".hidden.v2.duckdb", "database": "hidden"},
        {"database": "memory"},
        {"path": "w.duckdb", "database": "other", "attach": [{"path": "o.duckdb", "alias": "other"}]},
        {"path": "md:analytics", "database": "anything"},
    ],
)
def test_database_names_dbt_duckdb_accepts(data: dict[str, Any]) -> None:
    assert structure(data, DuckDBConfig).database == data["database"]


def test_defaults_are_an_in_memory_database() -> None:
    cfg = structure({}, DuckDBConfig)
    assert (cfg.path, cfg.schema, cfg.memory_limit, cfg.threads) == (":memory:", "main", None, None)


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"pth": "x.duckdb"}, "config", "unknown key 'pth'"),
        ({"attach": [{"path": "a.duckdb", "mode": "ro"}]}, "config.attach[0]", "unknown key 'mode'"),
        ({"retries": {"attempts": 2}}, "config.retries", "unknown key 'attempts'"),
        ({"threads": "4"}, "config.threads", "expected an integer"),
        ({"threads": 0}, "config.threads", "at least 1"),
        ({"extensions": "json"}, "config.extensions", "expected a list"),
        ({"extensions": ["json", "json"]}, "config.extensions[1]", "listed twice"),
        ({"extensions": ["json; drop"]}, "config.extensions[0]", "not a valid extension name"),
        ({"extension_repositories": {"x": "core"}}, "config.extension_repositories.x", "not in extensions"),
        (
            {"attach": [{"path": "a.duckdb", "alias": "x y"}]},
            "config.attach[0].alias",
            "not a valid identifier",
        ),
        (
            {"attach": [{"path": "a.duckdb", "alias": "select"}]},
            "config.attach[0].alias",
            "reserved SQL keyword",
        ),
        (
            {"attach": [{"path": "a.duckdb", "alias": "a"}, {"path": "b.duckdb", "alias": "A"}]},
            "config.attach[1].alias",
            "already used by attach[0]",
        ),
        ({"attach": [{"path": "a", "type": "sqlite)"}]}, "config.attach[0].type", "not a valid identifier"),
        (
            {"attach": [{"path": "a", "options": {"type": "sqlite"}}]},
            "config.attach[0].options.type",
            "has its own field",
        ),
        ({"settings": {"a b": 1}}, "config.settings.a b", "not a valid identifier"),
        ({"settings": {"x": [1]}}, "config.settings.x", "expected a string, number or boolean"),
        (
            {"memory_limit": "1GB", "settings": {"memory_limit": "2GB"}},
            "config.settings.memory_limit",
            "set twice",
        ),
        ({"threads": 2, "settings": {"threads": 4}}, "config.settings.threads", "set twice"),
        (
            {"config_options": {"extension_directory": "x"}},
            "config.config_options.extension_directory",
            "has its own field",
        ),
        ({"secrets": [{"type": "s 3"}]}, "config.secrets[0].type", "not a valid identifier"),
        ({"secrets": [{"type": "s3", "name": "a"}, {"type": "gcs", "name": "a"}]}, "config.secrets", "twice"),
        ({"retries": {"connect_attempts": 0}}, "config.retries.connect_attempts", "at least 1"),
        ({"remote": {"host": "h", "port": 70000, "user": "u"}}, "config.remote.port", "TCP port"),
        ({"path": ""}, "config.path", ":memory:"),
        ({"path": "build/w.duckdb", "database": "warehouse"}, "config.database", "neither the database"),
        ({"database": "warehouse"}, "config.database", "('memory')"),
    ],
)
def test_bad_config_is_an_error_at_its_path(data: dict[str, Any], path: str, message: str) -> None:
    error = _error(data)
    assert error.file == "manifest.yaml"
    assert error.path == f"compute.approved[0].{path}"
    assert message in error.message


@pytest.mark.parametrize(
    "data",
    [
        {"secrets": [{"type": "s3", "options": {"secret": "wJalrXUtnFEMI"}}]},
        {"secrets": [{"type": "s3", "credentials": {"secret": "wJalrXUtnFEMI"}}]},
        {"settings": {"s3_secret_access_key": "wJalrXUtnFEMI"}},
        {"settings": {"motherduck_token": "wJalrXUtnFEMI"}},
        {"motherduck_token": "wJalrXUtnFEMI"},
        {"plugins": [{"module": "gsheet", "config": {"token": "wJalrXUtnFEMI"}}]},
        {"filesystems": [{"fs": "s3", "options": {"secret": "wJalrXUtnFEMI"}}]},
        {"remote": {"host": "h", "port": 1, "user": "u", "password": "wJalrXUtnFEMI"}},
    ],
)
def test_a_literal_secret_is_refused_without_echoing_it(data: dict[str, Any]) -> None:
    error = _error(data)
    assert "wJalrXUtnFEMI" not in str(error)
    assert "literal" in error.message


@pytest.mark.parametrize(
    "value", ["4GB", "512MiB", "75%", "1.5GB", "100 MB", "2gib", "3G", "1024KB", "1TB", "100%", "0.5%"]
)
def test_memory_limit_accepts_what_duckdb_accepts(value: str) -> None:
    import duckdb

    assert structure({"memory_limit": value}, DuckDBConfig).memory_limit == value
    if value.endswith("%"):
        return  # percentages need DuckDB >= 1.2; the lowest supported DuckDB rejects them
    with duckdb.connect() as conn:
        conn.execute(f"SET memory_limit = '{value}'")


@pytest.mark.parametrize("value", ["4 gigs", "GB", "-1GB", "0GB", "101%", "0%", "4", "4GB; drop table x", ""])
def test_memory_limit_rejects_what_duckdb_would_not_take(value: str) -> None:
    assert _error({"memory_limit": value}).path == "compute.approved[0].config.memory_limit"


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True))
def test_identifier_aliases_are_accepted_unless_reserved(alias: str) -> None:
    from floe_duckdb._sql import RESERVED

    data = {"attach": [{"path": "a.duckdb", "alias": alias}]}
    if alias.lower() in RESERVED:
        with pytest.raises(ConfigError):
            structure(data, DuckDBConfig)
    else:
        assert structure(data, DuckDBConfig).attach[0].alias == alias


def test_reserved_words_match_the_installed_duckdb() -> None:
    import duckdb

    from floe_duckdb._sql import RESERVED

    rows = duckdb.sql("select keyword_name from duckdb_keywords() where keyword_category = 'reserved'")
    installed = {name for (name,) in rows.fetchall()}
    assert installed <= RESERVED, f"new reserved words: {sorted(installed - RESERVED)}"
