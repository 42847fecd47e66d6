"""Fixtures for the DuckDB plugin's tests: computes built like floe builds them, real files, real locks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_hooks import ComputeConfig, PluginManager
from floe_hooks.testing import make_compute

MakeCompute = Callable[..., ComputeConfig]


@pytest.fixture
def pm(installed_pm: PluginManager) -> PluginManager:
    """A fresh manager that discovered floe_duckdb through its entry point."""
    return installed_pm


@pytest.fixture
def duckdb_compute(pm: PluginManager) -> MakeCompute:
    """Build a DuckDB ComputeConfig from a plain ``config:`` block, as ``floe compile`` does."""

    def build(config: dict[str, Any] | None = None, **fields: Any) -> ComputeConfig:
        fields.setdefault("name", "warehouse")
        return make_compute(pm, "duckdb", config or {}, **fields)

    return build


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """A real DuckDB database file holding one table, closed again."""
    import duckdb

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("create table people as select * from (values (1, 'ada'), (2, 'grace')) t(id, name)")
    return path


class LockHolder:
    """Another process holding a read-write connection (dbt's writer lock) on a database file."""

    def __init__(self, path: Path) -> None:
        script = textwrap.dedent(
            f"""
            import sys, duckdb
            conn = duckdb.connect({str(path)!r})
            conn.execute("select 1")
            print("locked", flush=True)
            sys.stdin.read()  # hold the lock until the test closes our stdin
            """
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.strip() == "locked", f"the lock holder did not start: {line!r}"

    @property
    def pid(self) -> int:
        """The holding process's id."""
        return self.process.pid

    def release(self) -> None:
        """Let the holder exit (its connection closes, the lock goes)."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def writer_lock() -> Iterator[Callable[[Path], LockHolder]]:
    """Start processes that hold the writer lock on a file; all are released after the test."""
    holders: list[LockHolder] = []

    def hold(path: Path) -> LockHolder:
        holder = LockHolder(path)
        holders.append(holder)
        return holder

    yield hold
    for holder in holders:
        holder.release()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy that could reach an extension server; DuckDB's own home for extensions untouched."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "1")


def is_root() -> bool:
    """True when permission bits do not stop this process (root)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0
