"""The loader's documented limits, at their edges: size, depth, aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_hooks import ConfigError
from floe_hooks._yaml import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES, read_yaml


def load(tmp_path: Path, text: str | bytes) -> object:
    path = tmp_path / "manifest.yaml"
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return read_yaml(path, "manifest.yaml")


def error(tmp_path: Path, text: str | bytes) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return str(info.value)


def test_a_file_of_exactly_the_size_limit_is_read(tmp_path: Path) -> None:
    head = b"version: 1\n"
    assert load(tmp_path, head + b"#" * (MAX_FILE_BYTES - len(head) - 1) + b"\n") == {"version": 1}


def test_one_byte_more_is_refused_before_parsing(tmp_path: Path) -> None:
    # not even YAML: it is never parsed
    message = error(tmp_path, b"\xff[" * (MAX_FILE_BYTES // 2) + b"!")
    assert message == (
        f"manifest.yaml: larger than 2 MiB ({MAX_FILE_BYTES} bytes), the limit for a floe file; "
        "is this the right file?"
    )


def test_nesting_up_to_the_depth_limit_is_read(tmp_path: Path) -> None:
    data = load(tmp_path, "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1))
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(data, list)
        (data,) = data
    assert data == 1


def test_one_level_more_is_refused(tmp_path: Path) -> None:
    message = error(tmp_path, "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH)
    assert message == (
        f"manifest.yaml: line 1, column {MAX_DEPTH + 1}: nested more than {MAX_DEPTH} levels deep; "
        "floe files are shallow, is this the right file?"
    )


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    assert error(tmp_path, "a: &a [1, *a]\n") == (
        "manifest.yaml: line 1, column 4: an alias refers to a value that contains it (a recursive structure)"
    )


def test_ordinary_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = "base: &base {threads: 2, config: {path: x.duckdb}}\nwarehouse:\n  <<: *base\n  threads: 4\n"
    assert load(tmp_path, text) == {
        "base": {"threads": 2, "config": {"path": "x.duckdb"}},
        "warehouse": {"threads": 4, "config": {"path": "x.duckdb"}},
    }


def test_aliases_may_add_up_to_the_limit(tmp_path: Path) -> None:
    # one 999-character string (1000 with its node) referenced n times adds ~1000 * n
    n = MAX_ALIAS_NODES // 1000 - 2
    text = "a: &s " + "x" * 999 + "\nb: [" + ", ".join(["*s"] * n) + "]\n"
    assert len(load(tmp_path, text)["b"]) == n  # type: ignore[index]
    text = "a: &s " + "x" * 999 + "\nb: [" + ", ".join(["*s"] * (n + 10)) + "]\n"
    assert "refusing to expand it (a YAML alias bomb?)" in error(tmp_path, text)
