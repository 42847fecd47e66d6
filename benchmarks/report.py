"""Render a benchmarks/run.py JSON result as the Markdown tables of docs/benchmarks.md and the README.

    python benchmarks/report.py benchmarks/RESULTS.json            # the full tables
    python benchmarks/report.py benchmarks/RESULTS.json --summary  # the README's short table
    python benchmarks/report.py benchmarks/RESULTS.json --update docs/benchmarks.md

run.py writes the same Markdown beside its JSON (``latest.md``), so a published table
is always a copy of a run, never typed by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def _wc(figures: dict[str, Any]) -> str:
    """``median wall (CPU x)`` of a command's summary."""
    return f"{_ms(figures['wall_s']['median'])} (CPU {_ms(figures['cpu_s']['median'])})"


def _verdicts(result: dict[str, Any]) -> dict[str, str]:
    return {goal["id"]: goal["verdict"] for goal in result.get("goals", [])}


def machine_line(result: dict[str, Any]) -> str:
    """One line naming the machine, the versions and the run."""
    m = result["machine"]
    v = m["versions"]
    load = m.get("loadavg_at_start")
    install = "editable install (distorted)" if m.get("floe_hooks_editable") else "wheel install"
    parts = [
        f"{m['nproc']} x {m['cpu']}",
        f"Python {m['python']}",
        m["platform"],
        f"{m['date']}",
        f"load average {load[0]:.1f} at start" if load else None,
        f"floe-hooks {v['floe-hooks']} ({install})",
        f"pluggy {v['pluggy']}",
        f"attrs {v['attrs']}",
        f"cattrs {v['cattrs']}",
        f"PyYAML {v['PyYAML']}",
        f"duckdb {v['duckdb']}",
        f"dbt-core {v['dbt-core']}" if v.get("dbt-core") else "dbt not installed",
        f"`run.py` mode {result.get('mode', '?')}",
    ]
    return "; ".join(p for p in parts if p)


def _over_floor(entry: dict[str, Any]) -> str:
    """``; floe's own: +N ms wall, +M ms CPU over the floor`` when the run measured it."""
    over = entry.get("over_floor_ms")
    if over is None:
        return ""
    return f"; floe's own share: +{over['wall']:.0f} ms wall, +{over['cpu']:.0f} ms CPU over the floor"


