"""Every bad file of the corpus gets its exact one-line answer from the real ``floe compile``.

Each case runs as a user would run it (a subprocess in the case's folder) with a previous
compile's outputs already in ``target/floe``: exit status 2, exactly the line in the
case's ``expected.txt`` on stderr (file, field path, what is wrong), no traceback, nothing
on stdout, and the output folder byte for byte as it was, with no temporary file left.

Time and peak memory per case are measured by ``benchmarks/adversarial_corpus.py``, not
asserted here.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from adversarial_harness import CORPUS, cases, expected, run_case, snapshot

CASES = cases()

Outcome = tuple[subprocess.CompletedProcess[str], dict[str, tuple[int, bytes]], dict[str, tuple[int, bytes]]]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Run the whole corpus once, a few subprocesses at a time."""
    root = tmp_path_factory.mktemp("corpus")

    def one(case: str) -> tuple[str, Outcome]:
        workdir = root / case
        process, before = run_case(case, workdir)
        return case, (process, before, snapshot(workdir / "target"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, CASES))


def test_the_corpus_covers_what_the_issue_lists() -> None:
    assert len(CASES) >= 40
    for topic in (
        "yaml-",
        "tab",
        "duplicate-top-level-key",
        "wrong-type",
        "unknown-key-threds",
        "missing-",
        "empty-manifest",
        "list-where-mapping-belongs",
        "non-utf8",
        "binary",
        "alias-bomb",
        "deep-nesting",
        "huge-file",
        "unapproved-compute",
        "unknown-plugin-type",
        "duplicate-compute-names",
        "duplicate-transform-names",
        "default-not-approved",
        "extends-cycle",
        "extends-missing-parent",
        "literal-secret",
        "parity-",
        "does-not-exist",
    ):
        assert any(topic in case for case in CASES), topic


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_its_one_line_and_costs_nothing(case: str, outcomes: dict[str, Outcome]) -> None:
    process, before, after = outcomes[case]
    assert process.returncode == 2, process.stderr
    assert process.stderr.splitlines() == [expected(case)]
    assert "Traceback" not in process.stderr
    assert process.stdout == ""
    assert after == before  # the existing outputs, byte for byte, and no temporary file


@pytest.mark.parametrize("case", CASES)
def test_the_message_names_the_file(case: str) -> None:
    line = expected(case)
    assert line.startswith("floe: error: ")
    file = line.removeprefix("floe: error: ").split(": ")[0]
    assert file.endswith((".yaml", ".yml")), line


def test_the_huge_file_is_made_not_stored() -> None:
    stored = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert stored < 200_000


def test_a_fixed_case_compiles(tmp_path: Path) -> None:
    """The harness itself: the default files of a case compile, so each case fails for its own reason."""
    from adversarial_harness import DEFAULT_MANIFEST, DEFAULT_PRODUCT, environment, floe_command

    (tmp_path / "floe.yaml").write_text(DEFAULT_PRODUCT)
    (tmp_path / "manifest.yaml").write_text(DEFAULT_MANIFEST)
    process = subprocess.run(
        [*floe_command(), "compile", "floe.yaml"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    assert (tmp_path / "target" / "floe" / "profiles.yml").is_file()
