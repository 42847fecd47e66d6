"""Issue 16, hostile plugins installed as real distributions and run through the real ``floe``.

Secrets a plugin echoes, config classes that hang on import, results of the wrong type,
``BaseException`` at import, ``os._exit`` in a health check, two distributions claiming one
entry point name, and the exit status when a check thread is abandoned.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from adversarial_harness import Site
from test_hostile_plugins import (
    DIST,
    MANIFEST,
    PRODUCT,
    VERSION,
    hostile,
    hostile_project,
    one_error_line,
    outputs,
)

SECRET = "evil-canary-7f3a9c1e5b"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """:func:`test_hostile_plugins.hostile_project` in the test's temporary folder."""
    return hostile_project(tmp_path)


def with_password(project: Path) -> None:
    (project / "manifest.yaml").write_text(
        MANIFEST.replace("config: {nested: {path: clean}}}", "credentials: {password: {env: EVIL_PW}}}")
    )


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize("command", ["compile", "k8s"])
def test_a_profile_echoing_a_referenced_secret_is_refused_before_anything_is_written(
    site: Site, project: Path, command: str
) -> None:
    hostile(
        site, generate_profile="return {'type': 'duckdb', 'path': ':memory:', 'pw': os.environ['EVIL_PW']}"
    )
    with_password(project)
    before = outputs(project)
    args = [command, "floe.yaml"] + (["--out", "k8s"] if command == "k8s" else [])
    process = site.floe(*args, cwd=project, env={"EVIL_PW": SECRET})
    assert process.returncode == 1, process.stderr
    line = one_error_line(process.stderr)
    assert "returned the value of a secret at profile.pw" in line
    assert f"(from {DIST} {VERSION})" in line
    assert SECRET not in process.stderr + process.stdout
    assert outputs(project) == before
    assert not (project / "k8s").exists()


def test_a_plugin_error_echoing_a_referenced_secret_is_masked_in_the_error_line(
    site: Site, project: Path
) -> None:
    hostile(site, generate_profile="raise RuntimeError('cannot log in with ' + os.environ['EVIL_PW'])")
    with_password(project)
    process = site.floe("compile", "floe.yaml", cwd=project, env={"EVIL_PW": SECRET})
    assert process.returncode == 1
    line = one_error_line(process.stderr)
    assert "cannot log in with **********" in line
    assert SECRET not in process.stderr


def test_a_referenced_secret_that_is_not_set_is_no_error_at_compile_time(site: Site, project: Path) -> None:
    hostile(site)
    with_password(project)
    assert site.floe("compile", "floe.yaml", cwd=project).returncode == 0


# --------------------------------------------------------------------------- hangs


def test_a_config_class_whose_module_hangs_on_import_is_bounded_everywhere(site: Site, project: Path) -> None:
    (site.root / "fixture_hang_cfg.py").write_text("import time\nwhile True:\n    time.sleep(1)\n")
    hostile(
        site,
        prelude="import attrs\n",
        plugin_metadata="pass",
    )
    module = site.root / "fixture_evil.py"
    module.write_text(
        module.read_text().replace(
            'description="hostile fixture"', 'description="x", config_class="fixture_hang_cfg:Cfg"'
        )
    )
    env = {"FLOE_PLUGIN_IMPORT_TIMEOUT": "1"}
    for args in (
        ("validate", "manifest.yaml", "--timeout", "1"),
        ("compile", "floe.yaml"),
        ("resources", "floe.yaml"),
        ("k8s", "floe.yaml", "--out", "-"),
        ("schema", "manifest"),
    ):
        began = time.monotonic()
        process = site.floe(*args, cwd=project, env=env, timeout=60)
        assert time.monotonic() - began < 20, args
        assert process.returncode in (1, 2), (args, process.stderr)
        assert "Traceback" not in process.stderr
        if args[0] != "schema":
            assert (
                "config_class 'fixture_hang_cfg:Cfg' cannot be loaded: import did not finish within 1 s"
                in (process.stderr)
            ), args


#: case -> (what validate_connection returns, the status floe reports for it)
BAD_RESULTS = {
    "bytes-message": (
        "ConnectionResult(status='healthy', latency_ms=1.0, message=b'raw bytes')",
        "unhealthy",
    ),
    "bytes-warning": ("ConnectionResult(status='healthy', latency_ms=1.0, warnings=[b'w'])", "unhealthy"),
    "huge-latency": ("ConnectionResult(status='healthy', latency_ms=10**400)", "unhealthy"),
    "details-not-a-mapping": (
        "ConnectionResult(status='healthy', latency_ms=1.0, details=[('k', 'v')])",
        "unhealthy",
    ),
    "surrogate-details": (
        "ConnectionResult(status='healthy', latency_ms=1.0, details={'\\ud800k': 'v\\udfff'})",
        "healthy",
    ),
    "blocking-str-message": (
        "ConnectionResult(status='healthy', latency_ms=1.0, message=Blocking('ok'))",
        "healthy",
    ),
}
BLOCKING = """
import threading
class Blocking(str):
    def __str__(self):
        threading.Event().wait()
    def __format__(self, spec):
        threading.Event().wait()
"""


