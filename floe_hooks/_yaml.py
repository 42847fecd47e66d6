"""Reading YAML files safely: ``safe_load`` semantics, duplicate keys rejected, located errors.

Every failure (missing file, bad encoding, YAML syntax, a key given twice) becomes one
:class:`~floe_hooks.errors.ConfigError` naming the file and, for syntax errors, the
line and column.

Hostile files are refused before they can cost time or memory: a file larger than
:data:`MAX_FILE_BYTES` is not parsed at all; a document of more than :data:`MAX_NODES`
values is refused while it is being parsed, as soon as the count runs over (2 MiB of
``[a,a,a,...]`` would otherwise cost seconds and hundreds of MiB before any check ran);
a document nested deeper than :data:`MAX_DEPTH` levels, or whose aliases (``*name``)
would add more than :data:`MAX_ALIAS_NODES` values to what the file spells out (the
"billion laughs" attack), is refused right after parsing, before anything is built from it.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from floe_hooks._frozen import FrozenDict
from floe_hooks.errors import ConfigError
from floe_hooks.secrets import DbtTemplate

__all__ = [
    "read_yaml",
    "dump_yaml",
    "paused_gc",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_DEPTH",
    "MAX_ALIAS_NODES",
]

#: Largest ``manifest.yaml``/``floe.yaml`` read, in bytes (2 MiB): about four times a
#: product of 10,000 transforms. Checked before parsing.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Most values (scalars, lists, mappings and alias references, keys included) in one
#: document. A product of 10,000 transforms has ~68,000 and its manifest of 1,000
#: computes ~23,000; a file of that density (~10 bytes a value) reaches
#: :data:`MAX_FILE_BYTES` first, at ~220,000. Counted while parsing, so a file of millions
#: of tiny values is refused after a fraction of a second, not after building them all.
MAX_NODES = 250_000
#: Deepest nesting of lists and mappings in a document (a manifest needs about ten).
MAX_DEPTH = 64
#: Most aliases may add to a document beyond what its text spells out, counting one per
#: value plus the characters of each string (an alias of a long string costs its length).
MAX_ALIAS_NODES = 1_000_000

# libyaml's parser when PyYAML was built with it (every wheel is): 10-20x faster.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """floe's own safe dumper: PyYAML's global dumpers are never changed."""


def _represent_template(representer: Any, template: DbtTemplate) -> Any:
    return representer.represent_str(str.__str__(template))  # libyaml's emitter wants an exact str


_Dumper.add_representer(DbtTemplate, _represent_template)
_Dumper.add_representer(FrozenDict, _Dumper.represent_dict)  # a config's read-only mappings


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
#: Scalar tags whose safe constructor is a plain function of the text (no generator, no recursion).
_SCALAR_TAGS = frozenset((_NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP, "tag:yaml.org,2002:binary"))


def _deep(mark: Any) -> ConfigError:
    return ConfigError(
        f"nested more than {MAX_DEPTH} levels deep; floe files are shallow, is this the right file?",
        path=_where(mark),
    )


def _composed_child(parent: Any, index: Any, pairs: int) -> yaml.Node:
    """The node the composer started under ``parent`` at ``index`` (as given to
    ``descend_resolver``) when ``parent`` held ``pairs`` items, found once it is built."""
    if isinstance(parent, yaml.SequenceNode):
        return parent.value[index]  # type: ignore[no-any-return]
    key, value = parent.value[pairs]  # a mapping: index is None for a key, the key for a value
    return key if index is None else value  # type: ignore[no-any-return]


#: What :func:`_plain_scalar` returns for a scalar it leaves to the safe constructor.
_SLOW: Any = object()


def _plain_scalar(tag: str, value: str) -> Any:
    """The value of a null, boolean, integer, float or date, as the safe constructor gives it.

    Anything else (a date and time, ``!!binary``, a malformed explicit ``!!int x``) is
    :data:`_SLOW`: the safe constructor builds or refuses it, and its error is reported.
    """
    try:
        if tag == _NULL:
            return None
        if tag == _BOOL:
            found = _Base.bool_values.get(value.lower())
            return _SLOW if found is None else found
        if tag == _INT:
            return _yaml_int(value)
        if tag == _FLOAT:
            return _yaml_float(value)
        if tag == _TIMESTAMP and len(value) == 10 and value[4] == value[7] == "-":
            digits = value[:4] + value[5:7] + value[8:]
            if digits.isascii() and digits.isdigit():
                return datetime.date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except (ValueError, IndexError):  # `2026-02-30`, `!!int x`: the constructor raises it again
        pass
    return _SLOW


def _yaml_int(text: str) -> int:
    """PyYAML's ``construct_yaml_int``, step for step, without a method call per value."""
    if text.isdigit() and text.isascii() and (text[0] != "0" or text == "0"):
        return int(text)  # the usual case: decimal digits
    text = text.replace("_", "")
    sign = -1 if text[0] == "-" else 1
    if text[0] in "+-":
        text = text[1:]
    if text == "0":
        return 0
    if text.startswith("0b"):
        return sign * int(text[2:], 2)
    if text.startswith("0x"):
        return sign * int(text[2:], 16)
    if text[0] == "0":
        return sign * int(text, 8)
    if ":" in text:  # base 60: 1:30 is 90
        total = 0
        for part in text.split(":"):
            total = total * 60 + int(part)
        return sign * total
    return sign * int(text)


