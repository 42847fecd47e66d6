"""The manifest's catalog: block: its shape, its governance, its overlays, and the edge check.

Unit level: the files are real, the plugins are the installed DuckDB one and the fake
``fakepg`` type (which attaches no catalog). Real servers are in tests/lakehouse.
"""

# ruff: noqa: E501 - exact one-line messages and YAML lines read best unwrapped
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from catalog_site import DUCKDB_A_AND_B, SHARED_CATALOG, catalog_manifest

from floe_hooks import PluginManager, compile_product, load_manifest, load_product
from floe_hooks.catalog import (
    LakehouseCatalog,
    catalog_environment,
    check_catalog,
    edge_error,
    edge_problem,
)
from floe_hooks.models import ConnectionStatus

from .conftest import Project, error

CATALOG = SHARED_CATALOG
COMPUTES = catalog_manifest(
    "b",
    *DUCKDB_A_AND_B,
    "{name: pg, type: fakepg, config: {host: db.internal}, credentials: {password: {env: PG_PASSWORD}}}",
    catalog="",
)


def manifest(project: Project, extra: str = CATALOG, name: str = "manifest.yaml") -> Path:
    return project.write(name, COMPUTES + extra)


class TestTheBlock:
    def test_the_issue_example_loads_as_written(self, project: Project, pm: PluginManager) -> None:
        catalog = load_manifest(manifest(project), manager=pm).catalog
        assert catalog is not None
        assert (catalog.name, catalog.type, catalog.data_path) == ("lake", "ducklake", "s3://bucket/lake/")
        assert catalog.metadata is not None
        assert catalog.metadata.libpq() == "dbname=lake host=db.internal port=5432 user=floe"
        assert catalog.shared
        assert catalog.on_object_store

    def test_a_local_metadata_file_and_folder(self, project: Project, pm: PluginManager) -> None:
        text = "catalog: {name: lake, type: ducklake, metadata: {type: duckdb, path: lake.ducklake}, data_path: lake/}\n"
        catalog = load_manifest(manifest(project, text), manager=pm).catalog
        assert catalog is not None
        assert not catalog.shared

    def test_a_manifest_without_catalog_has_none(self, project: Project, pm: PluginManager) -> None:
        assert load_manifest(manifest(project, ""), manager=pm).catalog is None

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "catalog: {name: lake, type: ducklake, metadata: {type: postgres, host: h, dbname: d}, data_path: x/, "
                "credentials: {password: hunter2}}",
                "manifest.yaml: catalog.credentials.password: a literal secret value is not allowed here; "
                "use {env: VAR}, {file: PATH} or {secret: NAME, key: KEY}",
            ),
            (
                "catalog: {name: lake, type: ducklake, data_path: x/}",
                "manifest.yaml: catalog.metadata: required for a ducklake catalog",
            ),
            (
                "catalog: {name: lake, type: delta}",
                "manifest.yaml: catalog.type: 'delta' is not allowed; allowed: ducklake, iceberg_rest",
            ),
            (
                "catalog: {name: Lake, type: iceberg_rest, uri: 'http://h'}",
                "manifest.yaml: catalog.name: 'Lake' is not a valid catalog name: use lowercase letters, "
                "digits and underscores, starting with a letter (at most 63 characters)",
            ),
            (
                "catalog: {name: lake, type: ducklake, metadata: {type: postgres, host: h, dbname: d}, data_path: x/}",
                "manifest.yaml: catalog.credentials.password: PostgreSQL metadata needs credentials.password "
                "({env: VAR} or {file: PATH})",
            ),
            (
                "catalog: {name: lake, type: ducklake, metadata: {type: duckdb, path: m}, data_path: x/, colour: red}",
                "manifest.yaml: catalog: unknown key 'colour'; allowed: credentials, data_path, metadata, name, "
                "oauth2_server_uri, scope, storage, type, uri, warehouse",
            ),
        ],
    )
    def test_bad_blocks_are_located(
        self, project: Project, pm: PluginManager, text: str, message: str
    ) -> None:
        path = manifest(project, text + "\n")
        assert error(lambda: load_manifest(path, manager=pm)) == message


