"""Atomic file writes: one file or several, all or nothing (as far as POSIX allows).

Each file's new content goes to a temporary file in the same directory, is flushed and
fsynced, and only when every temporary file is complete are they renamed over their
targets with :func:`os.replace` (atomic per file), then the directories are fsynced.
Concurrent writers of the same files take turns (an exclusive ``flock`` on each target
directory, held while writing and renaming), so the set never ends up mixed.
If anything fails before the renames, the temporary files are removed and the targets
stay byte for byte as they were. A process killed outright (SIGKILL) leaves hidden
``.<name>.*.tmp`` files, which the next writer of that directory removes. A reader sees
each file either old or new, never half written; with several files, renames happen
back to back, after all the writing, so only a kill between two renames can leave the
first file new and the next one old (``compiled_artifacts.json`` records the SHA-256 of
``profiles.yml`` to tell)::

    write_atomic("out/profiles.yml", text)
    write_files_atomic({"out/profiles.yml": profiles, "out/compiled_artifacts.json": artifact})

    with AtomicFiles() as files:          # the same, built up step by step
        files.add("out/a.txt", "a")
        files.add("out/b.txt", b"b")
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType

__all__ = ["AtomicFiles", "write_atomic", "write_files_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows): the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicFiles:
    """Collect the new contents of several files; write them all on :meth:`commit`.

    As a context manager, commits when the block ends without an exception and discards
    everything otherwise. Targets' parent directories must exist.
    """

    def __init__(self) -> None:
        self._pending: dict[Path, bytes] = {}
        self._committed = False

    def add(self, path: str | os.PathLike[str], content: str | bytes) -> None:
        """Stage ``content`` (text is encoded as UTF-8) for ``path``."""
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        self._pending[Path(path)] = data

    def commit(self) -> list[Path]:
        """Write every staged file atomically; return their paths in the order added."""
        if self._committed:
            raise RuntimeError("already committed")
        temps: list[tuple[str, Path]] = []
        # The lock covers the temporary files too: a writer killed (SIGKILL) before its
        # renames leaves its temporary files behind, and the next writer, alone in the
        # directory, removes them as stale without touching a live writer's.
        with _locked({target.parent for target in self._pending}):
            for target in self._pending:
                _remove_stale_temps(target)
            try:
                for target, data in self._pending.items():
                    temps.append((self._write_temp(target, data), target))
            except BaseException:
                for temp, _ in temps:
                    _unlink(temp)
                raise
            for index, (temp, target) in enumerate(temps):
                try:
                    os.replace(temp, target)
                except BaseException:
                    for rest, _ in temps[index:]:
                        _unlink(rest)
                    raise
        for directory in {target.parent for _, target in temps}:
            _fsync_dir(directory)
        self._committed = True
        return [target for _, target in temps]

    @staticmethod
    def _write_temp(target: Path, data: bytes) -> str:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=_temp_prefix(target), suffix=_TEMP_SUFFIX)
        try:
            try:
                mode = os.stat(target).st_mode & 0o7777  # keep the permissions of what we replace
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink(temp)
            raise
        os.close(fd)
        return temp

    def __enter__(self) -> AtomicFiles:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and not self._committed:
            self.commit()


@contextlib.contextmanager
def _locked(directories: Iterable[Path]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on each directory (sorted, so writers never deadlock).

    Two writers of the same set of files then rename their sets one after the other, so
    the files never end up half from one writer and half from the other. No lock file
    is left behind: the lock is on the directory itself. Where ``flock`` is missing
    (Windows) this does nothing.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fds: list[int] = []
    try:
        for directory in sorted(set(directories)):
            fd = os.open(directory, os.O_RDONLY)
            fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in reversed(fds):
            os.close(fd)  # closing releases the lock


_TEMP_SUFFIX = ".tmp"


def _temp_prefix(target: Path) -> str:
    """Temporary files are hidden (``.profiles.yml.k3j2x9.tmp``): never taken for outputs."""
    return f".{target.name}."


def _remove_stale_temps(target: Path) -> None:
    """Remove temporary files a killed writer left beside ``target`` (call under the lock)."""
    prefix = _temp_prefix(target)
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(_TEMP_SUFFIX) and len(name) > len(prefix) + 4:
            _unlink(os.path.join(target.parent, name))


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def write_files_atomic(files: Mapping[str | os.PathLike[str], str | bytes]) -> list[Path]:
    """Write several files all-or-nothing: every temporary file first, then the renames."""
    batch = AtomicFiles()
    for path, content in files.items():
        batch.add(path, content)
    return batch.commit()


def write_atomic(path: str | os.PathLike[str], content: str | bytes) -> Path:
    """Write one file atomically (temporary file in the same directory, fsync, rename)."""
    return write_files_atomic({path: content})[0]
