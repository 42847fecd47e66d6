"""Reading YAML files safely: ``safe_load`` semantics, duplicate keys rejected, located errors.

Every failure (missing file, bad encoding, YAML syntax, a key given twice) becomes one
:class:`~floe_hooks.errors.ConfigError` naming the file and, for syntax errors, the
line and column.

Hostile files are refused before they can cost time or memory: a file larger than
:data:`MAX_FILE_BYTES` is not parsed at all; a document nested deeper than
:data:`MAX_DEPTH` levels, or whose aliases (``*name``) would add more than
:data:`MAX_ALIAS_NODES` values to what the file spells out (the "billion laughs"
attack), is refused right after parsing, before anything is built from it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from floe_hooks.errors import ConfigError

__all__ = ["read_yaml", "dump_yaml", "paused_gc", "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_ALIAS_NODES"]

#: Largest ``manifest.yaml``/``floe.yaml`` read, in bytes (2 MiB): about four times a
#: product of 10,000 transforms. Checked before parsing.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Deepest nesting of lists and mappings in a document (a manifest needs about ten).
MAX_DEPTH = 64
#: Most aliases may add to a document beyond what its text spells out, counting one per
#: value plus the characters of each string (an alias of a long string costs its length).
MAX_ALIAS_NODES = 1_000_000

# libyaml's parser when PyYAML was built with it (every wheel is): 10-20x faster.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(_Base):  # type: ignore[misc]
    """``SafeLoader`` that refuses a mapping key given twice (YAML says keys are unique).

    Plain documents (strings, sequences, mappings) are built by a direct walk of the
    node tree, several times faster than PyYAML's generic constructor on large files;
    every other node (numbers, booleans, null, timestamps, merge keys, and tags the
    safe loader refuses) goes through the safe constructor unchanged.
    """

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_shape(node)
        self._built: dict[int, Any] = {}
        return self._build(node)

    def _build(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR and isinstance(node, yaml.ScalarNode):
            return node.value
        built = self._built.get(id(node))  # an alias: share the object, as PyYAML does
        if built is not None:
            return built
        if tag == _SEQ and isinstance(node, yaml.SequenceNode):
            items: list[Any] = []
            self._built[id(node)] = items
            items.extend(self._build(child) for child in node.value)
            return items
        if (
            tag == _MAP
            and isinstance(node, yaml.MappingNode)
            and not any(k.tag == _MERGE for k, _ in node.value)
        ):
            mapping: dict[Any, Any] = {}
            self._built[id(node)] = mapping
            for key_node, value_node in node.value:
                key = self._build(key_node)
                try:
                    duplicate = key in mapping
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        "found an unhashable key",
                        key_node.start_mark,
                    ) from None
                if duplicate:
                    raise ConfigError(f"duplicate key {key!r}", path=_where(key_node.start_mark))
                mapping[key] = self._build(value_node)
            return mapping
        try:
            value = self.construct_object(node, deep=True)
        except (yaml.YAMLError, ConfigError):
            raise
        except Exception as exc:  # `2026-02-30`, `!!int x`, `!!bool maybe`: PyYAML lets these escape
            kind = node.tag.rpartition(":")[2] or "value"
            detail = f": {exc}" if isinstance(exc, (ValueError, OverflowError)) and str(exc) else ""
            raise ConfigError(f"cannot read this {kind}{detail}", path=_where(node.start_mark)) from None
        self._built[id(node)] = value
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # reached for mappings with merge keys (<<): check duplicates the slow way
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:
                    continue  # unhashable: the base constructor reports it
                if duplicate:
                    raise ConfigError(f"duplicate key {key!r}", path=_where(key_node.start_mark))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _check_shape(root: yaml.Node) -> None:
    """Refuse a node graph nested deeper than MAX_DEPTH or blown up by aliases.

    One iterative walk over the distinct nodes (an alias is the same node object met
    again), computing each node's expanded size, i.e. what building it would cost.
    """
    sizes: dict[int, int] = {}
    spelled = 0  # what the distinct nodes weigh: the text the file spells out
    active: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        if finished:
            active.discard(key)
            children = _children(node)
            size = 1 + sum(sizes[id(child)] for child in children)
            sizes[key] = size
            spelled += 1
            if size - spelled > MAX_ALIAS_NODES:
                raise ConfigError(
                    f"aliases expand this value to {size} values and characters, more than "
                    f"{MAX_ALIAS_NODES} beyond what the file spells out; refusing to expand it "
                    "(a YAML alias bomb?)",
                    path=_where(node.start_mark),
                )
            continue
        if key in sizes:
            continue
        if key in active:
            raise ConfigError(
                "an alias refers to a value that contains it (a recursive structure)",
                path=_where(node.start_mark),
            )
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"nested more than {MAX_DEPTH} levels deep; floe files are shallow, is this the right file?",
                path=_where(node.start_mark),
            )
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1 + len(node.value)
            spelled += sizes[key]
            continue
        active.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node) if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    Loading 10,000 transforms allocates ~10^5 objects and triggers repeated full
    collections that cost more than the parse itself; reference counting still frees
    everything, and the collector resumes (if it was on) when the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_yaml(path: Path, display: str) -> Any:
    """Parse ``path``; errors name it as ``display`` (the path as the user gave it)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # never more, whatever the file claims
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError(
                f"larger than {MAX_FILE_BYTES // 1024**2} MiB ({MAX_FILE_BYTES} bytes), the limit "
                "for a floe file; is this the right file?",
                file=display,
            )
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=display) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, expected a YAML file", file=display) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", file=display) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=display) from None
    try:
        with paused_gc():
            return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except ConfigError as exc:
        raise exc.with_location(file=display) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{problem} ({exc.context})"
        raise ConfigError(problem, file=display, path=_where(mark) if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {str(exc).splitlines()[0]}", file=display) from None


def dump_yaml(data: Any) -> str:
    """Block-style YAML, keys in insertion order, safe types only."""
    return str(yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True))
