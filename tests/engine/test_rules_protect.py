"""C2 protected objects (DESIGN §1): LMS users and departments that no sync changes,
inactivates, reactivates or deletes."""
from __future__ import annotations

from builders import codes, kinds, make_plan, snapshot, user
from tui_sync.engine.protect import Protect
from tui_sync.model import Kind, Severity

HQ = dict(code="HQ", name="HQ")
LMS_DEPTS = [dict(id="1", code="HQ", name="HQ"), dict(id="5", code="EXT", name="External"),
             dict(id="6", code="EXT-A", name="External A", parent="5"), dict(id="7", code="EXT-B", name="Ext B", parent="6")]
ADMINS = Protect(users=("admin", "svc-*"))


def users_lms(*users):
    return snapshot(LMS_DEPTS, list(users))


def protected(plan):
    return [(p.severity, p.row, p.key) for p in plan.problems if p.code == "protected"]


def test_c2_a_row_matching_a_protected_user_changes_nothing_and_warns_at_its_row():
    lms = users_lms(dict(id="u1", login="admin", department="1"), dict(id="u2", login="SVC-Backup", department="1"),
                    dict(id="u3", login="bob", department="1"))
    rows = [user("admin", "EXT", jobTitle="Boss"), user("svc-backup", status="inactive"), user("bob", jobTitle="Dev")]
    p = make_plan([HQ], rows, lms, protect=ADMINS)
    assert kinds(p) == {"update_user": ["bob"]}
    assert protected(p) == [(Severity.WARNING, 2, "admin"), (Severity.WARNING, 3, "svc-backup")]
    assert "LMS user SVC-Backup is protected" in [p for p in p.problems if p.row == 3][0].message
    assert set(p.matched_users) == {"u3"}  # L1: the ledger does not learn protected users
    assert not p.has_errors


def test_c2_a_protected_user_matched_by_email_under_another_login_is_untouched():
    lms = users_lms(dict(id="u1", login="admin", email="it@example.com", department="1"))
    p = make_plan([HQ], [user("root", email="it@example.com")], lms, protect=ADMINS)
    assert [c for c in p.changes if c.entity == "user"] == []
    assert protected(p) == [(Severity.WARNING, 2, "root")]


def test_c2_a_managed_protected_user_no_row_names_is_not_inactivated():
    lms = users_lms(dict(id="u1", login="admin", department="1"), dict(id="u2", login="gone", department="1"))
    p = make_plan([HQ], [user("bob")], lms, ledger_users=["u1", "u2"], protect=ADMINS)
    assert kinds(p)["inactivate_user"] == ["gone"]
    assert protected(p) == []


def test_c2_a_protected_inactive_user_is_not_reactivated():
    lms = users_lms(dict(id="u1", login="svc-mail", department="1", status="inactive"))
    p = make_plan([HQ], [user("svc-mail")], lms, ledger_users=["u1"], protect=ADMINS)
    assert [c for c in p.changes if c.entity == "user"] == []


def test_c2_a_create_of_a_protected_login_is_refused_with_an_error():
    p = make_plan([HQ], [user("Admin"), user("svc-new"), user("carol")], users_lms(), protect=ADMINS)
    assert kinds(p)["create_user"] == ["carol"]
    assert protected(p) == [(Severity.ERROR, 2, "Admin"), (Severity.ERROR, 3, "svc-new")]
    assert "no user is created with it" in p.problems[0].message
    assert p.has_errors


def test_c2_a_user_cannot_be_renamed_to_a_protected_login():
    lms = users_lms(dict(id="u1", login="bob", email="bob@example.com", department="1"))
    p = make_plan([HQ], [user("svc-bob", email="bob@example.com")], lms, protect=ADMINS)
    assert [c for c in p.changes if c.entity == "user"] == []
    assert protected(p) == [(Severity.ERROR, 2, "svc-bob")]
    assert "LMS user bob cannot take it" in p.problems[0].message


PROTECT_EXT = Protect(departments=("ext",))
EXT_ROWS = [HQ, dict(code="EXT", name="External"), dict(code="EXT-A", name="External A", parentCode="EXT")]


def test_c2_a_protected_department_subtree_is_never_deleted():
    p = make_plan([HQ], [user("a")], snapshot(LMS_DEPTS), ledger_departments=["1", "5", "6", "7"], protect=PROTECT_EXT)
    assert "delete_department" not in kinds(p)
    p = make_plan([HQ], [user("a")], snapshot(LMS_DEPTS), ledger_departments=["1", "5", "6", "7"])
    assert sorted(kinds(p)["delete_department"]) == ["EXT", "EXT-A", "EXT-B"]  # (without the protection)


