"""Mask before cut (issue 16): a secret is masked in a plugin's whole message before any
line or length cut, and its stripped form is masked too."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_hooks import ComputeConfig, ConnectionResult, PluginManager, SecretRef, check_health
from floe_hooks._redact import MASK, forget_all, redact, remember
from floe_hooks.manager import _one_line

from .conftest import health_plugin

DIGITS = "0123456789"


@settings(max_examples=150, deadline=None)
@given(
    secret=st.text(DIGITS, min_size=8, max_size=40),
    at=st.integers(0, 700),
    newline=st.booleans(),
    suffix=st.sampled_from(["", "\n", "\nmore", " tail"]),
)
def test_no_digit_of_a_secret_survives_the_one_line_cut(
    secret: str, at: int, newline: bool, suffix: str
) -> None:
    """Property: wherever the secret sits (across the 500-character cut, before a line end),
    the first line floe shows holds none of it: the message is masked, then cut."""
    forget_all()
    registered = secret + ("\n" if newline else "")
    remember(registered)
    message = "x" * at + registered + suffix
    shown = _one_line(RuntimeError(message))
    assert not set(shown) & set(DIGITS), shown
    forget_all()


def test_a_secret_ending_in_a_newline_is_masked_in_its_stripped_form() -> None:
    remember("hunter2-token\n")
    assert redact("login with hunter2-token failed") == f"login with {MASK} failed"


def test_a_health_check_message_crossing_the_cut_never_shows_part_of_the_secret(
    empty_pm: PluginManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "7" * 30 + "\n"
    monkeypatch.setenv("CUT_PASSWORD", secret)

    def validate(compute: ComputeConfig, secrets: dict[str, object]) -> ConnectionResult:
        raise ConnectionError("x" * 470 + secrets["password"].reveal() + "rest")  # type: ignore[attr-defined]

    empty_pm.register(health_plugin("cutter", validate))
    compute = ComputeConfig(name="c", type="cutter", credentials={"password": SecretRef(env="CUT_PASSWORD")})
    (result,) = check_health([compute], manager=empty_pm, timeout=5)
    assert "7" not in result.message
    assert MASK[:4] in result.message or result.message.endswith("x")
