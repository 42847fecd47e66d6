"""Issue 16: the defects an attacker found, and the classes behind them.

Each test pins one defect (it fails on the code before the fix); the property-based and
table-driven ones pin the class the defect belongs to:

* delete only what floe made (cleanup never follows a link out of the output folder);
* probes have no side effects (``floe validate`` creates and changes nothing);
* mask before cut (a secret is masked in the whole text before any line or length cut);
* plugin results normalised inside the bounded call;
* every duration and integer bounded; every input path limited.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from adversarial_harness import run_floe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_hooks._atomic import publish_files, published_folder
from floe_hooks.errors import ConfigError

PRODUCT = "name: analytics\nplatform: manifest.yaml\ntransforms:\n  - {name: marts, path: models/marts}\n"
MANIFEST = "version: 1\ncompute:\n  approved:\n    - duckdb\n"


def project(root: Path, manifest: str = MANIFEST, product: str = PRODUCT) -> Path:
    """A product folder: floe.yaml, manifest.yaml and one models folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(product)
    (root / "manifest.yaml").write_text(manifest)
    (root / "models" / "marts").mkdir(parents=True, exist_ok=True)
    return root


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# --------------------------------------------------------------------------- delete only what floe made


def victim(root: Path) -> Path:
    folder = root / "precious"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    (folder / "profiles.yml").write_text("mine")
    return folder


def test_a_planted_generation_link_is_refused_and_its_target_survives(tmp_path: Path) -> None:
    precious = victim(tmp_path)
    work = project(tmp_path / "product")
    assert run_floe(["compile", "floe.yaml"], work, timeout=60).returncode == 0
    data = work / "target" / "floe" / ".floe"
    os.symlink(precious, data / "gen-planted")  # what a cloned repository can ship
    process = run_floe(["compile", "floe.yaml"], work, timeout=60)
    assert process.returncode == 2, process.stderr
    assert process.stderr.startswith("floe: error: target/floe/.floe/gen-planted: is a symbolic link")
    assert "Traceback" not in process.stderr
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}


@pytest.mark.parametrize(
    "plant",
    [
        "data-dir-link",
        "generation-link",
        "current-points-outside",
        "current-is-a-file",
        "output-name-links-outside",
        "live-file-is-a-link",
        "generation-is-a-file",
    ],
)
def test_every_floe_owned_part_that_is_a_foreign_link_is_refused(tmp_path: Path, plant: str) -> None:
    """Table-driven: each floe-owned part of the output folder, replaced by something floe
    did not make, is refused, and nothing outside the folder is read, changed or deleted."""
    precious = victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    publish_files(out, {"profiles.yml": "one", "compiled_artifacts.json": "{}"})
    publish_files(out, {"profiles.yml": "two", "compiled_artifacts.json": "{}"})
    data = out / ".floe"
    live = published_folder(out)
    assert live is not None
    if plant == "data-dir-link":
        os.rename(data, tmp_path / "moved")
        os.symlink(precious, data)
    elif plant == "generation-link":
        os.symlink(precious, data / "gen-zzz")
    elif plant == "current-points-outside":
        os.unlink(data / "current")
        os.symlink(str(precious), data / "current")
    elif plant == "current-is-a-file":
        os.unlink(data / "current")
        (data / "current").write_text("gen-x")
    elif plant == "output-name-links-outside":
        os.unlink(out / "profiles.yml")
        os.symlink(precious / "profiles.yml", out / "profiles.yml")
    elif plant == "live-file-is-a-link":
        os.unlink(live / "compiled_artifacts.json")
        os.symlink(precious / "thesis.tex", live / "compiled_artifacts.json")
    elif plant == "generation-is-a-file":
        (data / "gen-file").write_text("not a folder")
    with pytest.raises(ConfigError, match="floe did not make|not a folder|not a regular file"):
        publish_files(out, {"profiles.yml": "three", "compiled_artifacts.json": "{}"})
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}
    assert "three" not in {v.decode(errors="replace") for v in tree(out).values()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.from_regex(r"gen-[a-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=4, unique=True)
)
def test_cleanup_removes_only_floe_generations_whatever_links_sit_among_them(
    tmp_path_factory: pytest.TempPathFactory, names: list[str]
) -> None:
    """Property: whatever gen-* links are planted, no file outside the output folder is lost."""
    root = tmp_path_factory.mktemp("prop")
    precious = victim(root)
    out = root / "out"
    out.mkdir()
    publish_files(out, {"a.txt": "one"})
    for name in names:
        os.symlink(precious, out / ".floe" / name)
    with pytest.raises(ConfigError):
        publish_files(out, {"a.txt": "two"})
    for name in names:
        os.unlink(out / ".floe" / name)
    publish_files(out, {"a.txt": "two"})  # once the links are gone, publishing works again
    assert (out / "a.txt").read_text() == "two"
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}


def test_cleanup_of_a_generation_never_enters_a_folder_or_follows_a_link_inside_it(tmp_path: Path) -> None:
    from floe_hooks._atomic import _remove_tree

    precious = victim(tmp_path)
    gen = tmp_path / "gen-old"
    gen.mkdir()
    (gen / "profiles.yml").write_text("ours")
    os.symlink(precious / "thesis.tex", gen / "link")
    (gen / "sub").mkdir()
    (gen / "sub" / "kept").write_text("not ours")
    _remove_tree(gen)
    assert sorted(os.listdir(gen)) == ["sub"]  # the folder floe never makes is left, with its parent
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}
    os.symlink(precious, tmp_path / "gen-link")
    _remove_tree(tmp_path / "gen-link")
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}
    assert stat.S_ISLNK(os.lstat(tmp_path / "gen-link").st_mode)
