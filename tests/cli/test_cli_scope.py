"""C1–C3 from the command line: `plan`'s summary, `-v` and `--json` show the scope counts and
`protected` problems with their rows; a scope column the sheet lacks is exit 2."""
from __future__ import annotations

import json

from tui_sync.errors import Exit

from workspace import edit, run

RULES = """
[users.scope]
exclude = [{ column = "Grade", values = ["C1"] }]

[protect]
users = ["oliver.klein"]

[users.fields]
jobTitle = { blank = "keep" }
"""


def test_plan_shows_out_of_scope_rows_per_rule_and_protected_rows(capsys, demo):
    code, before, _ = run(capsys, demo, "plan", "--json")
    edit(demo, "[schedule]", RULES + "\n[schedule]")
    code, out, _ = run(capsys, demo, "plan", "--json")
    plan = json.loads(out)
    users = plan["sources"]["users"]
    assert users["rows"] == 299 and plan["summary"]["out_of_scope"] == users["out_of_scope"] > 0
    assert users["scope"] == [{"rule": 'exclude[1]: Grade is "C1"', "keeps": 299 - users["out_of_scope"],
                               "drops": users["out_of_scope"]}]
    [prot] = [p for p in plan["problems"] if p["code"] == "protected"]
    assert (prot["severity"], prot["row"], prot["key"]) == ("warning", 3, "oliver.klein")
    assert json.loads(before)["summary"]["out_of_scope"] == 0

    code, out, _ = run(capsys, demo, "plan", "-v")
    assert f"(299 rows, {users['out_of_scope']} out of scope)" in out
    assert f'users scope exclude[1]: Grade is "C1" — keeps {299 - users["out_of_scope"]}' in out
    assert "protected — 1 warning" in out and "users row 3, column \"Login\", oliver.klein: LMS user" in out


def test_a_scope_column_the_sheet_lacks_is_exit_2_naming_the_file_and_key(capsys, demo):
    edit(demo, "[schedule]", '[users.scope]\ninclude = [{ column = "Contract", values = ["x"] }]\n\n[schedule]')
    code, out, err = run(capsys, demo, "plan")
    assert code == Exit.USAGE and out == ""
    assert f"error: {demo}: [users.scope] include[1].column: found column = \"Contract\"" in err
    assert '"Personnel no."' in err


def test_a_saved_plan_never_writes_what_is_protected_by_the_time_it_is_applied(capsys, demo, tmp_path):
    saved = tmp_path / "plan.json"
    run(capsys, demo, "plan", "--out", str(saved))
    changes = json.loads(saved.read_text())["changes"]
    [first] = [c for c in changes if c["kind"] == "update_user"][:1]
    edit(demo, "[schedule]", f'[protect]\nusers = ["{first["key"]}"]\n\n[schedule]')
    code, out, _ = run(capsys, demo, "apply", "--plan", str(saved), "--approve", "all")
    assert code == Exit.ROW_ERRORS
    assert f"[blocked ] update_user {first['key']}" in out
    _, dump, _ = run(capsys, demo, "lms", "dump", "--json")
    login = first["fields"].get("login", [first["key"]])[0]
    [now] = [u for u in json.loads(dump)["users"] if u["login"] == login]
    for name, (before, _after) in first["fields"].items():
        if name in ("email", "jobTitle", "phone", "firstName", "lastName"):
            assert now[name] == before
    assert "[applied ]" in out  # the rest went ahead


def test_check_shows_each_scope_rule_and_a_missing_scope_column_is_exit_2(capsys, demo):
    edit(demo, "[schedule]", RULES + "\n[schedule]")
    code, out, _ = run(capsys, demo, "check")
    assert code == Exit.OK
    assert "  scope: 6 of 299 rows out of scope" in out
    assert '    exclude[1]: Grade is "C1" — keeps 293, drops 6' in out
    edit(demo, 'column = "Grade"', 'column = "Grad"')
    code, out, _ = run(capsys, demo, "check")
    assert code == Exit.USAGE
    assert f'✖ {demo}: [users.scope] exclude[1].column: found column = "Grad"' in out
