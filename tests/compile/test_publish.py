"""``publish_files``: the files of one folder switch together, with one rename.

The kill-at-every-step proof with the real ``floe compile`` is in
``tests/adversarial/test_races.py``; these are the unit-level rules.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import floe_hooks._atomic as atomic
from floe_hooks._atomic import publish_files, published_folder


def shown(folder: Path) -> dict[str, bytes]:
    """What a reader of ``folder/<name>`` gets, for every visible name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def test_files_link_into_one_generation_that_the_next_publish_replaces(tmp_path: Path) -> None:
    assert published_folder(tmp_path) is None
    paths = publish_files(tmp_path, {"a.txt": "one a", "b.txt": b"one b"})
    assert paths == [tmp_path / "a.txt", tmp_path / "b.txt"]
    first = published_folder(tmp_path)
    assert first is not None
    assert shown(tmp_path) == {"a.txt": b"one a", "b.txt": b"one b"}
    assert os.readlink(tmp_path / "a.txt") == ".floe/current/a.txt"
    assert shown(first) == {"a.txt": b"one a", "b.txt": b"one b"}

    publish_files(tmp_path, {"a.txt": "two a", "b.txt": "two b"})
    second = published_folder(tmp_path)
    assert second is not None
    assert second != first
    assert not first.exists()  # the superseded generation is gone
    assert sorted(os.listdir(tmp_path / ".floe")) == ["current", second.name]
    assert shown(tmp_path) == {"a.txt": b"two a", "b.txt": b"two b"}


def test_regular_files_from_an_older_writer_are_taken_over_with_their_permissions(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "a.txt").chmod(0o640)
    (tmp_path / "b.txt").write_text("old b")
    publish_files(tmp_path, {"a.txt": "new a", "b.txt": "new b"})
    assert shown(tmp_path) == {"a.txt": b"new a", "b.txt": b"new b"}
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "a.txt").is_symlink()


def test_a_failure_before_the_switch_leaves_everything_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_files(tmp_path, {"a.txt": "old a", "b.txt": "old b"})
    live = published_folder(tmp_path)
    assert live is not None
    real_fsync = os.fsync
    calls = 0

    def full_disk(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the second new file
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        publish_files(tmp_path, {"a.txt": "new a", "b.txt": "new b"})
    monkeypatch.undo()
    assert shown(tmp_path) == {"a.txt": b"old a", "b.txt": b"old b"}
    assert published_folder(tmp_path) == live
    assert sorted(os.listdir(tmp_path / ".floe")) == ["current", live.name]


def test_what_a_killed_writer_left_is_removed_by_the_next(tmp_path: Path) -> None:
    publish_files(tmp_path, {"a.txt": "a"})
    data = tmp_path / ".floe"
    (data / "gen-unfinished").mkdir()
    (data / "gen-unfinished" / "a.txt").write_text("half")
    os.symlink("gen-unfinished", data / ".current.0a1b2c.tmp")
    os.symlink(".floe/current/a.txt", tmp_path / ".a.txt.3d4e5f.tmp")
    publish_files(tmp_path, {"a.txt": "b"})
    live = published_folder(tmp_path)
    assert live is not None
    assert sorted(os.listdir(data)) == ["current", live.name]
    assert sorted(os.listdir(tmp_path)) == [".floe", "a.txt"]
    assert (tmp_path / "a.txt").read_text() == "b"


def test_a_folder_in_the_way_is_an_error_that_changes_nothing_visible(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").mkdir()
    with pytest.raises(IsADirectoryError):
        publish_files(tmp_path, {"a.txt": "new a", "b.txt": "new b"})
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert (tmp_path / "b.txt").is_dir()


@pytest.mark.parametrize("name", ["", ".", "..", "sub/file", ".floe"])
def test_names_must_be_plain_file_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a plain file name"):
        publish_files(tmp_path, {name: "x"})
    assert os.listdir(tmp_path) == []


def test_a_live_generation_removed_by_hand_does_not_stop_the_next_publish(tmp_path: Path) -> None:
    publish_files(tmp_path, {"a.txt": "one"})
    live = published_folder(tmp_path)
    assert live is not None
    for name in os.listdir(live):
        os.unlink(live / name)
    os.rmdir(live)  # `current` now dangles
    (tmp_path / "a.txt").unlink()
    (tmp_path / "a.txt").write_text("by hand")  # and a regular file to take over
    publish_files(tmp_path, {"a.txt": "two"})
    assert shown(tmp_path) == {"a.txt": b"two"}
    assert (tmp_path / "a.txt").is_symlink()
