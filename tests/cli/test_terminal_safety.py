"""F4 on the command line: values from a sheet, the LMS or a file reach the terminal, the run
logs and their exports with control characters escaped — a cell can neither erase lines of
`plan -v` (hiding an inactivation) nor split a line of `runs show`."""
from __future__ import annotations

import csv
import io
import json

from tui_sync.errors import Exit
from workspace import DEPT_HEADERS, Workspace, cli, dept, lms_dept, lms_user, person, write_csv

ERASE = "\x1b[1A\x1b[2K"  # cursor up, erase the line


def raw_controls(text: str) -> set[str]:
    return {ch for ch in text if (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F}


def test_plan_verbose_shows_escape_sequences_of_a_cell_escaped(tmp_path, capsys):
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", "Headquarters")], [lms_user("old.hand"), lms_user("ann.lee")])
    ws.sheets([dept("HQ", f"Head{ERASE}quarters")], [person("ann.lee")])
    code, out, _ = cli(capsys, ws, "plan", "-v")
    assert code == Exit.OK and raw_controls(out) == set()
    assert "Head\\x1b[1A\\x1b[2Kquarters" in out
    assert any(line.startswith("  ⊘ inactivate_user old.hand") for line in out.splitlines())  # still visible


def test_a_line_break_in_an_lms_login_stays_on_its_line_in_runs_show_and_its_exports(tmp_path, capsys):
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ")], [lms_user("ann.lee"), lms_user("two\nlines", email="two@example.com")])
    ws.sheets([dept("HQ")], [person("ann.lee")])  # the LMS user with the line break is inactivated
    assert cli(capsys, ws, "apply", "--approve", "all")[0] == Exit.OK
    code, out, _ = cli(capsys, ws, "runs", "show", "1")
    assert code == Exit.OK and raw_controls(out) == set()
    assert "  [applied ] inactivate_user two\\nlines" in out.splitlines()
    code, out, _ = cli(capsys, ws, "runs", "show", "1", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["key"] for r in rows if r["kind"] == "inactivate_user"] == ["two\\nlines"]
    code, out, _ = cli(capsys, ws, "runs", "show", "1", "--format", "json")  # data: JSON's own escaping
    assert any(c["key"] == "two\nlines" for c in json.loads(out)["changes"])


def test_a_login_with_a_line_break_in_the_sheet_is_invalid_characters_and_shown_escaped(tmp_path, capsys):
    ws = Workspace(tmp_path / "ws")
    ws.sheets([dept("HQ")], [person("good.one"), person("bad\none", Email="bad@example.com")])
    code, out, _ = cli(capsys, ws, "plan")
    assert code == Exit.ROW_ERRORS and raw_controls(out) == set()
    assert "invalid_characters — 1 error" in out
    assert 'users row 3, column "Login", bad\\none: Login bad\\none holds a control character' in out
    code, out, _ = cli(capsys, ws, "plan", "--json")
    assert [c["key"] for c in json.loads(out)["changes"] if c["kind"] == "create_user"] == ["good.one"]


def test_check_shows_a_header_with_a_control_character_escaped(tmp_path, capsys):
    ws = Workspace(tmp_path / "ws")
    write_csv(ws.root / "departments.csv", [*DEPT_HEADERS, f"Note{ERASE}", "Two\nlines"], [dept("HQ")])
    code, out, _ = cli(capsys, ws, "check")
    assert raw_controls(out) == set() and "Note\\x1b[1A\\x1b[2K" in out
    assert any(line.startswith("  header: ") and line.endswith("Two\\nlines") for line in out.splitlines())


C1_CSI_AND_BIDI = "Head\x9b2K\x9b1Aquarters \u202eevil\x7f"  # C1 CSI erases lines; U+202E reverses them


def test_json_outputs_print_c1_controls_and_bidi_overrides_as_escapes_and_read_back_the_same(tmp_path, capsys):
    # JSON escapes only C0 by itself; a raw \x9b in `plan --json`, `lms dump --json` or `runs show
    # --format json` is CSI on a terminal that takes 8-bit controls
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", C1_CSI_AND_BIDI)], [lms_user("ann.lee")])
    ws.sheets([dept("HQ", C1_CSI_AND_BIDI + "!")], [person("ann.lee")])
    outputs = {}
    for command in (("plan", "--json"), ("lms", "dump", "--json"), ("apply", "--approve", "all"),
                    ("runs", "show", "1", "--format", "json"), ("runs", "--json")):
        code, out, _ = cli(capsys, ws, *command)
        assert code == Exit.OK
        outputs[command[0]] = out
        assert raw_controls(out) == set() and not {"\u202e"} & set(out), command
    assert "\\u009b" in outputs["plan"] and "\\u202e" in outputs["lms"]
    name = json.loads(outputs["lms"])["departments"][0]["name"]
    assert name == C1_CSI_AND_BIDI  # the same value, escaped only in its JSON spelling
    plan = json.loads(outputs["plan"])
    assert plan["changes"][0]["fields"]["name"] == [C1_CSI_AND_BIDI, C1_CSI_AND_BIDI + "!"]


def test_a_saved_plan_with_escaped_controls_is_still_accepted_by_apply(tmp_path, capsys):
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", "Headquarters")], [lms_user("ann.lee")])
    ws.sheets([dept("HQ", C1_CSI_AND_BIDI)], [person("ann.lee")])
    saved = tmp_path / "plan.json"
    assert cli(capsys, ws, "plan", "--out", str(saved))[0] == Exit.OK
    assert "\\u009b" in saved.read_text() and raw_controls(saved.read_text()) == set()
    code, _, err = cli(capsys, ws, "apply", "--plan", str(saved), "--approve", "all")
    assert code == Exit.OK, err
    assert ws.departments()["HQ"]["name"] == C1_CSI_AND_BIDI


def test_a_login_or_code_with_a_text_direction_override_is_invalid_characters(tmp_path, capsys):
    # U+202E shows "adm\u202eNIMDA" as "admADMIN"-like text: an identity no one can read right
    ws = Workspace(tmp_path / "ws")
    ws.sheets([dept("HQ"), dept("R\u2067TL")],
              [person("good.one"), person("adm\u202enimda", Email="x@example.com")])
    code, out, _ = cli(capsys, ws, "plan")
    assert code == Exit.ROW_ERRORS
    assert "invalid_characters — 2 errors" in out
    assert "adm\\u202enimda holds a control character, a line break or a text-direction override" in out
    code, out, _ = cli(capsys, ws, "plan", "--json")
    assert {c["key"] for c in json.loads(out)["changes"]} == {"HQ", "good.one"}