def summary_table(result: dict[str, Any]) -> str:
    """The README's table: one row per goal of the budget."""
    b = result["benchmarks"]
    verdict = _verdicts(result)
    rows = ["| what | floe-hooks | side by side | goal | verdict |", "|---|---|---|---|---|"]
    if "cold_start" in b:
        c = b["cold_start"]
        floe, pluggy_ = c["commands"]["floe plugins"], c["commands"]["python -c 'import pluggy'"]
        rows.append(
            f'| cold start: `floe plugins` | {_wc(floe)} | `python -c "import pluggy"` {_wc(pluggy_)}: '
            f"**{c['ratio_wall']:.2f}x** wall, {c['ratio_cpu']:.2f}x CPU"
            + (
                f"; floor `import pluggy, attrs, argparse` {c['floor_ratio_wall']:.2f}x wall, "
                f"{c['floor_ratio_cpu']:.2f}x CPU"
                if "floor_ratio_wall" in c
                else ""
            )
            + _over_floor(c)
            + f" | < {c.get('goal', 2.0):g}x | {verdict['cold_start_ratio']} |"
        )
    if "health" in b:
        h = b["health"]
        floe, bare = (h["commands"][name] for name in list(h["commands"])[:2])
        rows.append(
            f"| one-shot `floe validate` of a DuckDB file | {_wc(floe)} | bare `duckdb.connect(path, "
            f"read_only=True).execute('select 1')` {_wc(bare)}: **{h['ratio_wall']:.2f}x** wall, "
            f"{h['ratio_cpu']:.2f}x CPU (+{h['added_ms']:.0f} ms wall, +{h['added_cpu_ms']:.0f} ms CPU)"
            + (
                f"; floor (the bare check + `import pluggy, attrs, yaml`) {h['floor_ratio_wall']:.2f}x wall, "
                f"{h['floor_ratio_cpu']:.2f}x CPU"
                if "floor_ratio_wall" in h
                else ""
            )
            + _over_floor(h)
            + f" | < 1.15x | {verdict['validate_ratio']} |"
        )
        dbt = h["dbt_debug"]
        if "wall_s" in dbt:
            rows.append(
                f"| the same check with dbt | `floe validate` {_ms(floe['wall_s']['median'])} | "
                f"`dbt debug --connection` {_wc(dbt)}: **{dbt['speedup']:.1f}x slower** | - | - |"
            )
        else:
            rows.append(
                f"| the same check with dbt | - | `dbt debug --connection`: {dbt['status']} | - | - |"
            )
    if "concurrency" in b:
        c = b["concurrency"]
        rows.append(
            f"| {c['computes']} health checks of 200 ms each | {_ms(c['wall_s']['median'])} | "
            f"{c['serial_s']:.0f} s one after another | < 1 s | {verdict['concurrency_100x200ms']} |"
        )
        hung = c["hung"]
        rows.append(
            f"| a hung plugin (timeout {hung['timeout_s']:g} s) beside {hung['computes'] - 1} good ones | "
            f"returns after {_s(hung['wall_s']['max'])} | "
            f"+{hung['overshoot_s'] * 1000:.1f} ms past the timeout | its timeout | "
            f"{verdict['hung_overshoot']} |"
        )
    if "compile" in b:
        c = b["compile"]
        largest = c["sizes"][-1]
        p = largest["inprocess_s"]
        rows.append(
            f"| `floe compile`, {largest['computes']:,} computes / {largest['transforms']:,} transforms | "
            f"{_wc(largest['cli'])} cold; {_s(p['total'])} in process (CPU {_s(p['cpu'])}) | "
            f"{largest['per_transform_us']:.0f} us per transform; per-transform time "
            f"{c['per_transform_growth']:.2f}x from {c['sizes'][-2]['transforms']:,} transforms "
            f"(CPU {c['per_transform_growth_cpu']:.2f}x) | < 2 s, linear | {verdict['compile_largest_cli']} "
            f"(command), {verdict['compile_largest_inprocess']} (in process), "
            f"linear: {verdict['compile_linear']} |"
        )
    if "dispatch" in b:
        d = b["dispatch"]
        us = d["per_call_us"]
        rows.append(
            "| a hook call through the manager | "
            f"{us['manager.resource_requirements, floe_duckdb']:.2f} us on a DuckDB compute (typed config); "
            f"{us['manager.generate_profile (floe dispatch)']:.2f} us on one without config | "
            f"the hookimpl called directly {us['floe_duckdb.resource_requirements, direct']:.2f} us / "
            f"{us['direct hookimpl call']:.2f} us: **+{d['overhead_duckdb_us']:.2f} us** / "
            f"+{d['overhead_fixture_us']:.2f} us | < +10 us | {verdict['dispatch_overhead']} |"
        )
    if "memory" in b:
        rss = b["memory"]["peak_rss_mb"]
        compile_rows = [name for name in rss if name.startswith("floe compile")]
        parts = [f"`floe plugins` {rss['floe plugins']:.0f} MB"] if "floe plugins" in rss else []
        if "floe validate manifest.yaml" in rss:
            bare = next(v for k, v in rss.items() if k.startswith("python -c 'duckdb"))
            parts.append(
                f"`floe validate` {rss['floe validate manifest.yaml']:.0f} MB (bare duckdb {bare:.0f} MB)"
            )
        if compile_rows:
            parts.append(f"`floe compile` largest {rss[compile_rows[-1]]:.0f} MB")
        side = [f"`import pluggy` {rss[k]:.0f} MB" for k in rss if k == "python -c 'import pluggy'"]
        side += [f"`dbt debug` {rss[k]:.0f} MB" for k in rss if k == "dbt debug --connection"]
        rows.append(f"| peak RSS | {'; '.join(parts)} | {'; '.join(side) or '-'} | - | - |")
    if "floe_run" in b:
        sc = b["floe_run"]["scenarios"]
        r = b["floe_run"]["ratios"]

        def one(name: str) -> str:
            f = sc[name]
            return f"{f['wall_s']:.1f} s (CPU {f['cpu_s']:.1f} s, {f['peak_rss_mb']:.0f} MB)"

        hand = f"the same steps by hand as separate dbt commands {one('by_hand')}"
        rows.append(
            f"| `floe run` of the quickstart, cold | {one('floe_cold')} | {hand}: "
            f"**{r['cold_vs_by_hand']:.2f}x** | <= 0.5x | {verdict['run_cold_vs_by_hand']} |"
        )
        rows.append(
            f"| `floe run` again, unchanged project | {one('floe_warm')} | by hand: "
            f"**{r['warm_vs_by_hand']:.3f}x** | <= 0.15x | {verdict['run_warm_vs_by_hand']} |"
        )
        rows.append(
            f"| `floe run` against dbt in-process | {one('floe_cold')} | the same dbt invocations through "
            f"`dbtRunner` {one('dbt_in_process')}: **{r['cold_vs_dbt_in_process']:.2f}x** | <= 1.1x | "
            f"{verdict['run_vs_dbt_in_process']} |"
        )
    if "catalog" in b and "ratio_wall" in b["catalog"]:
        c = b["catalog"]
        rows.append(
            f"| {c['rows']:,} rows from compute A to compute B through the catalog (DuckLake, "
            f"{c['metadata']} metadata) | {c['catalog_wall_s']:.2f} s | one Parquet file written by one "
            f"process and read by another {c['floor_wall_s']:.2f} s: **{c['ratio_wall']:.2f}x** wall "
            f"({c['ratio_inner']:.2f}x inside DuckDB) | <= 1.5x | {verdict['catalog_handoff']} |"
        )
    return "\n".join(rows)


