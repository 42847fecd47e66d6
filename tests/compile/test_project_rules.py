"""Transforms meet the dbt project at compile time: paths, nesting, unclaimed files, profile, selection."""

from __future__ import annotations

import json

import pytest

from floe_hooks import PluginManager, compile_file, load_product

from .conftest import Project, error

MANIFEST = (
    "version: 1\ncompute:\n  default: warehouse\n"
    "  approved: [{name: ingest, type: duckdb}, {name: warehouse, type: duckdb}]\n"
)


def dbt_project(project: Project, *files: str, profile: str = "analytics") -> None:
    project.write("manifest.yaml", MANIFEST)
    project.write(
        "dbt_project.yml", f"name: shop\nprofile: {profile}\nmodel-paths: [models]\nseed-paths: [seeds]\n"
    )
    for name in files:
        project.write(name, "select 1\n")


def artifact(project: Project, pm: PluginManager, transforms: str) -> dict[str, object]:
    compile_file(project.product(transforms), manager=pm)
    return json.loads((project.root / "target/floe/compiled_artifacts.json").read_text())  # type: ignore[no-any-return]


def test_nested_paths_are_allowed_and_the_most_specific_wins(project: Project, pm: PluginManager) -> None:
    dbt_project(project, "models/staging/stg.sql", "models/top.sql")
    product = load_product(
        project.product(
            "- {name: staging, path: models/staging, compute: ingest}\n- {name: all, path: models}"
        ),
        manager=pm,
    )
    assert product.project is not None
    assert dict(product.project.owners) == {"models/staging/stg.sql": "staging", "models/top.sql": "all"}
    # models/ holds a file of another compute: it is selected file by file, never as path:models
    assert product.project.selection("all") == ("path:models/top.sql",)
    assert product.project.selection("staging") == ("path:models/staging",)


def test_the_same_path_twice_is_an_error(project: Project, pm: PluginManager) -> None:
    dbt_project(project, "models/a.sql")
    path = project.product("- {name: a, path: models}\n- {name: b, path: models/}")
    assert error(lambda: load_product(path, manager=pm)) == (
        "floe.yaml: transforms[1].path: 'models' is also transforms[0].path: "
        "each model must belong to exactly one transform"
    )


def test_a_path_matching_no_file_is_an_error(project: Project, pm: PluginManager) -> None:
    dbt_project(project, "models/orders.sql")
    path = project.product("- {name: a, path: models/order.sql}")
    assert error(lambda: load_product(path, manager=pm)) == (
        "floe.yaml: transforms[0].path: 'models/order.sql' matches no model, seed or snapshot file "
        "of the dbt "
        "project (model-paths: models; seed-paths: seeds; snapshot-paths: snapshots)"
    )


def test_unclaimed_files_run_on_the_default_compute_and_are_listed(
    project: Project, pm: PluginManager
) -> None:
    dbt_project(project, "models/staging/stg.sql", "models/new_mart.sql")
    data = artifact(project, pm, "- {name: staging, path: models/staging, compute: ingest}")
    assert data["unclaimed"] == ["models/new_mart.sql"]
    plan = data["run_plan"]
    assert [(s["compute"], s["select"], s["needs"]) for s in plan] == [  # type: ignore[attr-defined]
        ("ingest", ["path:models/staging"], []),
        ("warehouse", ["path:models/new_mart.sql"], ["ingest"]),
    ]
    assert data["graph"] == {"source": "transforms", "edges": [["ingest", "warehouse"]]}
    assert plan[1]["command"][:2] == ["dbt", "build"]  # type: ignore[index]


def test_seeds_belong_to_transforms_like_models(project: Project, pm: PluginManager) -> None:
    dbt_project(project, "models/a.sql")
    project.write("seeds/raw.csv", "id\n1\n")
    data = artifact(project, pm, "- {name: raw, path: seeds, compute: ingest}\n- {name: all, path: models}")
    assert data["unclaimed"] == []
    assert [s["select"] for s in data["run_plan"]] == [["path:seeds"], ["path:models"]]  # type: ignore[index]


@pytest.mark.parametrize("folder", ["my marts", "a,b", "plus+", "star*", "@at", "tag:nightly"])
def test_a_path_dbt_would_read_as_syntax_is_selected_file_by_file(
    project: Project, pm: PluginManager, folder: str
) -> None:
    dbt_project(project, f"models/{folder}/m1.sql", f"models/{folder}/m2.sql", "models/other/m3.sql")
    product = load_product(
        project.product(f"- {{name: odd, path: 'models/{folder}'}}\n- {{name: rest, path: models/other}}"),
        manager=pm,
    )
    assert product.project is not None
    assert product.project.selection("odd") == ("m1", "m2")  # the names of exactly its files


def test_a_file_dbt_cannot_name_exactly_is_an_error(project: Project, pm: PluginManager) -> None:
    dbt_project(project, "models/my marts/bad name.sql")
    path = project.product("- {name: odd, path: 'models/my marts'}")
    assert error(lambda: load_product(path, manager=pm)) == (
        "floe.yaml: transforms[0].path: dbt cannot select 'models/my marts/bad name.sql' exactly: rename the "
        "file to letters, digits and underscores"
    )


def test_the_product_name_must_be_the_dbt_profile(project: Project, pm: PluginManager) -> None:
    dbt_project(project, "models/a.sql", profile="shop_profile")
    path = project.product("- {name: a, path: models}")
    assert error(lambda: load_product(path, manager=pm)) == (
        "floe.yaml: name: the product name 'analytics' must be the dbt profile, but dbt_project.yml names "
        "'shop_profile'; rename one of them, or state the profile in floe.yaml (profile: ...)"
    )


def test_a_stated_profile_is_used_for_dbt(project: Project, pm: PluginManager) -> None:
    dbt_project(project, "models/a.sql", profile="shop_profile")
    project.write(
        "floe.yaml",
        "name: analytics\nprofile: shop_profile\nplatform: manifest.yaml\n"
        "transforms:\n  - {name: a, path: models}\n",
    )
    compiled = compile_file("floe.yaml", manager=pm)
    assert compiled.profiles_yml.count("shop_profile:") == 1
    assert compiled.run_plan[0].command("shop_profile")[:4] == ["dbt", "build", "--profile", "shop_profile"]
    assert compiled.artifacts["profile"]["name"] == "shop_profile"


def test_without_a_dbt_project_nothing_is_checked(project: Project, pm: PluginManager) -> None:
    project.write("manifest.yaml", MANIFEST)
    product = load_product(project.product("- {name: a, path: models/nowhere}"), manager=pm)
    assert product.project is None
