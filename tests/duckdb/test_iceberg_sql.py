"""catalog_attachment_sql: validated identifiers, escaped literals, credentials marked sensitive.

Injection safety is proven with DuckDB's own parser and tokenizer: every generated
statement is exactly one statement, has no comment, has the expected shape once its
string literals are blanked out, and each literal evaluates to exactly the value that
went in, however hostile.
"""

from __future__ import annotations

from typing import Any

import attrs
import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_hooks import (
    CatalogConfig,
    ConfigError,
    PluginManager,
    SecretRef,
    SecretValue,
    SqlStatement,
    unstructure,
)

HOSTILE = [
    "x'; DROP TABLE people; --",
    "' OR '1'='1",
    "wh''; ATTACH 'evil.duckdb' AS evil; --",
    "/* comment */ ', SECRET other, TYPE duckdb) --",
    "back\\slash\\'",
    "$$dollar$$ quoted $tag$",
    '"double"; SELECT 1',
    "émoji 🦆 ünïcode",
    "';",
    "",
]

CREDENTIALS = {
    "client_id": SecretRef(env="CATALOG_CLIENT_ID"),
    "client_secret": SecretRef(env="CATALOG_SECRET"),
}


def split_literals(sql: str) -> tuple[str, list[str]]:
    """The statement with each string literal replaced by ``?``, and the literals' raw text."""
    tokens = duckdb.tokenize(sql)
    assert all(kind != duckdb.token_type.comment for _, kind in tokens), f"a comment in {sql!r}"
    data = sql.encode()  # token positions are byte offsets
    skeleton, literals, cursor = [], [], 0
    for index, (start, kind) in enumerate(tokens):
        if kind != duckdb.token_type.string_const:
            continue
        end = tokens[index + 1][0] if index + 1 < len(tokens) else len(data)
        raw = data[start:end].decode().rstrip().rstrip(",)").rstrip()
        assert raw.startswith("'"), raw
        assert raw.endswith("'"), raw
        skeleton.append(data[cursor:start].decode() + "?")
        literals.append(raw)
        cursor = start + len(raw.encode())
    skeleton.append(data[cursor:].decode())
    return "".join(skeleton), literals


_READER = duckdb.connect()


def literal_values(literals: list[str]) -> list[str]:
    """What DuckDB reads each literal as."""
    return [_READER.execute(f"SELECT {raw}").fetchone()[0] for raw in literals]  # type: ignore[index]


def parse_one(statement: SqlStatement) -> Any:
    parsed = duckdb.extract_statements(statement.sql)
    assert len(parsed) == 1, f"{len(parsed)} statements in {statement.sql!r}"
    return parsed[0].type


def attach(
    pm: PluginManager, compute: Any, catalog: CatalogConfig, secrets: dict[str, str] | None = None
) -> list[SqlStatement]:
    values = {key: SecretValue(value) for key, value in (secrets or {}).items()}
    return pm.catalog_attachment_sql(compute, catalog, values)


def test_attach_with_oauth2_client_credentials(pm: PluginManager, duckdb_compute: Any) -> None:
    catalog = CatalogConfig(
        name="lake",
        uri="https://catalog.example/api/catalog",
        warehouse="analytics",
        scope="PRINCIPAL_ROLE:ALL",
        **CREDENTIALS,
    )
    statements = attach(pm, duckdb_compute(), catalog, {"client_id": "floe", "client_secret": "s3cr3t-value"})
    assert [s.sql for s in statements if not s.sensitive] == [
        "INSTALL httpfs",
        "INSTALL iceberg",
        "LOAD httpfs",
        "LOAD iceberg",
        """ATTACH 'analytics' AS "lake" (TYPE iceberg, ENDPOINT 'https://catalog.example/api/catalog', """
        """SECRET "floe_lake_catalog")""",
    ]
    (secret,) = [s for s in statements if s.sensitive]
    assert secret.sql == (
        """CREATE OR REPLACE SECRET "floe_lake_catalog" (TYPE iceberg, CLIENT_ID 'floe', """
        """CLIENT_SECRET 's3cr3t-value', """
        """OAUTH2_SERVER_URI 'https://catalog.example/api/catalog/v1/oauth/tokens', """
        """OAUTH2_SCOPE 'PRINCIPAL_ROLE:ALL')"""
    )
    for statement in statements:
        parse_one(statement)


def test_the_credential_statement_is_never_shown(pm: PluginManager, duckdb_compute: Any) -> None:
    catalog = CatalogConfig(name="lake", uri="https://c.example", warehouse="w", **CREDENTIALS)
    statements = attach(pm, duckdb_compute(), catalog, {"client_id": "floe", "client_secret": "s3cr3t-value"})
    shown = [repr(statements), str(statements), *map(str, statements), repr(unstructure(statements))]
    assert not any("s3cr3t-value" in text for text in shown)
    assert ["s3cr3t-value" in s.sql for s in statements].count(True) == 1


def test_without_credentials_no_secret_is_created(pm: PluginManager, duckdb_compute: Any) -> None:
    catalog = CatalogConfig(name="open_lake", uri="http://127.0.0.1:8181", warehouse="wh")
    statements = attach(pm, duckdb_compute(), catalog)
    assert not any(s.sensitive for s in statements)
    assert statements[-1].sql == (
        """ATTACH 'wh' AS "open_lake" """
        """(TYPE iceberg, ENDPOINT 'http://127.0.0.1:8181', AUTHORIZATION_TYPE 'none')"""
    )


