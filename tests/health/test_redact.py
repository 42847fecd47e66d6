"""_redact: every registered secret, in every spelling it is echoed in, becomes the mask."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from floe_hooks import SecretValue
from floe_hooks._redact import MASK, forget_all, known, redact, redact_fields, redact_value, remember


def test_nothing_registered_leaves_text_alone() -> None:
    assert known() == 0
    assert redact("postgres://u:pw@h") == "postgres://u:pw@h"


def test_a_remembered_secret_value_is_masked_everywhere_in_a_text() -> None:
    remember(SecretValue("tiger-123"))
    assert redact("a tiger-123 b tiger-123") == f"a {MASK} b {MASK}"


def test_escaped_and_encoded_spellings_are_masked_too() -> None:
    secret = 'p@ss "word"/\\x'
    remember(secret)
    for spelling in (secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], quote(secret, safe="")):
        assert redact(f"<{spelling}>") == f"<{MASK}>", spelling


def test_the_longest_secret_is_masked_whole() -> None:
    remember("abcd")
    remember("abcdefgh")
    assert redact("xxabcdefghxx") == f"xx{MASK}xx"


def test_very_short_values_are_not_registered() -> None:
    remember("abc")
    assert known() == 0
    assert redact("abc") == "abc"


def test_forget_all_clears_the_registry() -> None:
    remember("rotated-secret")
    forget_all()
    assert redact("rotated-secret") == "rotated-secret"


def test_redact_value_walks_containers_and_stringifies_objects() -> None:
    remember("deep-secret")
    value = {"a": ["deep-secret", 1, 2.5, None, True], "deep-secret": ("x", Path("/deep-secret"))}
    assert redact_value(value) == {"a": [MASK, 1, 2.5, None, True], MASK: ["x", f"/{MASK}"]}
    assert redact_value(RuntimeError("boom deep-secret")) == f"boom {MASK}"
    assert redact_fields({"k": "deep-secret", "n": 3}) == {"k": MASK, "n": 3}


def test_secret_values_never_show_in_repr_or_str() -> None:
    value = SecretValue("hidden-value")
    assert "hidden-value" not in repr(value)
    assert "hidden-value" not in str(value)
    assert "hidden-value" not in repr({"password": value})