def test_c2_rows_renaming_or_moving_protected_departments_change_nothing_and_warn():
    rows = [HQ, dict(code="EXT", name="Renamed"), dict(code="EXT-A", name="External A", parentCode="HQ"),
            dict(code="EXT-B", name="Ext B", parentCode="EXT-A")]
    p = make_plan(rows, [user("a")], snapshot(LMS_DEPTS), protect=PROTECT_EXT)
    assert [c for c in p.changes if c.entity == "department"] == []
    assert [(pr.severity, pr.row, pr.key) for pr in p.problems if pr.code == "protected"] == [
        (Severity.WARNING, 3, "EXT"), (Severity.WARNING, 4, "EXT-A")]


def test_c2_creating_or_moving_a_department_into_a_protected_subtree_is_refused():
    lms = snapshot([*LMS_DEPTS, dict(id="8", code="OPS", name="Ops", parent="1")])
    rows = [HQ, dict(code="NEW", name="New", parentCode="EXT-B"), dict(code="NEWER", name="Newer", parentCode="NEW"),
            dict(code="OPS", name="Ops", parentCode="EXT"), dict(code="EXT-C", name="Matches the pattern"),
            dict(code="FINE", name="Fine", parentCode="HQ")]
    p = make_plan(rows, [user("a", "NEW"), user("b", "FINE")], lms, protect=Protect(departments=("EXT", "EXT-?")))
    assert kinds(p) == {"create_department": ["FINE"], "create_user": ["b"]}
    assert sorted((pr.row, pr.key) for pr in p.problems if pr.code == "protected") == [
        (3, "NEW"), (4, "NEWER"), (5, "OPS"), (6, "EXT-C")]
    [unknown] = [pr for pr in p.problems if pr.code == "unknown_department"]
    assert unknown.row == 2 and "is not created" in unknown.message


def test_c2_users_may_be_placed_in_protected_departments():
    lms = users_lms(dict(id="u1", login="a", department="1"))
    p = make_plan([HQ], [user("a", "EXT-B"), user("b", "EXT")], lms, protect=PROTECT_EXT)
    assert kinds(p) == {"create_user": ["b"], "update_user": ["a"]}
    [move] = [c for c in p.changes if c.kind is Kind.UPDATE_USER]
    assert move.fields == {"departmentId": ("HQ", "EXT-B")}
    assert "protected" not in codes(p)


def test_c2_a_matched_protected_department_without_changes_is_quiet():
    rows = [HQ, dict(code="EXT", name="External")]
    p = make_plan(rows, [user("a", "EXT")], snapshot(LMS_DEPTS), ledger_departments=["1", "5"], protect=PROTECT_EXT)
    assert kinds(p) == {"create_user": ["a"]}
    assert p.problems == []


def test_c2_moving_the_users_of_a_deleted_department_leaves_protected_users_where_they_are():
    from tui_sync.model import Resolution

    lms = snapshot([dict(id="1", code="HQ", name="HQ"), dict(id="2", code="OLD", name="Old")],
                   [dict(id="u1", login="admin", department="2"), dict(id="u2", login="bob", department="2")])
    p = make_plan([HQ], [user("carol")], lms, ledger_departments=["1", "2"], protect=ADMINS,
                  resolutions=[Resolution("OLD", "HQ")])
    assert kinds(p)["update_user"] == ["bob"]
    [delete] = [c for c in p.changes if c.kind is Kind.DELETE_DEPARTMENT]
    assert delete.blocked and "admin" in delete.problems[0].message and "bob" not in delete.problems[0].message


def test_c2_a_department_renamed_to_a_protected_code_refuses_the_rows_under_it_in_any_order():
    """The guard judges the tree the sheet proposes, once: a row's verdict does not depend on
    whether the row that renames its parent comes before or after it."""
    lms = snapshot([*LMS_DEPTS, dict(id="8", code="OPS", name="Ops", parent="1"),
                    dict(id="9", code="OPS-1", name="Ops 1", parent="8")])
    rows = [dict(HQ, departmentUniqueKey="k-hq"), dict(code="EXT-OPS", name="Ops", parentCode="HQ", departmentUniqueKey="k-ops"),
            dict(code="OPS-1", name="Ops One", parentCode="EXT-OPS", departmentUniqueKey="k-ops-1"),
            dict(code="OPS-2", name="Ops Two", parentCode="EXT-OPS", departmentUniqueKey="k-ops-2")]
    ledger = {"1": "k-hq", "8": "k-ops", "9": "k-ops-1"}
    for order in (rows, [rows[0], *reversed(rows[1:])]):
        p = make_plan(order, [user("a")], lms,
                      ledger_departments=ledger, protect=Protect(departments=("EXT-*",)))
        assert [c for c in p.changes if c.entity == "department"] == []
        assert sorted((pr.key, pr.message.split(";")[0]) for pr in p.problems if pr.code == "protected") == [
            ("EXT-OPS", "department EXT-OPS would be changed"),
            ("OPS-1", "department OPS-1 would be changed under protected department EXT-OPS"),
            ("OPS-2", "department OPS-2 would be created under protected department EXT-OPS")]


