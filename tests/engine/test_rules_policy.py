"""C3 field policy (DESIGN §1): when a sheet value is written to an existing LMS object."""
from __future__ import annotations

from builders import kinds, make_plan, snapshot, user
from tui_sync.engine.policy import FieldPolicy
from tui_sync.model import Kind

HQ = dict(code="HQ", name="HQ")
LMS_DEPTS = [dict(id="1", code="HQ", name="HQ"), dict(id="2", code="OPS", name="Operations")]
ON_CREATE, IF_EMPTY, KEEP = FieldPolicy(update="on_create"), FieldPolicy(update="if_empty"), FieldPolicy(blank="keep")


def lms(*users):
    return snapshot(LMS_DEPTS, list(users))


def updates(plan):
    return {c.key: c.fields for c in plan.changes if c.kind is Kind.UPDATE_USER}


def test_c3_on_create_sets_the_field_on_a_new_user_and_never_changes_it_later():
    snap = lms(dict(id="u1", login="a", email="a@old.example", department="1"),
               dict(id="u2", login="b", email="b@old.example", department="1"))
    rows = [user("a", email="a@new.example"), user("b", email="b@new.example"), user("c", email="c@new.example")]
    p = make_plan([HQ], rows, snap, ledger_users=["u1"], user_fields={"email": ON_CREATE})
    assert kinds(p) == {"create_user": ["c"]}  # u1 managed, u2 matched for the first time: neither is written
    [create] = [c for c in p.changes if c.kind is Kind.CREATE_USER]
    assert create.fields["email"] == (None, "c@new.example")


def test_c3_if_empty_fills_an_empty_lms_value_and_never_overwrites_or_clears():
    snap = lms(dict(id="u1", login="a", department="1"), dict(id="u2", login="b", department="1", jobTitle="Chef"),
               dict(id="u3", login="c", department="1", jobTitle="Chef"))
    rows = [user("a", jobTitle="Dev"), user("b", jobTitle="Dev"), user("c", jobTitle="")]
    p = make_plan([HQ], rows, snap, user_fields={"jobTitle": IF_EMPTY})
    assert updates(p) == {"a": {"jobTitle": (None, "Dev")}}


def test_c3_blank_keep_leaves_the_lms_value_and_a_value_still_updates():
    snap = lms(dict(id="u1", login="a", department="1", jobTitle="Chef", phone="+1"),
               dict(id="u2", login="b", department="1", jobTitle="Chef"))
    rows = [user("a", jobTitle="", phone=""), user("b", jobTitle="Dev", phone="")]
    p = make_plan([HQ], rows, snap, user_fields={"jobTitle": KEEP})
    assert updates(p) == {"a": {"phone": ("+1", None)}, "b": {"jobTitle": ("Chef", "Dev")}}


def test_c3_an_update_whose_every_field_is_held_back_is_no_change():
    snap = lms(dict(id="u1", login="a", email="a@old.example", department="1", jobTitle="Chef"))
    p = make_plan([HQ], [user("a", email="a@new.example", jobTitle="")], snap,
                  user_fields={"email": ON_CREATE, "jobTitle": KEEP})
    assert p.changes == [] and updates(p) == {}


def test_c3_is_decided_per_field_within_one_change():
    snap = lms(dict(id="u1", login="a", email="a@old.example", department="1", jobTitle="Chef"))
    p = make_plan([HQ], [user("a", "OPS", email="a@new.example", jobTitle="Dev")], snap,
                  user_fields={"email": ON_CREATE})
    assert updates(p) == {"a": {"jobTitle": ("Chef", "Dev"), "departmentId": ("HQ", "OPS")}}


def test_c3_custom_fields_and_supervisors_follow_their_policy():
    snap = lms(dict(id="u1", login="a", department="1", custom={"grade": "B1"}),
               dict(id="u2", login="boss", department="1"), dict(id="u3", login="b", department="1", sup="u2"))
    rows = [user("a", grade="B2", subordination="boss"), user("boss"), user("b", subordination="a", grade="C")]
    p = make_plan([HQ], rows, snap, user_fields={"grade": ON_CREATE, "subordination": IF_EMPTY})
    # a's grade and b's (empty until now) stay; b's supervisor is set, so if_empty leaves it
    assert updates(p) == {"a": {"subordination": (None, "boss")}}
    p = make_plan([HQ], rows, snap)
    assert updates(p) == {"a": {"subordination": (None, "boss"), "grade": ("B1", "B2")},
                          "b": {"subordination": ("boss", "a"), "grade": (None, "C")}}


def test_c3_status_on_create_never_inactivates_from_the_status_column():
    snap = lms(dict(id="u1", login="a", department="1"))
    p = make_plan([HQ], [user("a", status="inactive"), user("b", status="inactive")], snap,
                  user_fields={"status": ON_CREATE})
    assert kinds(p) == {"create_user": ["b"]}
    p = make_plan([HQ], [user("a", status="")], lms(dict(id="u1", login="a", department="1", status="inactive")),
                  user_fields={"status": KEEP})
    assert p.changes == []  # a blank status keeps the LMS status instead of reactivating


def test_c3_department_parent_blank_keep_keeps_the_lms_parent():
    snap = snapshot([dict(id="1", code="HQ", name="HQ"), dict(id="2", code="OPS", name="Ops", parent="1"),
                     dict(id="3", code="LAB", name="Lab", parent="1")])
    rows = [HQ, dict(code="OPS", name="Ops", parentCode=""), dict(code="LAB", name="Lab", parentCode="OPS")]
    p = make_plan(rows, [user("a")], snap, department_fields={"parentCode": KEEP})
    assert [(c.key, c.fields) for c in p.changes if c.kind is Kind.UPDATE_DEPARTMENT] == [
        ("LAB", {"parentCode": ("HQ", "OPS")})]
    p = make_plan(rows, [user("a")], snap)
    assert sorted(c.key for c in p.changes if c.kind is Kind.UPDATE_DEPARTMENT) == ["LAB", "OPS"]


def test_c3_department_parent_and_name_on_create_and_if_empty():
    snap = snapshot([dict(id="1", code="HQ", name="HQ"), dict(id="2", code="OPS", name="Ops", parent="1"),
                     dict(id="3", code="LAB", name="Lab")])
    rows = [HQ, dict(code="OPS", name="Operations", parentCode="LAB"), dict(code="LAB", name="Lab", parentCode="HQ"),
            dict(code="NEW", name="New", parentCode="OPS")]
    p = make_plan(rows, [user("a")], snap, department_fields={"parentCode": IF_EMPTY, "name": ON_CREATE})
    assert {c.key: c.fields for c in p.changes} == {
        "NEW": {"code": (None, "NEW"), "name": (None, "New"), "parentCode": (None, "OPS")},
        "LAB": {"parentCode": (None, "HQ")},  # top level in the LMS: its parent was empty
        "a": {"login": (None, "a"), "email": (None, "a@example.com"), "firstName": (None, "First"),
              "lastName": (None, "Last"), "departmentId": (None, "HQ"), "status": (None, "active")}}


def test_c3_a_held_back_move_cannot_hide_a_cycle():
    snap = snapshot([dict(id="1", code="A", name="A"), dict(id="2", code="B", name="B", parent="1")])
    rows = [dict(code="A", name="A", parentCode="B"), dict(code="B", name="B", parentCode="")]
    p = make_plan(rows, [user("a", "A")], snap, department_fields={"parentCode": KEEP})
    assert {pr.code for pr in p.problems} >= {"department_cycle"}
    assert not [c for c in p.changes if c.entity == "department"]
