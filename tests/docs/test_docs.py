"""The plugin author's documentation stays true to the code.

* docs/hooks.md is rendered from the hookspec docstrings (``python -m
  floe_hooks._hookdoc docs/hooks.md``) and has one section per hookspec, titled with
  its exact signature, with an example hookimpl; a hook added to or removed from
  floe_hooks.hookspecs without the page following fails here.
* docs/lifecycle.md says when every hook fires.
* docs/writing-plugins.md is executable: its files are written out, "installed"
  (a dist-info with the entry points of its setup.cfg, as pip would leave), listed by
  ``floe plugins``, run through the contract suite, and compiled into a profile.
"""

from __future__ import annotations

import ast
import configparser
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from floe_hooks import hookspecs

DOCS = Path(__file__).parents[2] / "docs"
HOOKS_MD = DOCS / "hooks.md"
LIFECYCLE_MD = DOCS / "lifecycle.md"
WRITING_MD = DOCS / "writing-plugins.md"

_TITLE = re.compile(r"^## (?P<name>[a-z_]+)\((?P<args>[^)]*)\)(?: -> (?P<ret>.+))?$", re.MULTILINE)
_FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def hookspec_names() -> list[str]:
    """Every function marked as a hookspec in floe_hooks.hookspecs."""
    return sorted(
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if getattr(function, "floe_spec", None) is not None
    )


def documented() -> dict[str, tuple[list[str], str]]:
    """Section title -> (argument names, section body) from docs/hooks.md."""
    text = HOOKS_MD.read_text(encoding="utf-8")
    titles = list(_TITLE.finditer(text))
    sections: dict[str, tuple[list[str], str]] = {}
    for index, match in enumerate(titles):
        end = titles[index + 1].start() if index + 1 < len(titles) else len(text)
        args = [a.strip() for a in match["args"].split(",") if a.strip()]
        assert match["name"] not in sections, f"hook {match['name']} documented twice"
        sections[match["name"]] = (args, text[match.end() : end])
    return sections


def test_hooks_md_is_rendered_from_the_hookspec_docstrings() -> None:
    """One source: docs/hooks.md is what floe_hooks._hookdoc renders from hookspecs.py."""
    from floe_hooks._hookdoc import render

    assert HOOKS_MD.read_text(encoding="utf-8") == render(), (
        "docs/hooks.md differs from the hookspec docstrings: edit floe_hooks/hookspecs.py, then run "
        "`python -m floe_hooks._hookdoc docs/hooks.md`"
    )


def test_the_hookspec_module_declares_its_hooks() -> None:
    assert hookspec_names() == sorted(hookspecs.REQUIRED_HOOKS + hookspecs.OPTIONAL_HOOKS)


@pytest.mark.parametrize("hook", hookspec_names())
def test_every_hookspec_has_a_section(hook: str) -> None:
    assert hook in documented(), f"docs/hooks.md has no '## {hook}(...)' section"


def test_every_section_documents_an_existing_hook() -> None:
    stale = sorted(set(documented()) - set(hookspec_names()))
    assert not stale, f"docs/hooks.md documents hooks that no longer exist: {stale}"


@pytest.mark.parametrize("hook", hookspec_names())
def test_section_title_has_the_hookspecs_signature(hook: str) -> None:
    args, _ = documented()[hook]
    expected = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert args == expected, f"'## {hook}({', '.join(args)})' should be '## {hook}({', '.join(expected)})'"


@pytest.mark.parametrize("hook", hookspec_names())
def test_section_describes_every_argument(hook: str) -> None:
    args, body = documented()[hook]
    for arg in args:
        assert f"`{arg}`" in body, f"the {hook} section does not describe argument {arg!r}"


@pytest.mark.parametrize("hook", hookspec_names())
def test_section_has_a_valid_example_hookimpl(hook: str) -> None:
    _, body = documented()[hook]
    examples = [m["body"] for m in _FENCE.finditer(body) if m["lang"] == "python"]
    implementing = [code for code in examples if f"def {hook}(" in code and "@hookimpl" in code]
    assert implementing, f"the {hook} section has no python example with '@hookimpl def {hook}('"
    for code in implementing:
        tree = ast.parse(code)
        (function,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == hook]
        offered = set(inspect.signature(getattr(hookspecs, hook)).parameters)
        taken = {a.arg for a in function.args.args}
        assert taken <= offered, f"the {hook} example takes {sorted(taken - offered)}, not offered"


