"""U2, U3, U6, U7, L1 on an LMS that holds one login or email twice (differing only in case, as
iSpring allows) and a ledger that holds one unique key for two LMS users: a row that matches more
than one LMS user yields no change and one `identity_conflict` naming them; a plan's change ids
are unique whatever the LMS holds."""
from __future__ import annotations

import random

from builders import codes, kinds, make_plan, snapshot, user
from tui_sync.model import Resolution
from tui_sync.plan_shape import plan_problem

DEPTS = [dict(code="HQ", name="HQ")]
LMS_DEPTS = [dict(id="1", code="HQ", name="HQ")]
USER_COLUMNS = ("login", "email", "firstName", "lastName", "departmentId", "userUniqueKey", "subordination",
                "coSubordination", "jobTitle", "status")


def lms(*users):
    return snapshot(LMS_DEPTS, [dict(department="1", **u) for u in users])


ANN_TWICE = lms(dict(id="12", login="ann.lee", email="ann.lee@example.com"),
                dict(id="57", login="Ann.Lee", email="ann.lee2@example.com"))


def user_changes(plan):
    return [c for c in plan.changes if c.entity == "user"]


def errors_at(plan, row):
    return [p for p in plan.problems if p.row == row and p.is_error]


def test_u2_a_login_the_lms_holds_twice_in_case_is_one_identity_conflict_and_no_change():
    plan = make_plan(DEPTS, [user("ann.lee", email="new@example.com", jobTitle="Boss")], ANN_TWICE)
    assert user_changes(plan) == []
    [p] = errors_at(plan, 2)
    assert (p.code, p.column, p.key) == ("identity_conflict", "login", "ann.lee")
    assert p.message == ("the LMS holds 2 users with login ann.lee: ids 12 (ann.lee), 57 (Ann.Lee); "
                         "merge or rename one in the LMS; the row is not applied")


def test_u2_a_login_held_twice_is_a_conflict_even_when_the_email_finds_one_of_them():
    plan = make_plan(DEPTS, [user("ann.lee", jobTitle="Boss")], ANN_TWICE)
    assert user_changes(plan) == []
    assert [p.code for p in plan.problems] == ["identity_conflict"]
    assert "ids 12 (ann.lee), 57 (Ann.Lee)" in plan.problems[0].message


def test_u2_an_email_the_lms_holds_twice_is_one_identity_conflict_at_the_email():
    snap = lms(dict(id="12", login="ann", email="shared@example.com"),
               dict(id="57", login="bob", email="Shared@Example.com"))
    plan = make_plan(DEPTS, [user("ann", email="shared@example.com", jobTitle="Boss")], snap)
    assert user_changes(plan) == []
    [p] = errors_at(plan, 2)
    assert (p.code, p.column) == ("identity_conflict", "email")
    assert p.message == ("the LMS holds 2 users with email shared@example.com: ids 12 (ann), 57 (bob); "
                         "merge them or change the email of one in the LMS; the row is not applied")


def test_u2_login_and_email_each_held_twice_are_one_problem_naming_both():
    snap = lms(dict(id="12", login="ann", email="a@example.com"), dict(id="57", login="ANN", email="b@example.com"),
               dict(id="60", login="cy", email="A@example.com"))
    plan = make_plan(DEPTS, [user("ann", email="a@example.com")], snap)
    [p] = plan.problems
    assert p.code == "identity_conflict" and p.column == "login"
    assert "login ann: ids 12 (ann), 57 (ANN)" in p.message
    assert "email a@example.com: ids 12 (ann), 60 (cy)" in p.message


def test_l1_a_key_the_ledger_holds_for_two_users_is_only_an_identity_conflict():
    snap = lms(dict(id="12", login="ann.lee"), dict(id="57", login="bob"))
    plan = make_plan(DEPTS, [user("ann.lee", jobTitle="Boss", userUniqueKey="K1")], snap,
                     ledger_users={"12": "K1", "57": "k1"})
    assert user_changes(plan) == []
    [p] = errors_at(plan, 2)
    assert (p.code, p.column) == ("identity_conflict", "userUniqueKey")
    assert p.message == ("the ledger records unique key K1 for 2 LMS users: ids 12 (ann.lee), 57 (bob); "
                         "delete or merge the wrong one in the LMS (its ledger entry goes with it); "
                         "the row is not applied")
    assert plan.matched_users == {}