class TestGovernance:
    def test_a_child_inherits_the_catalog(self, project: Project, pm: PluginManager) -> None:
        manifest(project, name="platform/manifest.yaml")
        child = project.write("team/manifest.yaml", "extends: ../platform/manifest.yaml\n")
        catalog = load_manifest(child, manager=pm).catalog
        assert catalog is not None
        assert catalog.name == "lake"

    def test_a_child_replacing_the_catalog_is_refused_naming_both_files(
        self, project: Project, pm: PluginManager
    ) -> None:
        manifest(project, name="platform/manifest.yaml")
        child = project.write(
            "team/manifest.yaml",
            "extends: ../platform/manifest.yaml\n"
            "catalog: {name: mine, type: ducklake, metadata: {type: duckdb, path: m.ducklake}, data_path: d/}\n",
        )
        assert error(lambda: load_manifest(child, manager=pm)) == (
            "team/manifest.yaml: catalog: cannot replace the catalog 'lake' set by the parent manifest "
            "platform/manifest.yaml: the catalog is the platform's; a child manifest inherits it as it is "
            "(environments.<env>.catalog may change its connection settings)"
        )

    def test_a_child_dropping_the_catalog_is_refused(self, project: Project, pm: PluginManager) -> None:
        manifest(project, name="platform/manifest.yaml")
        child = project.write("team/manifest.yaml", "extends: ../platform/manifest.yaml\ncatalog: null\n")
        assert error(lambda: load_manifest(child, manager=pm)).startswith(
            "team/manifest.yaml: catalog: cannot drop the catalog 'lake' set by the parent manifest platform/manifest.yaml"
        )

    def test_a_grandchild_names_the_owner_and_the_chain(self, project: Project, pm: PluginManager) -> None:
        manifest(project, name="enterprise/manifest.yaml")
        project.write("domain/manifest.yaml", "extends: ../enterprise/manifest.yaml\n")
        leaf = project.write(
            "team/manifest.yaml",
            "extends: ../domain/manifest.yaml\ncatalog: {name: lake, type: iceberg_rest, uri: 'http://h'}\n",
        )
        assert error(lambda: load_manifest(leaf, manager=pm)).startswith(
            "team/manifest.yaml: catalog: cannot replace the catalog 'lake' set by enterprise/manifest.yaml, "
            "which team/manifest.yaml extends (through domain/manifest.yaml)"
        )

    def test_an_environment_changes_connection_settings(self, project: Project, pm: PluginManager) -> None:
        text = (
            CATALOG
            + "environments:\n  prod:\n    catalog: {metadata: {host: prod-db}, data_path: 's3://prod/lake/'}\n"
        )
        path = manifest(project, text)
        prod = load_manifest(path, env="prod", manager=pm).catalog
        base = load_manifest(path, manager=pm).catalog
        assert prod is not None
        assert base is not None
        assert prod.metadata is not None
        assert prod.metadata.host == "prod-db"
        assert prod.metadata.dbname == "lake"
        assert prod.data_path == "s3://prod/lake/"
        assert base.data_path == "s3://bucket/lake/"

    @pytest.mark.parametrize("key", ["name", "type"])
    def test_an_environment_never_changes_the_name_or_type(
        self, project: Project, pm: PluginManager, key: str
    ) -> None:
        text = CATALOG + f"environments:\n  prod:\n    catalog: {{{key}: other}}\n"
        assert error(lambda: load_manifest(manifest(project, text), manager=pm)) == (
            f"manifest.yaml: environments.prod.catalog.{key}: an environment may change the catalog's connection "
            f"settings, never its {key}: every compute attaches it as 'lake' in every environment; allowed: "
            "metadata, data_path, storage, credentials, uri, warehouse, oauth2_server_uri, scope"
        )


