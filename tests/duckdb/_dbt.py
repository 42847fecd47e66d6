"""Running the real dbt on a generated profile: shared by the dbt and Iceberg tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from floe_hooks import PluginManager
from floe_hooks._yaml import dump_yaml

PROJECT = Path(__file__).parent / "dbt_project"
PROFILE_NAME = "floe_duckdb_check"


def dbt(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the dbt of this interpreter's environment, offline, on the copied project."""
    executable = Path(sys.executable).with_name("dbt")
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "DBT_VERSION_CHECK": "false",
    }
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(proxy, None)
    return subprocess.run(
        [
            str(executable),
            *args,
            "--profiles-dir",
            str(workdir),
            "--project-dir",
            str(workdir / "project"),
            "--no-use-colors",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=300,
        check=False,
    )


def write_profiles(workdir: Path, pm: PluginManager, compute: Any) -> dict[str, Any]:
    profile = pm.generate_profile(compute)
    document = {PROFILE_NAME: {"target": compute.name, "outputs": {compute.name: profile}}}
    (workdir / "profiles.yml").write_text(dump_yaml(document))  # floe's dumper writes a DbtTemplate
    return profile


def assert_ok(done: subprocess.CompletedProcess[str], expect: str) -> None:
    assert done.returncode == 0, (
        f"dbt failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    )
    assert expect in done.stdout, done.stdout[-4000:]
