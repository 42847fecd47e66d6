"""The Kubernetes sections of the docs show what the code does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from floe_hooks.cli import main
from floe_hooks.kubernetes import PROFILES_DIR, SCRATCH_DIR

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"


def _console_block(text: str, heading: str) -> list[str]:
    section = text.split(heading, 1)[1]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block, f"no console block after {heading!r}"
    return block[1].splitlines()


def test_the_quickstart_readme_shows_the_real_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(QUICKSTART, tmp_path / "qs", ignore=shutil.ignore_patterns("target", "*.duckdb*", "logs"))
    monkeypatch.chdir(tmp_path / "qs")
    lines = _console_block((QUICKSTART / "README.md").read_text(), "## 4. Kubernetes")
    assert lines[0] == "$ floe k8s floe.yaml --env prod --allow-pod-local"
    assert main(lines[0].split()[2:]) == 0
    assert capsys.readouterr().out.splitlines() == lines[1:]


def test_docs_name_the_real_mount_paths() -> None:
    text = (ROOT / "docs" / "kubernetes.md").read_text()
    assert f"`{PROFILES_DIR}`" in text
    assert f"emptyDir` at `{SCRATCH_DIR}`" in text


def test_the_quickstart_readme_shows_the_real_refusal_and_a_fix_that_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import textwrap

    import yaml

    shutil.copytree(QUICKSTART, tmp_path / "qs", ignore=shutil.ignore_patterns("target", "*.duckdb*", "logs"))
    monkeypatch.chdir(tmp_path / "qs")
    readme = (QUICKSTART / "README.md").read_text().split("## 4. Kubernetes", 1)[1]
    shown = re.search(r"\n```\n(floe: error: .*?)\.\.\.\n```", readme, re.S)
    assert shown
    assert main(["k8s", "floe.yaml", "--env", "prod"]) == 2
    assert capsys.readouterr().err.startswith(shown[1])

    fix = re.search(r"For a real cluster.*?```yaml\n(.*?)```", readme, re.S)
    assert fix
    overlay = yaml.safe_load(textwrap.dedent(fix[1]))["prod"]
    manifest = yaml.safe_load(Path("manifest.yaml").read_text())
    prod = manifest["environments"]["prod"]
    prod["kubernetes"] = overlay["kubernetes"]
    for name, settings in overlay["compute"].items():
        prod["compute"][name].setdefault("config", {}).update(settings["config"])
    Path("manifest.yaml").write_text(yaml.safe_dump(manifest))
    assert main(["k8s", "floe.yaml", "--env", "prod"]) == 0
    assert capsys.readouterr().err == ""


def test_docs_show_the_real_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each message of the refusal table is what check_cluster says (after `floe: error: file: field: `)."""
    import yaml

    from floe_hooks import PluginManager, compile_product, load_product
    from floe_hooks.errors import ConfigError
    from floe_hooks.kubernetes import check_cluster

    text = (ROOT / "docs" / "kubernetes.md").read_text()
    monkeypatch.chdir(tmp_path)
    pm = PluginManager(strict=False)
    cases = {
        "pod-local": (
            [
                {"name": "ingest", "type": "duckdb", "config": {"path": "ingest.duckdb"}},
                {"name": "w", "type": "duckdb"},
            ],
            {},
        ),
        "loopback": (
            [
                {"name": "ingest", "type": "duckdb"},
                {
                    "name": "w",
                    "type": "duckdb",
                    "config": {"attach": [{"path": "host=127.0.0.1", "type": "postgres"}]},
                },
            ],
            {},
        ),
        "integer": (
            [{"name": "ingest", "type": "duckdb"}, {"name": "w", "type": "duckdb"}],
            {"backoff_limit": 2**31},
        ),
        "volume": (
            [{"name": "ingest", "type": "duckdb"}, {"name": "w", "type": "duckdb"}],
            {"shared_volume": {"claim_name": "x", "mount_path": "/tmp"}},
        ),
    }
    for computes, kubernetes in cases.values():
        manifest = {"version": 1, "compute": {"default": "w", "approved": computes}, "kubernetes": kubernetes}
        Path("manifest.yaml").write_text(yaml.safe_dump(manifest))
        product = {
            "name": "p",
            "platform": "manifest.yaml",
            "transforms": [
                {"name": "a", "path": "models/a", "compute": "ingest"},
                {"name": "b", "path": "models/b"},
            ],
        }
        Path("floe.yaml").write_text(yaml.safe_dump(product))
        with pytest.raises(ConfigError) as caught:  # the loader refuses some before the cluster check
            check_cluster(compile_product(load_product("floe.yaml", manager=pm), manager=pm))
        message = caught.value.message
        shown = re.sub(r"compute '(ingest|w)'", "compute 'X'", message).replace("'127.0.0.1'", "'X'")
        table = re.sub(r"compute '(ingest|pg)'", "compute 'X'", text).replace("'127.0.0.1'", "'X'")
        assert f"`{shown}`" in table, message
