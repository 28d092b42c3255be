"""D3: the one walk over parent links that the planner and `lms load` share (tui_sync.hierarchy)."""
from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

from tui_sync.hierarchy import depths, walk_up


class CountingParents(Mapping[str, str | None]):
    """Parent links that count how often they are read: the walk's cost, without a clock."""

    def __init__(self, links: dict[str, str | None]) -> None:
        self.links, self.reads = links, 0

    def __getitem__(self, node: str) -> str | None:
        self.reads += 1
        return self.links[node]

    def get(self, node: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.reads += 1
        return self.links.get(node, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.links)

    def __len__(self) -> int:
        return len(self.links)


def test_walk_puts_every_node_after_its_parent_and_finds_no_cycle_in_a_tree():
    parents = {"C": "B", "B": "A", "A": None, "D": "A", "E": "ROOT"}
    walk = walk_up(["C", "D", "E"], parents)
    assert walk.cycles == []
    assert walk.parents_first == ["A", "B", "C", "D", "ROOT", "E"]  # ROOT: a parent no link leads on from


def test_walk_reports_each_cycle_once_from_where_it_was_met_and_not_the_nodes_hanging_below_it():
    parents = {"TAIL": "A", "A": "B", "B": "C", "C": "A", "SELF": "SELF", "OK": None}
    walk = walk_up(["TAIL", "B", "SELF", "OK"], parents)
    assert walk.cycles == [("A", "B", "C"), ("SELF",)]
    assert set(walk.parents_first) == set(parents) and len(walk.parents_first) == len(parents)


def test_a_chain_20000_deep_is_walked_once_whatever_the_order_of_the_starts():
    n = 20_000
    nodes = [f"D{k}" for k in range(n)]
    parents = CountingParents({node: nodes[k - 1] if k else None for k, node in enumerate(nodes)})
    starts = nodes[:]
    random.Random(3).shuffle(starts)
    walk = walk_up(starts, parents)
    assert walk.parents_first == nodes and walk.cycles == []
    assert parents.reads <= n  # one read per node: linear, not n² / 2


def test_depths_count_the_links_up_and_stay_finite_on_a_cycle():
    assert depths(["C", "X"], {"C": "B", "B": "A", "A": None, "X": "LMS"}) == {"A": 0, "B": 1, "C": 2, "LMS": 0, "X": 1}
    loop = depths(["A"], {"A": "B", "B": "A"})
    assert set(loop) == {"A", "B"} and all(0 <= d <= 2 for d in loop.values())
