"""`floe plugins` and `floe --version`, run as a user runs them: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import floe_hooks


def floe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floe_hooks.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_version() -> None:
    result = floe("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"floe-hooks {floe_hooks.__version__}")


def test_plugins_lists_duckdb_as_ok_with_its_distribution() -> None:
    result = floe("plugins")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "VERSION", "DISTRIBUTION", "API", "TYPES", "HOOKS", "STATUS"]
    duckdb_row = next(r for r in rows if r.startswith("duckdb "))
    assert f"floe-hooks {floe_hooks.__version__}" in duckdb_row
    assert duckdb_row.rstrip().endswith(" ok")


def test_plugins_json_is_valid_and_complete() -> None:
    result = floe("plugins", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["plugins"]}
    duckdb = rows["duckdb"]
    assert duckdb["status"] == "ok"
    assert duckdb["distribution"] == "floe-hooks"
    assert duckdb["api_version"] == floe_hooks.FLOE_API_VERSION
    assert duckdb["compute_types"] == ["duckdb"]
    assert set(floe_hooks.hookspecs.REQUIRED_HOOKS) <= set(duckdb["hooks"])


def test_plugins_exits_1_and_reports_a_failed_plugin(site: Any) -> None:
    site.good("future", api="2.0")
    result = floe("plugins", "--format", "json", env={"PYTHONPATH": str(site.root)})
    assert result.returncode == 1
    rows = {row["name"]: row for row in json.loads(result.stdout)["plugins"]}
    assert rows["duckdb"]["status"] == "ok"
    future = rows["future"]
    assert (future["status"], future["distribution"], future["distribution_version"]) == (
        "failed",
        "floe-compute-future",
        "1.0",
    )
    assert future["reason"].startswith("IncompatibleAPIError: written for floe API 2.0")
    table = floe("plugins", env={"PYTHONPATH": str(site.root)})
    assert table.returncode == 1
    assert "failed: IncompatibleAPIError" in table.stdout


def test_strict_mode_turns_a_failure_into_a_one_line_error(site: Any) -> None:
    site.install("floe-compute-broken", "raise RuntimeError('boom')\n", entry_point="broken", version="0.1")
    result = floe("plugins", env={"PYTHONPATH": str(site.root), "FLOE_STRICT_PLUGINS": "1"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "floe: error: plugin 'broken' (from floe-compute-broken 0.1): import failed: RuntimeError: boom"
    )
    assert "Traceback" not in result.stderr


def test_no_command_prints_help_and_exits_2() -> None:
    result = floe()
    assert result.returncode == 2
    assert "usage: floe" in result.stderr


def test_discovery_imports_no_heavy_dependency() -> None:
    code = (
        "import sys\n"
        "from floe_hooks.cli import main\n"
        "import io, contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['plugins'])\n"
        "heavy = ('duckdb', 'yaml', 'cattrs', 'structlog', 'opentelemetry', 'dbt', 'importlib.metadata',"
        " 'floe_duckdb.config', 'shutil',"
        # the models a plugin returns and the secrets module: floe plugins builds none of their classes
        " 'floe_hooks.models', 'floe_hooks.secrets', 'floe_hooks._frozen')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_a_closed_pipe_ends_quietly() -> None:
    # stdout is a pipe whose reader is gone, as in `floe plugins | head -c 1` once head exits
    code = "import os\nr, w = os.pipe()\nos.close(r)\nos.dup2(w, 1)\nfrom floe_hooks.cli import run\nrun()\n"
    result = subprocess.run(
        [sys.executable, "-c", code, "plugins", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == ""


def test_discovery_logs_json_events_with_one_correlation_id(site: Any) -> None:
    site.good("alpha")
    site.install("floe-compute-broken", "raise RuntimeError('boom')\n", entry_point="broken")
    result = floe(
        "--log-level",
        "debug",
        "--log-format",
        "json",
        "plugins",
        env={"PYTHONPATH": str(site.root)},
    )
    events = [json.loads(line) for line in result.stderr.splitlines()]
    by_name = {(e["event"], e.get("plugin")): e for e in events}
    assert by_name[("plugin_loaded", "alpha")]["distribution"] == "floe-compute-alpha"
    assert by_name[("plugin_failed", "broken")]["reason"] == "import failed: RuntimeError: boom"
    discovered = by_name[("plugins_discovered", None)]
    assert (discovered["failed"], discovered["loaded"] >= 2) == (1, True)
    assert len({e["correlation_id"] for e in events}) == 1


def _python(code: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-c", code], text=True, check=False, timeout=60, **kwargs)


def test_the_console_script_sends_what_is_written_to_fd_1_to_stderr() -> None:
    code = (
        "import os, subprocess, sys\n"
        "from floe_hooks.cli import _own_stdout\n"
        "_own_stdout()\n"
        "os.write(1, b'stray os.write\\n')\n"
        "subprocess.run(['echo', 'stray subprocess'], check=True)\n"
        "sys.__stdout__.write('stray __stdout__\\n'); sys.__stdout__.flush()\n"
        "print('floe output')\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "floe output\n"
    assert result.stderr.splitlines() == ["stray os.write", "stray subprocess", "stray __stdout__"]


@pytest.mark.parametrize("unbuffered", [False, True])
def test_the_console_script_keeps_a_ttys_buffering_and_the_encoding(unbuffered: bool) -> None:
    import pty

    leader, follower = pty.openpty()
    code = (
        "import io, os, sys\n"
        "from floe_hooks.cli import _own_stdout\n"
        "def mode():\n"
        "    out = sys.stdout\n"
        "    raw = isinstance(out.buffer, io.RawIOBase)\n"
        "    return out.line_buffering, out.write_through, raw, out.encoding, out.errors, out.isatty()\n"
        "before = mode()\n"
        "_own_stdout()\n"
        "print(mode() == before, before[0], sys.stdout.fileno() != 1, os.isatty(1), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    try:
        result = _python(code, stdin=subprocess.DEVNULL, stdout=follower, env=env)
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 0, result.stderr
    # floe's stdout is still the TTY, buffered as Python set it up; fd 1 is stderr (a pipe)
    assert result.stderr.split() == ["True", str(not unbuffered), "True", "False"]


def test_the_console_script_plugs_a_closed_fd_1_with_stderr() -> None:
    # with fd 1 closed, the next file floe opened would become fd 1 and get a plugin's strays
    code = (
        "import os, tempfile\n"
        "from floe_hooks.cli import _own_stdout\n"
        "_own_stdout()\n"
        "os.write(1, b'stray\\n')\n"
        "with tempfile.TemporaryFile() as handle:\n"
        "    assert handle.fileno() != 1\n"
    )
    result = _python(code, preexec_fn=lambda: os.close(1))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "stray\n"


def test_main_in_process_leaves_the_file_descriptors_alone(capfd: Any) -> None:
    from floe_hooks.cli import main

    fd_1 = os.fstat(1)
    stdout = sys.stdout
    assert main(["plugins", "--format", "json"]) == 0
    assert sys.stdout is stdout or type(sys.stdout).__name__ == "_PluginStdout"
    assert (os.fstat(1).st_dev, os.fstat(1).st_ino) == (fd_1.st_dev, fd_1.st_ino)
    rows = json.loads(capfd.readouterr().out)["plugins"]
    assert "duckdb" in {row["name"] for row in rows}


def test_the_console_script_runs_with_stdout_closed_and_still_writes_its_files(tmp_path: Path) -> None:
    # `floe compile ... >&-`: Python starts with sys.stdout None; the outputs still get written
    (tmp_path / "manifest.yaml").write_text("version: 1\ncompute:\n  approved: [duckdb]\n")
    (tmp_path / "floe.yaml").write_text(
        "name: shop\nplatform: manifest.yaml\ntransforms:\n  - {name: m, path: models/m}\n"
    )
    product = str(tmp_path / "floe.yaml")
    code = f"import sys\nfrom floe_hooks.cli import run\nsys.argv = ['floe', 'compile', {product!r}]\nrun()\n"
    result = _python(code, preexec_fn=lambda: os.close(1))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "shop:" in (tmp_path / "target" / "floe" / "profiles.yml").read_text()