def test_c2_a_protected_users_row_is_not_checked_beyond_identifying_it():
    """A blank required cell, an unknown department or supervisor, a bad status or email at a row
    that identifies a protected user: the row changes nothing, so only `protected` is reported."""
    lms = users_lms(dict(id="u1", login="admin", email="it@example.com", department="1"),
                    dict(id="u2", login="svc-mail", email="mail@example.com", department="1"))
    rows = [user("admin", email="it@example.com", firstName=None, departmentId=None, subordination="nobody"),
            user("svc-mail", "NOWHERE", email="not an address", status="on leave"), user("bob")]
    p = make_plan([HQ], rows, lms, protect=ADMINS)
    assert kinds(p) == {"create_user": ["bob"]}
    assert [(pr.code, pr.severity, pr.row) for pr in p.problems] == [
        ("protected", Severity.WARNING, 2), ("protected", Severity.WARNING, 3)]
    assert not p.has_errors
    p = make_plan([HQ], rows, lms)  # (without the protection)
    assert {pr.code for pr in p.problems if pr.is_error} == {
        "missing_value", "unknown_department", "invalid_email", "invalid_status"}


def test_c2_a_row_that_may_not_identify_a_protected_user_is_checked_as_any_row():
    """Doubt about who a row is (a duplicate login, a login and an email of two users, a second row
    for the same user) keeps the row's errors: it is not known to name only the protected user."""
    lms = users_lms(dict(id="u1", login="admin", email="it@example.com", department="1"),
                    dict(id="u2", login="bob", department="1"))
    rows = [user("admin", departmentId=None, email="it@example.com"), user("ADMIN", email="other@example.com")]
    p = make_plan([HQ], rows, lms, protect=ADMINS)
    assert sorted((pr.code, pr.row) for pr in p.problems) == [
        ("duplicate_login", 2), ("duplicate_login", 3), ("missing_value", 2)]
    p = make_plan([HQ], [user("admin", email="bob@example.com", departmentId=None)], lms, protect=ADMINS)
    assert sorted(pr.code for pr in p.problems) == ["identity_conflict", "missing_value"]
    rows = [user("admin", email="it@example.com", departmentId=None), user("root", email="it@example.com")]
    p = make_plan([HQ], rows, lms, protect=ADMINS)
    assert sorted((pr.code, pr.row) for pr in p.problems) == [
        ("duplicate_email", 2), ("duplicate_email", 3), ("missing_value", 2)]
    rows = [user("admin", email="x@example.com", departmentId=None), user("root", email="it@example.com")]
    p = make_plan([HQ], rows, lms, protect=ADMINS)  # U2: both rows identify admin
    assert sorted((pr.code, pr.row) for pr in p.problems) == [
        ("identity_conflict", 2), ("identity_conflict", 3), ("missing_value", 2)]
    assert "another row identifies the same LMS user (admin)" in p.problems[0].message


def test_c2_at_apply_a_saved_plan_is_refused_inside_a_protected_subtree_as_the_lms_holds_it():
    from tui_sync.engine.protect import refuse_protected

    lms = snapshot([*LMS_DEPTS, dict(id="8", code="OPS", name="Ops", parent="1")],
                   [dict(id="u1", login="a", department="1")])
    rows = [HQ, dict(code="EXT", name="External"), dict(code="EXT-A", name="External A", parentCode="EXT"),
            dict(code="EXT-B", name="Ext B renamed", parentCode="EXT-A"),
            dict(code="OPS", name="Ops", parentCode="EXT-B"), dict(code="NEW", name="New", parentCode="EXT-A"),
            dict(code="FINE", name="Fine", parentCode="OPS")]
    plan = make_plan(rows, [user("a", "EXT-B")], lms)  # made before the protection
    assert {c.key for c in plan.changes} == {"EXT-B", "OPS", "NEW", "FINE", "a"}
    protect = Protect(departments=("ext",))
    assert refuse_protected(plan, protect) == []  # (by name alone: none of them is EXT)
    refused = refuse_protected(plan, protect, lms.departments)
    assert sorted(c.key for c in refused) == ["EXT-B", "NEW", "OPS"]  # renamed, created under, moved into
    assert [c.blocked for c in plan.changes if c.key in ("FINE", "a")] == [False, False]
    [ops] = [c for c in refused if c.key == "OPS"]
    assert ops.problems[-1].message == ("department EXT-B is protected ([protect] departments: it is inside a "
                                        "protected department): this change is not applied")
