"""Fixture distributions: small plugins installed as real dist-info folders on a temporary path."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_site import Site  # tests/conftest.py puts tests/ on sys.path


@pytest.fixture
def site(site_root: Path) -> Site:
    """An empty fixture site-packages, importable for the duration of the test."""
    return Site(site_root)
