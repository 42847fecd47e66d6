"""floe compile: profiles.yml, compiled_artifacts.json, the run plan, atomic outputs, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from floe_hooks import (
    PluginManager,
    compile_file,
    compile_product,
    load_product,
    set_plugin_manager,
    write_outputs,
)
from floe_hooks._atomic import AtomicFiles, write_atomic, write_files_atomic
from floe_hooks.cli import main
from floe_hooks.compile import ARTIFACT_VERSION, default_out_dir

from .conftest import Project, error

MANIFEST = """
version: 1
compute:
  default: warehouse
  approved:
    - name: ingest
      type: duckdb
      config: {path: ingest.duckdb}
    - name: warehouse
      type: duckdb
      threads: 4
      config: {path: warehouse.duckdb}
      resources: medium
    - name: pg
      type: fakepg
      config: {host: db.internal}
      credentials: {password: {env: PG_PASSWORD, secret: pg, key: password}}
    - spare
environments:
  prod:
    compute:
      warehouse: {threads: 8, resources: large}
"""

TRANSFORMS = """
- {name: raw, path: models/raw, compute: ingest}
- {name: staging, path: models/staging, compute: ingest}
- {name: pg_sync, path: models/sync, compute: pg}
- {name: marts, path: models/marts}
"""


@pytest.fixture
def product(project: Project) -> Path:
    project.write("manifest.yaml", MANIFEST.replace("    - spare\n", "    - {name: spare, type: duckdb}\n"))
    return project.product(TRANSFORMS)


class TestProfiles:
    def test_one_output_per_approved_compute_and_the_default_target(
        self, product: Path, pm: PluginManager
    ) -> None:
        compiled = compile_product(load_product(product, manager=pm), manager=pm)
        profiles = yaml.safe_load(compiled.profiles_yml)
        assert list(profiles) == ["analytics"]
        assert profiles["analytics"]["target"] == "warehouse"
        outputs = profiles["analytics"]["outputs"]
        assert list(outputs) == ["ingest", "warehouse", "pg", "spare"]
        assert outputs["warehouse"]["type"] == "duckdb"
        assert outputs["warehouse"]["path"] == "warehouse.duckdb"
        assert outputs["warehouse"]["threads"] == 4
        assert outputs["ingest"]["path"] == "ingest.duckdb"

    def test_secrets_are_env_var_templates_named_after_the_compute(
        self, product: Path, pm: PluginManager
    ) -> None:
        compiled = compile_product(load_product(product, manager=pm), manager=pm)
        pg = yaml.safe_load(compiled.profiles_yml)["analytics"]["outputs"]["pg"]
        assert pg["password"] == "{{ env_var('DBT_ENV_SECRET_PG_PASSWORD') }}"

    def test_environment_overlay_reaches_the_profile(self, product: Path, pm: PluginManager) -> None:
        compiled = compile_product(load_product(product, env="prod", manager=pm), manager=pm)
        assert yaml.safe_load(compiled.profiles_yml)["analytics"]["outputs"]["warehouse"]["threads"] == 8
        assert compiled.artifacts["environment"] == "prod"
        assert compiled.artifacts["computes"]["warehouse"]["resources"]["preset"] == "large"

    def test_output_is_deterministic(self, product: Path, pm: PluginManager) -> None:
        first = compile_product(load_product(product, manager=pm), manager=pm)
        second = compile_product(load_product(product, manager=pm), manager=pm)
        assert first.profiles_yml == second.profiles_yml
        assert first.artifacts_json() == second.artifacts_json()


class TestArtifacts:
    @pytest.fixture
    def artifacts(self, product: Path, pm: PluginManager) -> dict[str, object]:
        compiled = compile_product(load_product(product, manager=pm), manager=pm)
        data = json.loads(compiled.artifacts_json())
        assert data == json.loads(json.dumps(compiled.artifacts))
        return data  # type: ignore[no-any-return]

    def test_header(self, artifacts: dict[str, object]) -> None:
        assert artifacts["schema_version"] == ARTIFACT_VERSION
        assert artifacts["product"] == {"name": "analytics", "file": "floe.yaml"}
        assert artifacts["manifest"] == {"file": "manifest.yaml", "chain": ["manifest.yaml"]}
        assert artifacts["default_compute"] == "warehouse"
        assert artifacts["environment"] is None

    def test_computes_carry_type_plugin_config_resources(self, artifacts: dict[str, object]) -> None:
        computes = artifacts["computes"]
        assert isinstance(computes, dict)
        warehouse = computes["warehouse"]
        assert warehouse["type"] == "duckdb"
        assert warehouse["target"] == "warehouse"
        assert warehouse["plugin"]["name"] == "duckdb"
        assert warehouse["config"]["path"] == "warehouse.duckdb"
        assert warehouse["resources"]["preset"] == "medium"
        assert warehouse["resources"]["requests"] == {
            "cpu": "500m",
            "memory": "1Gi",
            "ephemeral-storage": "500Mi",
        }
        assert warehouse["resources"]["limits"] == {
            "cpu": "2000m",
            "memory": "4Gi",
            "ephemeral-storage": "2Gi",
        }
        assert computes["pg"]["plugin"] == {
            "name": "fakepg",
            "version": "2.0",
            "distribution": None,
            "distribution_version": None,
        }

    def test_env_vars_name_the_reference_that_feeds_them(self, artifacts: dict[str, object]) -> None:
        pg = artifacts["computes"]["pg"]  # type: ignore[index]
        assert pg["env"] == [
            {
                "variable": "DBT_ENV_SECRET_PG_PASSWORD",
                "path": "password",
                "from": {"env": "PG_PASSWORD", "secret": "pg", "key": "password"},
            }
        ]
        assert pg["credentials"] == {"password": {"env": "PG_PASSWORD", "secret": "pg", "key": "password"}}
        assert artifacts["computes"]["warehouse"]["env"] == []  # type: ignore[index]

    def test_transforms_and_per_compute_selection(self, artifacts: dict[str, object]) -> None:
        assert artifacts["transforms"] == [
            {
                "name": "raw",
                "path": "models/raw",
                "compute": "ingest",
                "uses_default": False,
                "select": "path:models/raw",
            },
            {
                "name": "staging",
                "path": "models/staging",
                "compute": "ingest",
                "uses_default": False,
                "select": "path:models/staging",
            },
            {
                "name": "pg_sync",
                "path": "models/sync",
                "compute": "pg",
                "uses_default": False,
                "select": "path:models/sync",
            },
            {
                "name": "marts",
                "path": "models/marts",
                "compute": "warehouse",
                "uses_default": True,
                "select": "path:models/marts",
            },
        ]
        computes = artifacts["computes"]
        assert computes["ingest"]["select"] == ["path:models/raw", "path:models/staging"]  # type: ignore[index]
        assert computes["spare"]["transforms"] == []  # type: ignore[index]

    def test_run_plan_keeps_file_order_and_groups_consecutive_transforms(
        self, artifacts: dict[str, object]
    ) -> None:
        assert artifacts["run_plan"] == [
            {
                "step": 1,
                "compute": "ingest",
                "target": "ingest",
                "transforms": ["raw", "staging"],
                "select": ["path:models/raw", "path:models/staging"],
                "command": [
                    "dbt", "build", "--profile", "analytics", "--target", "ingest",
                    "--select", "path:models/raw", "path:models/staging",
                ],
                "needs": [],
            },
            {
                "step": 2,
                "compute": "pg",
                "target": "pg",
                "transforms": ["pg_sync"],
                "select": ["path:models/sync"],
                "command": [
                    "dbt", "build", "--profile", "analytics", "--target", "pg",
                    "--select", "path:models/sync",
                ],
                "needs": ["ingest"],
            },
            {
                "step": 3,
                "compute": "warehouse",
                "target": "warehouse",
                "transforms": ["marts"],
                "select": ["path:models/marts"],
                "command": [
                    "dbt", "build", "--profile", "analytics", "--target", "warehouse",
                    "--select", "path:models/marts",
                ],
                "needs": ["pg"],
            },
        ]  # fmt: skip

    def test_adapters_are_those_the_run_plan_needs(self, artifacts: dict[str, object]) -> None:
        assert artifacts["dbt_adapters"] == ["dbt-duckdb>=1.9", "dbt-postgres>=1.9"]


def tree(folder: Path) -> dict[str, str | bytes]:
    """Every entry under ``folder``: a link's target, a file's bytes (folders by their entries)."""
    found: dict[str, str | bytes] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            key = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[key] = os.readlink(path)
            elif path.is_file():
                found[key] = path.read_bytes()
    return found


class TestWriting:
    def test_writes_both_files_and_the_artifact_pins_the_profile(
        self, product: Path, pm: PluginManager, project: Project
    ) -> None:
        compiled = compile_file(product, manager=pm)
        out = default_out_dir(product)
        assert out == Path("target/floe")
        profiles = (out / "profiles.yml").read_bytes()
        artifacts = json.loads((out / "compiled_artifacts.json").read_text())
        assert profiles == compiled.profiles_yml.encode()
        assert artifacts["profile"]["sha256"] == hashlib.sha256(profiles).hexdigest()
        assert sorted(os.listdir(out)) == [".floe", "compiled_artifacts.json", "profiles.yml"]
        live = os.readlink(out / ".floe" / "current")
        assert sorted(os.listdir(out / ".floe")) == ["current", live]  # no temporary files left
        assert sorted(os.listdir(out / ".floe" / live)) == ["compiled_artifacts.json", "profiles.yml"]
        assert os.readlink(out / "profiles.yml") == ".floe/current/profiles.yml"

    def test_no_secret_value_is_written(
        self, product: Path, pm: PluginManager, project: Project, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PG_PASSWORD", "s3cr3t-value")
        compile_file(product, manager=pm, out="out")
        for name in ("profiles.yml", "compiled_artifacts.json"):
            assert "s3cr3t-value" not in (project.root / "out" / name).read_text()

    def test_a_failed_compile_leaves_existing_outputs_byte_for_byte(
        self, product: Path, pm: PluginManager, project: Project
    ) -> None:
        compile_file(product, manager=pm)
        out = project.root / "target" / "floe"
        before = tree(out)
        stats = {
            name: (out / name).stat().st_mtime_ns for name in ("profiles.yml", "compiled_artifacts.json")
        }
        project.product(TRANSFORMS + "- {name: broken, path: models/broken, compute: sprak}")
        assert error(lambda: compile_file(product, manager=pm)).startswith(
            "floe.yaml: transforms[4].compute: 'sprak' is not approved; allowed: "
        )
        assert tree(out) == before
        assert {name: (out / name).stat().st_mtime_ns for name in stats} == stats

    def test_write_outputs_creates_the_directory(
        self, product: Path, pm: PluginManager, project: Project
    ) -> None:
        compiled = compile_product(load_product(product, manager=pm), manager=pm)
        paths = write_outputs(compiled, project.root / "a" / "b")
        assert [p.name for p in paths] == ["profiles.yml", "compiled_artifacts.json"]
        assert all(p.is_file() for p in paths)


class TestAtomicWriter:
    def test_writes_and_keeps_permissions(self, tmp_path: Path) -> None:
        target = tmp_path / "f.txt"
        target.write_text("old")
        target.chmod(0o640)
        write_atomic(target, "new")
        assert target.read_text() == "new"
        assert target.stat().st_mode & 0o777 == 0o640

    def test_nothing_changes_when_one_file_cannot_be_written(self, tmp_path: Path) -> None:
        first = tmp_path / "a.txt"
        first.write_text("old a")
        with pytest.raises(FileNotFoundError):
            write_files_atomic({first: "new a", tmp_path / "missing-dir" / "b.txt": "new b"})
        assert first.read_text() == "old a"
        assert os.listdir(tmp_path) == ["a.txt"]

    def test_concurrent_writers_never_leave_a_mixed_pair(self, tmp_path: Path) -> None:
        import threading

        a, b = tmp_path / "a.txt", tmp_path / "b.txt"

        def writer(name: str) -> None:
            for _ in range(25):
                write_files_atomic({a: name, b: name})

        threads = [threading.Thread(target=writer, args=(f"writer-{i}",)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert a.read_text() == b.read_text()
        assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]

    def test_context_manager_discards_on_error(self, tmp_path: Path) -> None:
        target = tmp_path / "a.txt"

        def fail() -> None:
            with AtomicFiles() as files:
                files.add(target, "x")
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            fail()
        assert not target.exists()
        with AtomicFiles() as files:
            files.add(target, b"bytes")
        assert target.read_bytes() == b"bytes"


class TestCli:
    @pytest.fixture(autouse=True)
    def _manager(self, pm: PluginManager) -> None:
        set_plugin_manager(pm)

    def test_compile_writes_and_prints_the_run_plan(
        self, product: Path, capsys: pytest.CaptureFixture[str], project: Project
    ) -> None:
        assert main(["compile", str(product), "--env", "prod", "--out", "build"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out == [
            "wrote build/profiles.yml",
            "wrote build/compiled_artifacts.json",
            "run: dbt build --profile analytics --target ingest --select path:models/raw path:models/staging",
            "run: dbt build --profile analytics --target pg --select path:models/sync",
            "run: dbt build --profile analytics --target warehouse --select path:models/marts",
            "export before running dbt: DBT_ENV_SECRET_PG_PASSWORD",
        ]

    def test_bad_input_is_one_line_and_exit_2_and_nothing_written(
        self, product: Path, capsys: pytest.CaptureFixture[str], project: Project
    ) -> None:
        assert main(["compile", str(product), "--env", "prdo"]) == 2
        captured = capsys.readouterr()
        assert (
            captured.err
            == "floe: error: manifest.yaml: environments: unknown environment 'prdo'; allowed: prod\n"
        )
        assert not (project.root / "target").exists()

    def test_resources_table_and_json(self, product: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["resources", str(product), "--env", "prod"]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split() == [
            "COMPUTE", "TYPE", "PRESET", "CPU", "(REQ/LIMIT)", "MEMORY", "(REQ/LIMIT)",
            "EPHEMERAL", "(REQ/LIMIT)",
        ]  # fmt: skip
        assert table[2].split() == [
            "warehouse", "*", "duckdb", "large", "2000m", "/", "8000m", "4Gi", "/", "16Gi", "1Gi", "/", "5Gi",
        ]  # fmt: skip
        assert main(["resources", str(product), "--format", "json"]) == 0
        rows = json.loads(capsys.readouterr().out)["computes"]
        assert [r["compute"] for r in rows] == ["ingest", "warehouse", "pg", "spare"]
        assert rows[1]["limits"]["memory"] == "4Gi"
        assert rows[0]["preset"] is None
        assert rows[0]["limits"]["cpu"] == "500m"

    def test_schema_validates_the_files_it_describes(
        self, product: Path, project: Project, capsys: pytest.CaptureFixture[str]
    ) -> None:
        import jsonschema

        assert main(["schema", "manifest"]) == 0
        manifest_schema = json.loads(capsys.readouterr().out)
        assert main(["schema", "product"]) == 0
        product_schema = json.loads(capsys.readouterr().out)
        for schema in (manifest_schema, product_schema):
            jsonschema.Draft202012Validator.check_schema(schema)
        manifest_validator = jsonschema.Draft202012Validator(manifest_schema)
        good = yaml.safe_load((project.root / "manifest.yaml").read_text())
        assert list(manifest_validator.iter_errors(good)) == []
        assert (
            list(
                jsonschema.Draft202012Validator(product_schema).iter_errors(
                    yaml.safe_load(product.read_text())
                )
            )
            == []
        )
        typo = yaml.safe_load(MANIFEST.replace("{path: warehouse.duckdb}", "{paht: warehouse.duckdb}"))
        assert not manifest_validator.is_valid(typo)  # the DuckDB plugin's config class is in the schema
        assert "fakepg" in manifest_schema["$defs"]["compute"]["properties"]["type"]["examples"]
        literal = yaml.safe_load(MANIFEST.replace("{env: PG_PASSWORD, secret: pg, key: password}", "hunter2"))
        assert not manifest_validator.is_valid(literal)


def test_compile_emits_structured_events_with_one_correlation_id(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    root = tmp_path / "quickstart"
    shutil.copytree(example, root, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "floe_hooks.cli",
            "--log-level",
            "info",
            "--log-format",
            "json",
            "compile",
            "floe.yaml",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    names = [e["event"] for e in events]
    assert names[-3:] == ["compile_started", "compile_finished", "outputs_written"]
    started = events[-3]
    assert (started["product"], started["computes"], started["transforms"]) == ("quickstart", 2, 3)
    assert len({e["correlation_id"] for e in events}) == 1
