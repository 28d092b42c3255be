"""The review table's data (no Textual): texts, filters, decisions, undo, what a rejection blocks;
and the engine-side support the UI uses for D5 (blockers, move targets, decisions kept on re-plan)."""
from __future__ import annotations

import asyncio

from tui_sync import service
from tui_sync.model import Change, Decision, Kind, Plan, Resolution, error, warning
from tui_sync.ui.plan_rows import ANY_PROBLEM, BLOCKED, Filter, PlanView, summary


def _plan() -> Plan:
    dept = Change("create_department:ops", Kind.CREATE_DEPARTMENT, "OPS",
                  {"code": (None, "OPS"), "name": (None, "Operations"), "parentCode": (None, "HQ")}, row=2)
    user = Change("create_user:ann", Kind.CREATE_USER, "ann",
                  {"login": (None, "ann"), "email": (None, "ann@x.example"), "firstName": (None, "Ann"),
                   "lastName": (None, "Lee"), "departmentId": (None, "OPS")}, row=3,
                  depends_on=["create_department:ops"])
    upd = Change("update_user:bob", Kind.UPDATE_USER, "bob", {"jobTitle": ("Clerk", "Manager")}, row=4,
                 problems=[warning("unknown_supervisor", "user", "nobody", row=4)])
    gone = Change("delete_department:old", Kind.DELETE_DEPARTMENT, "OLD", {"code": ("OLD", None)},
                  problems=[error("department_has_users", "department", "still has users", key="OLD")])
    row_problem = error("invalid_email", "user", "bad email", row=9, key="zed")
    return Plan([dept, user, upd, gone], [row_problem, *upd.problems, *gone.problems])


def test_summary_says_what_each_change_does():
    p = _plan()
    assert summary(p.changes[0]) == "Operations, under HQ"
    assert summary(p.changes[1]) == "Ann Lee <ann@x.example> in OPS"
    assert summary(p.changes[2]) == "jobTitle: Clerk → Manager"
    assert summary(p.changes[3]) == "no longer in the sheet: delete"


def test_row_problems_are_the_plan_problems_without_a_change():
    view = PlanView(_plan())
    assert [p.code for p in view.row_problems] == ["invalid_email"]


def test_filters_by_kind_decision_problem_and_text():
    view = PlanView(_plan())
    view.set_filter(Filter(kind=Kind.CREATE_USER))
    assert [view.changes[i].key for i in view.rows] == ["ann"]
    view.set_filter(Filter(problem=ANY_PROBLEM))
    assert {view.changes[i].key for i in view.rows} == {"bob", "OLD"}
    view.set_filter(Filter(problem=BLOCKED))
    assert [view.changes[i].key for i in view.rows] == ["OLD"]
    view.set_filter(Filter(text="manager"))
    assert [view.changes[i].key for i in view.rows] == ["bob"]
    view.decide([0], Decision.REJECTED)
    view.set_filter(Filter(decision=Decision.REJECTED))
    assert [view.changes[i].key for i in view.rows] == ["OPS"]


def test_rows_are_shown_in_apply_order_then_sheet_order():
    p = _plan()
    p.changes.reverse()
    view = PlanView(p)
    assert [view.changes[i].key for i in view.rows] == ["OPS", "ann", "bob", "OLD"]


def test_a_blocked_change_is_never_approved_and_undo_restores_decisions():
    view = PlanView(_plan())
    done, refused = view.decide(range(4), Decision.APPROVED)
    assert [c.key for c in refused] == ["OLD"]
    assert len(done) == 3 and view.decision_counts[Decision.APPROVED] == 3
    assert view.restore(done) == 3
    assert all(c.decision is Decision.PENDING for c in view.changes)
    assert view.decision_counts[Decision.PENDING] == 4


def test_rejecting_a_department_create_blocks_the_user_created_in_it():
    view = PlanView(_plan())
    view.decide([0], Decision.REJECTED)
    assert [c.key for c in view.blocked_by(["create_department:ops"])] == ["ann"]


def test_blockers_list_every_user_that_keeps_a_department(demo):
    cfg = service.load(demo)
    result = asyncio.run(service.make_plan(cfg))
    mow = result.plan.by_id()["delete_department:mow-cus"]
    b = service.department_blockers(result, mow)
    assert [u.login for u in b.users] == ["ext.d.fedorov", "pavel.egorov"] and b.users_move
    acad = service.department_blockers(result, result.plan.by_id()["delete_department:ber-acad"])
    assert [d.code for d in acad.children] == ["TRAINING-EXT"] and not acad.users
    targets = {t.code for t in service.move_targets(result)}
    assert "MOW-LOG" in targets and "BER-ESG" in targets and "MOW-CUS" not in targets


def test_replanning_with_a_resolution_keeps_every_decision_by_change_id(demo):
    cfg = service.load(demo)
    first = asyncio.run(service.make_plan(cfg))
    by_id = first.plan.by_id()
    by_id["create_user:lea.sommer"].decision = Decision.APPROVED
    by_id["update_user:thomas.berger"].decision = Decision.REJECTED
    again = asyncio.run(service.replan(cfg, first, [Resolution("MOW-CUS", "MOW-LOG")]))
    now = again.plan.by_id()
    assert now["create_user:lea.sommer"].decision is Decision.APPROVED
    assert now["update_user:thomas.berger"].decision is Decision.REJECTED
    assert not now["delete_department:mow-cus"].blocked
    assert now["update_user:pavel.egorov"].fields["departmentId"][1] == "MOW-LOG"
