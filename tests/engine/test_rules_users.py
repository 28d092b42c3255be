"""User rules U1–U10 and plan rules P1–P2 (DESIGN §1), on small frames."""
from __future__ import annotations

import pytest

from builders import codes, kinds, make_plan, sheet, snapshot, user
from tui_sync.engine.planner import Inputs, build_plan
from tui_sync.errors import MappingError, SourceError
from tui_sync.lms.base import NO_SUPERVISOR
from tui_sync.model import Kind

HQ = dict(code="HQ", name="HQ")
DEPTS = [HQ, dict(code="OPS", name="Operations")]
LMS_DEPTS = [dict(id="1", code="HQ", name="HQ"), dict(id="2", code="OPS", name="Operations")]


def lms(*users):
    return snapshot(LMS_DEPTS, list(users))


def only(plan, kind):
    return [c for c in plan.changes if c.kind is kind]


def test_u1_blank_required_cells_are_missing_value_with_the_column():
    plan = make_plan(DEPTS, [user("a", firstName=""), user("b", departmentId="")],
                     user_mapping={"login": "login", "email": "email", "firstName": "firstName",
                                   "lastName": "lastName", "departmentId": "departmentId"})
    assert [(p.code, p.row, p.column) for p in plan.problems] == [
        ("missing_value", 2, "firstName"), ("missing_value", 3, "departmentId")]
    assert plan.changes[-1].kind is Kind.CREATE_DEPARTMENT  # no user change for bad rows


def test_u1_lms_required_fields_join_the_required_set():
    snap = lms()
    snap = type(snap)(**{**snap.__dict__, "required_fields": ("grade",)})
    plan = make_plan(DEPTS, [user("a", grade=""), user("b", grade="B2")], snap)
    assert codes(plan)["missing_value"] == [2]
    assert kinds(plan)["create_user"] == ["b"]


def test_u2_matched_by_login_and_email_is_an_update():
    plan = make_plan(DEPTS, [user("a", jobTitle="Boss")], lms(dict(id="9", login="A", email="a@example.com", department="1")))
    [c] = only(plan, Kind.UPDATE_USER)
    assert (c.rule, c.target) == ("login+email", "9")
    assert c.fields == {"login": ("A", "a"), "jobTitle": (None, "Boss")}


def test_u2_changed_email_is_matched_by_login():
    plan = make_plan(DEPTS, [user("a", email="new@example.com")],
                     lms(dict(id="9", login="a", email="old@example.com", department="1")))
    [c] = only(plan, Kind.UPDATE_USER)
    assert c.rule == "login" and c.fields == {"email": ("old@example.com", "new@example.com")}


def test_u2_an_email_written_in_other_cases_is_the_users_own():
    # (a row's email is looked up as written first: one that differs only in case is still compared)
    plan = make_plan(DEPTS, [user("a", email="A@Example.COM"), user("new", email="B@EXAMPLE.com")],
                     lms(dict(id="9", login="a", email="a@example.com", department="1"),
                         dict(id="8", login="b", email="b@example.com", department="1")))
    assert "identity_conflict" not in codes(plan)
    [a, b] = only(plan, Kind.UPDATE_USER)
    assert (a.rule, a.target, a.fields) == ("login+email", "9", {"email": ("a@example.com", "A@Example.COM")})
    assert (b.rule, b.target, b.fields) == ("email", "8", {"login": ("b", "new"), "email": ("b@example.com",
                                                                                          "B@EXAMPLE.com")})


def test_u2_changed_login_is_matched_by_email():
    plan = make_plan(DEPTS, [user("new", email="x@example.com")],
                     lms(dict(id="9", login="old", email="x@example.com", department="1")))
    [c] = only(plan, Kind.UPDATE_USER)
    assert c.rule == "email" and c.fields == {"login": ("old", "new")}


def test_u2_login_and_email_of_two_different_users_is_identity_conflict():
    plan = make_plan(DEPTS, [user("a", email="b@example.com")],
                     lms(dict(id="1a", login="a", department="1"), dict(id="1b", login="b", department="1")))
    assert codes(plan)["identity_conflict"] == [2]
    assert not [c for c in plan.changes if c.entity == "user"]


def test_u2_neither_found_creates_a_user_without_both_changing():
    plan = make_plan(DEPTS, [user("new", email="new@example.com")],
                     lms(dict(id="9", login="old", email="old@example.com", department="1")))
    assert kinds(plan)["create_user"] == ["new"]


