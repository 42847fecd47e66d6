"""The fast entry-point scanner agrees with importlib.metadata."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from floe_hooks._discovery import GROUP, _scan_importlib, scan


def test_scanner_matches_importlib_metadata_on_the_real_sys_path() -> None:
    expected = sorted(
        (ep.name, ep.value, ep.dist.name if ep.dist else None) for ep in metadata.entry_points(group=GROUP)
    )
    found = [(ep.name, ep.value, ep.distribution) for ep in scan()]
    assert found == expected
    assert ("duckdb", "floe_duckdb", "floe-hooks") in found


def test_scanner_matches_the_importlib_fallback_on_fixture_sites(site: Any) -> None:
    site.good("alpha")
    site.good("beta", dist="Beta.Compute")
    assert scan(path=site.path) == _scan_importlib(GROUP, site.path)
    assert [(ep.name, ep.distribution) for ep in scan(path=site.path)] == [
        ("alpha", "floe-compute-alpha"),
        ("beta", "Beta.Compute"),
    ]


def test_first_distribution_of_a_name_on_the_path_wins(tmp_path: Path) -> None:
    for folder, version in (("first", "2.0"), ("second", "1.0")):
        info = tmp_path / folder / f"floe_compute_x-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: floe-compute-x\nVersion: {version}\n\n")
        (info / "entry_points.txt").write_text(f"[floe.computes]\nx = mod_{folder}\n")
    eps = scan(path=[str(tmp_path / "first"), str(tmp_path / "second")])
    assert [(ep.value, ep.version) for ep in eps] == [("mod_first", "2.0")]


def test_egg_info_and_other_groups(tmp_path: Path) -> None:
    egg = tmp_path / "legacy_plugin.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.2\nName: legacy-plugin\nVersion: 0.9\n")
    (egg / "entry_points.txt").write_text(
        "[console_scripts]\nlegacy = x:main\n\n[floe.computes]\n# a comment\nlegacy = legacy_mod:plugin\n"
    )
    (eps,) = [scan(path=[str(tmp_path)])]
    assert [(ep.name, ep.value, ep.distribution, ep.version) for ep in eps] == [
        ("legacy", "legacy_mod:plugin", "legacy-plugin", "0.9")
    ]


def test_entry_point_load_resolves_attributes(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "ep_target.py").write_text("class Holder:\n    plugin = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from floe_hooks._discovery import EntryPoint

    assert EntryPoint("x", "ep_target:Holder.plugin", None, None).load() == 42
    sys.modules.pop("ep_target", None)
