"""generate_profile: every config field reaches dbt-duckdb's profile; secrets only as env_var()."""

from __future__ import annotations

import copy
from typing import Any

import attrs
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_duckdb import DuckDBConfig
from floe_duckdb._sql import RESERVED
from floe_duckdb.config import CREDENTIAL_KEYS
from floe_duckdb.profile import BUILTIN_EXTENSIONS
from floe_hooks import (
    ConfigError,
    DbtTemplate,
    PluginManager,
    ResourceSpec,
    secret_bindings,
    structure,
    unstructure,
)
from floe_hooks._yaml import dump_yaml

from .test_config import FULL


def test_every_config_field_reaches_the_profile(pm: PluginManager, duckdb_compute: Any) -> None:
    config = copy.deepcopy(FULL)
    config["attach"][2]["read_only"] = True  # a DuckLake read by 8 dbt threads: allowed
    profile = pm.generate_profile(duckdb_compute(config, threads=8, resources="large"))
    # where each typed field lands in dbt-duckdb's profile
    landing = {
        "extension_repositories": ("extensions", 1, "repo"),
        "extension_directory": ("config_options", "extension_directory"),
        "autoinstall_extensions": ("config_options", "autoinstall_known_extensions"),
        "autoload_extensions": ("config_options", "autoload_known_extensions"),
        "memory_limit": ("settings", "memory_limit"),
        "threads": ("settings", "threads"),
        "motherduck_token": ("settings", "motherduck_token"),
    }
    for field in attrs.fields(DuckDBConfig):
        where: Any = profile
        for step in landing.get(field.name, (field.name,)):
            where = where[step]
        assert where not in (None, [], {}), field.name
    assert profile["settings"]["memory_limit"] == "2GB"
    assert profile["settings"]["threads"] == 3
    assert profile["threads"] == 8  # dbt's threads: the compute's
    assert profile["settings"]["preserve_insertion_order"] is False
    assert profile["extensions"] == ["httpfs", {"name": "spatial", "repo": "core_nightly"}]
    assert profile["attach"][0] == {"path": "other.duckdb", "alias": "other", "read_only": True}
    assert profile["attach"][1] == {
        "path": "lake.sqlite",
        "alias": "lite",
        "type": "sqlite",
        "options": {"block_size": 262144},
    }
    assert profile["retries"] == {
        "connect_attempts": 3,
        "query_attempts": 2,
        "retryable_exceptions": ["IOException"],
    }
    assert yaml.safe_load(dump_yaml(profile)) == profile