def test_u2_unique_key_allows_login_and_email_to_change_together_with_a_warning():
    plan = make_plan(DEPTS, [user("new", email="new@example.com", userUniqueKey="E-1")],
                     lms(dict(id="9", login="old", email="old@example.com", department="1")), ledger_users={"9": "E-1"})
    [c] = only(plan, Kind.UPDATE_USER)
    assert c.rule == "userUniqueKey" and set(c.fields) == {"login", "email"}
    assert [p.code for p in c.problems] == ["login_and_email_changed"]
    assert "login_and_email_changed" in codes(plan)


def test_u2_key_of_one_user_with_login_of_another_is_identity_conflict():
    plan = make_plan(DEPTS, [user("b", userUniqueKey="E-1")],
                     lms(dict(id="1a", login="a", department="1"), dict(id="1b", login="b", department="1")),
                     ledger_users={"1a": "E-1"})
    assert codes(plan)["identity_conflict"] == [2]


def test_u2_two_rows_identifying_one_user_conflict_on_every_row():
    plan = make_plan(DEPTS, [user("a", email="x@example.com"), user("b", email="a@example.com")],
                     lms(dict(id="9", login="a", email="a@example.com", department="1")))
    assert sorted(codes(plan)["identity_conflict"]) == [2, 3]


def test_u3_duplicate_login_email_and_key_error_on_every_row():
    plan = make_plan(DEPTS, [user("a", userUniqueKey="K"), user("A", email="z@example.com", userUniqueKey="k"),
                             user("c", email="a@example.com")])
    c = codes(plan)
    assert c["duplicate_login"] == [2, 3] and c["duplicate_email"] == [2, 4] and c["duplicate_user_key"] == [2, 3]
    assert "create_user" not in kinds(plan)


def test_u3_emails_that_differ_only_in_case_are_one_email():
    plan = make_plan(DEPTS, [user("a", email="X@example.com"), user("b", email="x@EXAMPLE.com"),
                             user("c", email="c@example.com")],
                     lms(dict(id="9", login="a", email="x@example.com", department="1")))
    assert codes(plan)["duplicate_email"] == [2, 3]
    assert kinds(plan)["create_user"] == ["c"]


def test_u4_unknown_department_and_one_being_deleted():
    snap = snapshot([*LMS_DEPTS, dict(id="3", code="OLD")])
    plan = make_plan(DEPTS, [user("a", "NOPE"), user("b", "OLD")], snap, ledger_departments=["1", "2", "3"])
    probs = {p.row: p.message for p in plan.problems if p.code == "unknown_department"}
    assert set(probs) == {2, 3} and "to be deleted" in probs[3]


def test_u4_department_whose_row_has_an_error_counts_as_unknown():
    plan = make_plan([HQ, dict(code="BAD", name="")], [user("a", "BAD")])
    [p] = [p for p in plan.problems if p.code == "unknown_department"]
    assert "has an error" in p.message


@pytest.mark.parametrize("value,status", [("", "active"), ("Active", "active"), ("1", "active"), ("yes", "active"),
                                          ("blocked", "inactive"), ("3", "inactive"), ("no", "inactive"),
                                          ("Employment ended", "terminated"), ("5", "terminated")])
def test_u5_status_words_and_numbers(value, status):
    plan = make_plan(DEPTS, [user("a", status=value)])
    [c] = only(plan, Kind.CREATE_USER)
    assert c.fields["status"] == (None, status)


def test_u5_invalid_status():
    plan = make_plan(DEPTS, [user("a", status="on leave")])
    assert codes(plan)["invalid_status"] == [2]


def test_u5_active_to_inactive_is_inactivate_and_back_is_reactivate_and_between_is_update():
    snap = lms(dict(id="1", login="a", department="1"), dict(id="2", login="b", department="1", status="inactive"),
               dict(id="3", login="c", department="1", status="inactive"))
    plan = make_plan(DEPTS, [user("a", status="terminated"), user("b", status=""), user("c", status="terminated")], snap)
    assert [(c.kind, c.key, c.fields["status"]) for c in plan.changes if c.entity == "user"] == [
        (Kind.UPDATE_USER, "c", ("inactive", "terminated")),
        (Kind.REACTIVATE_USER, "b", ("inactive", "active")),
        (Kind.INACTIVATE_USER, "a", ("active", "terminated")),
    ]


def test_u6_managed_user_no_row_points_to_is_inactivated_once():
    snap = lms(dict(id="1", login="stay", department="1"), dict(id="2", login="gone", department="1"),
               dict(id="3", login="already", department="1", status="inactive"),
               dict(id="4", login="admin", department=None))
    plan = make_plan(DEPTS, [user("stay")], snap, ledger_users=["1", "2", "3"])
    assert kinds(plan)["inactivate_user"] == ["gone"]