def detail_tables(result: dict[str, Any]) -> str:
    """Every figure of the run: commands, importtime offenders, compile sizes, dispatch."""
    b = result["benchmarks"]
    out: list[str] = []
    commands: dict[str, Any] = {}
    commands.update(b.get("cold_start", {}).get("commands", {}))
    commands.update(b.get("health", {}).get("commands", {}))
    dbt = b.get("health", {}).get("dbt_debug", {})
    if "wall_s" in dbt:
        commands["dbt debug --connection"] = dbt
    if commands:
        out += [
            "| command (child process, median) | wall | min | CPU | peak RSS |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| `{name}` | {_ms(r['wall_s']['median'])} | {_ms(r['wall_s']['min'])} | "
            f"{_ms(r['cpu_s']['median'])} | {r['maxrss_mb']['median']:.1f} MB |"
            for name, r in commands.items()
        ]
        out.append("")
    cold = b.get("cold_start")
    if cold:
        plugins = cold["importtime"]["plugins"]
        out += [
            f"`-X importtime` of `floe plugins` ({plugins['total_ms']:.0f} ms of imports, median): the "
            "largest cumulative entries of floe's modules, and the heaviest libraries they import first",
            "",
            "| floe module | cumulative | self | | library | cumulative | imported by |",
            "|---|---|---|---|---|---|---|",
        ]
        mods, libs = plugins["floe_modules"], plugins["imported_by_floe"]
        for i in range(max(len(mods), len(libs))):
            left = (
                f"`{mods[i]['module']}` | {mods[i]['cumulative_ms']:.1f} ms | {mods[i]['self_ms']:.1f} ms"
                if i < len(mods)
                else " | | "
            )
            right = (
                f"`{libs[i]['module']}` | {libs[i]['cumulative_ms']:.1f} ms | `{libs[i]['imported_by']}`"
                if i < len(libs)
                else " | | "
            )
            out.append(f"| {left} | | {right} |")
        heavy = plugins["heavy_loaded"]
        never = ", ".join(f"`{name}`" for name, loaded in heavy.items() if not loaded)
        loaded = ", ".join(f"`{name}`" for name, is_loaded in heavy.items() if is_loaded)
        out += [
            "",
            f"Never imported by `floe plugins`: {never or 'none'}."
            + (f" Imported: {loaded}." if loaded else ""),
        ]
        d = cold.get("discovery")
        if d:
            out += [
                "",
                f"Discovery among {d['distributions']} installed distributions, CPU in a fresh process: "
                f"floe's entry-point scanner {d['scan_ms']:.1f} ms, "
                f"`importlib.metadata.entry_points(group=...)` {d['importlib_ms']:.1f} ms.",
            ]
        out.append("")
    health = b.get("health")
    if health and "imports" in health:
        imports = health["imports"]
        out += [
            f"What `floe validate` imports beyond the bare script: {imports['floe_only_count']} modules, "
            f"{imports['floe_only_self_ms']:.0f} ms of `-X importtime` self time (an import-time profile "
            "runs slower than a plain start), by package:",
            "",
            "| package or floe module | self time |",
            "|---|---|",
        ]
        out += [f"| `{name}` | {ms:.1f} ms |" for name, ms in imports["floe_only_by_package"].items()]
        out.append("")
    comp = b.get("compile")
    if comp:
        out += [
            "| computes | transforms | load | compile | write | total (CPU) | per transform | "
            "`floe compile` cold (CPU) | peak RSS |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for s in comp["sizes"]:
            p = s["inprocess_s"]
            out.append(
                f"| {s['computes']:,} | {s['transforms']:,} | {_s(p['load'])} | {_s(p['compile'])} | "
                f"{_s(p['write'])} | {_s(p['total'])} ({_s(p['cpu'])}) | {s['per_transform_us']:.0f} us | "
                f"{_s(s['cli']['wall_s']['median'])} ({_s(s['cli']['cpu_s']['median'])}) | "
                f"{s['cli']['maxrss_mb']['median']:.0f} MB |"
            )
        out += [
            "",
            f"Time per transform, largest size against the one before: {comp['per_transform_growth']:.2f}x "
            f"wall, {comp['per_transform_growth_cpu']:.2f}x CPU (scaling exponent "
            f"{comp['scaling_exponent']:.2f}; 1.0 is linear).",
            "",
        ]
    dispatch = b.get("dispatch")
    if dispatch:
        out += [
            f"Dispatch, CPU time per call (timeit, best of {dispatch['repeat']} x {dispatch['number']:,}):",
            "",
            "| call | per call |",
            "|---|---|",
        ]
        out += [f"| {name} | {us:.3f} us |" for name, us in dispatch["per_call_us"].items()]
        out.append("")
    return "\n".join(out)


def markdown(result: dict[str, Any]) -> str:
    """The whole report: machine, summary table, details."""
    return "\n\n".join(
        [f"Measured on: {machine_line(result)}.", summary_table(result), detail_tables(result).rstrip()]
    )


START, END = "<!-- results:start -->", "<!-- results:end -->"


def update_doc(doc: Path, result: dict[str, Any]) -> None:
    """Replace what lies between the ``results`` markers of ``doc`` with :func:`markdown`."""
    text = doc.read_text()
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"{doc}: no {START} ... {END} markers")
    doc.write_text(f"{head}{START}\n{markdown(result)}\n{END}{tail}")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the Markdown of a saved result, or write it into a document."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("json", type=Path, help="a result written by benchmarks/run.py")
    parser.add_argument("--summary", action="store_true", help="only the machine line and the summary table")
    parser.add_argument(
        "--update", type=Path, metavar="DOC", help="replace the tables between the results markers of DOC"
    )
    args = parser.parse_args(argv)
    result = json.loads(args.json.read_text())
    if args.update:
        update_doc(args.update, result)
    elif args.summary:
        print(f"Measured on: {machine_line(result)}.\n\n{summary_table(result)}")
    else:
        print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
