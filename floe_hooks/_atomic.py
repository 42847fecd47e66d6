"""Atomic file writes: one file, several files, or a whole generation of files.

:func:`publish_files` is what ``floe compile`` uses: the files of one output directory
switch together, with a single rename, even if the process is killed at any instant::

    target/floe/profiles.yml            -> .floe/current/profiles.yml
    target/floe/compiled_artifacts.json -> .floe/current/compiled_artifacts.json
    target/floe/.floe/current           -> gen-k3j2x9        (the one rename that commits)
    target/floe/.floe/gen-k3j2x9/       (profiles.yml, compiled_artifacts.json)

:func:`write_atomic` and :func:`write_files_atomic` replace files in place: each new
content goes to a hidden temporary file in the same directory (``.<name>.*.tmp``), is
flushed and fsynced, and only when every temporary file is complete are they renamed
over their targets with :func:`os.replace` (atomic per file), then the directories are
fsynced. A reader sees each file old or new, never half written; but with several files,
only :func:`publish_files` also rules out a kill between two renames leaving a mix.

Every writer holds an exclusive ``flock`` on the target directories while it writes and
renames, so concurrent writers take turns, and removes what a writer killed outright
(SIGKILL) left behind: temporary files, unfinished generations. If anything fails before
the commit, the targets stay byte for byte as they were::

    publish_files("out", {"profiles.yml": profiles, "compiled_artifacts.json": artifact})
    write_atomic("out/kubernetes.yaml", text)

    with AtomicFiles() as files:          # write_files_atomic, built up step by step
        files.add("out/a.txt", "a")
        files.add("out/b.txt", b"b")
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType

__all__ = ["AtomicFiles", "publish_files", "published_folder", "write_atomic", "write_files_atomic"]


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
        self._pending[Path(path)] = _as_bytes(content)

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
            _write_all(fd, data)
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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


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


# --------------------------------------------------------------------------- generations

#: The hidden folder, inside an output directory, that holds the published generations.
GENERATIONS = ".floe"
#: The symlink (inside :data:`GENERATIONS`) naming the live generation.
CURRENT = "current"
_GEN_PREFIX = "gen-"


def published_folder(directory: str | os.PathLike[str]) -> Path | None:
    """The live generation folder of ``directory``, or None when nothing was published.

    Files read from the returned folder all belong to one generation, even while another
    process publishes (the folder is removed only after a later switch; open files stay
    readable)::

        folder = published_folder("target/floe")
        profiles = (folder / "profiles.yml").read_bytes()
        artifact = (folder / "compiled_artifacts.json").read_bytes()   # the same compile
    """
    data_dir = Path(directory) / GENERATIONS
    live = _current(data_dir)
    return data_dir / live if live else None


def publish_files(directory: str | os.PathLike[str], files: Mapping[str, str | bytes]) -> list[Path]:
    """Publish several files of one directory as one generation: all switch at once.

    Each file is written, fsynced, into a fresh generation folder
    ``DIR/.floe/gen-<random>/``; then one ``rename`` of the symlink ``DIR/.floe/current``
    switches every file together, since ``DIR/<name>`` is a fixed symlink to
    ``.floe/current/<name>`` (the layout Kubernetes uses for ConfigMap volumes). At any
    instant, even after a SIGKILL at any step, ``DIR`` shows one whole generation: the
    previous one or the new one, never a mix. A reader wanting both files of one
    generation without a lock resolves ``DIR/.floe/current`` once and reads from there::

        publish_files("target/floe", {"profiles.yml": profiles, "compiled_artifacts.json": artifact})

    Regular files left by an older writer (or by hand) are first moved into a generation
    of their own, unchanged, so the switch to links never shows a mix either. Writers take
    turns (an exclusive ``flock`` on ``DIR``); each removes what a killed writer left:
    unfinished generations, temporary links, superseded generations.

    :param directory: the output directory; it must exist.
    :param files: file name (no folders) to content; text is encoded as UTF-8.
    :return: ``DIR/<name>`` for each file, in the order given.
    """
    out = Path(directory)
    staged = {_plain_name(name): _as_bytes(content) for name, content in files.items()}
    if not _SYMLINKS:  # pragma: no cover - Windows without symlink rights: file by file
        return write_files_atomic({out / name: data for name, data in staged.items()})
    data_dir = out / GENERATIONS
    with _locked([out]):
        _refuse_foreign_links(out, staged)
        data_dir.mkdir(exist_ok=True)
        _remove_stale_generations(data_dir)
        for name in staged:
            _remove_stale_temps(out / name)
        _link_names(out, staged)
        modes = {name: _mode_of(out / name) for name in staged}
        generation = _new_generation(data_dir, {name: (data, modes[name]) for name, data in staged.items()})
        try:
            _switch(data_dir, generation.name)
        except BaseException:
            _remove_tree(generation)
            raise
        _remove_stale_generations(data_dir)
    return [out / name for name in staged]


_SYMLINKS = os.name != "nt"


def _plain_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or os.sep in name or name == GENERATIONS:
        raise ValueError(f"not a plain file name: {name!r}")
    return name


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else bytes(content)


def _mode_of(path: Path) -> int:
    """The permissions of what ``path`` shows now (kept), else the umask's default."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _link_target(name: str) -> str:
    return f"{GENERATIONS}/{CURRENT}/{name}"


def _current(data_dir: Path) -> str | None:
    """The live generation's folder name, or None when nothing was published yet."""
    try:
        return os.readlink(data_dir / CURRENT)
    except FileNotFoundError:
        return None