@pytest.mark.parametrize("hook", hookspec_names())
def test_lifecycle_says_when_each_hook_fires(hook: str) -> None:
    assert f"`{hook}`" in LIFECYCLE_MD.read_text(encoding="utf-8")


# ---------------------------------------------------------------------- the tutorial, executed


def tutorial_files() -> dict[str, str]:
    """Code blocks of writing-plugins.md whose first line is ``# <path>``, by path."""
    files: dict[str, str] = {}
    for match in _FENCE.finditer(WRITING_MD.read_text(encoding="utf-8")):
        first = match["body"].partition("\n")[0]
        path = first.removeprefix("# ").strip()
        if first.startswith("# ") and re.fullmatch(r"[\w./-]+\.(py|toml|cfg|yaml)", path):
            files[path] = match["body"]
    return files


def floe_command() -> list[str]:
    script = Path(sys.executable).with_name("floe")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from floe_hooks.cli import run; run()"]


@pytest.fixture(scope="module")
def installed_tutorial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The tutorial's distribution written out and laid into a site folder as pip would."""
    root = tmp_path_factory.mktemp("tutorial")
    for relative, content in tutorial_files().items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    dist = root / "floe-compute-sqlite"
    setup = configparser.ConfigParser()
    setup.read(dist / "setup.cfg")
    name, version = setup["metadata"]["name"], setup["metadata"]["version"]
    site = root / "site"
    shutil.copytree(dist / "floe_compute_sqlite", site / "floe_compute_sqlite")
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    entry_points = configparser.ConfigParser()
    for group, lines in setup["options.entry_points"].items():
        entry_points[group] = dict(line.split("=", 1) for line in lines.strip().splitlines())
    with open(info / "entry_points.txt", "w", encoding="utf-8") as handle:
        entry_points.write(handle)
    env = {**os.environ, "PYTHONPATH": str(site), "FLOE_STRICT_PLUGINS": ""}
    return root, env


def test_tutorial_has_every_file_it_describes() -> None:
    assert set(tutorial_files()) == {
        "floe-compute-sqlite/pyproject.toml",
        "floe-compute-sqlite/setup.cfg",
        "floe-compute-sqlite/floe_compute_sqlite/__init__.py",
        "floe-compute-sqlite/tests/test_contract.py",
        "manifest.yaml",
        "floe.yaml",
    }


