"""Deep structures (A1, D3, U7): long department and supervisor chains plan and apply in order.

The sheets list the chains shuffled. How fast they go is bench/depth_scale.py's business;
these tests guard the order and the outcome.
"""
from __future__ import annotations

import asyncio
import random

from tui_sync import service
from tui_sync.model import Kind
from workspace import Workspace, dept, person

DEPTH = 1200  # deeper than a chunk of writes (500): the chains cross chunks


def chains(n: int, broken_at: int | None = None) -> tuple[list[dict], list[dict]]:
    """Department k under k-1; user k in department k, reporting to user k-1. `broken_at`:
    that department names a parent no one has."""
    departments = [dept(f"C{k:05}", parent=f"C{k - 1:05}" if k else "") for k in range(n)]
    if broken_at is not None:
        departments[broken_at]["Parent"] = "NOWHERE"
    users = [person(f"u{k:05}", f"C{k:05}", Supervisor=f"u{k - 1:05}" if k else "") for k in range(n)]
    random.Random(5).shuffle(departments)
    random.Random(6).shuffle(users)
    return departments, users


def test_chains_plan_parents_first_apply_into_an_empty_lms_and_plan_nothing_after(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.sheets(*chains(DEPTH))
    plan = asyncio.run(service.make_plan(ws.config)).plan
    creates = [c.key for c in plan.changes if c.kind is Kind.CREATE_DEPARTMENT]
    assert creates == [f"C{k:05}" for k in range(DEPTH)]  # A1: each parent before its children
    report = asyncio.run(service.apply(ws.config, plan=plan, approve="all"))
    assert {c.outcome for c in report.run.changes} == {"applied"}
    departments, users = ws.departments(), ws.users()
    assert departments[f"C{DEPTH - 1:05}"]["parentCode"] == f"C{DEPTH - 2:05}"
    assert users[f"u{DEPTH - 1:05}"]["subordination"] == f"u{DEPTH - 2:05}"
    assert users[f"u{DEPTH - 1:05}"]["departmentId"] == f"C{DEPTH - 1:05}"
    assert asyncio.run(service.make_plan(ws.config)).plan.changes == []


def test_a_broken_link_high_in_a_chain_blocks_every_department_below_it(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.sheets(*chains(DEPTH, broken_at=100))
    plan = asyncio.run(service.make_plan(ws.config)).plan
    creates = {c.key for c in plan.changes if c.kind is Kind.CREATE_DEPARTMENT}
    assert creates == {f"C{k:05}" for k in range(100)}  # D3: the rest cannot be placed
    unplaced = {p.key for p in plan.problems if p.code == "unknown_parent"}
    assert unplaced == {f"C{k:05}" for k in range(100, DEPTH)}
