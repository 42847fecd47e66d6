"""Injection: hostile strings stay in their place in profiles.yml, the artifact, SQL and Kubernetes.

Each hostile value goes in through a manifest written with ``yaml.safe_dump`` (so the
manifest itself is well formed) and must come out exactly equal, parsed back by the
consumer's own parser: dbt's own profile reader and Jinja renderer for ``profiles.yml``
(``dbt`` marker; without dbt, PyYAML gives back the spelling ``dbt_literal`` chose),
PyYAML for ``kubernetes.yaml``, JSON for the artifact, DuckDB for SQL, ``shlex`` for the
printed dbt command lines. Names that cannot be quoted safely everywhere (compute,
transform, product and catalog names) are refused, and so are control characters in a
transform path.
"""

from __future__ import annotations

import contextvars
import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from adversarial_harness import environment, floe_command

from floe_hooks import ConfigError, PluginManager, compile_product, load_product
from floe_hooks.compile import dbt_literal

HOSTILE = [
    "a\nb: injected",
    "x\n  injected: true\n",
    "key: value",
    "- item",
    "# not a comment",
    "--- \n...\n",
    "&anchor",
    "*alias",
    "!!python/object/apply:os.system ['id']",
    "{{ env_var('HOME') }}",
    "' OR '1'='1",
    "x'; ATTACH 'evil.duckdb' AS evil; --",
    '"; DROP TABLE t; --',
    "back\\slash\\'",
    "$(touch pwned) `touch pwned`; rm -rf ~ #",
    "null",
    "~",
    "yes",
    "0o17",
    "1e3",
    ".inf",
    "2026-01-01",
    "tab\there",
    " leading and trailing ",
    "line\u2028separator\u0085next",
    "\ufeffbom",
    "é 中文 🦆",
    "x" * 5000,
]

#: Hostile strings that are still relative model folders (no '..', no leading '/').
HOSTILE_PATHS = [
    "models/a b",
    "models/x; rm -rf ~",
    "models/$(touch pwned)",
    "models/`id`",
    "models/'quoted'",
    'models/"double"',
    "models/{{ var('x') }}",
    "models/# hash",
    "models/a*b?[c]",
    "models/é 🦆",
    "models/-rf",
]


def compile_with(root: Path, manifest: dict[str, Any], transforms: list[dict[str, str]]) -> Any:
    (root / "manifest.yaml").write_text(yaml.safe_dump(manifest))  # ASCII: escapes U+0085 too
    product = {"name": "analytics", "platform": "manifest.yaml", "transforms": transforms}
    (root / "floe.yaml").write_text(yaml.safe_dump(product))
    manager = PluginManager(strict=False)
    return compile_product(load_product(root / "floe.yaml", manager=manager), manager=manager)


def one_line(value: str) -> bool:
    """DuckDB settings hold one line of text (issue 16): a control character there is refused."""
    import re

    return re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", value) is None


def duckdb_compute(value: str) -> dict[str, Any]:
    return {
        "name": "warehouse",
        "type": "duckdb",
        "config": {
            "path": f"build/{value}.duckdb" if "\x00" not in value else "w.duckdb",
            "schema": value,
            "settings": {"custom_user_agent": value if one_line(value) else "one line"},
            "attach": [{"path": value, "alias": "other"}],
        },
    }


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_config_values_round_trip_through_profiles_yml(tmp_path: Path, value: str) -> None:
    compiled = compile_with(
        tmp_path,
        {"version": 1, "compute": {"approved": [duckdb_compute(value)]}},
        [{"name": "marts", "path": "models/marts"}],
    )
    profiles = yaml.safe_load(compiled.profiles_yml)
    assert list(profiles) == ["analytics"]
    assert set(profiles["analytics"]) == {"target", "outputs"}
    assert list(profiles["analytics"]["outputs"]) == ["warehouse"]
    # dbt renders each string as Jinja: the file holds the spelling that renders back to it
    output = profiles["analytics"]["outputs"]["warehouse"]
    assert output["path"] == dbt_literal(f"build/{value}.duckdb")
    assert output["schema"] == dbt_literal(value)
    setting = value if one_line(value) else "one line"
    assert output["settings"]["custom_user_agent"] == dbt_literal(setting)
    assert output["attach"] == [{"path": dbt_literal(value), "alias": "other"}]
    profile = compiled.compute("warehouse").profile
    assert (profile["schema"], profile["settings"]["custom_user_agent"]) == (value, setting)
    artifact = json.loads(compiled.artifacts_json())
    assert artifact["computes"]["warehouse"]["config"]["schema"] == value


