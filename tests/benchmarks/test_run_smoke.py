"""benchmarks/run.py end to end on tiny sizes: every code path runs and the JSON has its shape.

No timing is asserted: figures depend on the machine. ``tox -e bench`` runs the real thing.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def run_module() -> Any:
    spec = importlib.util.spec_from_file_location("floe_benchmarks_run", RUNNER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def result_path(run_module: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "result.json"
    assert run_module.main(["--tiny", "--json", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def result(result_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result_path.read_text())
    return data


def test_result_names_the_run_and_the_machine(result: dict[str, Any]) -> None:
    assert result["schema_version"] == 1
    assert result["mode"] == "tiny"
    machine = result["machine"]
    assert {"date", "nproc", "cpu", "python", "versions", "floe_hooks_editable"} <= set(machine)
    assert machine["versions"]["floe-hooks"]
    assert set(result["benchmarks"]) == {
        "cold_start",
        "health",
        "concurrency",
        "compile",
        "dispatch",
        "memory",
    }


def _is_stats(value: Any) -> bool:
    return isinstance(value, dict) and {"median", "min", "max", "n", "values"} <= set(value)


def test_cold_start_compares_floe_plugins_with_import_pluggy(result: dict[str, Any]) -> None:
    cold = result["benchmarks"]["cold_start"]
    for name in ("floe plugins", "python -c 'import pluggy'", "python -c pass"):
        figures = cold["commands"][name]
        assert all(_is_stats(figures[key]) for key in ("wall_s", "cpu_s", "maxrss_mb"))
    assert cold["ratio_wall"] > 0
    assert cold["ratio_cpu"] > 0
    assert cold["goal"] == 1.6
    assert cold["floor_ratio_wall"] > 0  # import pluggy, attrs, argparse: beside floe plugins
    floor = cold["commands"]["python -c 'import pluggy, attrs, argparse'"]
    over = (cold["commands"]["floe plugins"]["cpu_s"]["median"] - floor["cpu_s"]["median"]) * 1000
    assert cold["over_floor_ms"]["cpu"] == round(over, 1)
    for key in ("cli_import", "plugins"):
        offenders = cold["importtime"][key]["floe_modules"]
        assert offenders
        assert len(offenders) <= 10
        assert all(row["module"].startswith(("floe_hooks", "floe_duckdb")) for row in offenders)
        assert {"module", "cumulative_ms", "self_ms", "imported_by"} <= set(offenders[0])
    assert cold["importtime"]["cli_import"]["floe_modules"][0]["module"] == "floe_hooks.cli"


def test_health_compares_floe_validate_with_the_bare_driver(result: dict[str, Any]) -> None:
    health = result["benchmarks"]["health"]
    assert len(health["commands"]) == 3  # floe validate, the bare check, the floor
    assert health["floor_ratio_cpu"] > 0
    floe, _, floor = health["commands"].values()
    assert health["over_floor_ms"]["wall"] == round(
        (floe["wall_s"]["median"] - floor["wall_s"]["median"]) * 1000, 1
    )
    assert health["goal"] == 1.15
    assert health["ratio_wall"] > 0
    assert health["dbt_debug"]["status"] in ("skipped", "not installed")


def test_concurrency_and_the_hung_plugin(result: dict[str, Any]) -> None:
    conc = result["benchmarks"]["concurrency"]
    assert conc["computes"] == 5
    assert _is_stats(conc["wall_s"])
    assert conc["hung"]["timeout_s"] == 0.3
    assert _is_stats(conc["hung"]["wall_s"])
    assert conc["hung"]["wall_s"]["min"] >= 0.3  # never returns before its timeout


def test_compile_reports_every_size_per_transform(result: dict[str, Any]) -> None:
    comp = result["benchmarks"]["compile"]
    assert [(s["computes"], s["transforms"]) for s in comp["sizes"]] == [(2, 10), (3, 30)]
    for size in comp["sizes"]:
        assert {"load", "compile", "write", "total"} <= set(size["inprocess_s"])
        assert size["per_transform_us"] > 0
        assert _is_stats(size["cli"]["wall_s"])
    assert comp["per_transform_growth"] > 0
    assert comp["per_transform_growth_cpu"] > 0


def test_dispatch_and_memory(result: dict[str, Any]) -> None:
    dispatch = result["benchmarks"]["dispatch"]
    assert {"direct hookimpl call", "manager.generate_profile (floe dispatch)"} <= set(
        dispatch["per_call_us"]
    )
    assert dispatch["goal_us"] == 10.0
    assert isinstance(dispatch["overhead_us"], float)
    rss = result["benchmarks"]["memory"]["peak_rss_mb"]
    assert rss["floe plugins"] > 0
    assert rss["floe validate manifest.yaml"] > 0
    assert any(name.startswith("floe compile") for name in rss)


def test_goals_list_each_budget_line(result: dict[str, Any]) -> None:
    ids = [goal["id"] for goal in result["goals"]]
    assert ids == [
        "cold_start_ratio",
        "validate_ratio",
        "concurrency_100x200ms",
        "hung_overshoot",
        "compile_largest_inprocess",
        "compile_largest_cli",
        "compile_linear",
        "dispatch_overhead",
    ]
    for goal in result["goals"]:
        assert goal["verdict"] in ("met", "met on CPU time", "missed")
        assert goal["met"] is (goal["verdict"] != "missed")
        assert goal["wall"] is not None or goal["cpu"] is not None


def test_the_markdown_report_is_written_beside_the_json_and_renders_again(
    result_path: Path, run_module: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    written = result_path.with_suffix(".md").read_text()
    assert written.startswith("Measured on: ")
    assert "| what | floe-hooks | side by side | goal | verdict |" in written
    assert "`floe plugins`" in written
    import report  # benchmarks/ is on sys.path once run.py is loaded

    capsys.readouterr()  # the run's own output, when this test set the fixture up
    assert report.main([str(result_path)]) == 0
    assert capsys.readouterr().out.strip() == written.strip()
    assert report.main([str(result_path), "--summary"]) == 0
    summary = capsys.readouterr().out
    assert "| cold start: `floe plugins` |" in summary
    assert "| command (child process, median) |" not in summary


def test_the_report_rewrites_only_the_results_block_of_a_document(result_path: Path, tmp_path: Path) -> None:
    import report

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Title\n\n<!-- results:start -->\nold table\n<!-- results:end -->\n\nprose\n")
    assert report.main([str(result_path), "--update", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Title\n\n<!-- results:start -->\nMeasured on: ")
    assert text.endswith("<!-- results:end -->\n\nprose\n")
    assert "old table" not in text