def test_secrets_become_env_var_templates_named_after_compute_and_field(
    pm: PluginManager, duckdb_compute: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    compute = duckdb_compute(FULL, name="lake")
    for binding in secret_bindings(compute):
        if binding.ref.env:
            monkeypatch.setenv(binding.ref.env, "planted-secret-value")
    profile = pm.generate_profile(compute)
    assert "planted-secret-value" not in repr(profile)
    secret = profile["secrets"][0]
    assert secret == {
        "type": "s3",
        "name": "lake_secret",
        "provider": "config",
        "persistent": False,
        "scope": ["s3://bucket/a", "s3://bucket/b"],
        "region": "eu-west-1",
        "url_style": "path",
        "key_id": "{{ env_var('DBT_ENV_SECRET_LAKE_SECRETS_0_CREDENTIALS_KEY_ID') }}",
        "secret": "{{ env_var('DBT_ENV_SECRET_LAKE_SECRETS_0_CREDENTIALS_SECRET') }}",
    }
    assert profile["settings"]["motherduck_token"] == "{{ env_var('DBT_ENV_SECRET_LAKE_MOTHERDUCK_TOKEN') }}"
    assert profile["remote"]["password"] == "{{ env_var('DBT_ENV_SECRET_LAKE_REMOTE_PASSWORD') }}"
    # templates dbt must render, marked as such; floe compile writes every other string literally
    templates = [secret["key_id"], secret["secret"], profile["settings"]["motherduck_token"]]
    templates += [profile["remote"]["password"], profile["plugins"][0]["config"]["token"]]
    templates += [profile["filesystems"][0]["key"]]
    assert {type(t) for t in templates} == {DbtTemplate}
    assert type(profile["path"]) is str
    assert profile["plugins"][0]["config"] == {
        "method": "oauth",
        "token": "{{ env_var('DBT_ENV_SECRET_LAKE_PLUGINS_0_CREDENTIALS_TOKEN') }}",
    }
    assert profile["filesystems"][0] == {
        "fs": "s3",
        "anon": False,
        "key": "{{ env_var('DBT_ENV_SECRET_LAKE_FILESYSTEMS_0_CREDENTIALS_KEY') }}",
    }


def test_a_single_scope_is_written_as_a_string(pm: PluginManager, duckdb_compute: Any) -> None:
    data = copy.deepcopy(FULL)
    data["secrets"][0]["scope"] = ["s3://bucket"]
    assert pm.generate_profile(duckdb_compute(data))["secrets"][0]["scope"] == "s3://bucket"


def test_a_minimal_compute_is_an_in_memory_profile(pm: PluginManager, duckdb_compute: Any) -> None:
    assert pm.generate_profile(duckdb_compute()) == {
        "type": "duckdb",
        "path": ":memory:",
        "schema": "main",
        "threads": 1,
        "settings": {"memory_limit": "384MiB", "threads": 1},
    }


@pytest.mark.parametrize(
    ("config", "what"),
    [
        ({"path": "ducklake:meta.ducklake"}, "the DuckLake at config.path"),
        ({"path": "lake.db", "is_ducklake": True}, "the DuckLake at config.path"),
        (
            {"attach": [{"path": "o.duckdb"}, {"path": "ducklake:postgres:dbname=lake", "alias": "dl"}]},
            "the DuckLake attached as config.attach[1] (dl) without read_only",
        ),
        (
            {"attach": [{"path": "meta.db", "is_ducklake": True}]},
            "the DuckLake attached as config.attach[0] without read_only",
        ),
        (
            {"attach": [{"path": "meta.db", "type": "ducklake"}]},
            "the DuckLake attached as config.attach[0] without read_only",
        ),
    ],
)
def test_dbt_threads_above_one_into_a_ducklake_are_refused(
    pm: PluginManager, duckdb_compute: Any, config: dict[str, Any], what: str
) -> None:
    with pytest.raises(ConfigError) as info:
        pm.generate_profile(duckdb_compute(config, threads=2))
    assert str(info.value) == (
        f"threads: 2 runs models at once, and they write into {what}: DuckLake breaks commits made at once "
        "by threads of one process (duckdb/ducklake#1404); set threads: 1 (each model still uses all of "
        "DuckDB's threads, and floe run's steps stay parallel)"
    )
    assert "postgres:" not in str(info.value)  # a path may be a libpq string: never quoted
    assert pm.generate_profile(duckdb_compute(config, threads=1))["threads"] == 1
    assert pm.generate_profile(duckdb_compute(config))["threads"] == 1


def test_a_ducklake_attached_read_only_keeps_many_threads(pm: PluginManager, duckdb_compute: Any) -> None:
    config = {"attach": [{"path": "ducklake:meta.ducklake", "alias": "dl", "read_only": True}]}
    assert pm.generate_profile(duckdb_compute(config, threads=4))["threads"] == 4


@pytest.mark.parametrize(
    ("resources", "memory_limit", "threads"),
    [
        (None, "384MiB", 1),  # the default pod: small, 512Mi / 500m
        ("small", "384MiB", 1),
        ("medium", "3072MiB", 2),
        ("large", "12288MiB", 8),
        (ResourceSpec("250m", "1500m", "1Gi", "3Gi"), "2304MiB", 1),
        (ResourceSpec("1", "3", "1G", "2G"), "1430MiB", 3),
    ],
)
def test_memory_limit_and_threads_come_from_the_pod_when_unset(
    pm: PluginManager, duckdb_compute: Any, resources: Any, memory_limit: str, threads: int
) -> None:
    compute = duckdb_compute({"path": "w.duckdb"})
    compute = attrs.evolve(compute, resources=resources)
    settings = pm.generate_profile(compute)["settings"]
    assert (settings["memory_limit"], settings["threads"]) == (memory_limit, threads)
    limit = pm.resource_requirements(compute).memory_limit_bytes
    assert int(memory_limit.removesuffix("MiB")) * 2**20 <= 0.75 * limit


@pytest.mark.parametrize(
    "config",
    [
        {"memory_limit": "75%", "threads": 6},
        {"settings": {"memory_limit": "75%", "threads": 6}},
    ],
)
def test_explicit_memory_limit_and_threads_win(pm: PluginManager, duckdb_compute: Any, config: Any) -> None:
    settings = pm.generate_profile(duckdb_compute(config, resources="small"))["settings"]
    assert (settings["memory_limit"], settings["threads"]) == ("75%", 6)


@pytest.mark.parametrize("resources", [None, "small", "medium", "large"])
def test_resource_requirements_are_the_presets(
    pm: PluginManager, duckdb_compute: Any, resources: Any
) -> None:
    spec = pm.resource_requirements(duckdb_compute(resources=resources))
    assert spec == ResourceSpec.preset(resources or "small")


def test_resource_requirements_keep_an_explicit_spec(pm: PluginManager, duckdb_compute: Any) -> None:
    explicit = {"cpu_request": "250m", "cpu_limit": "1", "memory_request": "256Mi", "memory_limit": "1Gi"}
    spec = pm.resource_requirements(duckdb_compute(resources=explicit))
    assert spec == ResourceSpec("250m", "1", "256Mi", "1Gi")


_ident = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda name: (
        name not in RESERVED and name not in CREDENTIAL_KEYS and name not in ("memory_limit", "threads")
    )
)
# one-line text: a setting value with a control character is refused (issue 16). No lone
# surrogate (Cs), which naming exclude_categories would otherwise let in: no YAML file can
# hold one, and the raw profile is dumped here; compile spells one as a dbt literal
# (tests/compile/test_dbt_literals.py)
_line = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20)
_scalar = st.one_of(st.booleans(), st.integers(-(2**31), 2**31), _line)
_configs = st.fixed_dictionaries(
    {
        "path": st.one_of(st.just(":memory:"), st.text(min_size=1, max_size=30).filter(lambda p: p.strip())),
        "schema": st.text(min_size=1, max_size=20).filter(str.strip),
        "memory_limit": st.sampled_from(["4GB", "512MiB", "75%", "1.5 GB"]),
        "extensions": st.lists(_ident, unique=True, max_size=3),
        "settings": st.dictionaries(_ident, _scalar, max_size=4),
        "attach": st.lists(
            st.fixed_dictionaries(
                {
                    "path": st.text(min_size=1, max_size=20).filter(str.strip),
                    "alias": _ident,
                    "read_only": st.booleans(),
                }
            ),
            max_size=3,
            unique_by=lambda a: a["alias"],
        ),
    }
).filter(
    lambda c: "\x00" not in c["path"] + c["schema"] and all("\x00" not in a["path"] for a in c["attach"])
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=_configs)
def test_any_valid_config_round_trips_and_reaches_the_profile(
    pm: PluginManager, duckdb_compute: Any, data: dict[str, Any]
) -> None:
    cfg = structure(data, DuckDBConfig)
    assert structure(unstructure(cfg), DuckDBConfig) == cfg
    profile = pm.generate_profile(duckdb_compute(data))
    assert yaml.safe_load(dump_yaml(profile)) == profile
    assert profile["path"] == data["path"]
    assert profile["settings"] == {**data["settings"], "memory_limit": data["memory_limit"], "threads": 1}
    assert profile.get("extensions", []) == [e for e in data["extensions"] if e not in BUILTIN_EXTENSIONS]
    assert profile.get("attach", []) == [
        {**a, "read_only": True} if a["read_only"] else {"path": a["path"], "alias": a["alias"]}
        for a in data["attach"]
    ]


