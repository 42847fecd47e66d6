"""floe run's progress: a redrawn bar on a terminal, plain lines anywhere else."""

from __future__ import annotations

import io

from floe_hooks._commands._progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _drive(progress: Progress) -> None:
    progress.step_started("ingest", 3)
    progress.say("[ingest] step 1 started: 3 nodes")
    for name in ("a", "b", "c"):
        progress.node_finished()
        progress.say(f"  [ingest] OK    model {name}")
    progress.step_finished("ingest", 3)
    progress.say("[ingest] step 1 success")
    progress.step_finished("warehouse", 2)
    progress.say("[warehouse] step 2 skipped: needs ingest")
    progress.close()


def test_a_pipe_gets_the_lines_and_no_control_character() -> None:
    out = io.StringIO()
    _drive(Progress(out))
    assert out.getvalue() == (
        "[ingest] step 1 started: 3 nodes\n"
        "  [ingest] OK    model a\n"
        "  [ingest] OK    model b\n"
        "  [ingest] OK    model c\n"
        "[ingest] step 1 success\n"
        "[warehouse] step 2 skipped: needs ingest\n"
    )


def test_a_terminal_gets_a_bar_below_the_lines_erased_at_the_end() -> None:
    out = _Terminal()
    _drive(Progress(out))
    text = out.getvalue()
    lines = [part.split("\r\x1b[K")[-1] for part in text.split("\n")]
    # every progress line is whole once the bar before it is erased
    assert lines[:6] == [
        "[ingest] step 1 started: 3 nodes",
        "  [ingest] OK    model a",
        "  [ingest] OK    model b",
        "  [ingest] OK    model c",
        "[ingest] step 1 success",
        "[warehouse] step 2 skipped: needs ingest",
    ]
    assert "] 2/3 nodes, 0/1 steps, " in text
    assert "[==============>         ] 3/5 nodes, 2/2 steps, " in text  # a skipped step's nodes count too
    assert text.endswith("\r\x1b[K")  # close() leaves no bar under the summary table


def test_the_bar_fills_with_finished_nodes() -> None:
    progress = Progress(io.StringIO(), live=True)
    progress.step_started("a", 4)
    assert progress.bar().startswith("[" + " " * 24 + "] 0/4 nodes, 0/1 steps, ")
    progress.node_finished()
    assert progress.bar().startswith("[======>                 ] 1/4 nodes")