def test_offline_computes_load_but_never_install(pm: PluginManager, duckdb_compute: Any) -> None:
    compute = duckdb_compute({"extension_directory": "ext", "autoinstall_extensions": False})
    statements = attach(pm, compute, CatalogConfig(name="lake", uri="http://127.0.0.1:8181"))
    assert [s.sql for s in statements[:-1]] == ["LOAD httpfs", "LOAD iceberg"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_stay_inside_their_literals(
    pm: PluginManager, duckdb_compute: Any, hostile: str
) -> None:
    catalog = CatalogConfig(
        name="lake",
        uri=f"https://catalog.example/{hostile}",
        warehouse=hostile,
        scope=hostile,
        oauth2_server_uri=f"http://token.example/{hostile}",
        **CREDENTIALS,
    )
    secrets = {"client_id": hostile, "client_secret": hostile + "'secret"}
    statements = attach(pm, duckdb_compute(), catalog, secrets)
    create, attach_statement = statements[-2], statements[-1]

    assert parse_one(create) == duckdb.StatementType.CREATE
    skeleton, literals = split_literals(create.sql)
    assert skeleton == (
        'CREATE OR REPLACE SECRET "floe_lake_catalog" (TYPE iceberg, CLIENT_ID ?, CLIENT_SECRET ?, '
        "OAUTH2_SERVER_URI ?, OAUTH2_SCOPE ?)"
    )
    assert literal_values(literals) == [
        hostile,
        hostile + "'secret",
        f"http://token.example/{hostile}",
        hostile,
    ]

    assert parse_one(attach_statement) == duckdb.StatementType.ATTACH
    skeleton, literals = split_literals(attach_statement.sql)
    assert skeleton == 'ATTACH ? AS "lake" (TYPE iceberg, ENDPOINT ?, SECRET "floe_lake_catalog")'
    assert literal_values(literals) == [hostile, f"https://catalog.example/{hostile}"]


printable = st.text(st.characters(min_codepoint=32, blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(warehouse=printable, path=printable, client_secret=printable)
def test_any_printable_value_round_trips(
    pm: PluginManager, duckdb_compute: Any, warehouse: str, path: str, client_secret: str
) -> None:
    catalog = CatalogConfig(name="lake", uri=f"http://h/{path}", warehouse=warehouse, **CREDENTIALS)
    statements = attach(pm, duckdb_compute(), catalog, {"client_id": "id", "client_secret": client_secret})
    for statement in statements:
        parse_one(statement)
    _, literals = split_literals(statements[-1].sql)
    assert literal_values(literals) == [warehouse, f"http://h/{path}"]
    _, literals = split_literals(statements[-2].sql)
    assert literal_values(literals)[1] == client_secret


@pytest.mark.parametrize("name", ['lake"; DROP TABLE x; --', "Lake", "1lake", "la ke", "select"])
def test_hostile_catalog_names_are_refused(pm: PluginManager, duckdb_compute: Any, name: str) -> None:
    if name != "select":
        with pytest.raises(ConfigError, match="not a valid name"):
            CatalogConfig(name=name, uri="http://h")
    if name == "Lake":
        return  # a fine identifier for SQL; only floe's naming rule refuses it
    # even a CatalogConfig that skipped its own validation never reaches the SQL
    catalog = CatalogConfig(name="lake", uri="http://h")
    object.__setattr__(catalog, "name", name)
    with pytest.raises(ConfigError) as info:
        attach(pm, duckdb_compute(), catalog)
    assert info.value.path == "catalog.name"


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"uri": "ftp://h"}, "catalog.uri", "http:// or https://"),
        ({"uri": "javascript:alert(1)"}, "catalog.uri", "http:// or https://"),
        ({"warehouse": "a\nb"}, "catalog.warehouse", "control characters"),
        ({"scope": "a\x00b"}, "catalog.scope", "control characters"),
        ({"client_id": SecretRef(env="X")}, "catalog.client_secret", "both client_id and client_secret"),
    ],
)
def test_unusable_catalog_values_are_config_errors(
    pm: PluginManager, duckdb_compute: Any, changes: dict[str, Any], path: str, message: str
) -> None:
    catalog = attrs.evolve(CatalogConfig(name="lake", uri="http://h", warehouse="w"), **changes)
    secrets = {"client_id": "id", "client_secret": "secret"} if "scope" in changes else None
    if "scope" in changes:
        catalog = attrs.evolve(catalog, **CREDENTIALS)
    with pytest.raises(ConfigError) as info:
        attach(pm, duckdb_compute(), catalog, secrets)
    assert info.value.path == path
    assert message in info.value.message


def test_unresolved_credentials_are_named_not_guessed(pm: PluginManager, duckdb_compute: Any) -> None:
    catalog = CatalogConfig(name="lake", uri="http://h", **CREDENTIALS)
    with pytest.raises(ConfigError, match="client_secret reference was not resolved"):
        attach(pm, duckdb_compute(), catalog, {"client_id": "id"})
