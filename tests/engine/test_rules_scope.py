"""C1 scope (DESIGN §1): which rows of a sheet count; a row out of scope is as if absent."""
from __future__ import annotations

from pathlib import Path

import pytest

from builders import USER_COLUMNS, codes, kinds, make_plan, snapshot, user
from tui_sync.config import PolicyConfig, Threshold
from tui_sync.engine.scope import Scope, ScopeRule
from tui_sync.errors import ConfigError, Exit
from tui_sync.state.ledger import Ledger
from tui_sync.applying import hold

DEPTS = [dict(code="HQ", name="HQ"), dict(code="OPS", name="Operations")]
LMS_DEPTS = [dict(id="1", code="HQ", name="HQ"), dict(id="2", code="OPS", name="Operations")]
USER_MAP = {c: c for c in USER_COLUMNS}  # "Employment type" and "Company" stay unmapped
DEPT_MAP = {"code": "code", "name": "name", "parentCode": "parentCode"}


def plan(users, lms=None, **kw):
    return make_plan(DEPTS, users, lms or snapshot(LMS_DEPTS), user_mapping=USER_MAP, dept_mapping=DEPT_MAP, **kw)


def exclude(column, *values, pattern=None):
    rule = ScopeRule(column, pattern=pattern) if pattern else ScopeRule(column, values=values)
    return Scope(exclude=(rule,))


def test_c1_exclude_by_values_on_an_unmapped_column_leaves_the_rows_out():
    p = plan([user("a", **{"Employment type": "Employee"}), user("b", **{"Employment type": "Contractor"}),
              user("c", **{"Employment type": "Intern"})],
             user_scope=exclude("Employment type", "Contractor", "Intern"))
    assert kinds(p)["create_user"] == ["a"]
    assert p.summary()["out_of_scope"] == 2
    assert p.sources["users"]["out_of_scope"] == 2 and p.sources["users"]["rows"] == 3


def test_c1_exclude_by_pattern_with_wildcards_is_case_insensitive():
    p = plan([user("TEST-1"), user("test-22"), user("tester"), user("qa-test-1"), user("a")],
             user_scope=exclude("login", pattern="test-*"))
    assert kinds(p)["create_user"] == ["tester", "qa-test-1", "a"]
    p = plan([user("t1"), user("t22"), user("a")], user_scope=exclude("login", pattern="T?"))
    assert kinds(p)["create_user"] == ["t22", "a"]


def test_c1_include_rules_must_all_hold():
    rows = [user("a", Company="ACME", Country="DE"), user("b", Company="ACME", Country="FR"),
            user("c", Company="Other", Country="DE"), user("d")]
    scope = Scope(include=(ScopeRule("Company", values=("ACME",)), ScopeRule("Country", values=("DE", "AT"))))
    p = plan(rows, user_scope=scope)
    assert kinds(p)["create_user"] == ["a"]
    assert p.summary()["out_of_scope"] == 3
    assert [(r["keeps"], r["drops"]) for r in p.sources["users"]["scope"]] == [(2, 2), (2, 2)]


def test_c1_an_exclude_rule_wins_over_an_include_rule():
    scope = Scope(include=(ScopeRule("Company", values=("ACME",)),), exclude=(ScopeRule("login", pattern="svc-*"),))
    p = plan([user("a", Company="ACME"), user("svc-x", Company="ACME")], user_scope=scope)
    assert kinds(p)["create_user"] == ["a"]


def test_c1_values_compare_trimmed_and_ignoring_case():
    p = plan([user("a", **{"Employment type": "  CONTRACTOR "}), user("b", **{"Employment type": "Contract or"})],
             user_scope=exclude("Employment type", " contractor"))
    assert kinds(p)["create_user"] == ["b"]


def test_c1_patterns_compare_trimmed_like_values():
    # a pattern ending or starting with a literal must still meet a cell with spaces around it
    rows = [user("a", Company=" ACME-1  "), user("b", Company="\tacme-2"), user("c", Company="acme-3x")]
    p = plan(rows, user_scope=exclude("Company", pattern="acme-?"))
    assert kinds(p)["create_user"] == ["c"]
    p = plan(rows, user_scope=Scope(include=(ScopeRule("Company", pattern="*-1"),)))
    assert kinds(p)["create_user"] == ["a"]


