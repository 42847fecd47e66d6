"""The loader's documented limits, at their edges: size, values, depth, aliases.

The in-process tests pin each limit's exact edge. The subprocess tests run the real
``floe compile`` on the costliest files the size limit lets the parser see (:data:`SHAPES`:
about 2 MiB of one-letter items, bare keys, empty items, aliases...): exit status 2,
one located line naming the file, no traceback, the previous outputs byte for byte.
Their time and peak memory are measured by ``benchmarks/adversarial_corpus.py``, which
runs the same shapes; no test here is timed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest
from adversarial_harness import (
    DEFAULT_MANIFEST,
    DEFAULT_PRODUCT,
    EXISTING_OUTPUTS,
    run_floe,
    snapshot,
)

from floe_hooks import ConfigError
from floe_hooks._yaml import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, read_yaml


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


# --- values (MAX_NODES) -------------------------------------------------------------

TOO_MANY = f"more than {MAX_NODES} values; floe files are small, is this the right file?"
#: Values of DEFAULT_MANIFEST: the root mapping, version, 1, compute, its mapping,
#: approved, its list, duckdb.
MANIFEST_VALUES = 8


def test_a_document_of_exactly_the_value_limit_is_read(tmp_path: Path) -> None:
    # the root mapping, key x, the list: 3 values, then the items
    text = "x: [" + ",".join(["a"] * (MAX_NODES - 3)) + "]\n"
    assert len(load(tmp_path, text)["x"]) == MAX_NODES - 3  # type: ignore[index]


def test_one_value_more_is_refused_while_parsing(tmp_path: Path) -> None:
    text = "x: [" + ",".join(["a"] * (MAX_NODES - 2)) + "]\n"
    assert error(tmp_path, text) == f"manifest.yaml: line 1, column 4: {TOO_MANY}"


def test_alias_references_count_as_values(tmp_path: Path) -> None:
    # root, key a, its scalar, key b, the list: 5 values, then one per reference
    text = "a: &s x\nb: [" + ",".join(["*s"] * (MAX_NODES - 5)) + "]\n"
    assert len(load(tmp_path, text)["b"]) == MAX_NODES - 5  # type: ignore[index]
    text = "a: &s x\nb: [" + ",".join(["*s"] * (MAX_NODES - 4)) + "]\n"
    assert error(tmp_path, text) == f"manifest.yaml: line 2, column 4: {TOO_MANY}"


def test_a_product_three_times_the_largest_benchmarked_fits_both_limits(tmp_path: Path) -> None:
    """30,000 transforms shaped like benchmarks/compile_scaling.py's (7 values each)."""
    lines = ["name: bench", "platform: manifest.yaml", "transforms:"]
    for j in range(30_000):
        compute = f", compute: c{j % 1000:04d}" if j % 10 else ""
        lines.append(f"  - {{name: t{j:05d}, path: models/group_{j // 50:04d}/t{j:05d}{compute}}}")
    text = "\n".join(lines) + "\n"
    assert len(text) < MAX_FILE_BYTES
    assert len(load(tmp_path, text)["transforms"]) == 30_000  # type: ignore[index]


class Shape(NamedTuple):
    """A hostile file that fits the size limit: which file, its text, what stderr says."""

    file: str
    text: Callable[[], str]
    #: the whole stderr line; with ``exact=False``, a part of it (after the file name)
    expected: str
    exact: bool = True


def _fill(head: str, item: str, tail: str = "]", sep: str = ",") -> str:
    """``head`` then as many ``item`` as fit the size limit, then ``tail``."""
    count = (MAX_FILE_BYTES - len(head) - len(tail) - 1) // (len(item) + len(sep))
    return head + sep.join([item] * count) + tail + "\n"


def _items(head: str, item: str, count: int, tail: str = "]") -> str:
    return head + ",".join([item] * count) + tail + "\n"


def _distinct_keys() -> str:
    keys = (f"k{i:x}: 1" for i in range(1_000_000))
    head, parts, size = DEFAULT_MANIFEST + "x: {", [], 0
    for key in keys:
        if len(head) + size + len(key) + 3 > MAX_FILE_BYTES:
            break
        parts.append(key)
        size += len(key) + 1
    return head + ",".join(parts) + "}\n"


def _refused(file: str, line: int, column: int) -> str:
    return f"floe: error: {file}: line {line}, column {column}: {TOO_MANY}"


_PRODUCT_HEAD = "name: analytics\nplatform: manifest.yaml\ntransforms: ["
_UNDER = MAX_NODES - MANIFEST_VALUES - 2  # items that bring the manifest to exactly the limit

