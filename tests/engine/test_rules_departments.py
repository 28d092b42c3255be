"""Department rules D1–D5 (DESIGN §1), on small frames."""
from __future__ import annotations

import pytest

from builders import codes, kinds, make_plan, snapshot, user
from tui_sync.errors import UsageError
from tui_sync.model import Kind, Resolution

HQ = dict(code="HQ", name="Headquarters")


def test_d1_blank_code_or_name_is_missing_value_and_yields_no_change():
    plan = make_plan([HQ, dict(code="", name="Nameless"), dict(code="X", name="")], [user("a")])
    assert codes(plan)["missing_value"] == [3, 4]
    assert kinds(plan)["create_department"] == ["HQ"]


def test_f4_a_control_character_in_a_code_parent_code_or_key_is_invalid_characters():
    plan = make_plan([HQ, dict(code="OPS\x1b[1A", name="Ops"), dict(code="LAB", name="Lab", parentCode="H\nQ")],
                     [user("a")])
    assert [(p.row, p.column) for p in plan.problems if p.code == "invalid_characters"] == [(3, "code"), (4, "parentCode")]
    assert kinds(plan)["create_department"] == ["HQ"]
    keyed = make_plan([dict(HQ, departmentUniqueKey="k1"), dict(code="RND", name="R&D", departmentUniqueKey="k\x00")],
                      [user("a")])
    assert [(p.row, p.column) for p in keyed.problems if p.code == "invalid_characters"] == [(3, "departmentUniqueKey")]
    assert kinds(keyed)["create_department"] == ["HQ"]


def test_d1_codes_stay_text_with_leading_zeros():
    plan = make_plan([HQ, dict(code="007", name="Bond", parentCode="HQ")], [user("a", "007")])
    create = next(c for c in plan.changes if c.key == "007")
    assert create.fields["code"] == (None, "007")
    assert next(c for c in plan.changes if c.kind is Kind.CREATE_USER).fields["departmentId"] == (None, "007")


def test_d1_duplicate_code_errors_on_every_row_and_none_is_applied():
    plan = make_plan([HQ, dict(code="ops", name="A"), dict(code="OPS", name="B")], [user("a")])
    assert codes(plan)["duplicate_department_key"] == [3, 4]
    assert "ops" not in [k.casefold() for k in kinds(plan).get("create_department", [])]


def test_d1_duplicate_unique_key_errors_on_every_row():
    plan = make_plan([dict(HQ, departmentUniqueKey="K1"), dict(code="B", name="B", departmentUniqueKey="k1")],
                     [user("a")])
    assert codes(plan)["duplicate_department_key"] == [2, 3]


def test_d2_matches_by_code_case_insensitively_and_a_case_change_is_an_update():
    lms = snapshot([dict(id="1", code="hq", name="Headquarters")])
    plan = make_plan([HQ], [user("a")], lms)
    [c] = [c for c in plan.changes if c.entity == "department"]
    assert c.kind is Kind.UPDATE_DEPARTMENT and c.rule == "code" and c.fields == {"code": ("hq", "HQ")}


def test_d2_unique_key_keeps_identity_when_the_code_changes():
    lms = snapshot([dict(id="1", code="SALES", name="Sales")])
    plan = make_plan([dict(code="SALES-EU", name="Sales", departmentUniqueKey="D-1")], [user("a", "SALES-EU")],
                     lms, ledger_departments={"1": "D-1"})
    [c] = [c for c in plan.changes if c.entity == "department"]
    assert (c.kind, c.rule, c.target, c.fields) == (
        Kind.UPDATE_DEPARTMENT, "departmentUniqueKey", "1", {"code": ("SALES", "SALES-EU")})
    assert not any(c.kind is Kind.DELETE_DEPARTMENT for c in plan.changes)


def test_d2_unknown_key_falls_back_to_code_once_and_is_remembered():
    lms = snapshot([dict(id="1", code="SALES", name="Sales")])
    plan = make_plan([dict(code="SALES", name="Sales", departmentUniqueKey="D-1")], [user("a", "SALES")], lms)
    assert plan.matched_departments == {"1": "D-1"}
    assert not [c for c in plan.changes if c.entity == "department"]


