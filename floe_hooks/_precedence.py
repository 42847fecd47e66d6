"""Compute-level settings win over a profile's: the one rule, checked in one place.

A compute's ``threads:`` is dbt's ``threads`` and its ``timeout_seconds:`` the health
check's timeout. A plugin's typed config may have a field of the same name, but that
is the engine's own setting (DuckDB's ``threads`` is its worker threads), never a
second way to set dbt's: the profile ``generate_profile`` returns must carry the
compute's ``threads`` when the manifest sets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floe_hooks.models import ComputeConfig

__all__ = ["overridden_setting"]


def overridden_setting(compute: ComputeConfig, profile: Mapping[str, Any]) -> str | None:
    """What in ``profile`` contradicts a compute-level setting, as a sentence, or None.

    A string (a ``DbtTemplate`` such as ``{{ env_var('DBT_THREADS') | int }}``) is the
    plugin's deliberate choice, rendered by dbt, and is not compared.
    """
    threads = profile.get("threads")
    if compute.threads is None or "threads" not in profile or isinstance(threads, str):
        return None
    if isinstance(threads, bool) or threads != compute.threads:
        return (
            f"the profile's threads is {threads!r}, but the compute sets threads: {compute.threads}; "
            "compute-level settings win: write compute.threads into the profile"
        )
    return None
