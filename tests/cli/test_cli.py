"""The command line as an operator uses it (DESIGN §2): `check`, `plan` (summary,
`--json`, `--out`, `--move-users-of … --to …`), `lms dump --json` / `lms load`, exit codes, and
that neither `check` nor `plan` writes anything."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from tui_sync.cli import main
from tui_sync.errors import Exit

from workspace import edit, run


def files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in folder.rglob("*") if p.is_file()}


def test_check_reports_the_lms_each_source_and_its_mapping(capsys, demo):
    code, out, _ = run(capsys, demo, "check")
    assert code == Exit.OK
    assert f"Config {demo}: OK" in out
    assert "LMS (local): reachable, 33 departments, 293 users" in out
    assert "33 data rows" in out and "299 data rows" in out and "sheets: 'Users' (reading 'Users')" in out
    assert 'suggestion: map departmentUniqueKey = "Dept key"' in out
    assert out.count("mapping OK") == 2


def test_check_names_a_mapped_column_the_sheet_lacks_and_the_header_meant(capsys, demo):
    edit(demo, 'email = "E-mail"', 'email = "Email adress"')
    code, out, _ = run(capsys, demo, "check")
    assert code == Exit.USAGE
    assert '✖ mapped column "Email adress" (for email) is not in the sheet; the sheet has "E-mail"' in out


def test_an_unmapped_required_field_is_a_config_error_naming_it(capsys, demo):
    edit(demo, 'email = "E-mail"\n', "")
    code, _, err = run(capsys, demo, "check")
    assert code == Exit.USAGE and "[users.mapping]" in err and "email" in err and str(demo) in err


def test_check_of_an_unreadable_source_exits_3_and_still_reports_the_other(capsys, demo):
    (demo.parent / "users.xlsx").write_bytes(b"<html><body>Sign in</body></html>")
    code, out, _ = run(capsys, demo, "check")
    assert code == Exit.UNREADABLE
    assert "33 data rows" in out and "mapping OK" in out  # the departments sheet is fine
    assert "users.xlsx" in out and "Traceback" not in out


def test_plan_prints_counts_then_problems_by_code_with_sheet_rows_and_exits_1_on_row_errors(capsys, demo):
    code, out, err = run(capsys, demo, "plan")
    assert code == Exit.ROW_ERRORS
    lines = out.splitlines()
    assert "  + create_user            15" in lines and "  − delete_department       3   (2 blocked)" in lines
    assert "Problems: 9 error(s), 2 warning(s)" in out
    assert "  duplicate_login — 2 errors" in lines
    assert any(line.startswith('    users row 83, column "Login", max.mueller:') for line in lines)
    assert out.index("Changes:") < out.index("Problems:")
    assert "Nothing has been changed" in out and not err


def test_plan_json_prints_only_the_plan_json_on_stdout(capsys, demo):
    code, out, err = run(capsys, demo, "plan", "--json")
    assert code == Exit.ROW_ERRORS and not err
    plan = json.loads(out)  # the whole of stdout is one JSON document
    assert plan["version"] == 1 and plan["summary"]["create_user"] == 15 and plan["summary"]["errors"] == 9
    assert len(plan["changes"]) == 54
    first = plan["changes"][0]
    assert list(first)[:9] == ["id", "kind", "key", "row", "rule", "fields", "decision", "depends_on", "problems"]
    assert {p["code"] for p in plan["problems"]} >= {"duplicate_login", "department_has_users", "unknown_parent"}


def test_plan_out_saves_the_same_plan_and_says_where(capsys, demo, tmp_path):
    _, printed, _ = run(capsys, demo, "plan", "--json")
    code, _, err = run(capsys, demo, "plan", "--out", str(tmp_path / "p.json"))
    assert code == Exit.ROW_ERRORS and f"plan saved to {tmp_path / 'p.json'}" in err
    saved = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    printed = json.loads(printed)
    # (the digest covers created_at: two plans a second apart carry different digests)
    assert {k: v for k, v in saved.items() if k not in ("created_at", "digest")} == \
           {k: v for k, v in printed.items() if k not in ("created_at", "digest")}


def test_plan_move_users_of_resolves_department_has_users(capsys, demo):
    code, out, _ = run(capsys, demo, "plan", "--json", "--move-users-of", "MOW-CUS", "--to", "MOW")
    plan = json.loads(out)
    assert plan["resolutions"] == [{"move_users_of": "MOW-CUS", "to": "MOW"}]
    assert "department_has_users" not in {p["code"] for p in plan["problems"]}
    moved = [c for c in plan["changes"] if c["kind"] == "update_user" and "departmentId" in c["fields"]
             and c["fields"]["departmentId"] == ["MOW-CUS", "MOW"]]
    assert {c["key"] for c in moved} == {"ext.d.fedorov", "pavel.egorov"}
    delete = next(c for c in plan["changes"] if c["id"] == "delete_department:mow-cus")
    assert not delete["problems"] and set(delete["depends_on"]) >= {c["id"] for c in moved}


def test_move_users_of_without_to_is_a_usage_error(capsys, demo):
    code, _, err = run(capsys, demo, "plan", "--move-users-of", "MOW-CUS")
    assert code == Exit.USAGE and "--to" in err


def test_a_config_error_names_the_file_and_key_and_exits_2(capsys, demo):
    edit(demo, 'timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus_Mons"')
    code, _, err = run(capsys, demo, "plan")
    assert code == Exit.USAGE and str(demo) in err and "timezone" in err and "Mars/Olympus_Mons" in err
    assert "Traceback" not in err


def test_check_and_plan_write_nothing(capsys, demo, tmp_path):
    folder = demo.parent
    before = files(folder)
    for args in (("check",), ("plan",), ("plan", "--move-users-of", "MOW-CUS", "--to", "MOW")):
        run(capsys, demo, *args)
    assert files(folder) == before  # the LMS, the ledger and the state folder as they were
    # A4: a plan printed for applying is sealed with the state folder's plan key, made once, 0600
    run(capsys, demo, "plan", "--json")
    key = folder / ".tui-sync" / "plan.key"
    assert files(folder) == {**before, ".tui-sync/plan.key": files(folder)[".tui-sync/plan.key"]}
    assert key.stat().st_mode & 0o777 == 0o600
    sealed = files(folder)
    run(capsys, demo, "plan", "--json")
    assert files(folder) == sealed


def test_lms_dump_json_and_lms_load_round_trip(capsys, demo, tmp_path):
    code, out, _ = run(capsys, demo, "lms", "dump", "--json")
    assert code == Exit.OK
    dump = json.loads(out)
    assert len(dump["departments"]) == 33 and len(dump["users"]) == 293
    # written back as the sheets `lms load` reads (headers are the LMS field names) into a new LMS
    for name, rows in dump.items():
        rows = [{**{k: v for k, v in r.items() if k != "custom"}, **r.get("custom", {})} for r in rows]
        fields = list(dict.fromkeys(k for r in rows for k in r if k != "id"))
        with (tmp_path / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fields, extrasaction="ignore")
            w.writeheader()
            w.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    other = tmp_path / "other.toml"
    other.write_text(demo.read_text(encoding="utf-8").replace('path = "lms.sqlite"', f'path = "{tmp_path / "other.sqlite"}"'),
                     encoding="utf-8")
    code, _, err = run(capsys, other, "lms", "load", "--departments", str(tmp_path / "departments.csv"),
                       "--users", str(tmp_path / "users.csv"))
    assert code == Exit.OK and "loaded 33 departments and 293 users" in err
    _, again, _ = run(capsys, other, "lms", "dump", "--json")
    again = json.loads(again)
    strip = lambda rows: sorted(json.dumps({k: v for k, v in r.items() if k != "id"}, sort_keys=True)  # noqa: E731
                                for r in rows)
    assert strip(again["departments"]) == strip(dump["departments"])
    assert strip(again["users"]) == strip(dump["users"])


def test_lms_load_of_a_broken_file_changes_nothing(capsys, demo, tmp_path):
    (tmp_path / "d.csv").write_text("code,name,parentCode\nA,Alpha,B\nB,Beta,A\n", encoding="utf-8")  # a cycle
    (tmp_path / "u.csv").write_text("login,email,firstName,lastName,departmentId\n", encoding="utf-8")
    before = os.stat(demo.parent / "lms.sqlite").st_mtime_ns
    code, _, err = run(capsys, demo, "lms", "load", "--departments", str(tmp_path / "d.csv"),
                       "--users", str(tmp_path / "u.csv"))
    assert code != Exit.OK and "Traceback" not in err and "d.csv" in err
    assert os.stat(demo.parent / "lms.sqlite").st_mtime_ns == before
    _, out, _ = run(capsys, demo, "lms", "dump", "--json")
    assert len(json.loads(out)["users"]) == 293


def test_apply_says_why_a_blocked_change_was_not_applied(capsys, demo):
    code, out, _ = run(capsys, demo, "apply", "--approve", "all")
    assert code == Exit.ROW_ERRORS  # done, but some changes were not applied
    line = next(x for x in out.splitlines() if "delete_department MOW-CUS" in x)
    assert line.strip().startswith("[blocked ]") and "None" not in out
    assert "not applied: department MOW-CUS still has 2 user(s) after this sync" in line  # its own problem's words


def test_where_a_group_of_problems_is_names_each_sheet():
    from tui_sync.model import error
    from tui_sync.report import rows_of

    probs = [error("missing_value", "department", "name is blank", row=3),
             error("missing_value", "user", "email is blank", row=3), error("missing_value", "user", "x", row=9)]
    assert rows_of(probs) == "departments row 3; users rows 3, 9"


def test_lms_load_on_a_busy_database_does_not_blame_the_files(capsys, demo, tmp_path, monkeypatch):
    import sqlite3

    from tui_sync.lms import embedded

    monkeypatch.setattr(embedded, "BUSY_TIMEOUT_MS", 200)  # (how long it waits, not what it then says)

    out_ok = tmp_path / "d.csv"
    out_ok.write_text("code,name,parentCode\nHQ,Head office,\n", encoding="utf-8")
    (tmp_path / "u.csv").write_text("login,email,firstName,lastName,departmentId\n", encoding="utf-8")
    holder = sqlite3.connect(demo.parent / "lms.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # someone else is writing the database
    try:
        code, _, err = run(capsys, demo, "lms", "load", "--departments", str(out_ok), "--users", str(tmp_path / "u.csv"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code != Exit.OK and "busy" in err and "d.csv" not in err


def test_a_missing_column_is_never_pointed_at_a_header_already_mapped():
    from tui_sync.engine.mapping import review_mapping

    report = review_mapping("user", {"login": "login", "email": "E-mail", "firstName": "First", "lastName": "Last",
                                     "departmentId": "Dept", "Account": "Logins"},
                            ("Login", "E-mail", "First", "Last", "Dept"))
    assert report.missing == (("Account", "Logins"),) and "Account" not in report.instead


def test_demo_never_replaces_a_folder_it_did_not_make(tmp_path, capsys):
    # `tui-sync demo --dir .` in a real configuration's folder deleted its state folder and LMS
    real = tmp_path / "real"
    (real / ".tui-sync").mkdir(parents=True)
    (real / "tui-sync.toml").write_text("# the operator's own\n")
    (real / "lms.sqlite").write_bytes(b"the operator's LMS")
    (real / ".tui-sync" / "state.sqlite").write_bytes(b"the run history")
    assert main(["demo", "--dir", str(real), "--no-ui"]) == Exit.USAGE
    assert "the folder is not empty and no demo was made in it" in capsys.readouterr().err
    assert (real / "tui-sync.toml").read_text() == "# the operator's own\n"
    assert (real / "lms.sqlite").read_bytes() == b"the operator's LMS"
    assert (real / ".tui-sync" / "state.sqlite").read_bytes() == b"the run history"
    # a demo's own folder is made again, as often as asked
    demo = tmp_path / "demo"
    for _ in range(2):
        assert main(["demo", "--dir", str(demo), "--no-ui"]) == Exit.OK
    assert (demo / "lms.sqlite").exists()


def test_plan_verbose_shows_an_absent_value_as_a_dash_not_none(capsys, demo):
    """Operator text: a create's fields read `code: — → BER-ESG`, never Python's `None`."""
    code, out, _ = run(capsys, demo, "plan", "-v")
    line = next(x for x in out.splitlines() if "create_department BER-ESG" in x)
    assert "code: — → BER-ESG" in line and "None" not in out


def test_plan_as_a_process_of_its_own_ends_with_its_whole_output_written(capsys, demo, tmp_path):
    """The `tui-sync` command leaves a finished plan at once (`cli.script`): what it wrote to the pipe
    and to --out is whole, and the exit code is the plan's."""
    saved = tmp_path / "plan.json"
    done = subprocess.run([sys.executable, "-m", "tui_sync.cli", "--config", str(demo), "plan", "--json",
                           "--out", str(saved)], capture_output=True, check=False)
    assert done.returncode == Exit.ROW_ERRORS  # (the demo's sheets hold rows with errors)
    assert b"plan saved to" in done.stderr
    piped, written = json.loads(done.stdout), json.loads(saved.read_bytes())
    code, out, _ = run(capsys, demo, "plan", "--json")
    in_process = json.loads(out)
    assert code == Exit.ROW_ERRORS
    for plan in (piped, written):
        assert plan["digest"].startswith("hmac-sha256:")
        assert plan["changes"] == in_process["changes"] and plan["problems"] == in_process["problems"]


def test_a_command_other_than_plan_runs_with_the_collector(demo):
    """`cli.script` holds the collector back only for `plan` (a long-lived UI or daemon needs it)."""
    probe = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('collector', gc.isenabled(), file=sys.stderr))\n"
             "from tui_sync.cli import script\n"
             f"sys.argv = ['tui-sync', '--config', {str(demo)!r}, 'runs']\n"
             "script()\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=False)
    assert done.returncode == Exit.OK, done.stderr
    assert b"collector True" in done.stderr