def _link_names(out: Path, staged: Mapping[str, bytes]) -> None:
    """Make each ``DIR/<name>`` the fixed link into the live generation, changing nothing a
    reader sees: what ``DIR`` shows now is first copied into a generation of its own."""
    todo = [name for name in staged if _readlink(out / name) != _link_target(name)]
    if not todo:
        return
    data_dir = out / GENERATIONS
    live = _current(data_dir)
    shown: dict[str, tuple[bytes, int]] = {}
    names = set(staged) | set(_listdir(data_dir / live) if live else ())
    for name in sorted(names):
        try:
            with open(out / name, "rb") as handle:  # what a reader of DIR/<name> gets now
                shown[name] = (handle.read(), os.fstat(handle.fileno()).st_mode & 0o7777)
        except (FileNotFoundError, NotADirectoryError):
            continue
    snapshot = _new_generation(data_dir, shown)
    try:
        _switch(data_dir, snapshot.name)
    except BaseException:
        _remove_tree(snapshot)
        raise
    for name in todo:
        _replace_with_link(out / name, _link_target(name))


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:  # gone (removed by hand), or not a folder: nothing to carry over
        return []


def _readlink(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:  # missing, or not a link
        return None


def _new_generation(data_dir: Path, files: Mapping[str, tuple[bytes, int]]) -> Path:
    """A complete, fsynced generation folder holding ``files`` (name -> content, mode)."""
    folder = Path(tempfile.mkdtemp(dir=data_dir, prefix=_GEN_PREFIX))
    try:
        for name, (data, mode) in files.items():
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.fchmod(fd, mode)
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        os.chmod(folder, 0o755 & ~_umask())
        _fsync_dir(folder)
    except BaseException:
        _remove_tree(folder)
        raise
    return folder


def _switch(data_dir: Path, generation: str) -> None:
    """Point ``current`` at ``generation`` with one rename: the commit point."""
    _replace_with_link(data_dir / CURRENT, generation)


def _replace_with_link(path: Path, target: str) -> None:
    """Atomically make ``path`` a symlink to ``target`` (a temporary link renamed over it)."""
    temp = path.parent / f".{path.name}.{os.urandom(6).hex()}{_TEMP_SUFFIX}"
    os.symlink(target, temp)
    try:
        os.replace(temp, path)
    except BaseException:
        _unlink(str(temp))
        raise
    _fsync_dir(path.parent)


def _remove_stale_generations(data_dir: Path) -> None:
    """Remove every generation but the live one, and temporary links (call under the lock).

    Only what floe makes is removed: a ``gen-*`` folder (never a link of that name, which
    :func:`_refuse_foreign_links` has refused already) and ``.current.*.tmp`` links.
    """
    live = _current(data_dir)
    for name in os.listdir(data_dir):
        path = data_dir / name
        if name.startswith(_GEN_PREFIX) and name != live:
            _remove_tree(path)
        elif name.startswith(f".{CURRENT}.") and name.endswith(_TEMP_SUFFIX) and os.path.islink(path):
            _unlink(str(path))


def _remove_tree(folder: Path) -> None:
    """Remove a generation folder floe made: the files in it, then the folder.

    Never follows a link: the folder is opened with ``O_NOFOLLOW`` (a link in its place
    is left alone), its entries are removed relative to that open folder, and a link
    inside it is removed as a link. A sub-folder (floe never makes one) is left, and so
    is the folder that holds it.
    """
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:  # gone, not a folder, or a link (ELOOP): nothing of ours to remove
        return
    try:
        for name in os.listdir(fd):
            try:
                if stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                    continue
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                continue
    finally:
        os.close(fd)
    try:
        os.rmdir(folder)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ENOTEMPTY, errno.EEXIST):
            raise


def _foreign(path: Path, what: str) -> Exception:
    from floe_hooks.errors import ConfigError

    try:
        target = f" (to {os.readlink(path)!r})"
    except OSError:
        target = ""
    return ConfigError(
        f"{what}{target}, which floe did not make; floe never follows or deletes through links in "
        "its output folder: remove it and compile again",
        file=str(path),
    )


def _refuse_foreign_links(out: Path, staged: Mapping[str, bytes]) -> None:
    """Refuse an output folder whose floe-owned parts are links (or things) floe did not make.

    Floe makes exactly these links: ``DIR/<name>`` to ``.floe/current/<name>`` and
    ``DIR/.floe/current`` to a plain ``gen-*`` name. A link anywhere else among them
    (``DIR/.floe`` itself, a ``gen-*`` entry, a file of the live generation) or a link
    with another target could make cleanup delete, or publishing read, files outside
    ``DIR``: :class:`~floe_hooks.errors.ConfigError` (``floe`` exits 2), nothing changed.
    """
    data_dir = out / GENERATIONS
    for name in staged:
        link = _readlink(out / name)
        if link is not None and link != _link_target(name):
            raise _foreign(out / name, "is a symbolic link")
    try:
        mode = os.lstat(data_dir).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise _foreign(data_dir, "is a symbolic link")
    if not stat.S_ISDIR(mode):
        raise _foreign(data_dir, "is not a folder")
    live = None
    for name in os.listdir(data_dir):
        path = data_dir / name
        if name == CURRENT:
            live = _readlink(path)
            if live is None or "/" in live or os.sep in live or not live.startswith(_GEN_PREFIX):
                raise _foreign(path, "is not a link to a generation")
        elif name.startswith(_GEN_PREFIX):
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                raise _foreign(path, "is a symbolic link")
            if not stat.S_ISDIR(mode):
                raise _foreign(path, "is not a folder")
    if live is not None:
        for name in _listdir(data_dir / live):
            if not stat.S_ISREG(os.lstat(data_dir / live / name).st_mode):
                raise _foreign(data_dir / live / name, "is not a regular file")
