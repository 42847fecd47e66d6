"""Governance through extends: (enterprise > domain > product) and environment overlays with parity."""

from __future__ import annotations

import pytest

from floe_hooks import PluginManager, load_manifest, load_product

from .conftest import Project, error

ENTERPRISE = """
version: 1
compute:
  default: warehouse
  approved:
    - duckdb
    - name: warehouse
      type: duckdb
      threads: 4
      config: {path: warehouse.duckdb, schema: analytics, extensions: [json]}
      resources: medium
    - name: lake
      type: duckdb
      config: {path: lake.duckdb}
    - name: pg
      type: fakepg
      config: {host: db.internal}
      credentials: {password: {env: PG_PASSWORD}}
environments:
  prod:
    compute:
      warehouse: {resources: large}
kubernetes: {namespace: data, backoff_limit: 1}
"""

DOMAIN = """
extends: ../enterprise/manifest.yaml
compute:
  approved:
    - name: warehouse
      threads: 8
      config: {path: sales.duckdb}
    - lake
    - pg
environments:
  dev:
  prod:
    compute:
      warehouse: {threads: 16}
      pg: {credentials: {password: {secret: pg-prod, key: password}}}
    kubernetes: {namespace: data-prod}
"""

PRODUCT = """
extends: ../domain/manifest.yaml
compute:
  approved: [warehouse, lake]
"""


@pytest.fixture
def chain(project: Project) -> Project:
    project.write("enterprise/manifest.yaml", ENTERPRISE)
    project.write("domain/manifest.yaml", DOMAIN)
    project.write("product/manifest.yaml", PRODUCT)
    return project


