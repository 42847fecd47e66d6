"""Reading YAML files safely: ``safe_load`` semantics, duplicate keys rejected, located errors.

Every failure (missing file, bad encoding, YAML syntax, a key given twice) becomes one
:class:`~floe_hooks.errors.ConfigError` naming the file and, for syntax errors, the
line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from floe_hooks.errors import ConfigError

__all__ = ["read_yaml", "dump_yaml"]

# libyaml's parser when PyYAML was built with it (every wheel is): 10-20x faster.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


class _Loader(_Base):  # type: ignore[misc]
    """``SafeLoader`` that refuses a mapping key given twice (YAML says keys are unique)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:
                    continue  # unhashable: the base constructor reports it
                if duplicate:
                    raise ConfigError(f"duplicate key {key!r}", path=_where(key_node.start_mark))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def read_yaml(path: Path, display: str) -> Any:
    """Parse ``path``; errors name it as ``display`` (the path as the user gave it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=display) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, expected a YAML file", file=display) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", file=display) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=display) from None
    try:
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
