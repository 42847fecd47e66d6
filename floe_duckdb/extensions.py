"""Offline DuckDB extensions: fill a local ``extension_directory`` from PyPI wheels.

DuckDB installs extensions by downloading them from its extension server. Where that
server is unreachable (air-gapped clusters, CI), the ``duckdb-extension-<name>`` wheels on
PyPI carry the same signed binaries for one DuckDB release, as
``duckdb_extension_<name>/extensions/v<version>/<name>.duckdb_extension``. DuckDB looks
for installed extensions in ``<extension_directory>/v<version>/<platform>/``; this module
links the wheels' files there, so that with the compute's ``extension_directory`` set
and ``autoinstall_extensions: false`` both dbt and floe's check load them without a
network::

    python -m floe_duckdb.extensions build/duckdb_extensions iceberg avro httpfs

The wheels must match the installed DuckDB version exactly (their ``Requires-Dist``
pins it), otherwise nothing is linked and the error says which versions differ.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["wheel_extension_file", "link_wheel_extensions", "main"]


def _duckdb_version_and_platform() -> tuple[str, str]:
    import duckdb

    # a private connection: a half-read result on the default one blocks its next query (DuckDB 2)
    with duckdb.connect() as conn:
        ((platform,),) = conn.execute("PRAGMA platform").fetchall()
        ((version,),) = conn.execute("SELECT library_version FROM pragma_version()").fetchall()
    return str(version), str(platform)


def wheel_extension_file(name: str, version: str) -> Path | None:
    """The ``.duckdb_extension`` file that the ``duckdb-extension-<name>`` wheel ships for ``version``."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "extensions" / version / f"{name}.duckdb_extension"
        if candidate.is_file():
            return candidate
    return None


def _installed_wheel_names() -> list[str]:
    from importlib.metadata import distributions

    names = set()
    for dist in distributions():
        raw = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if raw.startswith("duckdb-extension-"):
            names.add(raw.removeprefix("duckdb-extension-").replace("-", "_"))
    return sorted(names)


def link_wheel_extensions(directory: str | os.PathLike[str], names: Iterable[str] = ()) -> dict[str, Path]:
    """Link the extensions of installed ``duckdb-extension-*`` wheels into ``directory``.

    :param directory: the compute's ``extension_directory``; created if missing.
    :param names: extensions to link (``iceberg``, ``httpfs``...); empty: every installed wheel's.
    :return: the linked file of each extension, by name.
    :raises LookupError: when a requested extension has no wheel for this DuckDB version.
    """
    version, platform = _duckdb_version_and_platform()
    wanted = list(names) or _installed_wheel_names()
    target = Path(directory) / version / platform
    linked: dict[str, Path] = {}
    missing = []
    for name in wanted:
        source = wheel_extension_file(name, version)
        if source is None:
            missing.append(name)
            continue
        target.mkdir(parents=True, exist_ok=True)
        destination = target / f"{name}.duckdb_extension"
        if destination.is_symlink() or destination.exists():
            if destination.resolve() == source.resolve():
                linked[name] = destination
                continue
            destination.unlink()
        try:
            destination.symlink_to(source)
        except OSError:  # filesystems without symlinks: copy instead
            import shutil

            shutil.copyfile(source, destination)
        linked[name] = destination
    if missing:
        pins = " ".join(f"duckdb-extension-{m.replace('_', '-')}=={version.lstrip('v')}" for m in missing)
        raise LookupError(
            f"no installed wheel provides {', '.join(missing)} for DuckDB {version}; pip install {pins}"
        )
    return linked


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m floe_duckdb.extensions DIR [NAME...]``: link wheel extensions into DIR."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m floe_duckdb.extensions EXTENSION_DIRECTORY [NAME...]")
        return 0 if args else 2
    try:
        linked = link_wheel_extensions(args[0], args[1:])
    except LookupError as exc:
        print(f"floe_duckdb.extensions: error: {exc}", file=sys.stderr)
        return 2
    for name, path in linked.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