#: The costliest files each limit lets through, by shape. Those over MAX_NODES are refused
#: while parsing, at the list or mapping where the count runs over; those just under it
#: are read and then refused for the unknown key that holds them.
SHAPES: dict[str, Shape] = {
    "list-of-one-letter-items": Shape(
        "manifest.yaml", lambda: _fill(DEFAULT_MANIFEST + "x: [", "a"), _refused("manifest.yaml", 5, 4)
    ),
    "list-of-integers": Shape(
        "manifest.yaml", lambda: _fill(DEFAULT_MANIFEST + "x: [", "1"), _refused("manifest.yaml", 5, 4)
    ),
    "mapping-of-bare-keys": Shape(
        "manifest.yaml",
        lambda: _fill(DEFAULT_MANIFEST + "x: {", "a", "}"),
        _refused("manifest.yaml", 5, 4),
    ),
    "mapping-of-distinct-keys": Shape("manifest.yaml", _distinct_keys, _refused("manifest.yaml", 5, 4)),
    "block-list-of-empty-items": Shape(
        "manifest.yaml",
        lambda: _fill(DEFAULT_MANIFEST + "x:\n", "-", "", "\n"),
        _refused("manifest.yaml", 6, 1),
    ),
    "block-list-of-one-letter-items": Shape(
        "manifest.yaml",
        lambda: _fill(DEFAULT_MANIFEST + "x:\n", "- a", "", "\n"),
        _refused("manifest.yaml", 6, 1),
    ),
    "transforms-of-empty-mappings": Shape(
        "floe.yaml", lambda: _fill(_PRODUCT_HEAD, "{}"), _refused("floe.yaml", 3, 13)
    ),
    "nesting-63-deep-repeated": Shape(
        "manifest.yaml",
        lambda: _fill(DEFAULT_MANIFEST + "x: [", "[" * 61 + "a" + "]" * 61),
        TOO_MANY,
        exact=False,
    ),
    "aliases-of-one-scalar": Shape(
        "manifest.yaml",
        lambda: _fill(DEFAULT_MANIFEST + "y: &a a\nx: [", "*a"),
        _refused("manifest.yaml", 6, 4),
    ),
    "just-under-the-limit-one-letter-items": Shape(
        "manifest.yaml",
        lambda: _items(DEFAULT_MANIFEST + "x: [", "a", _UNDER),
        "unknown key 'x'",
        exact=False,
    ),
    "just-under-the-limit-base-60-numbers": Shape(
        "manifest.yaml",
        lambda: _items(DEFAULT_MANIFEST + "x: [", "1:30", _UNDER),
        "unknown key 'x'",
        exact=False,
    ),
    "just-under-the-limit-hex-numbers": Shape(
        "manifest.yaml",
        lambda: _items(DEFAULT_MANIFEST + "x: [", "0x1F", _UNDER),
        "unknown key 'x'",
        exact=False,
    ),
    # read, then refused by validation, which stops at the first bad item of a list
    "just-under-the-limit-transforms-of-empty-mappings": Shape(
        "floe.yaml",
        lambda: _items(_PRODUCT_HEAD, "{}", MAX_NODES - 10),
        "floe: error: floe.yaml: transforms[0].name: required field is missing",
    ),
    "just-under-the-limit-transforms-of-strings": Shape(
        "floe.yaml",
        lambda: _items(_PRODUCT_HEAD, "a", MAX_NODES - 10),
        "floe: error: floe.yaml: transforms[0]: expected a mapping, got a string",
    ),
    "just-under-the-limit-transforms-of-aliases": Shape(
        "floe.yaml",
        lambda: _items(_PRODUCT_HEAD + "&t {},", "*t", MAX_NODES - 11),
        "floe: error: floe.yaml: transforms[0].name: required field is missing",
    ),
    "just-under-the-limit-dates": Shape(
        "manifest.yaml",
        lambda: _fill(DEFAULT_MANIFEST + "x: [", "2001-12-14"),
        "unknown key 'x'",
        exact=False,
    ),
}


def lay_out(shape: Shape, workdir: Path) -> list[str]:
    """Write ``shape`` and the default partner file into ``workdir``, with previous outputs."""
    workdir.mkdir(parents=True)
    (workdir / "floe.yaml").write_text(DEFAULT_PRODUCT)
    (workdir / "manifest.yaml").write_text(DEFAULT_MANIFEST)
    text = shape.text()
    assert len(text.encode()) <= MAX_FILE_BYTES  # the size limit lets it through
    (workdir / shape.file).write_text(text)
    out = workdir / "target" / "floe"
    out.mkdir(parents=True)
    for name, content in EXISTING_OUTPUTS.items():
        (out / name).write_bytes(content)
    return ["compile", "floe.yaml"]


Outcome = tuple[subprocess.CompletedProcess[str], dict[str, tuple[int, bytes]], dict[str, tuple[int, bytes]]]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Run ``floe compile`` on every shape once, two subprocesses at a time."""
    root = tmp_path_factory.mktemp("shapes")

    def one(name: str) -> tuple[str, Outcome]:
        workdir = root / name
        args = lay_out(SHAPES[name], workdir)
        before = snapshot(workdir / "target")
        process = run_floe(args, workdir, timeout=60)
        (workdir / SHAPES[name].file).unlink()  # 2 MiB each: not kept after the run
        return name, (process, before, snapshot(workdir / "target"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, SHAPES))


@pytest.mark.parametrize("name", SHAPES)
def test_a_file_of_many_tiny_values_gets_one_line(name: str, outcomes: dict[str, Outcome]) -> None:
    shape = SHAPES[name]
    process, before, after = outcomes[name]
    assert process.returncode == 2, process.stderr[-2000:]
    lines = process.stderr.splitlines()
    assert len(lines) == 1, process.stderr[-2000:]
    assert "Traceback" not in process.stderr
    assert process.stdout == ""
    if shape.exact:
        assert lines == [shape.expected]
    else:
        assert lines[0].startswith(f"floe: error: {shape.file}: ")
        assert shape.expected in lines[0]
    assert after == before  # the previous outputs, byte for byte, and no temporary file
