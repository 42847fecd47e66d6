"""Turn dbt's parsed manifest into floe's step DAG: one step per compute, edges from ``depends_on``.

Pure data in, pure data out (no dbt import): :func:`build_graph` takes the
``manifest.json`` dict dbt writes, so it is unit-tested with small fake manifests.

* Every runnable node (model, seed, snapshot, test, unit test) is mapped to a compute:
  a node of the project goes to the transform with the most specific path containing
  its file (:func:`floe_hooks._project.claim`); a node no transform claims, or one from
  another package, goes to the default compute.
* A data test runs with its parents: on their compute when they share one; when they
  live on several, in the step after which all of them exist (one that every other
  parent's step already precedes, else the latest of them in the graph's order, with
  the edges that guarantee it added). It runs exactly once.
* An edge ``A -> B`` exists when a node on compute B depends on a node on compute A.
  A cycle between computes is a :class:`~floe_hooks.ConfigError` naming the models.
* Each node is selected by its own name (:func:`node_selector`; ``name.vN`` for one
  version of a versioned model, which the bare name would select all of), proven to
  match that node alone under dbt's ``fqn`` rules (else qualified further), and steps
  pass ``--indirect-selection empty``: dbt runs exactly the listed nodes, whatever the paths.
"""

from __future__ import annotations

import graphlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from floe_hooks._project import claim
from floe_hooks.errors import ConfigError

__all__ = ["GraphNode", "PlannedStep", "StepGraph", "build_graph", "node_selector", "RUNNABLE", "TESTS"]

#: Node types ``dbt build`` runs.
RUNNABLE = frozenset({"model", "seed", "snapshot", "test", "unit_test"})
#: Node types that check others rather than build something.
TESTS = frozenset({"test", "unit_test"})
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_PACKAGE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class GraphNode:
    """One runnable dbt node and where it runs.

    :ivar unique_id: dbt's id (``model.shop.stg_orders``).
    :ivar name: its name.
    :ivar resource_type: ``model``, ``seed``, ``snapshot``, ``test`` or ``unit_test``.
    :ivar compute: the compute whose step runs it.
    :ivar transform: the transform claiming its file (None: unclaimed, or a test placed with its parents).
    :ivar path: its file, relative to the project.
    """

    unique_id: str
    name: str
    resource_type: str
    compute: str
    transform: str | None
    path: str


@attrs.frozen
class PlannedStep:
    """One step: every node of one compute, after the steps it needs.

    :ivar compute: the compute (``--target``).
    :ivar transforms: the transforms with nodes in it, in ``floe.yaml`` order.
    :ivar nodes: the unique ids it runs, sorted.
    :ivar select: the ``--select`` arguments naming exactly those nodes.
    :ivar needs: computes whose steps must finish first (direct edges), in plan order.
    """

    compute: str
    transforms: tuple[str, ...]
    nodes: tuple[str, ...]
    select: tuple[str, ...]
    needs: tuple[str, ...]


@attrs.frozen
class StepGraph:
    """The run plan derived from dbt's graph.

    :ivar steps: in a topological order (ties in ``floe.yaml`` order).
    :ivar edges: ``(upstream, downstream)`` compute pairs, sorted by plan order.
    :ivar nodes: every runnable node by unique id.
    :ivar selectors: every runnable node's exact ``--select`` argument, by unique id.
    :ivar examples: per edge, one ``(upstream node, downstream node)`` pair of unique ids
        that makes it (a model's dependency when there is one, else a test's parent).
    """

    steps: tuple[PlannedStep, ...]
    edges: tuple[tuple[str, str], ...]
    nodes: Mapping[str, GraphNode]
    selectors: Mapping[str, str] = attrs.field(factory=dict)
    examples: Mapping[tuple[str, str], tuple[str, str]] = attrs.field(factory=dict)

    def select(self, nodes: Iterable[str]) -> tuple[str, ...]:
        """The ``--select`` arguments naming exactly ``nodes`` (unique ids)."""
        return tuple(dict.fromkeys(self.selectors[n] for n in nodes))

    def step(self, compute: str) -> PlannedStep:
        """The step of ``compute`` (``KeyError`` if it has none)."""
        for step in self.steps:
            if step.compute == compute:
                return step
        raise KeyError(compute)