def test_builtin_extensions_are_left_out_of_the_profile_with_a_note(
    pm: PluginManager, duckdb_compute: Any
) -> None:
    from floe_hooks._notes import collecting

    config = {
        "extensions": ["json", "httpfs", "parquet", "icu"],
        "extension_repositories": {"icu": "core_nightly"},
    }
    with collecting() as notes:
        profile = pm.generate_profile(duckdb_compute(config))
    assert profile["extensions"] == [
        "httpfs",
        {"name": "icu", "repo": "core_nightly"},
    ]  # a repository is a choice
    assert notes == [
        "compute 'warehouse': extensions json, parquet are built into DuckDB and always loaded; "
        "left out of the profile (dbt-duckdb would try to download it)"
    ]


def test_the_builtin_list_matches_the_installed_duckdb() -> None:
    import duckdb

    with duckdb.connect() as conn:
        rows = conn.execute(
            "select extension_name from duckdb_extensions() "
            "where installed and install_mode = 'STATICALLY_LINKED'"
        ).fetchall()
    expected = set(BUILTIN_EXTENSIONS)
    if tuple(int(part) for part in duckdb.__version__.split(".")[:2]) < (1, 2):
        expected.discard("core_functions")  # split out of DuckDB's core in 1.2
    assert {name for (name,) in rows} >= expected


def test_floe_compile_leaves_json_out_of_the_profile_and_says_so(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from floe_hooks.cli import main

    (tmp_path / "manifest.yaml").write_text(
        "version: 1\ncompute:\n  approved:\n"
        "    - {name: warehouse, type: duckdb, config: {path: w.duckdb, extensions: [json, httpfs]}}\n"
    )
    (tmp_path / "floe.yaml").write_text(
        "name: demo\nplatform: manifest.yaml\ntransforms:\n  - {name: all, path: models}\n"
    )
    (tmp_path / "dbt_project.yml").write_text("name: demo\nprofile: demo\nmodel-paths: [models]\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.sql").write_text("select 1 as id\n")
    assert main(["compile", str(tmp_path / "floe.yaml")]) == 0
    out = capsys.readouterr().out
    assert (
        "note: compute 'warehouse': extension json is built into DuckDB and always loaded; "
        "left out of the profile (dbt-duckdb would try to download it)\n"
    ) in out
    profile = yaml.safe_load((tmp_path / "target" / "floe" / "profiles.yml").read_text())
    assert profile["demo"]["outputs"]["warehouse"]["extensions"] == ["httpfs"]
