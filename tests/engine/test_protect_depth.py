"""C2 protected departments on deep trees: every department is judged once, whatever the depth
(a chain 20,000 deep costs 20,000 steps, not 20,000²). How fast it goes is
bench/depth_scale.py --protect's business; these tests guard the outcome and count the work."""
from __future__ import annotations

import random

from builders import ledger, make_plan, sheet, snapshot, user
from tui_sync.engine.departments import plan_departments
from tui_sync.engine.mapping import mapped_frame
from tui_sync.engine.protect import (Protect, ProtectedObject, guard_departments, nearest_marked,
                                     protected_departments, protected_objects)
from tui_sync.model import Kind, Severity

DEPTH = 20_000


def chain_rows(n: int) -> list[dict]:
    rows = [dict(code=f"C{k:05}", name=f"Level {k}", parentCode=f"C{k - 1:05}" if k else "") for k in range(n)]
    random.Random(3).shuffle(rows)
    return rows


def chain_lms(n: int) -> list[dict]:
    return [dict(id=str(k), code=f"C{k:05}", name=f"Level {k}", parent=str(k - 1) if k else None) for k in range(n)]


def test_c2_nearest_marked_judges_each_node_of_a_20000_deep_chain_once():
    parent = {k: k - 1 if k else None for k in range(DEPTH)}
    judged: list[int] = []

    def marked(node: int) -> bool:
        judged.append(node)
        return node in (0, 12_000)

    nearest = nearest_marked(range(DEPTH - 1, -1, -1), parent, marked)
    assert sorted(judged) == list(range(DEPTH))  # each node once
    assert nearest[DEPTH - 1] == 12_000 and nearest[12_000] == 12_000 and nearest[11_999] == 0 and nearest[0] == 0


class CountedCodes(dict):
    """A department step's codes, counting how often the guard reads one."""

    reads = 0

    def get(self, *args):
        self.reads += 1
        return super().get(*args)


def test_c2_the_department_guard_reads_each_code_of_a_20000_deep_chain_once():
    """The guard walks the plan's tree once; a walk up from every change would read 20,000²/2 codes."""
    table = sheet(chain_rows(DEPTH))
    mapping = {c: c for c in table.headers}
    lms = snapshot().departments
    depts = plan_departments(mapped_frame(table, mapping, "department"), mapping, lms, ledger())
    depts.code_of = CountedCodes(depts.code_of)
    guard_departments(depts, lms, Protect(departments=("EXT",)), set(), "code")  # no code matches
    assert len(depts.changes) == DEPTH and depts.code_of.reads == DEPTH


def test_c2_nearest_marked_goes_round_a_cycle():
    parent = {"a": "b", "b": "c", "c": "a", "d": "a", "e": "d"}
    assert nearest_marked(["e"], parent, lambda n: n == "c") == dict.fromkeys("abcde", "c")
    assert nearest_marked(["e"], parent, lambda n: n in ("b", "d")) == {"a": "b", "b": "b", "c": "b", "d": "d",
                                                                         "e": "d"}
    assert nearest_marked(["e"], parent, lambda n: False) == dict.fromkeys("abcde")


def test_c2_a_20000_deep_chain_under_a_protected_top_is_refused_row_by_row():
    rows = chain_rows(DEPTH)
    p = make_plan(rows, [user("a", f"C{DEPTH - 1:05}")], snapshot(), protect=Protect(departments=("c00000",)))
    assert [c for c in p.changes if c.entity == "department"] == []
    warned = {pr.key: pr.message for pr in p.problems if pr.code == "protected"}
    assert len(warned) == DEPTH
    assert warned["C00000"].startswith("department C00000 would be created; it would be protected")
    assert warned[f"C{DEPTH - 1:05}"].startswith(
        f"department C{DEPTH - 1:05} would be created under protected department C00000;")
    assert {pr.severity for pr in p.problems if pr.code == "protected"} == {Severity.WARNING}
    [unknown] = [pr for pr in p.problems if pr.code == "unknown_department"]  # users: not created
    assert unknown.key == "a"


def test_c2_a_protected_subtree_20000_deep_in_the_lms_is_covered_to_its_bottom():
    lms = snapshot(chain_lms(DEPTH))
    assert protected_departments(lms.departments, Protect(departments=("C10000",))) == {
        str(k) for k in range(10_000, DEPTH)}
    bottom = f"C{DEPTH - 1:05}"
    rows = [*[dict(code=f"C{k:05}", name=f"Level {k}", parentCode=f"C{k - 1:05}" if k else "") for k in range(DEPTH)],
            dict(code="NEW", name="New", parentCode=bottom), dict(code="FINE", name="Fine", parentCode="C09999")]
    rows[-3]["name"] = "Renamed"  # the bottom department
    p = make_plan(rows, [user("a", "FINE")], lms, protect=Protect(departments=("C10000",)))
    assert {c.kind: c.key for c in p.changes if c.entity == "department"} == {Kind.CREATE_DEPARTMENT: "FINE"}
    warned = {pr.key: pr.message for pr in p.problems if pr.code == "protected"}
    assert warned == {
        bottom: f"department {bottom} is protected ([protect] departments): this row changes nothing",
        "NEW": f"department NEW would be created under protected department {bottom}; it would be protected "
               "([protect] departments): this row changes nothing"}


def test_c2_the_protected_objects_of_a_20000_deep_chain_name_the_protected_top_above_them():
    lms = snapshot(chain_lms(DEPTH))
    found = protected_objects(lms.users, lms.departments, Protect(departments=("C10000", "C15000")))
    assert len(found) == DEPTH - 10_000
    why = {o.key: o.why for o in found}
    assert why["C10000"] == '[protect] departments "C10000"'
    assert why["C15000"] == '[protect] departments "C15000"'
    assert why["C10001"] == why[f"C{DEPTH - 1:05}"] == "under protected department C10000"
    assert found[0] == ProtectedObject("department", "C10000", '[protect] departments "C10000"')
