"""Parent links (D3): one walk up a tree gives its nodes parents first, every cycle, and depths.

The planner finds `department_cycle` with it, orders department creates and deletes
by depth (A1), and `lms load` orders the departments it writes and refuses a loop.
Each node is walked once: a chain 20,000 deep costs 20,000 steps, not 20,000².
It knows nothing of departments: nodes are any hashable ids, and `parent_of` maps a
node to its parent (None, or a node missing from it, is the top).
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

Node = TypeVar("Node", bound=Hashable)

_ON_PATH, _DONE = 1, 2


@dataclass(frozen=True)
class Walk(Generic[Node]):
    parents_first: list[Node]  # every node reached, each after its parent (on a cycle: cut where the walk met it)
    cycles: list[tuple[Node, ...]]  # each once, from the node where the walk first met it, in walking order


def walk_up(starts: Iterable[Node], parent_of: Mapping[Node, Node | None]) -> Walk[Node]:
    """Walk from each of `starts` up through its ancestors until the top or a node already walked."""
    state: dict[Node, int] = {}
    order: list[Node] = []
    cycles: list[tuple[Node, ...]] = []
    for start in starts:
        path: list[Node] = []
        node: Node | None = start
        while node is not None and node not in state:
            state[node] = _ON_PATH
            path.append(node)
            node = parent_of.get(node)
        if node is not None and state[node] == _ON_PATH:
            cycles.append(tuple(path[path.index(node):]))
        for walked in path:
            state[walked] = _DONE
        order.extend(reversed(path))
    return Walk(order, cycles)


def depths(starts: Iterable[Node], parent_of: Mapping[Node, Node | None]) -> dict[Node, int]:
    """How many parent links lead up from each node reached from `starts` (0 at the top);
    a cycle is cut where the walk met it, so every node gets a finite depth."""
    depth: dict[Node, int] = {}
    for node in walk_up(starts, parent_of).parents_first:
        parent = parent_of.get(node)
        depth[node] = 0 if parent is None else depth.get(parent, -1) + 1
    return depth


__all__ = ["Walk", "walk_up", "depths"]