class TestCompile:
    def test_duckdb_computes_attach_it_fakepg_does_not(self, project: Project, pm: PluginManager) -> None:
        manifest(project)
        project.product(
            "- {name: staging, path: models/staging, compute: a}\n- {name: marts, path: models/marts}"
        )
        compiled = compile_product(load_product("floe.yaml", manager=pm), manager=pm)
        profile = compiled.compute("a").profile
        assert profile["database"] == "lake"
        assert profile["attach"] == [
            {"path": "ducklake:floe_catalog_lake", "alias": "lake", "is_ducklake": True}
        ]
        assert "database" not in compiled.compute("pg").profile
        assert compiled.artifacts["catalog"] == {
            "name": "lake",
            "type": "ducklake",
            "shared": True,
            "settings": {
                "metadata": {
                    "type": "postgres",
                    "host": "db.internal",
                    "port": 5432,
                    "dbname": "lake",
                    "user": "floe",
                },
                "data_path": "s3://bucket/lake/",
            },
            "attached_by": ["a", "b"],
            "env": [
                {
                    "variable": "DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD",
                    "path": "credentials.password",
                    "from": {"env": "LAKE_PG_PASSWORD"},
                }
            ],
        }
        assert compiled.artifacts["schema_version"] == "1.1"
        assert "password: '{{ env_var(''DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD'') }}'" in compiled.profiles_yml
        json.dumps(compiled.artifacts)  # serialisable

    def test_threads_above_one_into_a_ducklake_are_refused_naming_the_field(
        self, project: Project, pm: PluginManager
    ) -> None:
        project.write(
            "manifest.yaml",
            catalog_manifest(
                "b", "{name: a, type: duckdb, threads: 4, config: {path: a.duckdb}}", DUCKDB_A_AND_B[1]
            ),
        )
        project.product()
        assert error(lambda: compile_product(load_product("floe.yaml", manager=pm), manager=pm)) == (
            "manifest.yaml: compute.approved[name=a].threads: 4 runs models at once, and they write into "
            "the DuckLake catalog 'lake': DuckLake breaks commits made at once by threads of one process "
            "(duckdb/ducklake#1404); set threads: 1 (each model still uses all of DuckDB's threads, and "
            "floe run's steps stay parallel)"
        )

    @pytest.mark.parametrize("threads", ["threads: 1, ", ""])
    def test_one_thread_or_none_set_into_a_ducklake_compiles(
        self, project: Project, pm: PluginManager, threads: str
    ) -> None:
        project.write(
            "manifest.yaml",
            catalog_manifest(
                "b", f"{{name: a, type: duckdb, {threads}config: {{path: a.duckdb}}}}", DUCKDB_A_AND_B[1]
            ),
        )
        project.product()
        compiled = compile_product(load_product("floe.yaml", manager=pm), manager=pm)
        assert compiled.compute("a").profile["threads"] == 1

    def test_an_iceberg_catalog_keeps_many_threads(self, project: Project, pm: PluginManager) -> None:
        iceberg = "catalog: {name: lake, type: iceberg_rest, uri: 'http://127.0.0.1:8181', warehouse: wh}\n"
        project.write(
            "manifest.yaml",
            catalog_manifest(
                "b",
                "{name: a, type: duckdb, threads: 4, config: {path: a.duckdb}}",
                DUCKDB_A_AND_B[1],
                catalog=iceberg,
            ),
        )
        project.product()
        compiled = compile_product(load_product("floe.yaml", manager=pm), manager=pm)
        assert compiled.compute("a").profile["threads"] == 4
        assert compiled.compute("a").profile["database"] == "lake"

    def test_the_generated_profile_is_valid_yaml_dbt_duckdb_reads(
        self, project: Project, pm: PluginManager
    ) -> None:
        manifest(project)
        project.product()
        compiled = compile_product(load_product("floe.yaml", manager=pm), manager=pm)
        outputs = yaml.safe_load(compiled.profiles_yml)["analytics"]["outputs"]
        secrets = outputs["b"]["secrets"]
        assert [s["type"] for s in secrets] == ["s3", "postgres", "ducklake"]
        assert secrets[2]["metadata_parameters"] == {
            "TYPE": "postgres",
            "SECRET": "floe_catalog_lake_metadata",
        }


