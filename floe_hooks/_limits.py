"""The documented maximum of every duration and integer floe accepts.

A number beyond what the code that uses it can hold (a thread wait overflows past about
9.2e9 s; Kubernetes stores ``backoffLimit`` in an int32) is refused where it is read, with
a located error (``floe`` exits 2), instead of overflowing later into a traceback.

* :data:`MAX_SECONDS`: every duration (``--timeout``, ``--watch``, ``timeout_seconds:``,
  ``FLOE_PLUGIN_IMPORT_TIMEOUT``, ``FLOE_HOOK_TIMEOUT``): one week.
* :data:`MAX_INT32`: integers that reach Kubernetes or a C ``int`` (``backoff_limit``,
  ``ttl_seconds_after_finished``, DuckDB's ``threads`` and retry counts).
* :data:`MAX_THREADS`: dbt's ``threads:`` of a compute.
"""

from __future__ import annotations

import math

__all__ = ["MAX_SECONDS", "MAX_INT32", "MAX_THREADS", "duration_problem", "shown"]

#: Longest duration floe accepts, in seconds (7 days).
MAX_SECONDS = 7 * 24 * 3600.0
#: Largest integer that reaches Kubernetes (int32 fields) or a C int.
MAX_INT32 = 2**31 - 1
#: Most dbt threads a compute may ask for.
MAX_THREADS = 1024


def shown(number: object) -> str:
    """A number for an error message: ``repr``, or a short description when it is huge
    (``str()`` of an int over 4300 digits raises)."""
    if isinstance(number, int) and not isinstance(number, bool) and number.bit_length() > 128:
        digits = int(number.bit_length() * 0.30103)
        return f"a {'negative ' if number < 0 else ''}number of about {digits} digits"
    return repr(number)[:40]


def duration_problem(seconds: object) -> str | None:
    """Why ``seconds`` is not a usable duration, or None when it is (``0 < s <= MAX_SECONDS``)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return f"expected a number of seconds, got {type(seconds).__name__}"
    try:
        value = float(seconds)
    except OverflowError:
        value = math.inf
    if not (0 < value <= MAX_SECONDS):  # also false for nan
        return (
            f"must be a number of seconds greater than 0 and at most {MAX_SECONDS:g} (7 days), "
            f"got {shown(seconds)}"
        )
    return None
