"""Loading manifest.yaml and floe.yaml: forms, typed config, and every validation rule's message."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_site import Site  # tests/conftest.py puts tests/ on sys.path

from floe_hooks import (
    ComputeConfig,
    PluginManager,
    ResourceSpec,
    SecretRef,
    load_computes,
    load_manifest,
    load_product,
)
from floe_hooks.manifest import KubernetesSettings

from .conftest import Project, error

MANIFEST = """
version: 1
compute:
  default: warehouse
  approved:
    - duckdb
    - name: warehouse
      type: duckdb
      threads: 4
      timeout_seconds: 600
      config: {path: build/warehouse.duckdb, extensions: [json]}
      resources: medium
    - name: pg
      type: fakepg
      config: {host: 127.0.0.1}
      credentials: {password: {env: PG_PASSWORD}}
      resources: {cpu_request: 250m, cpu_limit: "1", memory_request: 256Mi, memory_limit: 1Gi}
"""


class TestLoading:
    def test_short_form_is_a_compute_named_after_its_type_with_defaults(
        self, project: Project, pm: PluginManager
    ) -> None:
        manifest = load_manifest(project.write("manifest.yaml", MANIFEST), manager=pm)
        duckdb = manifest.compute("duckdb")
        assert (duckdb.name, duckdb.type, duckdb.threads, duckdb.resources) == (
            "duckdb",
            "duckdb",
            None,
            None,
        )
        assert type(duckdb.config).__name__ == "DuckDBConfig"
        assert duckdb.config.path == ":memory:"

    def test_full_form_is_structured_with_the_plugins_typed_config(
        self, project: Project, pm: PluginManager
    ) -> None:
        manifest = load_manifest(project.write("manifest.yaml", MANIFEST), manager=pm)
        warehouse = manifest.compute("warehouse")
        assert isinstance(warehouse, ComputeConfig)
        assert (warehouse.threads, warehouse.timeout_seconds, warehouse.resources) == (4, 600.0, "medium")
        assert warehouse.config.path == "build/warehouse.duckdb"
        assert tuple(warehouse.config.extensions) == ("json",)

    def test_credentials_are_references_and_resources_may_be_explicit(
        self, project: Project, pm: PluginManager
    ) -> None:
        pg = load_manifest(project.write("manifest.yaml", MANIFEST), manager=pm).compute("pg")
        assert pg.credentials == {"password": SecretRef(env="PG_PASSWORD")}
        assert pg.resources == ResourceSpec("250m", "1", "256Mi", "1Gi")
        assert pg.config.host == "127.0.0.1"

    def test_order_default_and_chain_are_kept(self, project: Project, pm: PluginManager) -> None:
        manifest = load_manifest(project.write("manifest.yaml", MANIFEST), manager=pm)
        assert manifest.names == ("duckdb", "warehouse", "pg")
        assert manifest.default == "warehouse"
        assert manifest.default_compute.name == "warehouse"
        assert [str(p) for p in manifest.chain] == ["manifest.yaml"]
        assert manifest.environment is None
        assert manifest.kubernetes == KubernetesSettings()

    def test_a_single_approved_compute_is_the_default(self, project: Project, pm: PluginManager) -> None:
        manifest = load_manifest(
            project.write("manifest.yaml", "compute: {approved: [duckdb]}\n"), manager=pm
        )
        assert manifest.default == "duckdb"

    def test_product_resolves_each_transform_compute(self, project: Project, pm: PluginManager) -> None:
        project.write("manifest.yaml", MANIFEST)
        product = load_product(
            project.product(
                "- {name: staging, path: models/staging/, compute: pg}\n- {name: marts, path: ./models/marts}"
            ),
            manager=pm,
        )
        assert product.name == "analytics"
        assert [(t.name, t.path, t.compute, t.uses_default) for t in product.transforms] == [
            ("staging", "models/staging", "pg", False),
            ("marts", "models/marts", "warehouse", True),
        ]
        assert product.transforms[0].select == "path:models/staging"
        assert [t.name for t in product.transforms_on("warehouse")] == ["marts"]

    def test_load_computes_accepts_a_manifest_or_a_product(self, project: Project, pm: PluginManager) -> None:
        manifest_path = project.write("manifest.yaml", MANIFEST)
        from_product = load_computes(project.product(), manager=pm)
        from_manifest = load_computes(manifest_path, manager=pm)
        assert from_product.computes == from_manifest.computes

    def test_kubernetes_settings_are_typed(self, project: Project, pm: PluginManager) -> None:
        path = project.write(
            "manifest.yaml",
            """
            compute: {approved: [duckdb]}
            kubernetes: {image: "reg/dbt:1", namespace: data, service_account: runner, backoff_limit: 2}
            """,
        )
        k8s = load_manifest(path, manager=pm).kubernetes
        assert (k8s.image, k8s.namespace, k8s.service_account, k8s.backoff_limit) == (
            "reg/dbt:1",
            "data",
            "runner",
            2,
        )
        assert k8s.ttl_seconds_after_finished == 86400


def m(project: Project, text: str) -> str:
    return str(project.write("manifest.yaml", text))


class TestManifestRules:
    """Every compile-time rule of manifest.yaml, with its exact message."""

    def test_default_must_be_approved(self, project: Project, pm: PluginManager) -> None:
        path = m(project, "compute:\n  default: sprak\n  approved: [duckdb, {name: spark, type: duckdb}]\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: compute.default: 'sprak' is not approved; allowed: duckdb, spark"
        )

    def test_default_is_required_with_several_computes(self, project: Project, pm: PluginManager) -> None:
        path = m(project, "compute:\n  approved: [duckdb, {name: spark, type: duckdb}]\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: compute.default: required when more "
            "than one compute is approved; allowed: duckdb, spark"
        )

    def test_type_must_have_an_installed_plugin(self, project: Project, pm: PluginManager) -> None:
        path = m(project, "compute:\n  approved: [duckdb, {name: lake, type: spark}]\n  default: duckdb\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: compute.approved[1].type: no installed compute plugin serves type 'spark' "
            "(installed: duckdb, fakepg); install a distribution "
            "that registers a 'floe.computes' entry point "
            "for it, e.g. pip install floe-compute-spark"
        )

    def test_short_form_type_without_plugin_points_at_the_item(
        self, project: Project, pm: PluginManager
    ) -> None:
        path = m(project, "compute:\n  approved: [snowflake]\n")
        assert error(lambda: load_manifest(path, manager=pm)).startswith(
            "manifest.yaml: compute.approved[0]: no installed compute plugin serves type 'snowflake'"
        )

    def test_a_plugin_that_failed_to_load_is_named(self, project: Project, site_root: Path) -> None:
        site = Site(site_root)
        site.install(
            "floe-compute-broken", "raise ImportError('no driver')\n", entry_point="broken", version="3.1"
        )
        manager = PluginManager(strict=False, path=site.path)
        path = m(project, "compute:\n  approved: [broken]\n")
        assert error(lambda: load_manifest(path, manager=manager)) == (
            "manifest.yaml: compute.approved[0]: the plugin for type 'broken', entry point 'broken' "
            "(from floe-compute-broken 3.1), failed to load: import failed: ImportError: no driver; "
            "fix or reinstall it (see: floe plugins)"
        )

    def test_compute_names_are_unique(self, project: Project, pm: PluginManager) -> None:
        path = m(
            project,
            "compute:\n  approved: [duckdb, {name: w, type: "
            "duckdb}, {name: w, type: duckdb}]\n  default: w\n",
        )
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: compute.approved[2].name: duplicate compute name 'w' (also compute.approved[1])"
        )
        path = m(project, "compute:\n  approved: [duckdb, duckdb]\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: compute.approved[1]: duplicate compute name 'duckdb' (also compute.approved[0])"
        )

    def test_a_typo_in_plugin_config_lists_the_allowed_keys(
        self, project: Project, pm: PluginManager
    ) -> None:
        path = m(project, "compute:\n  approved: [{name: pg, type: fakepg, config: {host: h, prot: 1}}]\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: compute.approved[0].config: unknown key 'prot'; allowed: host, port, user"
        )

    def test_wrong_types_are_located(self, project: Project, pm: PluginManager) -> None:
        path = m(project, "compute:\n  approved: [{name: w, type: duckdb, threads: four}]\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: compute.approved[0].threads: expected an integer, got a string"
        )

    def test_a_literal_secret_is_refused(self, project: Project, pm: PluginManager) -> None:
        from floe_hooks import _redact

        _redact.forget_all()  # an earlier test may have registered the word "secret" as a secret's value
        path = m(
            project,
            "compute:\n  approved: [{name: pg, type: fakepg, "
            "config: {host: h}, credentials: {password: hunter2}}]\n",
        )
        message = error(lambda: load_manifest(path, manager=pm))
        assert message == (
            "manifest.yaml: compute.approved[0].credentials.password: a literal secret value is not allowed "
            "here; use {env: VAR} or {secret: NAME, key: KEY}"
        )
        assert "hunter2" not in message

    def test_unknown_preset_lists_the_sizes(self, project: Project, pm: PluginManager) -> None:
        path = m(project, "compute:\n  approved: [{name: w, type: duckdb, resources: huge}]\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: compute.approved[0].resources: unknown "
            "workload size 'huge'; allowed: small, medium, large"
        )

    def test_unknown_top_level_key_lists_the_allowed_ones(self, project: Project, pm: PluginManager) -> None:
        path = m(project, "compute: {approved: [duckdb]}\ncomputes: {}\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: unknown key 'computes'; allowed: "
            "catalog, compute, environments, extends, kubernetes, version"
        )

    def test_at_least_one_compute_is_approved(self, project: Project, pm: PluginManager) -> None:
        assert error(lambda: load_manifest(m(project, "compute: {approved: []}\n"), manager=pm)) == (
            "manifest.yaml: compute.approved: at least one compute must be approved"
        )
        assert error(lambda: load_manifest(m(project, "version: 1\n"), manager=pm)) == (
            "manifest.yaml: compute.approved: at least one compute must be approved"
        )

    def test_unsupported_version(self, project: Project, pm: PluginManager) -> None:
        assert error(
            lambda: load_manifest(m(project, "version: 2\ncompute: {approved: [duckdb]}\n"), manager=pm)
        ) == ("manifest.yaml: version: unsupported version 2; supported: 1")

    def test_invalid_short_form_name(self, project: Project, pm: PluginManager) -> None:
        assert error(lambda: load_manifest(m(project, "compute: {approved: [Duck-DB]}\n"), manager=pm)) == (
            "manifest.yaml: compute.approved[0]: 'Duck-DB' is "
            "not a valid compute name: use lowercase letters, "
            "digits and underscores, starting with a letter (at most 63 characters)"
        )


class TestFiles:
    def test_yaml_syntax_errors_give_line_and_column(self, project: Project, pm: PluginManager) -> None:
        path = m(project, "compute:\n  approved: [duckdb\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: line 3, column 1: did not find "
            "expected ',' or ']' (while parsing a flow sequence)"
        )

    def test_duplicate_keys_are_refused(self, project: Project, pm: PluginManager) -> None:
        path = m(project, "compute:\n  approved: [duckdb]\n  approved: [other]\n")
        assert error(lambda: load_manifest(path, manager=pm)) == (
            "manifest.yaml: line 3, column 3: duplicate key 'approved'"
        )

    def test_python_tags_are_not_constructed(self, project: Project, pm: PluginManager) -> None:
        path = m(project, "compute: !!python/object/apply:os.system ['true']\n")
        assert error(lambda: load_manifest(path, manager=pm)).startswith("manifest.yaml: line 1, column 10: ")

    def test_missing_file(self, project: Project, pm: PluginManager) -> None:
        assert error(lambda: load_manifest("nope.yaml", manager=pm)) == "nope.yaml: file not found"

    def test_top_level_must_be_a_mapping(self, project: Project, pm: PluginManager) -> None:
        assert error(lambda: load_manifest(m(project, "- duckdb\n"), manager=pm)) == (
            "manifest.yaml: expected a mapping at the top level, got a list"
        )
        assert error(lambda: load_manifest(m(project, ""), manager=pm)) == (
            "manifest.yaml: expected a mapping at the top level, got null"
        )


class TestProductRules:
    """Every compile-time rule of floe.yaml, with its exact message."""

    @pytest.fixture(autouse=True)
    def _manifest(self, project: Project) -> None:
        project.write(
            "manifest.yaml",
            "compute:\n  default: duckdb\n  approved: [duckdb, {name: spark, type: duckdb}]\n",
        )

    def test_transform_compute_must_be_approved(self, project: Project, pm: PluginManager) -> None:
        path = project.product(
            "- {name: a, path: models/a}\n- {name: b, path: "
            "models/b}\n- {name: c, path: models/c, compute: sprak}"
        )
        assert error(lambda: load_product(path, manager=pm)) == (
            "floe.yaml: transforms[2].compute: 'sprak' is not approved; allowed: duckdb, spark"
        )

    def test_transform_names_are_unique(self, project: Project, pm: PluginManager) -> None:
        path = project.product("- {name: a, path: models/a}\n- {name: a, path: models/b}")
        assert error(lambda: load_product(path, manager=pm)) == (
            "floe.yaml: transforms[1].name: duplicate transform name 'a' (also transforms[0])"
        )

    def test_transform_paths_are_not_given_twice(self, project: Project, pm: PluginManager) -> None:
        path = project.product("- {name: a, path: models/staging}\n- {name: b, path: ./models/staging}")
        assert error(lambda: load_product(path, manager=pm)) == (
            "floe.yaml: transforms[1].path: 'models/staging' is also transforms[0].path: "
            "each model must belong to exactly one transform"
        )

    def test_transform_paths_stay_inside_the_project(self, project: Project, pm: PluginManager) -> None:
        path = project.product("- {name: a, path: ../elsewhere}")
        assert error(lambda: load_product(path, manager=pm)) == (
            "floe.yaml: transforms[0].path: '../elsewhere' is not a relative path inside the dbt project "
            "(use '/', no '..')"
        )

    @pytest.mark.parametrize(
        ("yaml_path", "shown", "char"),
        [
            (r"models/a\nb", r"models/a\nb", r"\n"),
            (r"models/marts\n", r"models/marts\n", r"\n"),
            (r"models/\0", r"models/\x00", r"\x00"),
            (r"models/\e[31mred", r"models/\x1b[31mred", r"\x1b"),
            (r"models/a\tb", r"models/a\tb", r"\t"),
            (r"models/\x7f", r"models/\x7f", r"\x7f"),
            (r"models/\N", r"models/\x85", r"\x85"),
            (r"models/\x9f", r"models/\x9f", r"\x9f"),
            (r"models/\L", r"models/\u2028", r"\u2028"),
            (r"models/\P", r"models/\u2029", r"\u2029"),
        ],
    )
    def test_transform_paths_hold_no_control_character(
        self, project: Project, pm: PluginManager, yaml_path: str, shown: str, char: str
    ) -> None:
        path = project.product(f'- {{name: a, path: "{yaml_path}"}}')
        assert error(lambda: load_product(path, manager=pm)) == (
            f"floe.yaml: transforms[0].path: '{shown}' contains the control character '{char}'; "
            "a model path must be printable text"
        )

    def test_transform_paths_may_hold_other_unicode(self, project: Project, pm: PluginManager) -> None:
        path = project.product('- {name: a, path: "models/é 中文 🦆 \\u00a0 $(x) \';"}')
        (transform,) = load_product(path, manager=pm).transforms
        assert transform.path == "models/é 中文 🦆 \u00a0 $(x) ';"

    def test_transform_fields_are_checked(self, project: Project, pm: PluginManager) -> None:
        path = project.product("- {name: a, path: models/a, computer: spark}")
        assert error(lambda: load_product(path, manager=pm)) == (
            "floe.yaml: transforms[0]: unknown key 'computer'; allowed: compute, name, path"
        )
        path = project.product("- {name: a}")
        assert (
            error(lambda: load_product(path, manager=pm))
            == "floe.yaml: transforms[0].path: required field is missing"
        )

    def test_at_least_one_transform(self, project: Project, pm: PluginManager) -> None:
        project.write("floe.yaml", "name: analytics\nplatform: manifest.yaml\ntransforms: []\n")
        assert error(lambda: load_product("floe.yaml", manager=pm)) == (
            "floe.yaml: transforms: at least one transform is required"
        )

    def test_platform_manifest_must_exist(self, project: Project, pm: PluginManager) -> None:
        path = project.product(platform="platform/manifest.yaml")
        assert error(lambda: load_product(path, manager=pm)) == (
            "floe.yaml: platform: platform manifest platform/manifest.yaml not found"
        )

    def test_errors_in_the_manifest_name_the_manifest(self, project: Project, pm: PluginManager) -> None:
        project.write("platform/manifest.yaml", "compute: {approved: [duckdb], default: spark}\n")
        path = project.product(platform="platform/manifest.yaml")
        assert error(lambda: load_product(path, manager=pm)) == (
            "platform/manifest.yaml: compute.default: 'spark' is not approved; allowed: duckdb"
        )

    def test_profile_name_is_a_dbt_identifier(self, project: Project, pm: PluginManager) -> None:
        project.write(
            "floe.yaml", "name: my-product\nplatform: manifest.yaml\ntransforms: [{name: a, path: m}]\n"
        )
        assert error(lambda: load_product("floe.yaml", manager=pm)) == (
            "floe.yaml: name: 'my-product' is not a valid dbt profile name (letters, digits and underscores, "
            "not starting with a digit)"
        )