class TestSecrets:
    def _catalog(self, tmp_path: Path) -> LakehouseCatalog:
        from floe_hooks.catalog import structure_catalog

        secret = tmp_path / "s3-secret"
        secret.write_text("from-a-file\n")
        return structure_catalog(
            {
                "name": "lake",
                "type": "ducklake",
                "metadata": {"type": "postgres", "host": "h", "dbname": "d"},
                "data_path": "s3://b/p/",
                "credentials": {"password": {"env": "PW"}, "s3_secret": {"file": str(secret)}},
            },
            "manifest.yaml",
        )

    def test_references_resolve_into_the_dbt_variables(self, tmp_path: Path) -> None:
        env = catalog_environment(self._catalog(tmp_path), {"PW": "p"})
        assert env == {
            "DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD": "p",
            "DBT_ENV_SECRET_CATALOG_LAKE_S3_SECRET": "from-a-file",
        }

    def test_a_missing_reference_names_the_variable_never_a_value(self, tmp_path: Path) -> None:
        assert error(lambda: catalog_environment(self._catalog(tmp_path), {})) == (
            "catalog.credentials: catalog 'lake': credentials not available: password (env PW, or "
            "DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD)"
        )


class TestEdges:
    """``edge_problem`` / ``edge_error``: what ``floe run`` says before any dbt runs."""

    def _manifest(self, project: Project, pm: PluginManager, extra: str = CATALOG):  # type: ignore[no-untyped-def]
        return load_manifest(manifest(project, extra), manager=pm)

    def test_two_computes_that_attach_the_catalog_share_data(
        self, project: Project, pm: PluginManager
    ) -> None:
        m = self._manifest(project, pm)
        assert edge_problem(m.catalog, m.compute("a"), m.compute("b"), manager=pm) is None
        assert edge_problem(m.catalog, m.compute("a"), m.compute("a"), manager=pm) is None

    def test_an_edge_into_a_compute_that_cannot_attach_it_is_refused(
        self, project: Project, pm: PluginManager
    ) -> None:
        m = self._manifest(project, pm)
        reason = edge_problem(m.catalog, m.compute("a"), m.compute("pg"), manager=pm)
        assert reason == (
            "compute 'pg' (type fakepg) cannot attach catalog 'lake' (type ducklake): plugin 'fakepg' attaches none"
        )
        assert reason is not None
        message = str(
            edge_error(
                "floe.yaml", "transforms[1].compute", "stg_orders", "a", "customer_revenue", "pg", reason
            )
        )
        assert message == (
            "floe.yaml: transforms[1].compute: model stg_orders on compute a feeds model customer_revenue on "
            "compute pg, but compute 'pg' (type fakepg) cannot attach catalog 'lake' (type ducklake): plugin "
            "'fakepg' attaches none"
        )

    def test_an_edge_out_of_a_compute_that_cannot_attach_it_is_refused(
        self, project: Project, pm: PluginManager
    ) -> None:
        m = self._manifest(project, pm)
        assert edge_problem(m.catalog, m.compute("pg"), m.compute("b"), manager=pm) == (
            "compute 'pg' (type fakepg) cannot attach catalog 'lake' (type ducklake): plugin 'fakepg' attaches none"
        )

    def test_without_a_catalog_only_an_attached_database_file_works(
        self, project: Project, pm: PluginManager
    ) -> None:
        text = "    - {name: c, type: duckdb, config: {path: c.duckdb, attach: [{path: a.duckdb, alias: ingest, read_only: true}]}}\n"
        m = self._manifest(project, pm, text)
        assert edge_problem(None, m.compute("a"), m.compute("c"), manager=pm) is None
        assert edge_problem(None, m.compute("a"), m.compute("b"), manager=pm) == (
            "the manifest declares no catalog and compute 'b' does not attach compute 'a''s database; declare a "
            "catalog: both can attach (docs/lakehouse.md)"
        )


