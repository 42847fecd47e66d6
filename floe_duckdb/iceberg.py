"""SQL attaching DuckDB to an Iceberg REST catalog through DuckDB's ``iceberg`` extension.

Every value from the manifest is either a validated identifier written as a quoted
identifier, or a string literal with its quotes doubled: a hostile catalog URI,
warehouse or scope stays inside its literal (the tests parse hostile output with real
DuckDB). The statement carrying the OAuth2 client credentials is marked
``sensitive=True`` so the framework never logs or traces its text.
"""

from __future__ import annotations

from collections.abc import Mapping

from floe_duckdb._sql import identifier_problem, quote_identifier, quote_literal
from floe_duckdb.profile import config_of
from floe_hooks import CatalogConfig, ComputeConfig, ConfigError, SecretValue, SqlStatement

__all__ = ["attachment_sql", "secret_name"]


def secret_name(catalog: CatalogConfig) -> str:
    """The DuckDB secret that holds ``catalog``'s OAuth2 client credentials."""
    return f"floe_{catalog.name}_catalog"


def _literal(value: str, field: str) -> str:
    if any(ord(c) < 32 for c in value):
        raise ConfigError("must not contain control characters", path=f"catalog.{field}")
    return quote_literal(value)


def _uri(value: str, field: str) -> str:
    if not value.lower().startswith(("http://", "https://")):
        raise ConfigError("must be an http:// or https:// URL", path=f"catalog.{field}")
    return _literal(value, field)


def _credential(secrets: Mapping[str, SecretValue], key: str) -> str:
    value = secrets.get(key)
    if value is None:
        raise ConfigError(f"the catalog's {key} reference was not resolved", path=f"catalog.{key}")
    return _literal(value.reveal(), key)


def attachment_sql(
    compute: ComputeConfig, catalog: CatalogConfig, secrets: Mapping[str, SecretValue]
) -> list[SqlStatement]:
    """The statements that load the extension, create the credentials secret and attach the catalog.

    With the compute's ``autoinstall_extensions: false`` no ``INSTALL`` is emitted: the
    extension must then already be in the ``extension_directory``.
    """
    problem = identifier_problem(catalog.name)
    if problem:
        raise ConfigError(problem, path="catalog.name")
    cfg = config_of(compute)
    statements: list[SqlStatement] = []
    if cfg.autoinstall_extensions is not False:
        statements += [SqlStatement("INSTALL httpfs"), SqlStatement("INSTALL iceberg")]
    statements += [SqlStatement("LOAD httpfs"), SqlStatement("LOAD iceberg")]

    options = ["TYPE iceberg", f"ENDPOINT {_uri(catalog.uri, 'uri')}"]
    if (catalog.client_id is None) != (catalog.client_secret is None):
        raise ConfigError("OAuth2 needs both client_id and client_secret", path="catalog.client_secret")
    if catalog.client_id is not None:
        token_uri = catalog.oauth2_server_uri or catalog.uri.rstrip("/") + "/v1/oauth/tokens"
        parts = [
            "TYPE iceberg",
            f"CLIENT_ID {_credential(secrets, 'client_id')}",
            f"CLIENT_SECRET {_credential(secrets, 'client_secret')}",
            f"OAUTH2_SERVER_URI {_uri(token_uri, 'oauth2_server_uri')}",
        ]
        if catalog.scope is not None:
            parts.append(f"OAUTH2_SCOPE {_literal(catalog.scope, 'scope')}")
        name = quote_identifier(secret_name(catalog))
        statements.append(
            SqlStatement(f"CREATE OR REPLACE SECRET {name} ({', '.join(parts)})", sensitive=True)
        )
        options.append(f"SECRET {name}")
    else:
        options.append("AUTHORIZATION_TYPE 'none'")
    warehouse = _literal(catalog.warehouse or "", "warehouse")
    statements.append(
        SqlStatement(f"ATTACH {warehouse} AS {quote_identifier(catalog.name)} ({', '.join(options)})")
    )
    return statements
