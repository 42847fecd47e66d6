"""docs/lakehouse.md's recipe, followed: the quickstart on a shared DuckLake catalog.

The quickstart as shipped hands staging to marts through a shared disk (``warehouse``
attaches ``ingest.duckdb``; the dbt project pins ``+database: ingest``). The recipe adds
the catalog, drops the attach and the ``+database`` line, and sets one dbt thread per
compute (``floe run`` refuses more, before anything runs); ``floe run`` then runs both
steps (seeds, models, tests), each writing into the catalog, and the marts come out the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from .conftest import floe

pytestmark = pytest.mark.lakehouse

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def test_the_quickstart_runs_on_a_shared_catalog_with_no_database_in_the_dbt_project(
    tmp_path: Path, extension_directory: Path
) -> None:
    work = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, work, ignore=shutil.ignore_patterns("target", "*.duckdb", "logs"))
    manifest = yaml.safe_load((work / "manifest.yaml").read_text())
    for compute in manifest["compute"]["approved"]:
        compute["config"].pop("attach", None)  # step 1: no shared disk
        compute["config"].update(extension_directory=str(extension_directory), autoinstall_extensions=False)
    manifest["catalog"] = {
        "name": "lake",
        "type": "ducklake",
        "metadata": {"type": "duckdb", "path": "lake.ducklake"},
        "data_path": "lake_data/",
    }
    (work / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    refused = floe("run", "floe.yaml", cwd=work)  # the computes' threads: 2 and 4
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.startswith(
        "floe: error: manifest.yaml: compute.approved[name=ingest].threads: 2 runs models at once, "
        "and they write into the DuckLake catalog 'lake': "
    )
    assert refused.stderr.count("\n") == 1
    assert not (work / "target" / "floe").exists()
    for compute in manifest["compute"]["approved"]:
        compute["threads"] = 1  # step 1, continued: one dbt thread into DuckLake
    del manifest["environments"]["prod"]["compute"]["warehouse"]["threads"]
    (work / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    project = work / "dbt_project.yml"
    lines = project.read_text().splitlines()
    kept = [line for line in lines if "+database: ingest" not in line]  # step 2
    assert len(kept) == len(lines) - 2
    assert "database" not in "\n".join(line for line in kept if not line.lstrip().startswith("#"))
    project.write_text("\n".join(kept) + "\n")

    done = floe("run", "floe.yaml", cwd=work)  # step 3
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    record = json.loads((work / "target" / "floe" / "run_results.json").read_text())
    assert [(s["compute"], s["status"], s["failed"]) for s in record["steps"]] == [
        ("ingest", "success", 0),
        ("warehouse", "success", 0),
    ]

    config = {"extension_directory": str(extension_directory), "autoinstall_known_extensions": False}
    with duckdb.connect(config=config) as conn:
        conn.execute("LOAD ducklake")
        conn.execute(f"ATTACH 'ducklake:{work / 'lake.ducklake'}' AS lake (READ_ONLY)")  # data path: its own
        revenue = conn.execute("select count(*), sum(revenue) from lake.main.customer_revenue").fetchone()
        staged = conn.execute("select count(*) from lake.main.stg_orders").fetchone()
    assert revenue is not None
    assert revenue[0] > 0
    assert staged is not None
    assert staged[0] > 0
    with duckdb.connect(str(work / "ingest.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from duckdb_tables()").fetchone() == (0,)
