"""C2 from the command line: an export of the LMS, read back as the sheets, with a protected
admin that the export lists with blank cells, plans nothing and exits 0."""
from __future__ import annotations

import json
import shutil

from workspace import Workspace, edit, lms_dept, lms_user, run
from tui_sync.errors import Exit

PROTECT = '\n[protect]\nusers = ["lms.admin"]\n'


def exported(ws: Workspace, capsys) -> None:
    """`tui-sync export`, then the exported files are the sheets."""
    code, _, err = run(capsys, ws.root / "tui-sync.toml", "export", "--departments", str(ws.root / "d.csv"),
                       "--users", str(ws.root / "u.csv"))
    assert code == Exit.OK and "lms.admin" in err  # (the export warns of the admin in the root department)
    shutil.copy(ws.root / "d.csv", ws.root / "departments.csv")
    shutil.copy(ws.root / "u.csv", ws.root / "users.csv")


def test_c2_an_export_round_trip_with_a_protected_admin_plans_nothing_and_exits_0(tmp_path, capsys):
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", "Headquarters"), lms_dept("OPS", "Operations", "HQ")],
                [lms_user("lms.admin", None, jobTitle="LMS administrator"), lms_user("bob.berg", "OPS"),
                 lms_user("eva.ek", "OPS", subordination="bob.berg")])
    exported(ws, capsys)
    config = ws.root / "tui-sync.toml"
    code, out, _ = run(capsys, config, "plan", "--json")
    assert code == Exit.ROW_ERRORS  # (without the protection: the admin's blank department)
    assert [(p["code"], p["key"]) for p in json.loads(out)["problems"]] == [("missing_value", "lms.admin")]

    edit(config, "[users.mapping]", PROTECT + "\n[users.mapping]")
    code, out, _ = run(capsys, config, "plan", "--json")
    plan = json.loads(out)
    assert code == Exit.OK and plan["changes"] == []
    assert [(p["code"], p["severity"], p["key"]) for p in plan["problems"]] == [("protected", "warning", "lms.admin")]
    code, _, _ = run(capsys, config, "apply", "--approve", "all")
    assert code == Exit.OK and ws.users()["lms.admin"]["departmentId"] is None