def _local_catalog(tmp_path: Path) -> LakehouseCatalog:
    """A DuckLake catalog with its metadata file and data folder under ``tmp_path`` (neither made yet)."""
    from floe_hooks.catalog import structure_catalog

    return structure_catalog(
        {
            "name": "lake",
            "type": "ducklake",
            "metadata": {"type": "duckdb", "path": str(tmp_path / "lake.ducklake")},
            "data_path": str(tmp_path / "data") + "/",
        },
        "manifest.yaml",
    )


class TestHealth:
    def test_a_local_catalog_not_written_yet_is_degraded_and_nothing_is_created(self, tmp_path: Path) -> None:

        catalog = _local_catalog(tmp_path)
        result = check_catalog(catalog, timeout=1)
        assert result.status is ConnectionStatus.DEGRADED
        assert result.message == (
            f"metadata file {tmp_path}/lake.ducklake does not exist yet (created on first write); "
            f"data folder {tmp_path}/data/ does not exist yet (created on first write)"
        )
        assert list(tmp_path.iterdir()) == []

    def test_the_concurrent_probe_hands_back_the_probes_result_and_row(self, tmp_path: Path) -> None:
        from floe_hooks.catalog import check_catalog_concurrently

        catalog = _local_catalog(tmp_path)
        result, row = check_catalog_concurrently(catalog, timeout=5)()
        assert result.status is ConnectionStatus.DEGRADED
        assert row["name"] == "lake"
        assert row["status"] == "degraded"
        assert row["message"] == result.message

    def test_a_concurrent_probe_past_its_timeout_is_unhealthy_timed_out(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import threading

        from floe_hooks import _catalog_probe
        from floe_hooks.catalog import check_catalog_concurrently, structure_catalog

        release = threading.Event()
        monkeypatch.setattr(_catalog_probe, "check_catalog", lambda *args: release.wait(10))
        catalog = structure_catalog(
            {"name": "lake", "type": "iceberg_rest", "uri": "http://127.0.0.1:1"}, "manifest.yaml"
        )
        try:
            result, row = check_catalog_concurrently(catalog, timeout=0.1)()
        finally:
            release.set()
        assert result.status is ConnectionStatus.UNHEALTHY
        assert result.message == "timed out after 0.1 s"
        assert row["status"] == "unhealthy"

    def test_a_probe_that_exits_is_reported_not_raised(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import sys

        from floe_hooks import _catalog_probe
        from floe_hooks.catalog import check_catalog_concurrently, structure_catalog

        monkeypatch.setattr(_catalog_probe, "check_catalog", lambda *args: sys.exit(3))
        catalog = structure_catalog(
            {"name": "lake", "type": "iceberg_rest", "uri": "http://127.0.0.1:1"}, "manifest.yaml"
        )
        result, row = check_catalog_concurrently(catalog, timeout=5)()
        assert result.status is ConnectionStatus.UNHEALTHY
        assert result.message == "catalog check raised SystemExit"
        assert row["status"] == "unhealthy"

    def test_missing_credentials_are_unhealthy(self, tmp_path: Path) -> None:
        from floe_hooks.catalog import structure_catalog

        catalog = structure_catalog(
            {
                "name": "lake",
                "type": "iceberg_rest",
                "uri": "http://127.0.0.1:1",
                "credentials": {
                    "client_id": {"env": "NO_SUCH_VAR_X"},
                    "client_secret": {"env": "NO_SUCH_VAR_Y"},
                },
            },
            "manifest.yaml",
        )
        result = check_catalog(catalog, timeout=1, environ={})
        assert result.status is ConnectionStatus.UNHEALTHY
        assert result.message.startswith(
            "catalog 'lake': credentials not available: client_id (env NO_SUCH_VAR_X"
        )