def _fqn(node: Mapping[str, Any]) -> list[str]:
    """dbt's fully qualified name of a node: ``[package, folders..., name]`` (+ ``vN`` if versioned)."""
    fqn = node.get("fqn")
    if isinstance(fqn, list) and fqn and all(isinstance(part, str) for part in fqn):
        return list(fqn)
    fallback = [str(node.get("package_name", "")), str(node.get("name", ""))]  # a manifest without fqn
    return [*fallback, f"v{node['version']}"] if _versioned(node) else fallback


def _versioned(node: Mapping[str, Any]) -> bool:
    return node.get("resource_type") == "model" and node.get("version") is not None


def _fqn_selects(fqn: Sequence[str], selector: str, versioned: bool) -> bool:
    """dbt's ``fqn`` selector method (its default) for a selector without wildcards.

    As in dbt-core 1.11 (``is_selected_node``, tried on the fqn with and without its
    package): the leaf name (for a versioned model: the model name, or ``name.vN`` /
    ``name_vN``), or a dotted prefix of the fqn (``package.folder``, ``folder``...).
    """

    def one(parts: Sequence[str]) -> bool:
        if not parts:
            return False
        wanted = selector.split(".")
        if versioned and len(parts) > 1:
            if parts[-2] == selector or "_".join(parts[-2:]) == "_".join(wanted[-2:]):
                return True
        elif parts[-1] == selector:
            return True
        flat = [item for segment in parts for item in segment.split(".")]
        return len(flat) >= len(wanted) and flat[: len(wanted)] == wanted

    return one(fqn) or one(fqn[1:])


class _Selectable:
    """Every node dbt's selectors search, to prove a selector names exactly one of them."""

    def __init__(self, nodes: Mapping[str, Mapping[str, Any]]) -> None:
        self.nodes = nodes
        self.fqns = {uid: _fqn(node) for uid, node in nodes.items()}
        # every key under which a selector could reach a node: its leaf, versioned forms, prefixes
        self.by_key: dict[str, set[str]] = {}
        for uid, fqn in self.fqns.items():
            flat = [item for segment in fqn for item in segment.split(".")]
            keys = {fqn[-1], *flat[:2]}
            if _versioned(nodes[uid]) and len(fqn) > 1:
                keys |= {fqn[-2], "_".join(fqn[-2:])}
            for key in keys:
                self.by_key.setdefault(key, set()).add(uid)

    def matches(self, selector: str) -> set[str]:
        """The nodes one selector (``name``/``a.b``, optionally ``,package:p,resource_type:t``) selects."""
        base, *filters = selector.split(",")
        parts = base.split(".")
        keys = {base, parts[0], "_".join(parts[-2:])}
        found = set()
        for uid in set().union(*(self.by_key.get(key, set()) for key in keys)):
            node = self.nodes[uid]
            if not _fqn_selects(self.fqns[uid], base, _versioned(node)):
                continue
            checks = dict(f.split(":", 1) for f in filters)
            if checks.get("package", node.get("package_name")) != node.get("package_name"):
                continue
            if checks.get("resource_type", node.get("resource_type")) != node.get("resource_type"):
                continue
            found.add(uid)
        return found

    def selector(self, uid: str) -> str | None:
        """A ``--select`` argument matching exactly this node, or None when dbt cannot express one.

        Tried in turn, the first that selects this node alone wins: its name (for a
        versioned model ``name.vN``, which selects that version only), the name
        intersected with its package and resource type (``name,package:p,resource_type:model``),
        then its fqn (``package.folder.name``), alone and so intersected.
        """
        node = self.nodes[uid]
        fqn = self.fqns[uid]
        name = f"{fqn[-2]}.{fqn[-1]}" if _versioned(node) and len(fqn) > 1 else str(node.get("name", ""))
        package = str(node.get("package_name", ""))
        qualifier = f",package:{package},resource_type:{node.get('resource_type')}"
        plain = _PLAIN_PACKAGE.fullmatch(package) is not None
        candidates = [name, name + qualifier, ".".join(fqn), ".".join(fqn) + qualifier]
        for candidate in candidates if plain else candidates[::2]:
            parts = candidate.split(",", 1)[0].split(".")
            if all(_PLAIN_NAME.fullmatch(part) for part in parts) and self.matches(candidate) == {uid}:
                return candidate
        return None


