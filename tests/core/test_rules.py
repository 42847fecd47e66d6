"""The control-character rule: answered without the regular expression for printable text, same answers."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from floe_hooks._rules import CONTROL_PATTERN, control_problem, escape_controls, first_control
from floe_hooks.errors import ConfigError

# text mixing printable characters, every control the rule names, and non-printable
# characters it does not name (a no-break space, a zero-width space, a private-use one, a
# lone surrogate)
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(["\x00", "\t", "\n", "\x1f", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"]),
        st.sampled_from(["\xa0", "\u200b", "\ue000", "\u3000", "\ud800"]),
    )
)


@given(TEXT)
@example("models/a\tb")
@example("caf\xe9\xa0")  # not printable, yet holds no control character
@example("\u2029")
def test_first_control_is_the_expressions_first_match(text: str) -> None:
    found = re.search(CONTROL_PATTERN, text)
    assert first_control(text) == (found[0] if found else None)


@given(TEXT)
@example("key\nwith\u2028breaks")
def test_escape_controls_is_the_expressions_substitution_and_one_line(text: str) -> None:
    escaped = escape_controls(text)
    assert escaped == re.sub(CONTROL_PATTERN, lambda m: repr(m[0])[1:-1], text)
    assert first_control(escaped) is None
    assert len(escaped.splitlines()) <= 1


def test_control_problem_names_the_character() -> None:
    assert control_problem("models/a\x85b", "a model path") == (
        "contains the control character '\\x85'; a model path must be printable text"
    )
    assert control_problem("models/caf\xe9\xa0", "a model path") is None


def test_a_config_error_escapes_a_line_separator_in_its_path() -> None:
    error = ConfigError("unknown key", file="m.yaml", path="settings.a\u2028b")
    assert str(error) == "m.yaml: settings.a\\u2028b: unknown key"