def _yaml_float(text: str) -> float:
    """PyYAML's ``construct_yaml_float``, step for step, without a method call per value."""
    text = text.replace("_", "").lower()
    sign = -1 if text[0] == "-" else 1
    if text[0] in "+-":
        text = text[1:]
    if text == ".inf":
        return sign * _Base.inf_value  # type: ignore[no-any-return]
    if text == ".nan":
        return _Base.nan_value  # type: ignore[no-any-return]
    if ":" in text:  # base 60, summed from the last part as PyYAML does (same rounding)
        total, base = 0.0, 1
        for part in reversed(text.split(":")):
            total += float(part) * base
            base *= 60
        return sign * total
    return sign * float(text)


def _construct_deep(loader: Any, node: yaml.Node) -> Any:
    return loader.construct_object(node, deep=True)


def _too_many(mark: Any) -> ConfigError:
    return ConfigError(
        f"more than {MAX_NODES} values; floe files are small, is this the right file?", path=_where(mark)
    )


class _Loader(_Base):  # type: ignore[misc]
    """``SafeLoader`` that refuses a mapping key given twice (YAML says keys are unique).

    Plain documents (strings, sequences, mappings; null, booleans, numbers and dates
    through ports of the safe constructor's own functions) are built by a direct walk of
    the node tree, several times faster than PyYAML's generic constructor on large files;
    every other node (dates with a time, ``!!binary``, merge keys, and tags the safe
    loader refuses) goes through the safe constructor unchanged.

    Values are counted as the parser composes them: PyYAML's composer, the C one too,
    calls :meth:`descend_resolver` before and :meth:`ascend_resolver` after each node
    (an alias excepted), so the count and the nesting depth are known while the file is
    read and a document of more than :data:`MAX_NODES` values stops there. The composer
    also asks :meth:`resolve` the tag of every node: the same answer as PyYAML's, from
    the same table of implicit resolvers, without its generic machinery (the safe loader
    has no path or wildcard resolvers; this one would ignore them).
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._values = 0
        self._depth = 0
        self._too_deep: tuple[Any, Any, int] | None = None
        # an alias needs an anchor (&name): without one no value is shared, so the alias
        # walk of _check_shape is needed only for depth
        if isinstance(stream, str):
            self._anchors = "&" in stream
        else:
            self._anchors = not isinstance(stream, bytes) or b"&" in stream

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        self._values += 1
        self._depth += 1
        if self._values > MAX_NODES or self._depth > MAX_DEPTH:
            self._over_limit(current_node, current_index)

    def ascend_resolver(self) -> None:
        self._depth -= 1

    def _over_limit(self, parent: Any, index: Any) -> None:
        # parent is never None: the root is the first value and at depth 1
        if self._values > MAX_NODES:
            raise _too_many(parent.start_mark)
        if self._too_deep is None:  # located once the node is built (see _composed_child)
            self._too_deep = (parent, index, len(parent.value))

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:  # plain: perhaps a number, a boolean, null, a date
                if value.isdigit() and value.isascii() and (value[0] != "0" or value == "0"):
                    return _INT  # of YAML 1.1's patterns only the integer one matches digits alone
                for tag, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if pattern.match(value):
                        return tag  # type: ignore[no-any-return]
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        if self._anchors or self._too_deep is not None:
            _check_shape(node)
        if self._too_deep is not None:  # _check_shape reports it, unless an alias hid it
            raise _deep(_composed_child(*self._too_deep).start_mark)
        self._built: dict[int, Any] = {}
        return self._build(node)

    def _build(self, node: yaml.Node) -> Any:
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            if tag == _STR:
                return node.value
            value = _plain_scalar(tag, node.value)
            if value is not _SLOW:
                return value
            if tag in _SCALAR_TAGS:  # immutable, nothing to share: skip construct_object's bookkeeping
                return self._construct(self.yaml_constructors[tag], node)
        built = self._built.get(id(node))  # an alias: share the object, as PyYAML does
        if built is not None:
            return built
        if tag == _SEQ and isinstance(node, yaml.SequenceNode):
            items: list[Any] = []
            self._built[id(node)] = items
            items.extend(map(self._build, node.value))
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
        value = self._construct(_construct_deep, node)
        self._built[id(node)] = value
        return value

    def _construct(self, constructor: Any, node: yaml.Node) -> Any:
        try:
            return constructor(self, node)
        except (yaml.YAMLError, ConfigError):
            raise
        except Exception as exc:  # `2026-02-30`, `!!int x`, `!!bool maybe`: PyYAML lets these escape
            kind = node.tag.rpartition(":")[2] or "value"
            detail = f": {exc}" if isinstance(exc, (ValueError, OverflowError)) and str(exc) else ""
            raise ConfigError(f"cannot read this {kind}{detail}", path=_where(node.start_mark)) from None

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
    again), computing each node's expanded size, i.e. what building it would cost, and
    counting the values written, alias references included (the composer counts the
    others: an alias costs it no node but still a value of the document).
    """
    sizes: dict[int, int] = {}
    spelled = 0  # what the distinct nodes weigh: the text the file spells out
    written = 1  # the values the file writes: the root and every child, an alias included
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
            raise _deep(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1 + len(node.value)
            spelled += sizes[key]
            continue
        children = _children(node)
        written += len(children)
        if written > MAX_NODES:
            raise _too_many(node.start_mark)
        active.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)


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