def test_u6_a_row_with_errors_still_points_to_its_user():
    snap = lms(dict(id="1", login="a", department="1"))
    plan = make_plan(DEPTS, [user("a", firstName="")], snap, ledger_users=["1"])
    assert "inactivate_user" not in kinds(plan)


def test_u6_first_sync_removes_nobody():
    plan = make_plan(DEPTS, [user("a")], lms(dict(id="1", login="other", department="1")))
    assert "inactivate_user" not in kinds(plan)


def test_u7_supervisors_are_links_in_the_users_change_and_depend_on_new_supervisors():
    plan = make_plan(DEPTS, [user("boss"), user("a", subordination="boss", coSubordination="lead")],
                     lms(dict(id="7", login="lead", department="1")))
    c = plan.by_id()["create_user:a"]
    assert c.fields["subordination"] == (None, "boss") and c.fields["coSubordination"] == (None, "lead")
    assert c.depends_on == ["create_user:boss"]


def test_u7_unknown_supervisor_and_self_supervision_warn_and_inherit():
    plan = make_plan(DEPTS, [user("a", subordination="ghost"), user("b", subordination="B")])
    c = codes(plan)
    assert c["unknown_supervisor"] == [2] and c["self_supervision"] == [3]
    assert not plan.has_errors
    assert all("subordination" not in ch.fields for ch in only(plan, Kind.CREATE_USER))


def test_u7_blank_supervisor_resets_an_explicit_one_to_inherited():
    snap = lms(dict(id="1", login="boss", department="1"), dict(id="2", login="a", department="1", sup="1"),
               dict(id="3", login="b", department="1", sup=NO_SUPERVISOR))
    plan = make_plan(DEPTS, [user("boss"), user("a", subordination=""), user("b", subordination="")], snap)
    assert plan.by_id()["update_user:a"].fields == {"subordination": ("boss", None)}
    assert plan.by_id()["update_user:b"].fields == {"subordination": ("(no supervisor)", None)}


def test_u7_supervisor_whose_row_has_an_error_is_unknown_unless_in_the_lms():
    plan = make_plan(DEPTS, [user("boss", email="bad"), user("a", subordination="boss")])
    assert codes(plan)["unknown_supervisor"] == [3]


def test_u8_blank_optional_cell_clears_the_field():
    snap = lms(dict(id="1", login="a", department="1", phone="+49 1", custom={"grade": "B2"}))
    plan = make_plan(DEPTS, [user("a", phone="", grade="")], snap)
    assert plan.by_id()["update_user:a"].fields == {"phone": ("+49 1", None), "grade": ("B2", None)}


def test_u8_unmapped_optional_column_is_left_alone():
    snap = lms(dict(id="1", login="a", department="1", phone="+49 1"))
    plan = make_plan(DEPTS, [user("a")], snap)
    assert not only(plan, Kind.UPDATE_USER)


def test_u9_invalid_email():
    plan = make_plan(DEPTS, [user("a", email="a.example.com"), user("b", email="b@localhost"), user("c")])
    assert codes(plan)["invalid_email"] == [2, 3]


def test_f4_a_control_character_or_line_break_in_a_login_email_code_or_supervisor_is_invalid_characters():
    plan = make_plan(DEPTS, [
        user("a\x1b[2Kb", email="a@example.com"), user("c", email="c@exa\nmple.com"), user("d", "H\rQ"),
        user("e", subordination="f\u2028g"), user("ok", subordination="a"),
        user("tab\tin", email="t@example.com", jobTitle="names are fine")],
        lms(dict(id="9", login="d", email="d@example.com", department="2")))
    errors = [(p.row, p.column) for p in plan.problems if p.code == "invalid_characters"]
    assert errors == [(2, "login"), (3, "email"), (4, "departmentId"), (5, "subordination"), (7, "login")]
    assert all(p.is_error for p in plan.problems if p.code == "invalid_characters")
    assert "a\x1b[2Kb" in next(p.message for p in plan.problems if p.row == 2)
    assert kinds(plan)["create_user"] == ["ok"]  # the rows with control characters yield no change
    assert not only(plan, Kind.UPDATE_USER)  # d stays in OPS: its row's department code is unusable


def test_f4_a_control_character_in_a_well_formed_email_or_a_sheet_of_plain_logins_is_found():
    # (F4 and U9 are judged at once where every email is well formed and plain: here one is not)
    plan = make_plan(DEPTS, [user("a", email="a\u202e@example.com"), user("b"), user("c", subordination="b\x7f"),
                             user("d", coSubordination="\x00b")])
    errors = [(p.row, p.column) for p in plan.problems if p.code == "invalid_characters"]
    assert errors == [(2, "email"), (4, "subordination"), (5, "coSubordination")]
    assert "invalid_email" not in codes(plan)
    assert kinds(plan)["create_user"] == ["b"]