class TestThreeLevelChain:
    def test_each_level_narrows_and_inherits(self, chain: Project, pm: PluginManager) -> None:
        manifest = load_manifest("product/manifest.yaml", manager=pm)
        assert manifest.names == ("warehouse", "lake")
        assert [str(p) for p in manifest.chain] == [
            "product/manifest.yaml",
            "domain/manifest.yaml",
            "enterprise/manifest.yaml",
        ]
        assert manifest.default == "warehouse"  # inherited from the enterprise
        warehouse = manifest.compute("warehouse")
        assert warehouse.threads == 8  # domain override
        assert warehouse.config.path == "sales.duckdb"  # domain override, deep-merged...
        assert warehouse.config.schema == "analytics"  # ...with what the enterprise set
        assert tuple(warehouse.config.extensions) == ("json",)
        assert warehouse.resources == "medium"
        assert manifest.kubernetes.namespace == "data"
        assert manifest.kubernetes.backoff_limit == 1

    def test_environment_overlays_apply_root_to_leaf_after_base_settings(
        self, chain: Project, pm: PluginManager
    ) -> None:
        manifest = load_manifest("product/manifest.yaml", env="prod", manager=pm)
        warehouse = manifest.compute("warehouse")
        assert (warehouse.threads, warehouse.resources) == (16, "large")
        assert warehouse.config.path == "sales.duckdb"
        assert manifest.environments == ("prod", "dev")
        assert manifest.environment == "prod"
        assert manifest.kubernetes.namespace == "data-prod"
        assert manifest.kubernetes.backoff_limit == 1

    def test_overlay_replaces_a_secret_reference_whole(self, chain: Project, pm: PluginManager) -> None:
        pg = load_manifest("domain/manifest.yaml", env="prod", manager=pm).compute("pg")
        assert pg.credentials["password"].env is None
        assert (pg.credentials["password"].secret, pg.credentials["password"].key) == ("pg-prod", "password")

    def test_a_child_may_not_approve_what_its_parent_does_not(
        self, chain: Project, pm: PluginManager
    ) -> None:
        chain.write(
            "product/manifest.yaml",
            "extends: ../domain/manifest.yaml\ncompute:\n  approved: [warehouse, duckdb]\n",
        )
        assert error(lambda: load_manifest("product/manifest.yaml", manager=pm)) == (
            "product/manifest.yaml: compute.approved[1]: 'duckdb' is not approved by the parent manifest "
            "domain/manifest.yaml; a child manifest may only narrow its parent's approved list; "
            "allowed: lake, pg, warehouse"
        )

    def test_a_child_may_not_add_a_new_full_form_compute(self, chain: Project, pm: PluginManager) -> None:
        chain.write(
            "product/manifest.yaml",
            "extends: ../domain/manifest.yaml\ncompute:\n  approved: "
            "[{name: scratch, type: duckdb}]\n  default: scratch\n",
        )
        assert error(lambda: load_manifest("product/manifest.yaml", manager=pm)) == (
            "product/manifest.yaml: compute.approved[0].name: "
            "'scratch' is not approved by the parent manifest "
            "domain/manifest.yaml; a child manifest may only narrow its parent's approved list; "
            "allowed: lake, pg, warehouse"
        )

    def test_a_child_may_not_change_a_computes_type(self, chain: Project, pm: PluginManager) -> None:
        chain.write(
            "product/manifest.yaml",
            "extends: ../domain/manifest.yaml\ncompute:\n  approved: [{name: lake, type: fakepg}]\n",
        )
        assert error(lambda: load_manifest("product/manifest.yaml", manager=pm)) == (
            "product/manifest.yaml: compute.approved[0].type: "
            "'fakepg' differs from type 'duckdb' that the parent "
            "manifest domain/manifest.yaml approves for 'lake'; "
            "a child manifest may narrow its parent's approved "
            "list and override settings, never change a compute's type"
        )

    def test_an_inherited_default_must_survive_the_narrowing(self, chain: Project, pm: PluginManager) -> None:
        chain.write(
            "product/manifest.yaml", "extends: ../domain/manifest.yaml\ncompute:\n  approved: [lake, pg]\n"
        )
        assert error(lambda: load_manifest("product/manifest.yaml", manager=pm)) == (
            "product/manifest.yaml: compute.default: the default compute 'warehouse' inherited from "
            "domain/manifest.yaml is not approved here; set compute.default to one of: lake, pg"
        )

    def test_an_error_in_an_override_names_the_child_file(self, chain: Project, pm: PluginManager) -> None:
        chain.write(
            "product/manifest.yaml",
            "extends: ../domain/manifest.yaml\ncompute:\n  approved: "
            "[{name: warehouse, config: {memory_limt: 1GB}}]\n",
        )
        assert error(lambda: load_manifest("product/manifest.yaml", manager=pm)).startswith(
            "product/manifest.yaml: compute.approved[0].config: unknown key 'memory_limt'; allowed: "
        )

    def test_an_error_in_an_ancestor_names_the_ancestor(self, chain: Project, pm: PluginManager) -> None:
        chain.write("enterprise/manifest.yaml", ENTERPRISE.replace("threads: 4", "threads: 0"))
        assert error(lambda: load_manifest("product/manifest.yaml", manager=pm)) == (
            "enterprise/manifest.yaml: compute.approved[1].threads: must be from 1 to 1024, got 0"
        )

    def test_cycles_name_the_chain(self, project: Project, pm: PluginManager) -> None:
        project.write("a.yaml", "extends: b.yaml\ncompute: {approved: [duckdb]}\n")
        project.write("b.yaml", "extends: c.yaml\n")
        project.write("c.yaml", "extends: a.yaml\n")
        assert error(lambda: load_manifest("a.yaml", manager=pm)) == (
            "c.yaml: extends: cycle in the extends chain: a.yaml -> b.yaml -> c.yaml -> a.yaml"
        )

    def test_a_missing_parent_names_the_chain(self, chain: Project, pm: PluginManager) -> None:
        chain.write("domain/manifest.yaml", DOMAIN.replace("../enterprise/", "../enterprize/"))
        assert error(lambda: load_manifest("product/manifest.yaml", manager=pm)) == (
            "domain/manifest.yaml: extends: parent manifest enterprize/manifest.yaml not found "
            "(chain: product/manifest.yaml -> domain/manifest.yaml -> enterprize/manifest.yaml)"
        )


BASE = """
compute:
  default: warehouse
  approved:
    - duckdb
    - name: warehouse
      type: duckdb
      threads: 2
      config: {path: dev.duckdb}
environments:
  dev:
  prod:
    compute:
      warehouse: {threads: 8, config: {path: prod.duckdb}, resources: large}
"""