def test_u7_a_supervisor_row_the_lms_holds_twice_is_an_unknown_supervisor_not_a_crash():
    plan = make_plan(DEPTS, [user("ann.lee", email="new@example.com", jobTitle="Boss"),
                             user("bob", subordination="ann.lee", coSubordination="Ann.Lee")], ANN_TWICE)
    assert kinds(plan) == {"create_user": ["bob"]}
    [bob] = [c for c in plan.changes if c.key == "bob"]
    assert "subordination" not in bob.fields and "coSubordination" not in bob.fields  # inherited
    assert codes(plan) == {"identity_conflict": [2], "unknown_supervisor": [3, 3]}
    sup = [p for p in plan.problems if p.code == "unknown_supervisor"]
    assert [p.column for p in sup] == ["subordination", "coSubordination"]
    assert sup[0].message == ("subordination ann.lee names 2 LMS users: ids 12 (ann.lee), 57 (Ann.Lee); "
                              "merge or rename one in the LMS; the link is set to inherited")


def test_u7_a_supervisor_login_the_lms_holds_twice_and_no_row_names_is_no_guess():
    plan = make_plan(DEPTS, [user("bob", subordination="ANN.LEE")], ANN_TWICE)
    [bob] = user_changes(plan)
    assert "subordination" not in bob.fields
    assert codes(plan) == {"unknown_supervisor": [2]}


def test_u6_a_row_that_matches_two_users_still_points_to_both():
    plan = make_plan(DEPTS, [user("ann.lee", email="new@example.com")], ANN_TWICE, ledger_users=["12", "57"])
    assert user_changes(plan) == []


def test_u6_two_managed_users_of_one_login_in_case_are_removed_under_two_ids():
    plan = make_plan(DEPTS, [user("cy")], lms(dict(id="12", login="ann.lee"), dict(id="57", login="Ann.Lee"),
                                              dict(id="60", login="dee")),
                     ledger_users=["12", "57", "60"])
    removed = [(c.id, c.target) for c in plan.changes if c.kind.value == "inactivate_user"]
    assert removed == [("inactivate_user:ann.lee#12", "12"), ("inactivate_user:ann.lee#57", "57"),
                       ("inactivate_user:dee", "60")]


def _hostile_case(r: random.Random):
    """A small random LMS with logins, emails, ledger keys and department codes repeated in other
    cases, and sheets that name them, with supervisors, statuses and a department to remove."""
    names = ["ann", "Ann", "ANN", "bob", "Bob", "cy"]
    depts = [dict(id="1", code="HQ"), dict(id="2", code="OPS"), dict(id="3", code="ops", parent=r.choice([None, "2"]))]
    users = [dict(id=str(10 + i), login=r.choice(names), email=r.choice(names) + "@x.org",
                  department=r.choice(["1", "2", "3"]), status=r.choice(["active", "inactive"]),
                  sup=r.choice([None, "10", "11"]))
             for i in range(r.randint(1, 6))]
    ledger = {u["id"]: r.choice(["K1", "k1", "K2", None]) for u in users if r.random() < 0.6}
    rows = [user(r.choice(["ann", "bob", "cy", "dee", f"new{j}"]), dept=r.choice(["HQ", "OPS", "ops"]),
                 email=r.choice(names).lower() + "@x.org", userUniqueKey=r.choice(["K1", "K2", ""]),
                 subordination=r.choice([*names, "", "dee"]), coSubordination=r.choice(["", "ann", "bob"]),
                 jobTitle=f"T{j}", status=r.choice(["", "inactive", "active"]))
            for j in range(r.randint(1, 4))]
    dept_rows = [dict(code="HQ", name="HQ"), *([dict(code="OPS", name="Ops")] if r.random() < 0.5 else [])]
    resolutions = [Resolution("OPS", "HQ")] if r.random() < 0.5 else []
    return snapshot(depts, users), rows, ledger, dept_rows, resolutions