def test_f4_printable_unicode_is_not_a_control_character():
    plan = make_plan(DEPTS, [user("jörg.müller", email="jörg@example.com", subordination="анна"), user("анна")])
    assert "invalid_characters" not in codes(plan)


def test_u10_department_code_change_with_key_updates_no_user():
    snap = snapshot([dict(id="1", code="SALES")], [dict(id="9", login="a", department="1")])
    plan = make_plan([dict(code="SALES-EU", name="SALES", departmentUniqueKey="K")], [user("a", "SALES-EU")], snap,
                     ledger_departments={"1": "K"})
    assert [c.kind for c in plan.changes] == [Kind.UPDATE_DEPARTMENT]


def test_p1_change_ids_are_stable_across_plans():
    args = (DEPTS, [user("a"), user("b")])
    assert [c.id for c in make_plan(*args).changes] == [c.id for c in make_plan(*args).changes]


def test_p1_change_in_a_new_department_depends_on_its_create():
    plan = make_plan([HQ, dict(code="NEW", name="New", parentCode="HQ")], [user("a", "NEW")], lms())
    assert plan.by_id()["create_user:a"].depends_on == ["create_department:new"]


def test_p1_summary_counts_every_listed_change_and_problem():
    plan = make_plan(DEPTS, [user("a"), user("b", email="nope")])
    s = plan.summary()
    assert s["create_department"] == 2 and s["create_user"] == 1 and s["errors"] == 1 and s["warnings"] == 0


def test_p2_empty_source_plans_nothing():
    with pytest.raises(SourceError, match="no data rows"):
        build_plan(Inputs(sheet([HQ]), sheet([], ("login", "email")), {"code": "code", "name": "name"},
                          {"login": "login"}, lms(), *([make_ledger()] * 2)))


def test_p2_mapped_column_missing_from_the_sheet_names_it_and_lists_headers():
    with pytest.raises(MappingError) as e:
        make_plan(DEPTS, [user("a")], user_mapping={"login": "Login", "email": "Mail", "firstName": "firstName",
                                                    "lastName": "lastName", "departmentId": "departmentId"})
    assert '"Mail" (for email)' in str(e.value) and '"departmentId"' in str(e.value)
    assert e.value.exit_code == 2
    assert 'perhaps email = "email"?' in str(e.value)  # the sheet's own spelling of the field


def test_p2_a_misspelt_mapped_column_is_matched_to_the_header_meant():
    from tui_sync.engine.mapping import review_mapping

    headers = ("Login", "E-mail", "First name", "Surname", "Dept", "Grade")
    report = review_mapping("user", {"login": "Login", "email": "Mail", "firstName": "First name",
                                     "lastName": "Last name", "departmentId": "Dept", "Grade": "Grad",
                                     "phone": "Telephone number"}, headers)
    assert report.missing == (("email", "Mail"), ("lastName", "Last name"), ("Grade", "Grad"),
                              ("phone", "Telephone number"))
    assert report.instead == {"email": "E-mail", "lastName": "Surname", "Grade": "Grade"}  # nothing like a phone
    assert not report.ok and (True, 'mapped column "Grad" (for Grade) is not in the sheet; the sheet has "Grade"') \
        in report.findings()


def test_p2_row_numbers_are_as_the_spreadsheet_shows_them():
    plan = make_plan(DEPTS, [user("a"), user("b"), user("c", email="")])
    assert codes(plan)["missing_value"] == [4]


def make_ledger():
    from builders import ledger
    return ledger()


def test_a_department_code_that_lost_its_leading_zeros_is_named_with_the_code_meant():
    """D1/U4: codes are text; a spreadsheet that read `007` as a number writes `7`: the problem says so."""
    plan = make_plan([{"code": "007", "name": "Bond"}, {"code": "HQ", "name": "Head office"}],
                     [user("jdoe", "7"), user("asmith", "8")])
    messages = {p.key: p.message for p in plan.problems if p.code == "unknown_department"}
    assert "007 does: did a spreadsheet drop its leading zeros" in messages["jdoe"]
    assert "leading zeros" not in messages["asmith"]


def test_a_parent_code_that_lost_its_leading_zeros_is_named_with_the_code_meant():
    plan = make_plan([{"code": "007", "name": "Bond"}, {"code": "Q", "name": "Q", "parentCode": "7"}], [user("jdoe", "007")])
    [problem] = [p for p in plan.problems if p.code == "unknown_parent"]
    assert "007 does: did a spreadsheet drop its leading zeros" in problem.message