@pytest.mark.parametrize("case", sorted(BAD_RESULTS))
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_result_of_the_wrong_shape_is_normalised_in_the_check_and_the_others_survive(
    site: Site, project: Path, case: str, fmt: str
) -> None:
    """Table-driven: whatever a result holds, floe prints a whole report of every compute."""
    returned, status = BAD_RESULTS[case]
    hostile(site, prelude=BLOCKING, validate_connection=f"return {returned}")
    process = site.floe(
        "validate", "manifest.yaml", "--format", fmt, "--timeout", "20", cwd=project, timeout=60
    )
    assert "Traceback" not in process.stderr, process.stderr
    assert process.returncode == (0 if status == "healthy" else 1), process.stderr
    if fmt == "json":
        rows = {row["compute"]: row for row in json.loads(process.stdout)["computes"]}
        assert set(rows) == {"duckdb", "shady"}
        assert rows["shady"]["status"] == status
        if status == "unhealthy":
            assert "validate_connection returned a ConnectionResult whose" in rows["shady"]["message"]
    else:
        lines = {line.split()[0]: line for line in process.stdout.splitlines()[1:]}
        assert set(lines) == {"duckdb", "shady"}
        assert lines["shady"].split()[2] == status


# --------------------------------------------------------------------------- crashes and exit codes


@pytest.mark.parametrize(
    "raised",
    [
        "GeneratorExit('bye')",
        "KeyboardInterrupt('not the user')",
        "type('Custom', (BaseException,), {})('x')",
    ],
)
def test_a_base_exception_raised_at_plugin_import_is_a_plugin_failure(
    site: Site, project: Path, raised: str
) -> None:
    hostile(site, prelude=f"raise {raised}")
    listed = site.floe("plugins", "--format", "json", cwd=project)
    assert listed.returncode == 1, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)["plugins"]}
    assert rows["duckdb"]["status"] == "ok"
    assert rows["evil"]["status"] == "failed"
    assert "import failed: " + raised.split("(")[0].replace("type", "Custom") in rows["evil"]["reason"] or (
        "import failed: Custom" in rows["evil"]["reason"]
    )
    assert "interrupted" not in listed.stderr


def test_a_keyboard_interrupt_raised_by_a_hook_names_the_plugin(site: Site, project: Path) -> None:
    hostile(site, generate_profile="raise KeyboardInterrupt('plugin, not user')")
    process = site.floe("compile", "floe.yaml", cwd=project)
    assert process.returncode == 1
    line = one_error_line(process.stderr)
    assert "generate_profile raised KeyboardInterrupt: plugin, not user" in line
    assert f"(from {DIST} {VERSION})" in line


def test_os_exit_0_in_a_health_check_never_reads_as_healthy(site: Site, project: Path) -> None:
    hostile(site, validate_connection="os._exit(0)")
    process = site.floe("validate", "manifest.yaml", "--compute", "shady", cwd=project)
    assert process.returncode == 1
    assert "plugin code ended the process with os._exit(0) in thread 'floe-check-shady'" in process.stderr


def test_an_abandoned_duckdb_check_does_not_abort_the_interpreter_at_exit(tmp_path: Path) -> None:
    import subprocess

    import duckdb
    from adversarial_harness import environment, floe_command

    duckdb.connect(str(tmp_path / "w.duckdb")).close()
    (tmp_path / "manifest.yaml").write_text(
        "version: 1\ncompute:\n  approved:\n    - {name: w, type: duckdb, config: {path: w.duckdb}}\n"
    )
    # on the code before the fix, about one run in four of these ended with 134 or 139
    codes = []
    for run in range(27):
        process = subprocess.run(
            [
                *floe_command(),
                "validate",
                "manifest.yaml",
                "--timeout",
                f"0.0{run % 9 + 1}",
                "--format",
                "json",
            ],
            cwd=tmp_path,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        codes.append(process.returncode)
        if process.returncode in (0, 1):
            json.loads(process.stdout)
    assert set(codes) <= {0, 1}, codes


# --------------------------------------------------------------------------- wrong behaviour


def test_two_distributions_registering_the_same_entry_point_are_a_conflict_naming_both(
    site: Site, project: Path
) -> None:
    hostile(site)
    site.install(
        "floe-duckdb-impostor",
        "raise RuntimeError('the impostor must never be imported')\n",
        entry_point="duckdb",
        version="9.9",
    )
    listed = site.floe("plugins", "--format", "json", cwd=project)
    assert listed.returncode == 1
    rows = {row["name"]: row for row in json.loads(listed.stdout)["plugins"]}
    reason = rows["duckdb"]["reason"]
    assert rows["duckdb"]["status"] == "failed"
    assert "entry point 'duckdb' is declared by" in reason
    assert "floe-duckdb-impostor 9.9" in reason
    assert "floe-hooks" in reason
    assert "must never be imported" not in listed.stderr + listed.stdout


def test_validate_of_a_symlinked_floe_yaml_resolves_relative_paths_beside_the_link(
    tmp_path: Path, site: Site
) -> None:
    import duckdb

    real = tmp_path / "real"
    (real / "models" / "marts").mkdir(parents=True)
    (real / "manifest.yaml").write_text(
        "version: 1\ncompute:\n  approved:\n    - {name: w, type: duckdb, config: {path: rel.duckdb}}\n"
    )
    (real / "floe.yaml").write_text(PRODUCT.split("  - {name: shady")[0])
    beside = tmp_path / "beside"
    beside.mkdir()
    os.symlink(real / "floe.yaml", beside / "floe.yaml")
    os.symlink(real / "manifest.yaml", beside / "manifest.yaml")
    duckdb.connect(str(beside / "rel.duckdb")).close()  # where dbt, run beside the link, finds it
    process = site.floe("validate", "floe.yaml", "--format", "json", cwd=beside)
    (row,) = json.loads(process.stdout)["computes"]
    assert row["status"] == "healthy", row
    assert not (real / "rel.duckdb").exists()
