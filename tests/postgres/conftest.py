"""A real, throwaway PostgreSQL server for the tests in this folder.

The fixtures initdb a cluster in a temporary folder and start it on 127.0.0.1, on a
free port, with a password-authenticated role. PostgreSQL refuses to run as root, so
when the tests run as root (CI does) the server runs as the ``postgres`` system user.
Nothing is skipped: a machine without the server binaries fails with the command that
installs them (``.ci/run`` runs it on fresh machines).
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROLE = "floe"
DATABASE = "analytics"


def _bindir() -> Path:
    override = os.environ.get("FLOE_PG_BINDIR")
    candidates = [override] if override else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    for candidate in candidates:
        if candidate and Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    pytest.fail(
        "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and pg_config): "
        "install them with `apt-get install -y postgresql` (what .ci/run does) or set FLOE_PG_BINDIR",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throwaway cluster: ``start``, ``stop``, ``pause`` (SIGSTOP), ``resume``, ``destroy``.

    :ivar port: the TCP port on 127.0.0.1.
    :ivar user: the password-authenticated login role (owner of :attr:`dbname`).
    :ivar password: its password (random per cluster).
    :ivar dbname: the database the role owns.
    """

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.as_root = os.geteuid() == 0
        # not under pytest's tmp_path: its parents are private to root
        self.root = Path(tempfile.mkdtemp(prefix="floe-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.user = ROLE
        self.password = "pw-" + secrets.token_hex(12)
        self.dbname = DATABASE
        self._admin_password = "admin-" + secrets.token_hex(12)
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    # -------------------------------------------------------------- processes

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if check and result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n{log}"
            )
        return result

    def init(self) -> None:
        """initdb with scram-sha-256 on TCP, then create the role and its database."""
        pwfile = self.root / "admin.pw"
        pwfile.write_text(self._admin_password + "\n")
        if self.as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--pwfile",
            str(pwfile),
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        pwfile.unlink()
        self.start()
        import psycopg

        with psycopg.connect(**self.admin_params(), autocommit=True) as conn:
            conn.execute(f"create role {ROLE} login password '{self.password}'")
            conn.execute(f"create database {DATABASE} owner {ROLE}")

    def start(self) -> None:
        """Start (or restart) the server; waits until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        """Stop the server (fast shutdown); connections are refused afterwards."""
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def make_standby(self) -> None:
        """Restart as a hot standby (read-only, in recovery) with no primary to follow."""
        self.stop()
        signal_file = self.data / "standby.signal"
        signal_file.touch()
        if self.as_root:
            shutil.chown(signal_file, "postgres", "postgres")
        self.start()

    @property
    def pid(self) -> int | None:
        """The postmaster's pid, while it runs."""
        pidfile = self.data / "postmaster.pid"
        try:
            return int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def running(self) -> bool:
        """Whether a postmaster is up for this cluster."""
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP the postmaster: the kernel still accepts TCP connections, nobody answers."""
        pid = self.pid
        assert pid is not None, "server is not running"
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

    def destroy(self) -> None:
        """Stop the server and delete the cluster."""
        with contextlib.suppress(Exception):
            pid = self.pid
            if pid is not None:
                os.kill(pid, signal.SIGCONT)
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -------------------------------------------------------------- clients

    def admin_params(self) -> dict[str, Any]:
        """psycopg keyword arguments for the superuser (over TCP)."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "user": "postgres",
            "password": self._admin_password,
            "dbname": "postgres",
            "connect_timeout": 10,
        }

    def params(self) -> dict[str, Any]:
        """psycopg keyword arguments for the test role in its database."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": 10,
        }

    def config(self, **overrides: Any) -> dict[str, Any]:
        """The ``config:`` block of a ``postgres`` compute pointing at this server."""
        return {"host": "127.0.0.1", "port": self.port, "user": self.user, "dbname": self.dbname} | overrides

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` as the test role and return all rows."""
        import psycopg

        with psycopg.connect(**self.params()) as conn:
            return list(conn.execute(sql).fetchall())


def _started() -> PostgresServer:
    server = PostgresServer()
    try:
        server.init()
    except BaseException:
        server.destroy()
        raise
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server shared by the session. Do not stop or pause it."""
    server = _started()
    yield server
    server.destroy()


@pytest.fixture
def own_pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, which it may stop or pause."""
    server = _started()
    yield server
    server.destroy()


@pytest.fixture
def pg_password_env(pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Export the role's password as ``PG_PASSWORD`` (the manifests' reference) for one test."""
    monkeypatch.setenv("PG_PASSWORD", pg_server.password)
    return "PG_PASSWORD"


@pytest.fixture
def wait_until() -> Any:
    """Poll a condition (for server state, not for timing): ``wait_until(pred, what)``."""

    def wait(predicate: Any, what: str, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"gave up waiting for {what}")
            time.sleep(0.05)

    return wait


# ---------------------------------------------------------------------- floe compile and dbt


def set_port(manifest: Path, compute: str, port: int) -> None:
    """Point compute ``compute`` of ``manifest`` at ``port`` (the throwaway server's)."""
    import yaml

    data = yaml.safe_load(manifest.read_text())
    for entry in data["compute"]["approved"]:
        if isinstance(entry, dict) and entry["name"] == compute:
            entry["config"]["port"] = port
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))


def floe(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``floe`` command, as a user would."""
    exe = Path(sys.executable).with_name("floe")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False
    )


def dbt(*args: str, project: Path, profiles: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the installed ``dbt`` command on ``project`` with the profiles in ``profiles``."""
    exe = Path(sys.executable).with_name("dbt")
    cmd = [str(exe), *args, "--project-dir", str(project), "--profiles-dir", str(profiles)]
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", **env}
    result = subprocess.run(
        cmd, capture_output=True, text=True, cwd=project, env=full_env, timeout=600, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


class Tools:
    """The helpers above, handed to tests as the ``tools`` fixture."""

    set_port = staticmethod(set_port)
    floe = staticmethod(floe)
    dbt = staticmethod(dbt)


@pytest.fixture
def tools() -> type[Tools]:
    """``tools.floe(...)``, ``tools.dbt(...)``, ``tools.set_port(...)``."""
    return Tools
