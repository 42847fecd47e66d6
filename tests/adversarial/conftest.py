"""Fixtures of the adversarial suite: hostile plugins installed as real distributions.

``corpus_harness`` (beside this file) is importable from the test modules and from
``benchmarks/adversarial_corpus.py``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from corpus_harness import environment, floe_command  # noqa: E402


class Site:
    """A folder that looks like site-packages, holding fixture distributions.

    The same approach as ``tests/core/conftest.py``: a module and a dist-info folder
    whose ``entry_points.txt`` declares it under ``floe.computes``. A ``floe``
    subprocess sees it through ``PYTHONPATH``; an in-process manager through ``path``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def install(self, dist: str, source: str, *, entry_point: str, version: str = "1.0") -> None:
        """Install ``source`` as module ``fixture_<entry_point>`` of distribution ``dist``."""
        module = f"fixture_{entry_point}"
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n\n")
        (info / "entry_points.txt").write_text(f"[floe.computes]\n{entry_point} = {module}\n")

    def floe(
        self, *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``floe *args`` in ``cwd`` with this site on ``PYTHONPATH``."""
        extra = {"PYTHONPATH": str(self.root), **(env or {})}
        return subprocess.run(
            [*floe_command(), *args],
            cwd=cwd,
            env=environment(extra),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """An empty fixture site-packages, importable in this process for the test's duration."""
    root = tmp_path / "site-packages"
    root.mkdir()
    sys.path.insert(0, str(root))
    before = set(sys.modules)
    try:
        yield Site(root)
    finally:
        sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            if name.startswith("fixture_"):
                del sys.modules[name]