def duckdb_compute_everywhere(value: str) -> dict[str, Any]:
    """A DuckDB compute with ``value`` in every free-text field that reaches profiles.yml, and secrets."""
    return {
        "name": "warehouse",
        "type": "duckdb",
        "config": {
            "path": f"build/{value}.duckdb",
            "schema": value,
            "settings": {"custom_user_agent": value, "timezone": value} if one_line(value) else {},
            "config_options": {"custom_option": value} if one_line(value) else {},
            "extension_directory": value,
            "external_root": value,
            "module_paths": [value],
            "attach": [{"path": value, "alias": "other", "options": {"block_size": value}}],
            "secrets": [
                {
                    "type": "s3",
                    "name": "lake",
                    "scope": [value],
                    "options": {"region": value},
                    "credentials": {"key_id": {"env": "HOSTILE_KEY"}},
                }
            ],
            "plugins": [{"module": value, "config": {"option": value}}],
            "filesystems": [{"fs": value, "options": {"endpoint": value}}],
            "motherduck_token": {"env": "HOSTILE_TOKEN"},
        },
    }


#: What the secret variables hold when dbt renders: templates, so the values must come out.
SECRET_ENV = {
    "DBT_ENV_SECRET_WAREHOUSE_SECRETS_0_CREDENTIALS_KEY_ID": "key-id-value",
    "DBT_ENV_SECRET_WAREHOUSE_MOTHERDUCK_TOKEN": "token-value",
    "AWS_SECRET_ACCESS_KEY": "must-not-appear",
    "HOME": "/must/not/appear",
}