def test_c1_an_empty_value_matches_a_blank_cell():
    p = plan([user("a", Company="ACME"), user("b")], user_scope=exclude("Company", ""))
    assert kinds(p)["create_user"] == ["a"]


def test_c1_the_scope_column_may_differ_in_case_from_the_header():
    p = plan([user("a", Company="x"), user("b", Company="ACME")], user_scope=exclude("company", "acme"))
    assert kinds(p)["create_user"] == ["a"]


def test_c1_a_managed_user_leaving_the_scope_is_inactivated_and_an_unmanaged_one_untouched():
    lms = snapshot(LMS_DEPTS, [dict(id="u1", login="a", department="1"), dict(id="u2", login="b", department="1"),
                               dict(id="u3", login="c", department="1")])
    rows = [user("a"), user("b", **{"Employment type": "Contractor"}), user("c", **{"Employment type": "Contractor"})]
    p = plan(rows, lms, ledger_users=["u1", "u2"], user_scope=exclude("Employment type", "Contractor"))
    assert kinds(p) == {"inactivate_user": ["b"]}
    assert "problems" not in kinds(p) and p.problems == []


def test_c1_removals_from_the_scope_are_held_by_p3_over_the_threshold(tmp_path: Path):
    lms = snapshot(LMS_DEPTS, [dict(id=f"u{i}", login=f"u{i}", department="1") for i in range(10)])
    rows = [user(f"u{i}", **{"Employment type": "Contractor" if i < 3 else "Employee"}) for i in range(10)]
    p = plan(rows, lms, ledger_users=[f"u{i}" for i in range(10)], user_scope=exclude("Employment type", "Contractor"))
    assert sorted(kinds(p)["inactivate_user"]) == ["u0", "u1", "u2"]
    ledger = Ledger(tmp_path)
    ledger.record({}, {f"u{i}": None for i in range(10)})
    held, reasons = hold(p, PolicyConfig(review=()), lms, ledger, None)
    assert held == {c.id for c in p.changes if c.kind.value == "inactivate_user"}
    assert "exceed the threshold 10%" in reasons[0]
    held, _ = hold(p, PolicyConfig(review=(), max_inactivations=Threshold(50, True)), lms, ledger, None)
    assert held == set()


def test_c1_the_row_drop_check_counts_the_rows_read_before_scoping():
    rows = [user(f"u{i}", **{"Employment type": "Contractor" if i else "Employee"}) for i in range(10)]
    p = plan(rows, user_scope=exclude("Employment type", "Contractor"))
    assert p.sources["users"]["rows"] == 10 and p.sources["users"]["out_of_scope"] == 9
    assert kinds(p)["create_user"] == ["u0"]


def test_c1_a_scope_column_missing_from_its_sheet_is_a_configuration_error():
    with pytest.raises(ConfigError) as info:
        plan([user("a")], user_scope=exclude("Employment type", "Contractor"))
    err = info.value
    assert err.exit_code is Exit.USAGE
    assert err.where == "[users.scope] exclude[1].column"
    assert 'found column = "Employment type"' in err.message and "expected a column of the users sheet" in err.message
    assert '"login"' in err.hint and '"departmentId"' in err.hint


def test_c1_every_row_out_of_scope_plans_nothing():
    with pytest.raises(ConfigError, match="every row of the users sheet"):
        plan([user("a", Company="x")], user_scope=exclude("Company", "x"))


def test_c1_a_managed_department_leaving_the_scope_is_deleted_and_its_code_is_unknown_to_users():
    lms = snapshot([*LMS_DEPTS, dict(id="3", code="EXT", name="External")])
    depts = [*DEPTS, dict(code="EXT", name="External", Kind="external"), dict(code="NEW", name="New", Kind="external")]
    p = make_plan(depts, [user("a", "EXT"), user("b", "NEW"), user("c", "HQ")], lms, ledger_departments=["1", "2", "3"],
                  user_mapping=USER_MAP, dept_mapping=DEPT_MAP,
                  department_scope=Scope(exclude=(ScopeRule("Kind", values=("External",)),)))
    assert kinds(p) == {"create_user": ["c"], "delete_department": ["EXT"]}
    assert sorted(codes(p)["unknown_department"]) == [2, 3]
    assert p.summary()["out_of_scope"] == 2
