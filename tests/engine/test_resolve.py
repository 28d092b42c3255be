"""D5 for the operator: what blocks a department delete, as data, and re-planning that keeps decisions."""
from __future__ import annotations

import asyncio

from tui_sync import service
from tui_sync.model import Decision, Resolution


def test_blockers_list_the_users_and_children_the_planner_found(tmp_path):
    cfg = asyncio.run(service.prepare_demo(tmp_path))
    result = asyncio.run(service.make_plan(cfg))
    by_id = result.plan.by_id()
    users = service.department_blockers(result, by_id["delete_department:mow-cus"])
    assert [u.login for u in users.users] == ["ext.d.fedorov", "pavel.egorov"] and users.users_move
    assert users.users[1].status == "active" and users.children == ()
    assert users.parent == "MOW"  # where its users most likely go
    kids = service.department_blockers(result, by_id["delete_department:ber-acad"])
    assert [c.code for c in kids.children] == ["TRAINING-EXT"] and kids.users == () and not kids.users_move
    targets = [t.code for t in service.move_targets(result)]
    assert "MOW" in targets and "MOW-CUS" not in targets and "LON-ECOM" in targets


def test_replan_with_a_resolution_keeps_every_other_decision(tmp_path):
    cfg = asyncio.run(service.prepare_demo(tmp_path))
    first = asyncio.run(service.make_plan(cfg))
    first.plan.by_id()["create_user:lea.sommer"].decision = Decision.REJECTED
    first.plan.by_id()["update_user:thomas.berger"].decision = Decision.APPROVED
    again = asyncio.run(service.replan(cfg, first, [Resolution("MOW-CUS", "MOW")]))
    by_id = again.plan.by_id()
    assert by_id["create_user:lea.sommer"].decision is Decision.REJECTED
    assert by_id["update_user:thomas.berger"].decision is Decision.APPROVED
    assert not by_id["delete_department:mow-cus"].blocked
    assert by_id["update_user:ext.d.fedorov"].fields == {"departmentId": ("MOW-CUS", "MOW")}
