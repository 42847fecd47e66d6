"""Kubernetes resource quantities (``500m``, ``2``, ``512Mi``, ``1.5G``, ``129e6``).

Parsed exactly as the Kubernetes API server reads them, to exact fractions, so that
requests and limits compare correctly across units (``1Gi`` > ``1G``).
"""

from __future__ import annotations

import re
from fractions import Fraction

_QUANTITY = re.compile(
    r"(?P<num>\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def _kind(value: object) -> str:
    from floe_hooks._text import kind

    return kind(value)


def parse_quantity(text: str) -> Fraction:
    """Return the exact value of a Kubernetes quantity, or raise ``ValueError``.

    Negative quantities are rejected: no resource request or limit can be negative.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a Kubernetes quantity string, got {_kind(text)}")
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 4Gi)")
    value = Fraction(match["num"])
    suffix = match["suffix"]
    if suffix in _BINARY:
        value *= _BINARY[suffix]
    elif suffix in _DECIMAL:
        value *= Fraction(10) ** _DECIMAL[suffix]
    elif suffix:
        value *= Fraction(10) ** int(suffix[1:])
    return value


def memory_bytes(text: str) -> int:
    """Bytes of a memory quantity, rounded down."""
    return int(parse_quantity(text))


def cpu_millicores(text: str) -> int:
    """Millicores of a CPU quantity, rounded up as Kubernetes does."""
    value = parse_quantity(text) * 1000
    return -(-value.numerator // value.denominator)
