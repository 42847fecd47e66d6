"""What the adversarial suite shares: running the real ``floe``, the corpus, fixture plugins.

The corpus runner is shared by ``test_corpus.py`` (correctness) and
``benchmarks/adversarial_corpus.py`` (time and peak memory per case); :class:`Site`
installs hostile plugins as real distributions. A corpus case is a folder of ``corpus/``:

* ``expected.txt``: the exact line ``floe compile`` must print on stderr;
* ``floe.yaml`` and ``manifest.yaml`` (and any other file the case needs); a case that
  leaves one out gets the default below, so each folder shows only what is wrong;
* ``args`` (optional): the arguments after ``floe compile``, one a line (default ``floe.yaml``);
* ``oversize`` (optional): names a file to pad with comment lines to one byte over
  :data:`floe_hooks._yaml.MAX_FILE_BYTES`, so the huge file is made, not stored.

Every case runs in a copy of its folder that is also the working directory, with an
existing output folder ``target/floe`` whose bytes must survive the failed compile.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

if str(Path(__file__).parent.parent) not in sys.path:  # tests/: plugin_site (benchmarks import this)
    sys.path.insert(0, str(Path(__file__).parent.parent))

from plugin_site import Site, environment, floe_command

__all__ = ["Site", "environment", "floe_command"]

CORPUS = Path(__file__).parent / "corpus"

DEFAULT_PRODUCT = (
    "name: analytics\nplatform: manifest.yaml\ntransforms:\n  - {name: marts, path: models/marts}\n"
)
DEFAULT_MANIFEST = "version: 1\ncompute:\n  approved:\n    - duckdb\n"

#: What ``target/floe`` holds before each case runs: a previous, good compile.
EXISTING_OUTPUTS = {
    "profiles.yml": b"# a previous compile\nanalytics:\n  target: duckdb\n  outputs:\n    duckdb: {}\n",
    "compiled_artifacts.json": b'{"schema_version": "1.0", "previous": true}\n',
}


def cases() -> list[str]:
    """Names of the corpus cases, sorted."""
    return sorted(p.name for p in CORPUS.iterdir() if (p / "expected.txt").is_file())


def expected(case: str) -> str:
    """The one stderr line the case must produce."""
    return (CORPUS / case / "expected.txt").read_text(encoding="utf-8").rstrip("\n")


def prepare(case: str, dest: Path) -> list[str]:
    """Lay the case out in ``dest`` (created); return the ``floe`` arguments to run there."""
    source = CORPUS / case
    shutil.copytree(source, dest)
    (dest / "expected.txt").unlink()
    if not (dest / "floe.yaml").exists():
        (dest / "floe.yaml").write_text(DEFAULT_PRODUCT)
    if not (dest / "manifest.yaml").exists():
        (dest / "manifest.yaml").write_text(DEFAULT_MANIFEST)
    oversize = dest / "oversize"
    if oversize.exists():
        from floe_hooks._yaml import MAX_FILE_BYTES

        target = dest / oversize.read_text().strip()
        oversize.unlink()
        with target.open("ab") as handle:
            line = b"# " + b"x" * 77 + b"\n"
            size = handle.tell()
            while size <= MAX_FILE_BYTES:
                handle.write(line)
                size += len(line)
    out = dest / "target" / "floe"
    out.mkdir(parents=True)
    for name, content in EXISTING_OUTPUTS.items():
        (out / name).write_bytes(content)
    args_file = dest / "args"
    args = ["floe.yaml"]
    if args_file.exists():
        args = [line for line in args_file.read_text().splitlines() if line.strip()]
        args_file.unlink()
    return ["compile", *args]


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``folder``: relative path -> (mode, bytes)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            found[path.relative_to(folder).as_posix()] = (path.stat().st_mode, path.read_bytes())
    return found


def run_case(
    case: str, workdir: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, tuple[int, bytes]]]:
    """Prepare and run ``case`` in ``workdir``; return the process and the output folder before."""
    args = prepare(case, workdir)
    before = snapshot(workdir / "target")
    return run_floe(args, workdir, timeout=30), before


def run_floe(args: list[str], workdir: Path, *, timeout: float) -> subprocess.CompletedProcess[str]:
    """The real ``floe`` command with ``args`` in ``workdir``, its output captured as text."""
    return subprocess.run(
        [*floe_command(), *args],
        cwd=workdir,
        env=environment(),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