def test_p1_change_ids_are_unique_and_rows_with_errors_change_nothing_whatever_the_lms_holds():
    r = random.Random(20261205)
    for _ in range(150):
        snap, rows, ledger, dept_rows, resolutions = _hostile_case(r)
        plan = make_plan(dept_rows, rows, snap, ledger_users=ledger, ledger_departments=["1", "2", "3"],
                         user_columns=USER_COLUMNS, resolutions=resolutions)
        case = (rows, snap.users.to_dicts(), ledger, dept_rows, resolutions)
        ids = [c.id for c in plan.changes]
        assert len(ids) == len(set(ids)), case
        assert plan_problem(plan.changes) is None, case  # what apply --plan checks: unique ids, known dependencies
        bad = {p.row for p in plan.problems if p.is_error and p.entity == "user"}
        # (a D5 move names the row that points to the user it moves, errors or not)
        assert not [c.id for c in plan.changes
                    if c.entity == "user" and c.row in bad and set(c.fields) != {"departmentId"}], case
        targets = [c.target for c in plan.changes if c.kind.value == "update_user"]
        assert len(targets) == len(set(targets)), case
        assert set(plan.matched_users) <= set(snap.users["id"])


def test_d5_moving_two_users_of_one_login_in_case_makes_two_changes_the_delete_waits_for():
    snap = snapshot([dict(id="1", code="HQ"), dict(id="2", code="OPS")],
                    [dict(id="12", login="ann.lee", department="2"), dict(id="57", login="Ann.Lee", department="2")])
    plan = make_plan(DEPTS, [user("cy")], snap, ledger_departments=["1", "2"],
                     resolutions=[Resolution("OPS", "HQ")])
    moves = [(c.id, c.target) for c in plan.changes if c.kind.value == "update_user"]
    assert sorted(moves) == [("update_user:ann.lee#12", "12"), ("update_user:ann.lee#57", "57")]
    [delete] = [c for c in plan.changes if c.kind.value == "delete_department"]
    assert sorted(delete.depends_on) == ["update_user:ann.lee#12", "update_user:ann.lee#57"]
    assert plan_problem(plan.changes) is None


def test_p1_logins_that_case_fold_alike_make_two_creates_told_apart_by_row():
    plan = make_plan(DEPTS, [user("straße"), user("strasse"), user("cy", subordination="straße")],
                     lms(), user_columns=USER_COLUMNS)
    creates = [c for c in plan.changes if c.kind.value == "create_user"]
    assert [(c.id, c.key) for c in creates] == [
        ("create_user:strasse#row2", "straße"), ("create_user:strasse#row3", "strasse"), ("create_user:cy", "cy")]
    assert creates[2].depends_on == ["create_user:strasse#row2", "create_user:strasse#row3"]
    assert plan_problem(plan.changes) is None


def test_d2_a_row_that_names_two_lms_departments_of_one_code_in_case_updates_neither():
    snap = snapshot([dict(id="1", code="OPS"), dict(id="2", code="ops")], [])
    plan = make_plan([dict(code="OPS", name="Ops")], [user("a", dept="OPS")], snap, ledger_departments=["1", "2"])
    assert plan.changes == []
    assert codes(plan) == {"identity_conflict": [2], "unknown_department": [2]}
    assert plan_problem(plan.changes) is None


def test_p1_deleting_a_department_and_its_child_of_one_code_in_case_waits_on_the_child_only():
    snap = snapshot([dict(id="1", code="HQ"), dict(id="2", code="OPS"), dict(id="3", code="ops", parent="2")], [])
    plan = make_plan([dict(code="HQ", name="HQ")], [user("a")], snap, ledger_departments=["1", "2", "3"])
    deletes = {c.id: c.depends_on for c in plan.changes if c.kind.value == "delete_department"}
    assert deletes == {"delete_department:ops#3": [], "delete_department:ops#2": ["delete_department:ops#3"]}
    assert plan_problem(plan.changes) is None