class TestEnvironments:
    def test_overlay_changes_settings_only_in_its_environment(
        self, project: Project, pm: PluginManager
    ) -> None:
        project.write("manifest.yaml", BASE)
        dev = load_manifest("manifest.yaml", env="dev", manager=pm).compute("warehouse")
        prod = load_manifest("manifest.yaml", env="prod", manager=pm).compute("warehouse")
        assert (dev.threads, dev.config.path, dev.resources) == (2, "dev.duckdb", None)
        assert (prod.threads, prod.config.path, prod.resources) == (8, "prod.duckdb", "large")

    def test_transforms_run_on_the_same_compute_in_every_environment(
        self, project: Project, pm: PluginManager
    ) -> None:
        project.write("manifest.yaml", BASE)
        path = project.product("- {name: a, path: models/a, compute: duckdb}\n- {name: b, path: models/b}")
        plans = {
            env: [(t.name, t.compute) for t in load_product(path, env=env, manager=pm).transforms]
            for env in (None, "dev", "prod")
        }
        assert plans["dev"] == plans["prod"] == plans[None] == [("a", "duckdb"), ("b", "warehouse")]

    def test_unknown_environment_lists_the_declared_ones(self, project: Project, pm: PluginManager) -> None:
        project.write("manifest.yaml", BASE)
        assert error(lambda: load_manifest("manifest.yaml", env="prdo", manager=pm)) == (
            "manifest.yaml: environments: unknown environment 'prdo'; allowed: dev, prod"
        )

    def test_parity_an_overlay_may_not_change_a_computes_type(
        self, project: Project, pm: PluginManager
    ) -> None:
        project.write("manifest.yaml", BASE + "  staging:\n    compute:\n      warehouse: {type: fakepg}\n")
        assert error(lambda: load_manifest("manifest.yaml", env="dev", manager=pm)) == (
            "manifest.yaml: environments.staging.compute.warehouse.type: "
            "an environment overlay may not change "
            "a compute's type; every transform must run on the same compute in every environment (parity); "
            "allowed: config, credentials, resources, threads, timeout_seconds"
        )

    def test_parity_an_overlay_may_not_change_the_default(self, project: Project, pm: PluginManager) -> None:
        project.write("manifest.yaml", BASE + "  staging:\n    compute:\n      default: duckdb\n")
        assert error(lambda: load_manifest("manifest.yaml", manager=pm)) == (
            "manifest.yaml: environments.staging.compute.default: an environment overlay may not change the "
            "approved computes or the default compute; every transform must run on the same compute in every "
            "environment (parity)"
        )

    def test_parity_a_product_may_not_vary_by_environment(self, project: Project, pm: PluginManager) -> None:
        project.write("manifest.yaml", BASE)
        project.write(
            "floe.yaml",
            """
            name: analytics
            platform: manifest.yaml
            transforms: [{name: a, path: models/a}]
            environments: {prod: {transforms: {a: {compute: duckdb}}}}
            """,
        )
        assert error(lambda: load_product("floe.yaml", env="prod", manager=pm)) == (
            "floe.yaml: environments: a data product cannot vary by environment: every transform must run on "
            "the same compute in every environment (parity); "
            "environment overlays belong in the platform manifest"
        )

    def test_an_overlay_may_only_name_approved_computes(self, project: Project, pm: PluginManager) -> None:
        project.write("manifest.yaml", BASE + "  staging:\n    compute:\n      wharehouse: {threads: 2}\n")
        assert error(lambda: load_manifest("manifest.yaml", manager=pm)) == (
            "manifest.yaml: environments.staging.compute.wharehouse: 'wharehouse' is not approved; "
            "allowed: duckdb, warehouse"
        )

    def test_an_overlay_key_outside_the_allowed_set(self, project: Project, pm: PluginManager) -> None:
        project.write("manifest.yaml", BASE + "  staging:\n    compute:\n      warehouse: {thread: 2}\n")
        assert error(lambda: load_manifest("manifest.yaml", manager=pm)) == (
            "manifest.yaml: environments.staging.compute.warehouse.thread: unknown key 'thread'; "
            "allowed: config, credentials, resources, threads, timeout_seconds"
        )

    def test_a_broken_prod_overlay_fails_every_environment(self, project: Project, pm: PluginManager) -> None:
        project.write(
            "manifest.yaml", BASE.replace("config: {path: prod.duckdb}", "config: {paht: prod.duckdb}")
        )
        for env in (None, "dev", "prod"):
            assert error(lambda env=env: load_manifest("manifest.yaml", env=env, manager=pm)).startswith(
                "manifest.yaml: environments.prod.compute.warehouse.config: unknown key 'paht'; allowed: "
            )

    def test_kubernetes_settings_overlay_per_environment(self, project: Project, pm: PluginManager) -> None:
        project.write(
            "manifest.yaml",
            BASE + "    kubernetes: {namespace: prod, image_pull_policy: "
            "Always}\nkubernetes: {image: 'reg/dbt:1'}\n",
        )
        dev = load_manifest("manifest.yaml", env="dev", manager=pm).kubernetes
        prod = load_manifest("manifest.yaml", env="prod", manager=pm).kubernetes
        assert (dev.image, dev.namespace, dev.image_pull_policy) == ("reg/dbt:1", "default", None)
        assert (prod.image, prod.namespace, prod.image_pull_policy) == ("reg/dbt:1", "prod", "Always")

    def test_kubernetes_errors_are_located_in_the_overlay(self, project: Project, pm: PluginManager) -> None:
        project.write("manifest.yaml", BASE + "    kubernetes: {image_pull_policy: Sometimes}\n")
        assert error(lambda: load_manifest("manifest.yaml", manager=pm)) == (
            "manifest.yaml: environments.prod.kubernetes.image_pull_policy: 'Sometimes' is not allowed; "
            "allowed: Always, IfNotPresent, Never"
        )
