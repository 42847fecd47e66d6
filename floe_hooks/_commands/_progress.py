"""The live status line `floe run` keeps at the bottom of a terminal while dbt works."""

from __future__ import annotations

import threading
import time
from typing import TextIO

__all__ = ["Progress"]

_CLEAR = "\r\x1b[K"  # back to the line's start, erase it
_WIDTH = 24


class Progress:
    """Progress lines for `floe run`: plain lines, plus a redrawn bar when ``out`` is a terminal.

    Every line goes through :meth:`say`. On a terminal the bar (nodes finished of the nodes
    of every step known so far, steps done, elapsed time) is erased before a line is
    written and drawn again after it, so the lines scroll above it and it never mixes
    into them; :meth:`close` erases it for good. Elsewhere (a pipe, a file, CI logs)
    only the lines are written, with no control characters.
    """

    def __init__(self, out: TextIO, *, live: bool | None = None) -> None:
        self.out = out
        if live is None:
            isatty = getattr(out, "isatty", None)
            live = bool(isatty and isatty())
        self.live = live
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._steps: dict[str, int] = {}  # compute -> nodes
        self._done_steps: set[str] = set()
        self._done_nodes = 0
        self._shown = False

    def say(self, line: str) -> None:
        """Write one line (above the bar on a terminal)."""
        with self._lock:
            if self._shown:
                self.out.write(_CLEAR)
            self.out.write(line + "\n")
            self._draw()
            self.out.flush()

    def step_started(self, compute: str, nodes: int) -> None:
        """A step began with ``nodes`` nodes to run."""
        with self._lock:
            self._steps[compute] = nodes

    def step_finished(self, compute: str, nodes: int) -> None:
        """A step ended (ran, failed, was skipped or reused)."""
        with self._lock:
            self._steps.setdefault(compute, nodes)
            self._done_steps.add(compute)

    def node_finished(self) -> None:
        """A dbt node finished, whatever its status."""
        with self._lock:
            self._done_nodes += 1

    def bar(self) -> str:
        """The status line as it stands: ``[=====>      ] 7/13 nodes, 1/2 steps, 4.1s``."""
        total = sum(self._steps.values())
        filled = 0 if total == 0 else min(_WIDTH, _WIDTH * self._done_nodes // total)
        arrow = ">" if 0 < filled < _WIDTH else ""
        body = ("=" * filled + arrow).ljust(_WIDTH)[:_WIDTH]
        elapsed = time.monotonic() - self._started
        return (
            f"[{body}] {self._done_nodes}/{total} nodes, "
            f"{len(self._done_steps)}/{len(self._steps)} steps, {elapsed:.1f}s"
        )

    def _draw(self) -> None:
        if self.live and self._steps:
            self.out.write(_CLEAR + self.bar())
            self._shown = True

    def close(self) -> None:
        """Erase the bar (before the summary table)."""
        with self._lock:
            if self._shown:
                self.out.write(_CLEAR)
                self.out.flush()
                self._shown = False