def render_with_dbt(profiles_dir: Path, profile: str, target: str) -> dict[str, Any]:
    """``profiles.yml`` as dbt sees it: dbt's own reader, then its ProfileRenderer (Jinja, native)."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    def run() -> dict[str, Any]:
        set_invocation_context({**os.environ, **SECRET_ENV})
        raw = read_profile(str(profiles_dir))
        name, data = Profile.render_profile(raw[profile], profile, None, ProfileRenderer({}))
        assert name == target
        return data

    return contextvars.copy_context().run(run)


@pytest.mark.dbt
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_dbt_renders_hostile_values_back_to_exactly_the_manifest_value(tmp_path: Path, value: str) -> None:
    compiled = compile_with(
        tmp_path,
        {"version": 1, "compute": {"approved": [duckdb_compute_everywhere(value)]}},
        [{"name": "marts", "path": "models/marts"}],
    )
    (tmp_path / "dbt").mkdir()
    (tmp_path / "dbt" / "profiles.yml").write_text(compiled.profiles_yml, encoding="utf-8")
    output = render_with_dbt(tmp_path / "dbt", "analytics", "warehouse")
    assert output["path"] == f"build/{value}.duckdb"
    assert output["schema"] == value
    settings = {"custom_user_agent": value, "timezone": value} if one_line(value) else {}
    assert output["settings"] == {
        **settings,
        "memory_limit": "384MiB",
        "threads": 1,
        "motherduck_token": "token-value",
    }
    options = {"custom_option": value} if one_line(value) else {}
    assert output["config_options"] == {**options, "extension_directory": value}
    assert output["external_root"] == value
    assert output["module_paths"] == [value]
    assert output["attach"] == [{"path": value, "alias": "other", "options": {"block_size": value}}]
    assert output["secrets"] == [
        {"type": "s3", "name": "lake", "scope": value, "region": value, "key_id": "key-id-value"}
    ]
    assert output["plugins"] == [{"module": value, "config": {"option": value}}]
    assert output["filesystems"] == [{"fs": value, "endpoint": value}]
    # every string exactly as floe's compiled profile holds it, templates rendered
    expected = json.loads(json.dumps(compiled.compute("warehouse").profile))
    expected["settings"]["motherduck_token"] = "token-value"
    expected["secrets"][0]["key_id"] = "key-id-value"
    assert output == expected
    assert "must-not-appear" not in repr(output)
    assert "/must/not/appear" not in repr(output)


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_transform_paths_stay_one_argument(tmp_path: Path, path: str) -> None:
    compiled = compile_with(
        tmp_path,
        {"version": 1, "compute": {"approved": ["duckdb"]}},
        [{"name": "marts", "path": path}],
    )
    artifact = json.loads(compiled.artifacts_json())
    assert artifact["transforms"][0]["path"] == path
    (step,) = artifact["run_plan"]
    assert step["command"][-2:] == ["--select", f"path:{path}"]
    assert yaml.safe_load(compiled.profiles_yml)["analytics"]["target"] == "duckdb"


def test_the_printed_dbt_command_lines_are_shell_safe(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("version: 1\ncompute:\n  approved: [duckdb]\n")
    transforms = [{"name": f"t{i}", "path": path} for i, path in enumerate(HOSTILE_PATHS)]
    product = {"name": "analytics", "platform": "manifest.yaml", "transforms": transforms}
    (tmp_path / "floe.yaml").write_text(yaml.safe_dump(product, allow_unicode=True))
    process = subprocess.run(
        [*floe_command(), "compile", "floe.yaml"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    (line,) = [line for line in process.stdout.splitlines() if line.startswith("run: ")]
    selects = [f"path:{path}" for path in HOSTILE_PATHS]
    assert shlex.split(line.removeprefix("run: ")) == [
        *("dbt", "build", "--profile", "analytics", "--target", "duckdb", "--select"),
        *selects,
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("compute name", "warehouse; rm -rf ~"),
        ("compute name", "Warehouse"),
        ("compute name", "a\nb"),
        ("compute type", "duckdb\n- evil"),
        ("transform name", "marts\nname: x"),
        ("transform name", "marts; rm -rf ~"),
        ("transform name", "../marts"),
        ("transform path", "../models"),
        ("transform path", "/etc"),
        ("transform path", "models/a\nb"),
        ("transform path", "models/marts\n"),
        ("transform path", "models/\x00"),
        ("transform path", "models/\x1b[2J"),
        ("transform path", "models/a\rb"),
        ("transform path", "models/a\u2028b"),
        ("transform path", "models/a\x9b31mb"),
        ("transform path", "models/\x7f"),
        ("product name", "analytics:\n  target: evil"),
        ("product name", "{{ env_var('X') }}"),
    ],
)
def test_names_and_paths_that_cannot_be_placed_safely_are_refused(
    tmp_path: Path, field: str, value: str
) -> None:
    compute: dict[str, Any] = {"name": "warehouse", "type": "duckdb"}
    transform = {"name": "marts", "path": "models/marts"}
    product_name = "analytics"
    if field == "compute name":
        compute["name"] = value
    elif field == "compute type":
        compute["type"] = value
    elif field == "transform name":
        transform["name"] = value
    elif field == "transform path":
        transform["path"] = value
    else:
        product_name = value
    (tmp_path / "manifest.yaml").write_text(
        yaml.safe_dump({"version": 1, "compute": {"approved": [compute]}})
    )
    product = {"name": product_name, "platform": "manifest.yaml", "transforms": [transform]}
    (tmp_path / "floe.yaml").write_text(yaml.safe_dump(product, allow_unicode=True))
    with pytest.raises(ConfigError) as info:
        load_product(tmp_path / "floe.yaml", manager=PluginManager(strict=False))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_setting_values_are_one_literal_in_duckdb_sql(value: str) -> None:
    from floe_duckdb._sql import quote_literal

    connection = duckdb.connect()
    statements = connection.extract_statements(f"SELECT {quote_literal(value)} AS v")
    assert len(statements) == 1
    assert connection.execute(f"SELECT {quote_literal(value)} AS v").fetchall() == [(value,)]


def test_floe_validate_runs_no_injected_sql(tmp_path: Path) -> None:
    """The health check sets each setting with a quoted literal: the hostile value is a value."""
    evil = tmp_path / "evil.duckdb"
    settings = {
        "custom_user_agent": f"x'; ATTACH '{evil}' AS evil; --",
        "timezone": f"UTC'; ATTACH '{evil}' AS evil2; --",
    }
    manifest = {
        "version": 1,
        "compute": {"approved": [{"name": "warehouse", "type": "duckdb", "config": {"settings": settings}}]},
    }
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    process = subprocess.run(
        [*floe_command(), "validate", "manifest.yaml", "--format", "json"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode in (0, 1), process.stderr
    json.loads(process.stdout)
    assert not evil.exists()


def test_hostile_values_round_trip_through_kubernetes_manifests(tmp_path: Path) -> None:
    from floe_hooks.kubernetes import render_kubernetes

    computes = [duckdb_compute(value) | {"name": f"c{i}"} for i, value in enumerate(HOSTILE[:12])]
    manifest = {"version": 1, "compute": {"default": "c0", "approved": computes}}
    transforms = [
        {"name": f"t{i}", "path": path, "compute": f"c{i % len(computes)}"}
        for i, path in enumerate(HOSTILE_PATHS)
    ]
    compiled = compile_with(tmp_path, manifest, transforms)
    objects = list(yaml.safe_load_all(render_kubernetes(compiled, allow_pod_local=True)))
    configmaps = [o for o in objects if o["kind"] == "ConfigMap"]
    assert len(configmaps) == 1
    assert list(configmaps[0]["data"].values()) == [compiled.profiles_yml]
    jobs = [o for o in objects if o["kind"] == "Job"]
    assert len(jobs) == len(compiled.run_plan)
    commands = sorted(
        json.dumps(c.get("command", []) + c.get("args", []))
        for job in jobs
        for c in job["spec"]["template"]["spec"]["containers"]
    )
    expected = sorted(json.dumps(step.command(compiled.product.name)) for step in compiled.run_plan)
    assert commands == expected