def test_d2_code_match_on_a_department_known_under_another_key_is_identity_conflict():
    lms = snapshot([dict(id="1", code="SALES", name="Sales")])
    plan = make_plan([dict(code="SALES", name="Sales", departmentUniqueKey="OTHER")], [user("a", "SALES")],
                     lms, ledger_departments={"1": "D-1"})
    assert codes(plan)["identity_conflict"] == [2]


def test_d3_unknown_parent():
    plan = make_plan([HQ, dict(code="A", name="A", parentCode="NOPE")], [user("a")])
    assert codes(plan)["unknown_parent"] == [3]


def test_d3_parent_with_row_error_counts_as_unknown_and_says_so():
    plan = make_plan([HQ, dict(code="P", name=""), dict(code="C", name="C", parentCode="P")], [user("a")])
    [p] = [p for p in plan.problems if p.code == "unknown_parent"]
    assert p.row == 4 and "row 3" in p.message and "has an error" in p.message


def test_d3_cycle_is_reported_on_every_member_with_its_path():
    plan = make_plan([HQ, dict(code="A", name="A", parentCode="B"), dict(code="B", name="B", parentCode="C"),
                      dict(code="C", name="C", parentCode="A")], [user("a")])
    cyc = [p for p in plan.problems if p.code == "department_cycle"]
    assert sorted(p.row for p in cyc) == [3, 4, 5]
    assert all("→" in p.message for p in cyc)
    assert kinds(plan)["create_department"] == ["HQ"]


def test_d3_moving_a_department_under_its_own_descendant_is_a_cycle():
    lms = snapshot([dict(id="1", code="A", name="A"), dict(id="2", code="B", name="B", parent="1")])
    plan = make_plan([dict(code="A", name="A", parentCode="B")], [user("a", "A")], lms)
    assert "department_cycle" in codes(plan)


def test_d3_creates_run_parents_first_and_children_depend_on_them():
    plan = make_plan([dict(code="C", name="C", parentCode="B"), dict(code="B", name="B", parentCode="A"),
                      dict(code="A", name="A")], [user("a", "C")])
    creates = [c for c in plan.changes if c.kind is Kind.CREATE_DEPARTMENT]
    assert [c.key for c in creates] == ["A", "B", "C"]
    assert creates[2].depends_on == ["create_department:b"]


def test_d4_managed_department_no_row_names_is_deleted_but_unmanaged_never():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="GONE"), dict(id="3", code="HANDMADE")])
    plan = make_plan([HQ], [user("a")], lms, ledger_departments=["1", "2"])
    assert kinds(plan)["delete_department"] == ["GONE"]


def test_d4_a_row_with_errors_still_names_its_department():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="KEEP")])
    plan = make_plan([HQ, dict(code="KEEP", name="")], [user("a")], lms, ledger_departments=["1", "2"])
    assert "delete_department" not in kinds(plan)


def test_d4_first_sync_deletes_nothing():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="OTHER")])
    plan = make_plan([HQ], [user("a")], lms)
    assert "delete_department" not in kinds(plan)


def test_d5_department_with_users_is_blocked_and_lists_them():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="OPS")],
                   [dict(id="10", login="hand.made", department="2", status="inactive")])
    plan = make_plan([HQ], [user("a")], lms, ledger_departments=["1", "2"])
    [d] = [c for c in plan.changes if c.kind is Kind.DELETE_DEPARTMENT]
    assert d.blocked and d.problems[0].code == "department_has_users" and "hand.made" in d.problems[0].message


def test_d5_the_problem_names_the_parent_as_a_place_to_move_the_users_to():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="OPS", parent="1")],
                   [dict(id="10", login="hand.made", department="2")])
    plan = make_plan([HQ], [user("a")], lms, ledger_departments=["1", "2"])
    [d] = [c for c in plan.changes if c.kind is Kind.DELETE_DEPARTMENT]
    assert "(--move-users-of OPS --to CODE, e.g. its parent: --to HQ)" in d.problems[0].message
    top = make_plan([HQ], [user("a")], snapshot([dict(id="1", code="HQ"), dict(id="2", code="OPS")],
                                                [dict(id="10", login="hand.made", department="2")]),
                    ledger_departments=["1", "2"])
    [d] = [c for c in top.changes if c.kind is Kind.DELETE_DEPARTMENT]
    assert d.problems[0].message.endswith("(--move-users-of OPS --to CODE)")  # a top-level one has no parent


