"""``floe new-plugin``: the distribution it writes installs, is listed and passes its own tests.

The generated distribution is installed with pip (``--no-deps``: its one dependency,
floe-hooks, is this environment's) into a fresh virtual environment that sees this
environment's packages, then its tests run there unedited: the contract suite and
the plugin's own profile tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from floe_hooks._scaffold import plugin_files
from floe_hooks.cli import main


def floe(*args: str, cwd: Path, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", "from floe_hooks.cli import run; run()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def fresh_venv(where: Path) -> Path:
    """A new virtual environment (no pip of its own) that also sees this environment's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    host = sysconfig.get_paths()["purelib"]
    # a .pth line starting with "import" runs: addsitedir also reads the host's own .pth
    # files, which is where an editable floe-hooks is found
    Path(purelib, "floe-host.pth").write_text(f"import site; site.addsitedir({host!r})\n")
    return python


def test_a_generated_plugin_installs_is_listed_and_passes_its_tests(tmp_path: Path) -> None:
    began = time.perf_counter()
    made = floe("new-plugin", "lakehouse", "--dir", "plugins", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    dist = tmp_path / "plugins" / "floe-compute-lakehouse"
    assert made.stdout.strip() == str(Path("plugins") / "floe-compute-lakehouse")
    python = fresh_venv(tmp_path / "venv")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-build-isolation", "--no-index", str(dist)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    tested = subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", str(dist / "tests")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    elapsed = time.perf_counter() - began
    assert tested.returncode == 0, tested.stdout + tested.stderr
    summary = tested.stdout.strip().splitlines()[-1]
    assert " passed" in summary, summary
    assert "skipped" not in summary, summary
    assert "failed" not in summary, summary
    print(f"floe new-plugin to a passing contract suite: {elapsed:.1f} s ({summary})")

    listed = floe("plugins", "--format", "json", cwd=tmp_path, python=str(python))
    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)["plugins"]}
    assert rows["lakehouse"]["status"] == "ok"
    assert rows["lakehouse"]["distribution"] == "floe-compute-lakehouse"
    assert rows["lakehouse"]["compute_types"] == ["lakehouse"]


def test_the_distribution_has_every_part_a_plugin_needs() -> None:
    files = plugin_files("clickhouse")
    assert set(files) == {
        "pyproject.toml",
        "setup.cfg",
        "README.md",
        "floe_compute_clickhouse/__init__.py",
        "floe_compute_clickhouse/py.typed",
        "tests/test_contract.py",
        "tests/test_profile.py",
    }
    assert "floe.computes =\n    clickhouse = floe_compute_clickhouse\n" in files["setup.cfg"]
    assert "floe_compute_clickhouse = py.typed" in files["setup.cfg"]
    module = files["floe_compute_clickhouse/__init__.py"]
    for hook in ("plugin_metadata", "generate_profile", "validate_connection", "resource_requirements"):
        assert f"@hookimpl\ndef {hook}(" in module
    assert "@attrs.frozen\nclass ClickhouseConfig:" in module
    assert "ComputePluginContract" in files["tests/test_contract.py"]
    compile(module, "floe_compute_clickhouse/__init__.py", "exec")


def test_an_existing_folder_is_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "floe-compute-lakehouse"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    assert main(["new-plugin", "lakehouse", "--dir", str(tmp_path)]) == 2
    expected = f"floe: error: {target}: already exists; choose another --dir or remove it\n"
    assert capsys.readouterr().err == expected
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["floe-compute-lakehouse"]


@pytest.mark.parametrize("name", ["Lakehouse", "9lives", "lake-house", ""])
def test_a_name_that_is_not_a_compute_type_is_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-plugin", name, "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"floe: error: NAME: {name!r} is not a compute type name: use lowercase letters, "
        "digits and _, starting with a letter\n"
    )
    assert list(tmp_path.iterdir()) == []
