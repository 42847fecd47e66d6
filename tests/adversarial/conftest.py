"""Fixtures of the adversarial suite: hostile plugins installed as real distributions.

``adversarial_harness`` (beside this file, put on ``sys.path`` here) holds what the test
modules and ``benchmarks/adversarial_corpus.py`` share.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from adversarial_harness import Site  # noqa: E402


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