def test_tutorial_plugin_is_listed_by_floe_plugins(installed_tutorial: tuple[Path, dict[str, str]]) -> None:
    root, env = installed_tutorial
    result = subprocess.run(
        [*floe_command(), "plugins", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["plugins"]}
    assert rows["sqlite"]["status"] == "ok"
    assert rows["sqlite"]["distribution"] == "floe-compute-sqlite"
    assert rows["sqlite"]["compute_types"] == ["sqlite"]


def test_tutorial_plugin_passes_the_contract_suite(installed_tutorial: tuple[Path, dict[str, str]]) -> None:
    root, env = installed_tutorial
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "floe-compute-sqlite/tests", "-p", "no:cacheprovider", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed is not None, result.stdout
    assert int(passed.group(1)) >= 15
    assert "failed" not in result.stdout.splitlines()[-1]


def test_tutorial_manifest_compiles_with_the_plugin(installed_tutorial: tuple[Path, dict[str, str]]) -> None:
    root, env = installed_tutorial
    result = subprocess.run(
        [*floe_command(), "compile", "floe.yaml"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    profiles = yaml.safe_load((root / "target/floe/profiles.yml").read_text())
    assert profiles["analytics"]["outputs"]["local"] == {
        "type": "sqlite",
        "threads": 1,
        "database": "database",
        "schema": "main",
        "schemas_and_paths": {"main": "warehouse/analytics.db"},
        "schema_directory": "warehouse",
    }


def test_the_readme_lists_exactly_the_public_api() -> None:
    import re

    import floe_hooks

    readme = (DOCS.parent / "README.md").read_text()
    section = readme.split("### Public API", 1)[1].split("\n## ", 1)[0]
    listed = section.split("- **Plugin authors**", 1)[1].split("\n\n", 1)[0]
    names = re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", listed)
    module_names = {"floe_hooks", "ComputePluginContract", "make_compute", "make_plugin"}
    assert sorted(set(names) - module_names) == sorted(floe_hooks.__all__)


# ---------------------------------------------------------------------- the tutorial, with real dbt-sqlite

_DBT_PROJECT = """\
name: analytics
version: "1.0"
profile: analytics
model-paths: [models]
"""

_CHECKS = """\
version: 1
compute:
  default: built
  approved:
    - {name: built, type: sqlite, config: {path: warehouse/analytics.db}}
    - {name: text, type: sqlite, config: {path: warehouse/notes.db}}
    - {name: missing, type: sqlite, config: {path: warehouse/missing.db}}
    - {name: query, type: sqlite, config: {path: 'warehouse/what?.db'}}
    - {name: fragment, type: sqlite, config: {path: 'warehouse/hash#tag.db'}}
"""


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False)


@pytest.mark.sqlite
def test_tutorial_plugin_drives_real_dbt_sqlite(
    installed_tutorial: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """floe compile, dbt debug, dbt run, then floe validate on what dbt wrote and on bad files."""
    root, env = installed_tutorial
    project = tmp_path / "analytics"
    (project / "models" / "marts").mkdir(parents=True)
    (project / "warehouse").mkdir()
    for name in ("manifest.yaml", "floe.yaml"):
        shutil.copy(root / name, project / name)
    (project / "dbt_project.yml").write_text(_DBT_PROJECT)
    (project / "models" / "marts" / "orders.sql").write_text("select 1 as id, 'open' as status\n")
    env = {**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    dbt = str(Path(sys.executable).with_name("dbt"))

    compiled = _run([*floe_command(), "compile", "floe.yaml"], project, env)
    assert compiled.returncode == 0, compiled.stderr
    profiles = ["--profiles-dir", "target/floe"]
    debug = _run([dbt, "debug", *profiles], project, env)
    assert debug.returncode == 0, debug.stdout + debug.stderr
    built = _run([dbt, "run", *profiles], project, env)
    assert built.returncode == 0, built.stdout + built.stderr
    database = project / "warehouse" / "analytics.db"
    assert database.is_file()

    (project / "warehouse" / "notes.db").write_text("not a database\n" * 100)
    (project / "checks.yaml").write_text(_CHECKS)
    before = sorted(p.name for p in (project / "warehouse").iterdir())
    checked = _run([*floe_command(), "validate", "checks.yaml", "--format", "json"], project, env)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    status = {row["compute"]: row["status"] for row in json.loads(checked.stdout)["computes"]}
    assert status == {
        "built": "healthy",
        "text": "unhealthy",
        "missing": "unhealthy",
        "query": "unhealthy",
        "fragment": "unhealthy",
    }
    assert sorted(p.name for p in (project / "warehouse").iterdir()) == before == ["analytics.db", "notes.db"]

    healthy = _run([*floe_command(), "validate", "floe.yaml"], project, env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr


@pytest.mark.sqlite
def test_the_contract_suite_asks_dbt_sqlites_credentials_class() -> None:
    """What the suite's adapter check sees: dbt-sqlite's own schema, without a connection.

    (dbt-sqlite's "at least one schema must be called 'main'" is checked when it
    connects: the end-to-end test above meets it through ``dbt debug``.)
    """
    from floe_hooks._contract_checks import adapter_rejects

    profile = {
        "type": "sqlite",
        "threads": 1,
        "database": "database",
        "schema": "main",
        "schemas_and_paths": {"main": "warehouse/analytics.db"},
        "schema_directory": "warehouse",
    }
    assert adapter_rejects("dbt-sqlite>=1.10", profile) is None
    without = {key: value for key, value in profile.items() if key != "schema_directory"}
    assert adapter_rejects("dbt-sqlite>=1.10", without) == "'schema_directory' is a required property"
    flat = {**profile, "schemas_and_paths": "warehouse/analytics.db"}
    assert adapter_rejects("dbt-sqlite>=1.10", flat) == "'warehouse/analytics.db' is not of type 'object'"


@pytest.mark.sqlite
def test_tutorial_contract_suite_asks_dbt_sqlite(installed_tutorial: tuple[Path, dict[str, str]]) -> None:
    root, env = installed_tutorial
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "floe-compute-sqlite/tests", "-p", "no:cacheprovider", "-q", "-rs"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped" not in result.stdout, result.stdout
