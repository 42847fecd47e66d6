"""The package's layout holds: no import cycle, one job per module said first, the README's table true.

* No cycle among ``floe_hooks`` modules through the imports that run when a module is
  imported (module level, outside ``if TYPE_CHECKING:``); an import inside a function
  runs later, once every module involved is complete, and is how modules reach back.
* Every module opens with a docstring whose first line says its job.
* Every module the README's module table names exists, and every public module
  (no leading underscore) is in the table.
"""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "floe_hooks"


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package."""
    out: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that run on import: module level, into ``if``/``try`` but not functions or classes."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                out.extend(_import_time_statements(node.body))
            out.extend(_import_time_statements(node.orelse))
        elif isinstance(node, ast.Try):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                out.extend(_import_time_statements(block))
        else:
            out.append(node)
    return out


def _imported_at_import_time(name: str) -> set[str]:
    """The package's modules that importing module ``name`` imports directly."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _import_time_statements(tree.body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from floe_hooks import _log` imports a submodule (its package is a parent, no edge)
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(MODULES)
            found.update(submodules)
            if node.module in MODULES and len(submodules) < len(node.names):
                found.add(node.module)
    found.discard(name)
    return found


def test_the_package_has_no_import_cycle() -> None:
    graph = {name: _imported_at_import_time(name) for name in MODULES}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_the_cycle_check_sees_a_cycle() -> None:
    """The check itself works: two modules importing each other at import time are a cycle."""
    graph = {"a": {"b"}, "b": {"a"}}
    with pytest.raises(graphlib.CycleError):
        tuple(graphlib.TopologicalSorter(graph).static_order())
    assert "floe_hooks.errors" in _imported_at_import_time("floe_hooks.manager")
    assert "floe_hooks._k8s_objects" in _imported_at_import_time("floe_hooks.kubernetes")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_says_its_job_in_its_first_docstring_line(name: str) -> None:
    doc = ast.get_docstring(ast.parse(MODULES[name].read_text(encoding="utf-8")))
    assert doc, f"{name} has no module docstring"
    first = doc.splitlines()[0].strip()
    assert len(first) > 20, f"{name}: first docstring line too short to say a job: {first!r}"


def _readme_table_modules() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| module | job |", 1)[1].split("\n\n", 1)[0]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        cell = row.split("|")[1]
        listed = [n for n in re.findall(r"`([A-Za-z_.*]+)`", cell) if "*" not in n]  # not `_*` (others)
        package = "floe_hooks"
        for item in listed:
            if item.startswith("floe_"):
                package = item.split(".")[0]
                names.add(item)
            else:  # `_layers` after `floe_hooks._resolve`: a sibling
                names.add(f"{package}.{item}")
    return names


def test_every_module_the_readme_table_names_exists() -> None:
    listed = {n for n in _readme_table_modules() if n.startswith("floe_hooks")}
    assert listed - set(MODULES) == set()


def test_every_public_module_is_in_the_readme_table() -> None:
    public = {n for n in MODULES if not any(p.startswith("_") for p in n.split(".")[1:])}
    assert public - _readme_table_modules() - {"floe_hooks"} == set()


def test_one_module_starts_threads() -> None:
    """Code waited for with a deadline runs in threads started by ``_deadline.start_worker`` alone."""
    starting = sorted(
        str(path.relative_to(ROOT))
        for package in ("floe_hooks", "floe_duckdb")
        for path in (ROOT / package).rglob("*.py")
        if "threading.Thread(" in path.read_text(encoding="utf-8")
    )
    assert starting == ["floe_hooks/_deadline.py"]
