"""``floe validate``: exit codes, selection, table/json output, progress on a TTY, --watch."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from floe_hooks import ConnectionResult, set_plugin_manager
from floe_hooks.cli import main

from .conftest import FixturePlugins, health_plugin

Run = Callable[..., tuple[int, str, str]]

MANIFEST = """
version: 1
compute:
  default: ok
  approved:
    - ok
    - degraded
    - name: slow
      type: sleepy
    - name: stuck
      type: hung
      timeout_seconds: 0.2
    - down
"""


@pytest.fixture
def floe(plugins: FixturePlugins, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``floe`` in this process against the fixture plugins; returns (code, out, err)."""
    set_plugin_manager(plugins.manager)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _write(tmp_path: Path, text: str, name: str = "manifest.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def manifest(tmp_path: Path) -> str:
    return _write(tmp_path, MANIFEST)


def _table(out: str) -> dict[str, list[str]]:
    lines = out.splitlines()
    assert lines[0].split() == ["COMPUTE", "TYPE", "STATUS", "LATENCY", "MESSAGE", "WARNINGS"]
    return {line.split()[0]: line.split() for line in lines[1:]}


def test_all_healthy_exits_zero_with_a_table(floe: Run, manifest: str) -> None:
    code, out, err = floe("validate", manifest, "--compute", "ok", "--compute", "slow")
    assert code == 0
    rows = _table(out)
    assert list(rows) == ["ok", "slow"]  # manifest order
    assert rows["slow"][1:3] == ["sleepy", "healthy"]
    assert rows["slow"][4] == "ms"
    assert err == ""


def test_degraded_passes_unless_strict(floe: Run, manifest: str) -> None:
    code, out, _ = floe("validate", manifest, "--compute", "degraded")
    assert code == 0
    assert "extension json missing" in out
    code, _, _ = floe("validate", manifest, "--compute", "degraded", "--strict")
    assert code == 1


def test_any_unhealthy_exits_one_and_every_compute_is_reported(floe: Run, manifest: str) -> None:
    code, out, _ = floe("validate", manifest)
    assert code == 1
    rows = _table(out)
    assert {name: row[2] for name, row in rows.items()} == {
        "ok": "healthy",
        "degraded": "degraded",
        "slow": "healthy",
        "stuck": "unhealthy",
        "down": "unhealthy",
    }
    assert "timed out after 0.2 s" in out  # the manifest's timeout_seconds


def test_the_timeout_flag_overrides_the_manifest(floe: Run, manifest: str) -> None:
    code, out, _ = floe("validate", manifest, "--compute", "stuck", "--timeout", "0.1")
    assert code == 1
    assert "timed out after 0.1 s" in out


def test_json_output(floe: Run, manifest: str) -> None:
    code, out, _ = floe(
        "validate", manifest, "--format", "json", "--compute", "degraded", "--compute", "stuck"
    )
    assert code == 1
    data = json.loads(out)
    assert data["summary"] == {"healthy": 0, "degraded": 1, "unhealthy": 1}
    degraded, stuck = data["computes"]
    assert degraded == {
        "compute": "degraded",
        "type": "degraded",
        "status": "degraded",
        "latency_ms": 3.0,
        "message": "answered",
        "warnings": ["extension json missing"],
        "details": {},
    }
    assert stuck["message"] == "timed out after 0.2 s"


def test_an_unknown_compute_is_bad_input_naming_the_allowed_ones(floe: Run, manifest: str) -> None:
    code, out, err = floe("validate", manifest, "--compute", "ok", "--compute", "warehouse")
    assert code == 2
    assert out == ""
    expected = f"{manifest}: --compute: unknown compute 'warehouse'; allowed: ok, degraded, slow, stuck, down"
    assert err.strip() == f"floe: error: {expected}"


@pytest.mark.parametrize("bad", ["0", "-1", "soon", "nan"])
def test_a_bad_timeout_is_bad_input(floe: Run, manifest: str, bad: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        floe("validate", manifest, "--timeout", bad)
    assert exit_info.value.code == 2


def test_a_broken_manifest_is_bad_input(floe: Run, tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\ncompute:\n  approved: [nosuchtype]\n")
    code, out, err = floe("validate", path)
    assert code == 2
    assert out == ""
    assert err.startswith("floe: error: ")
    assert "nosuchtype" in err


def test_a_floe_yaml_is_accepted_and_checks_its_platform(floe: Run, manifest: str, tmp_path: Path) -> None:
    product = _write(
        tmp_path,
        """
        name: analytics
        platform: manifest.yaml
        transforms:
          - {name: staging, path: models/staging, compute: ok}
        """,
        name="floe.yaml",
    )
    code, out, _ = floe("validate", product, "--compute", "ok", "--compute", "degraded")
    assert code == 0
    assert list(_table(out)) == ["ok", "degraded"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_line_is_drawn_on_a_terminal_only(
    floe: Run, manifest: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = floe("validate", manifest, "--compute", "ok", "--compute", "slow")
    assert code == 0
    assert err == ""  # not a terminal: nothing on stderr
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    code, out, _ = floe("validate", manifest, "--compute", "ok", "--compute", "slow")
    assert code == 0
    drawn = terminal.getvalue()
    assert "\rfloe: checking computes: 0/2 done" in drawn
    assert "\rfloe: checking computes: 2/2 done" in drawn
    assert drawn.endswith("\r\x1b[K")  # erased before the report
    assert "checking" not in out


@pytest.fixture
def flappy(plugins: FixturePlugins) -> list[str]:
    """A plugin answering the statuses of this list in turn (the last one thereafter)."""
    statuses = ["healthy", "healthy", "degraded", "unhealthy"]

    def check(compute: Any) -> ConnectionResult:
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return ConnectionResult(status=status, latency_ms=1.0, message=f"now {status}")

    plugins.manager.register(health_plugin("flappy", check))
    return statuses


def test_watch_prints_the_first_round_then_transitions_only(
    floe: Run, flappy: list[str], tmp_path: Path
) -> None:
    path = _write(tmp_path, "version: 1\ncompute:\n  default: ok\n  approved: [flappy, ok]\n")
    code, out, _ = floe("validate", path, "--watch", "0.01", "--watch-count", "4")
    assert code == 1  # the last round was unhealthy
    lines = out.splitlines()
    assert list(_table("\n".join(lines[:3]))) == ["flappy", "ok"]
    changes = [line.split("  ", 1)[1] for line in lines[3:]]
    assert changes == [
        "flappy: healthy -> degraded (now degraded)",
        "flappy: degraded -> unhealthy (now unhealthy)",
    ]


def test_watch_in_json_prints_one_object_per_transition(floe: Run, flappy: list[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\ncompute:\n  approved: [flappy]\n")
    code, out, _ = floe("validate", path, "--format", "json", "--watch", "0.01", "--watch-count", "3")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["compute"], e["from"], e["to"]) for e in events] == [
        ("flappy", None, "healthy"),
        ("flappy", "healthy", "degraded"),
    ]
    assert events[1]["type"] == "flappy"
    assert events[1]["time"].endswith("Z")


def test_watch_stops_on_ctrl_c_with_the_last_rounds_status(
    floe: Run, manifest: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", interrupted)
    code, out, _ = floe("validate", manifest, "--compute", "down", "--watch", "30")
    assert code == 1
    assert list(_table(out)) == ["down"]


def test_debug_json_logs_carry_the_runs_correlation_id(floe: Run, manifest: str) -> None:
    code, _, err = floe(
        "--log-level", "debug", "--log-format", "json", "validate", manifest, "--compute", "ok"
    )
    assert code == 0
    events = [json.loads(line) for line in err.splitlines()]
    assert [e["event"] for e in events if e["event"].startswith("validate_")] == [
        "validate_started",
        "validate_result",
        "validate_finished",
    ]
    assert len({e["correlation_id"] for e in events}) == 1


def test_a_floe_yaml_is_checked_from_its_folder_where_dbt_runs(tmp_path: Path) -> None:
    import duckdb

    product = tmp_path / "product"
    product.mkdir()
    duckdb.connect(str(product / "wh.duckdb")).close()
    (product / "manifest.yaml").write_text(
        "version: 1\ncompute:\n  default: wh\n  approved:\n"
        "    - {name: wh, type: duckdb, config: {path: wh.duckdb}}\n"
    )
    (product / "floe.yaml").write_text(
        "name: p\nplatform: manifest.yaml\ntransforms:\n  - {name: marts, path: models/marts}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "floe_hooks.cli", "validate", str(product / "floe.yaml"), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "healthy" in result.stdout
    assert "does not exist" not in result.stdout
