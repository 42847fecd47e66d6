"""Fixtures of the adversarial suite: hostile plugins installed as real distributions.

``adversarial_harness`` (beside this file, put on ``sys.path`` here) holds what the test
modules and ``benchmarks/adversarial_corpus.py`` share.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from adversarial_harness import Site  # noqa: E402


@pytest.fixture
def site(site_root: Path) -> Site:
    """An empty fixture site-packages, importable in this process for the test's duration."""
    return Site(site_root)