def test_d5_the_parent_is_named_as_it_reads_after_the_plan_and_only_when_it_can_take_users():
    lms = snapshot([dict(id="1", code="HQ", name="Headquarters"), dict(id="2", code="OPS", name="Ops", parent="1")],
                   [dict(id="10", login="hand.made", department="2")])
    renamed = [dict(code="HQ-NEW", name="Headquarters", departmentUniqueKey="D-1")]  # HQ renamed (by its key)
    plan = make_plan(renamed, [user("a", "HQ-NEW")], lms, ledger_departments={"1": "D-1", "2": None})
    [d] = [c for c in plan.changes if c.kind is Kind.DELETE_DEPARTMENT]
    assert d.problems[0].message.endswith("e.g. its parent: --to HQ-NEW)")
    moved = make_plan(renamed, [user("a", "HQ-NEW")], lms, ledger_departments={"1": "D-1", "2": None},
                      resolutions=[Resolution("OPS", "HQ-NEW")])  # following the hint works
    assert not [c for c in moved.changes if c.kind is Kind.DELETE_DEPARTMENT][0].blocked
    broken = make_plan([dict(code="HQ", name="")], [user("a", "HQ")], lms, ledger_departments=["1", "2"])
    [d] = [c for c in broken.changes if c.kind is Kind.DELETE_DEPARTMENT]
    assert d.problems[0].message.endswith("--to CODE)")  # HQ's row has an error: not a place to move to


def test_d5_users_moved_out_by_the_plan_unblock_the_delete_which_depends_on_the_move():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="OPS")], [dict(id="10", login="a", department="2")])
    plan = make_plan([HQ], [user("a", "HQ")], lms, ledger_departments=["1", "2"], ledger_users=["10"])
    [d] = [c for c in plan.changes if c.kind is Kind.DELETE_DEPARTMENT]
    assert not d.blocked and d.depends_on == ["update_user:a"]


def test_d5_move_users_resolution_adds_moves_and_lets_the_delete_go_ahead():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="OPS")],
                   [dict(id="10", login="contractor", department="2")])
    plan = make_plan([HQ], [user("a")], lms, ledger_departments=["1", "2"],
                     resolutions=[Resolution("ops", "HQ")])
    [d] = [c for c in plan.changes if c.kind is Kind.DELETE_DEPARTMENT]
    move = plan.by_id()["update_user:contractor"]
    assert not d.blocked and d.depends_on == [move.id] and move.fields == {"departmentId": ("OPS", "HQ")}
    assert [r.to for r in plan.resolutions] == ["HQ"]


def test_d5_resolution_to_an_unknown_department_is_a_usage_error():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="OPS")], [dict(id="10", login="c", department="2")])
    with pytest.raises(UsageError, match="--to NOWHERE"):
        make_plan([HQ], [user("a")], lms, ledger_departments=["1", "2"], resolutions=[Resolution("OPS", "NOWHERE")])


def test_d5_child_that_stays_blocks_the_parent_delete():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="OLD"), dict(id="3", code="KID", parent="2")])
    plan = make_plan([HQ, dict(code="KID", name="Kid", parentCode="")], [user("a")], lms,
                     ledger_departments=["1", "2"])
    # KID moves to the top level, so OLD is empty: deletable
    assert not plan.by_id()["delete_department:old"].blocked
    plan = make_plan([HQ], [user("a")], snapshot([dict(id="1", code="HQ"), dict(id="2", code="OLD"),
                                                  dict(id="3", code="KID", parent="2")]),
                     ledger_departments=["1", "2"])
    d = plan.by_id()["delete_department:old"]
    assert [p.code for p in d.problems] == ["department_has_children"] and "KID" in d.problems[0].message


def test_d5_deletes_run_children_first():
    lms = snapshot([dict(id="1", code="HQ"), dict(id="2", code="P"), dict(id="3", code="C", parent="2")])
    plan = make_plan([HQ], [user("a")], lms, ledger_departments=["1", "2", "3"])
    assert kinds(plan)["delete_department"] == ["C", "P"]
    assert plan.by_id()["delete_department:p"].depends_on == ["delete_department:c"]


def test_root_is_never_matched_changed_or_deleted():
    plan = make_plan([HQ], [user("a")], snapshot([dict(id="1", code="HQ")]), ledger_departments=["0", "1"])
    assert all(c.target != "0" for c in plan.changes)