def node_selector(unique_id: str, nodes: Mapping[str, Mapping[str, Any]]) -> str | None:
    """A ``--select`` argument matching exactly one of dbt's ``nodes`` (by unique id), or None.

    The name (``name.vN`` for a versioned model) when it selects nothing else, else the
    fqn, else either qualified by package and resource type (:meth:`_Selectable.selector`).
    """
    return _Selectable(nodes).selector(unique_id)


def _parents(node: Mapping[str, Any]) -> list[str]:
    depends = node.get("depends_on") or {}
    return list(depends.get("nodes") or [])


def build_graph(
    manifest: Mapping[str, Any],
    *,
    project: str,
    transforms: Sequence[tuple[str, str, str]],
    default: str,
    file: str = "floe.yaml",
) -> StepGraph:
    """The step DAG of a parsed dbt project.

    :param manifest: dbt's ``manifest.json`` as a dict (``nodes``, and ``unit_tests``).
    :param project: the root project's name: nodes of other packages run on ``default``.
    :param transforms: ``(name, path, compute)`` of each transform, in ``floe.yaml`` order.
    :param default: the default compute.
    :param file: the product file, for error messages.
    :raises ConfigError: a cycle between computes, or a node dbt cannot select exactly.
    """
    raw: dict[str, Mapping[str, Any]] = dict(manifest.get("nodes") or {})
    raw.update(manifest.get("unit_tests") or {})
    runnable = {uid: n for uid, n in raw.items() if n.get("resource_type") in RUNNABLE}
    by_path = {tuple(path.split("/")): name for name, path, _ in transforms}
    compute_of_transform = {name: compute for name, _, compute in transforms}
    order = {compute: i for i, compute in enumerate(dict.fromkeys([c for _, _, c in transforms] + [default]))}

    nodes: dict[str, GraphNode] = {}

    def placed(uid: str, node: Mapping[str, Any], compute: str | None = None) -> GraphNode:
        path = str(node.get("original_file_path", ""))
        transform = claim(path.split("/"), by_path) if node.get("package_name") == project else None
        if compute is None:
            compute = compute_of_transform[transform] if transform is not None else default
        elif transform is not None and compute_of_transform[transform] != compute:
            transform = None
        return GraphNode(uid, str(node.get("name", "")), str(node["resource_type"]), compute, transform, path)

    for uid, node in runnable.items():
        if node["resource_type"] not in TESTS:
            nodes[uid] = placed(uid, node)

    edges: dict[tuple[str, str], tuple[str, str]] = {}  # (up, down) -> an example (upstream node, node)
    for uid, graph_node in list(nodes.items()):
        for parent in _parents(runnable[uid]):
            up = nodes.get(parent)
            if up is not None and up.compute != graph_node.compute:
                edges.setdefault((up.compute, graph_node.compute), (parent, uid))

    def descendants(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            current = todo.pop()
            for up, down in edges:
                if up == current and down not in seen:
                    seen.add(down)
                    todo.append(down)
        return seen

    for uid, node in sorted(runnable.items()):
        if node["resource_type"] not in TESTS:
            continue
        parents = [p for p in _parents(node) if p in nodes]
        computes = sorted({nodes[p].compute for p in parents}, key=lambda c: order.get(c, len(order)))
        if not computes:
            nodes[uid] = placed(uid, node)
            continue
        # a step every other parent's step already precedes; else the latest in plan order
        after_all = [c for c in computes if all(c == o or c in descendants(o) for o in computes)]
        target = after_all[0] if after_all else _latest(computes, edges, order)
        for other in computes:
            if other != target and target not in descendants(other):
                first = next(p for p in parents if nodes[p].compute == other)
                edges.setdefault((other, target), (first, uid))
        nodes[uid] = placed(uid, node, target)

    steps = _order(nodes, edges, order, file)
    selectable = _Selectable({**raw, **(manifest.get("functions") or {})})
    planned: list[PlannedStep] = []
    transform_order = [name for name, _, _ in transforms]
    all_selectors: dict[str, str] = {}
    for compute in steps:
        members = sorted(uid for uid, n in nodes.items() if n.compute == compute)
        selectors: list[str] = []
        for uid in members:
            selector = selectable.selector(uid)
            if selector is None:
                raise ConfigError(
                    f"dbt cannot select {uid} ({nodes[uid].path}) exactly by its name; "
                    "rename it to letters, digits and underscores",
                    file=file,
                    path="transforms",
                )
            selectors.append(selector)
            all_selectors[uid] = selector
        used = {nodes[uid].transform for uid in members}
        needs = tuple(sorted({up for up, down in edges if down == compute}, key=steps.index))
        planned.append(
            PlannedStep(
                compute=compute,
                transforms=tuple(t for t in transform_order if t in used),
                nodes=tuple(members),
                select=tuple(dict.fromkeys(selectors)),
                needs=needs,
            )
        )
    sorted_edges = tuple(sorted(edges, key=lambda e: (steps.index(e[0]), steps.index(e[1]))))
    return StepGraph(
        steps=tuple(planned), edges=sorted_edges, nodes=nodes, selectors=all_selectors, examples=dict(edges)
    )


def _sorter(computes: Sequence[str], edges: Iterable[tuple[str, str]]) -> graphlib.TopologicalSorter[str]:
    """The computes as a graph: each after the computes its edges say it depends on."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for compute in computes:
        sorter.add(compute)
    for up, down in edges:
        sorter.add(down, up)
    return sorter


def _latest(computes: Sequence[str], edges: Mapping[tuple[str, str], Any], order: Mapping[str, int]) -> str:
    try:
        ranked = list(_sorter(computes, edges).static_order())
    except graphlib.CycleError:
        ranked = list(computes)
    return max(computes, key=lambda c: (ranked.index(c), order.get(c, 0)))


def _order(
    nodes: Mapping[str, GraphNode],
    edges: Mapping[tuple[str, str], tuple[str, str]],
    order: Mapping[str, int],
    file: str,
) -> list[str]:
    """Computes with nodes, topologically sorted (ties in plan order); a cycle is a located error."""
    used = sorted({n.compute for n in nodes.values()}, key=lambda c: order.get(c, len(order)))
    sorter = _sorter(used, edges)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = list(exc.args[1])  # [a, b, ..., a]
        # graphlib lists the cycle against the edge direction: show it upstream first
        if (cycle[0], cycle[1]) not in edges:
            cycle.reverse()
        links = []
        for up, down in itertools.pairwise(cycle):
            first, then = edges[(up, down)]
            links.append(f"{nodes[then].unique_id} on {down} depends on {nodes[first].unique_id} on {up}")
        raise ConfigError(
            f"the dbt graph has a cycle between computes {' -> '.join(cycle)}: {'; '.join(links)}; "
            "move these models so that data flows one way between computes",
            file=file,
            path="transforms",
        ) from None
    result: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda c: order.get(c, len(order)))
        result.extend(ready)
        sorter.done(*ready)
    return result
