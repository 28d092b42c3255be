"""Apply (A1, A2), the ledger (L1), resolutions (D5), the run log (A3), the lock."""
from __future__ import annotations

import asyncio
import json

import pytest

from tui_sync import service
from tui_sync.cli import main
from tui_sync.errors import Exit
from tui_sync.model import Decision, Kind, Resolution
from tui_sync.plan_io import read_plan, write_plan
from tui_sync.state.lock import SyncLock
from workspace import Workspace, dept, lms_dept, lms_user, person


def plan_of(ws, resolutions=None):
    return asyncio.run(service.make_plan(ws.config, resolutions)).plan


def apply(ws, plan=None, approve="all", **kw):
    return asyncio.run(service.apply(ws.config, plan=plan, approve=approve, **kw))


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws")
    w.load_lms([lms_dept("HQ", "Headquarters"), lms_dept("OLD")],
               [lms_user("ann.lee", jobTitle="Clerk"), lms_user("bob.stone"), lms_user("gone.away")])
    w.sheets([dept("HQ", "Headquarters"), dept("NEW", "New team", "HQ")],
             [person("ann.lee", Title="Lead"), person("bob.stone", "NEW", Supervisor="ann.lee"),
              person("cat.new", "NEW", Supervisor="dan.new"), person("dan.new")])
    return w


def test_apply_all_makes_the_lms_match_the_sheets_and_a_second_plan_is_empty(ws):
    report = apply(ws)
    assert report.exit_code == Exit.OK
    users = ws.users()
    assert users["ann.lee"]["jobTitle"] == "Lead"
    assert users["bob.stone"]["departmentId"] == "NEW" and users["bob.stone"]["subordination"] == "ann.lee"
    assert users["cat.new"]["subordination"] == "dan.new"
    assert users["gone.away"]["status"] == "inactive"
    assert "OLD" not in ws.departments()
    assert plan_of(ws).changes == []


def test_apply_applies_exactly_the_approved_changes(ws):
    plan = plan_of(ws)
    for c in plan.changes:
        c.decision = Decision.APPROVED if c.kind is Kind.UPDATE_USER and c.key == "ann.lee" else Decision.REJECTED
    report = apply(ws, plan, approve=None)
    assert {c.change_id: c.outcome for c in report.run.changes}["update_user:ann.lee"] == "applied"
    assert ws.users()["ann.lee"]["jobTitle"] == "Lead"
    assert "cat.new" not in ws.users() and "NEW" not in ws.departments()


def test_approve_never_overrides_a_rejection_and_safe_leaves_destructive_changes(ws):
    plan = plan_of(ws)
    plan.by_id()["create_user:dan.new"].decision = Decision.REJECTED
    apply(ws, plan, approve="safe")
    users = ws.users()
    assert "dan.new" not in users
    assert users["gone.away"]["status"] == "active" and "OLD" in ws.departments()


def test_rejecting_a_change_blocks_its_dependents_with_the_reason(ws):
    plan = plan_of(ws)
    plan.by_id()["create_department:new"].decision = Decision.REJECTED
    report = apply(ws, plan)
    out = {c.change_id: c for c in report.run.changes}
    assert out["create_user:cat.new"].outcome == "blocked"
    assert "create_department NEW, which was rejected" in out["create_user:cat.new"].error
    assert report.exit_code == Exit.ROW_ERRORS


def test_a2_change_whose_object_moved_on_is_stale_and_not_overwritten(ws):
    plan = plan_of(ws)

    async def meddle():
        lms = ws.lms()
        u = await lms.find_user(login="ann.lee")
        await lms.update_user(u.id, {"jobTitle": "Changed by hand"})
        await lms.create_user(type(u)(id="", login="dan.new", email="other@example.com", firstName="D",
                                      lastName="N", department_id=None, status="active"))
        await lms.close()
    asyncio.run(meddle())
    report = apply(ws, plan)
    out = {c.change_id: c for c in report.run.changes}
    assert out["update_user:ann.lee"].outcome == "stale" and "Changed by hand" in out["update_user:ann.lee"].error
    assert out["create_user:dan.new"].outcome == "stale" and "taken" in out["create_user:dan.new"].error
    assert ws.users()["ann.lee"]["jobTitle"] == "Changed by hand"


def test_a2_delete_of_a_department_that_got_users_is_stale(ws):
    plan = plan_of(ws)

    async def meddle():
        lms = ws.lms()
        old = await lms.find_department("OLD")
        u = await lms.find_user(login="bob.stone")
        await lms.update_user(u.id, {"department_id": old.id})
        await lms.close()
    asyncio.run(meddle())
    # bob was planned to move from HQ; now he sits in OLD: his move is stale, and so is the delete
    report = apply(ws, plan)
    out = {c.change_id: c.outcome for c in report.run.changes}
    assert out["delete_department:old"] in ("stale", "blocked")
    assert "OLD" in ws.departments()


def test_l1_completed_apply_of_an_empty_plan_records_matched_objects(tmp_path):
    ws = Workspace(tmp_path)
    ws.load_lms([lms_dept("HQ", "Headquarters")], [lms_user("ann.lee")], managed=False)
    ws.sheets([dept("HQ", "Headquarters")], [person("ann.lee")])
    assert plan_of(ws).changes == []
    apply(ws)
    ws.sheets([dept("HQ", "Headquarters")], [person("zed.new")])
    assert [(c.kind, c.key) for c in plan_of(ws).changes] == [
        (Kind.CREATE_USER, "zed.new"), (Kind.INACTIVATE_USER, "ann.lee")]


def test_l1_created_objects_become_managed(ws):
    apply(ws)
    ws.sheets([dept("HQ", "Headquarters")], [person("ann.lee", Title="Lead"), person("bob.stone")])
    kinds = {(c.kind, c.key) for c in plan_of(ws).changes}
    assert (Kind.INACTIVATE_USER, "cat.new") in kinds and (Kind.DELETE_DEPARTMENT, "NEW") in kinds


def test_d5_resolution_moves_the_users_and_the_delete_goes_ahead(tmp_path):
    ws = Workspace(tmp_path)
    ws.load_lms([lms_dept("HQ"), lms_dept("OPS")], [lms_user("ann.lee"), lms_user("hand.made", "OPS")])
    ws.sheets([dept("HQ")], [person("ann.lee")])
    from tui_sync.state.ledger import Ledger
    snap_users = ws.users()
    assert snap_users["hand.made"]["departmentId"] == "OPS"
    plan = plan_of(ws, [Resolution("OPS", "HQ")])
    assert not plan.by_id()["delete_department:ops"].blocked
    apply(ws, plan)
    assert ws.users()["hand.made"]["departmentId"] == "HQ" and "OPS" not in ws.departments()
    assert Ledger(ws.root / ".tui-sync").departments().height == 1


def test_resume_finishes_an_interrupted_apply_without_duplicates(ws):
    plan = plan_of(ws)
    cancel = asyncio.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done == 2:
            cancel.set()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(service.apply(ws.config, plan=plan, approve="all", progress=progress, cancel=cancel))
    assert service.unfinished_run(ws.config) is not None
    run = asyncio.run(service.resume(ws.config))
    assert run.status == "completed"
    assert service.unfinished_run(ws.config) is None
    assert plan_of(ws).changes == []
    assert sorted(ws.users()) == ["ann.lee", "bob.stone", "cat.new", "dan.new", "gone.away"]


def test_second_sync_is_refused_while_one_holds_the_lock(ws, capsys):
    with SyncLock(ws.config.state, "apply"):
        code = main(["--config", str(ws.root / "tui-sync.toml"), "apply", "--approve", "all"])
    err = capsys.readouterr().err
    assert code == Exit.USAGE and "a sync of this configuration is running (pid" in err
    assert main(["--config", str(ws.root / "tui-sync.toml"), "apply", "--approve", "all"]) == Exit.OK


def test_apply_without_plan_needs_approve(ws, capsys):
    assert main(["--config", str(ws.root / "tui-sync.toml"), "apply"]) == Exit.USAGE
    assert "--approve" in capsys.readouterr().err


def test_apply_plan_file_with_edited_decisions(ws, tmp_path, capsys):
    cfg = str(ws.root / "tui-sync.toml")
    out = tmp_path / "plan.json"
    assert main(["--config", cfg, "plan", "--out", str(out)]) == Exit.OK
    data = json.loads(out.read_text())
    for c in data["changes"]:
        c["decision"] = "approved" if c["kind"] == "create_department" else "rejected"
    out.write_text(json.dumps(data))
    assert main(["--config", cfg, "apply", "--plan", str(out)]) == Exit.OK
    assert "NEW" in ws.departments() and "cat.new" not in ws.users()


def test_runs_are_listed_and_shown_as_txt_csv_json(ws, capsys):
    cfg = str(ws.root / "tui-sync.toml")
    main(["--config", cfg, "apply", "--approve", "all"])
    capsys.readouterr()
    assert main(["--config", cfg, "runs", "--json"]) == Exit.OK
    [run] = json.loads(capsys.readouterr().out)
    assert run["status"] == "completed" and run["trigger"] == "apply"
    assert run["counts"]["create_user"] == {"applied": 2}
    main(["--config", cfg, "runs", "show", str(run["id"])])
    txt = capsys.readouterr().out
    assert "[applied ] create_user cat.new" in txt and "users.csv" in txt
    main(["--config", cfg, "runs", "show", str(run["id"]), "--format", "csv"])
    assert "create_user:cat.new" in capsys.readouterr().out
    assert main(["--config", cfg, "runs", "show", "999"]) == Exit.USAGE


def test_run_holds_review_kinds_and_exits_4(ws, capsys):
    cfg = str(ws.root / "tui-sync.toml")
    assert main(["--config", cfg, "run"]) == Exit.HELD
    out = capsys.readouterr().out
    assert "held for review" in out
    users = ws.users()
    assert users["ann.lee"]["jobTitle"] == "Lead" and users["gone.away"]["status"] == "active"
    held = sorted((ws.root / ".tui-sync" / "held").glob("*.json"))
    plan = read_plan(held[-1])
    assert {c.kind for c in plan.changes} == {Kind.INACTIVATE_USER, Kind.DELETE_DEPARTMENT}
    main(["--config", cfg, "runs"])
    assert "held" in capsys.readouterr().out
    # released later by a person
    assert main(["--config", cfg, "apply", "--plan", str(held[-1]), "--approve", "all"]) == Exit.OK
    assert ws.users()["gone.away"]["status"] == "inactive"


def test_run_holds_inactivations_over_the_threshold_even_if_not_review_kinds(tmp_path):
    ws = Workspace(tmp_path, extra_config='[policy]\nreview = []\nmax_inactivations = "10%"\n')
    ws.load_lms([lms_dept("HQ")], [lms_user(f"u{i}.x") for i in range(10)])
    ws.sheets([dept("HQ")], [person(f"u{i}.x") for i in range(8)])
    report = asyncio.run(service.run(ws.config))
    assert report.exit_code == Exit.HELD and len(report.held) == 2
    assert "threshold" in report.held_reasons[0]


def test_run_holds_destructive_changes_when_a_source_shrinks(tmp_path):
    ws = Workspace(tmp_path, extra_config='[policy]\nreview = []\nmax_inactivations = 100\nmax_row_drop = "20%"\n')
    ws.load_lms([lms_dept("HQ")], [])
    ws.sheets([dept("HQ")], [person(f"u{i}.x") for i in range(10)])
    assert asyncio.run(service.run(ws.config)).exit_code == Exit.OK
    ws.sheets([dept("HQ")], [person(f"u{i}.x") for i in range(5)])
    report = asyncio.run(service.run(ws.config))
    assert report.exit_code == Exit.HELD and "fewer" in report.held_reasons[0]
    assert all(u["status"] == "active" for u in ws.users().values())


def test_run_with_an_empty_source_changes_nothing_and_exits_3(ws, capsys):
    (ws.root / "users.csv").write_text("Login,Email,First,Last,Dept,Status,Supervisor,Title\n")
    before = ws.dump()
    assert main(["--config", str(ws.root / "tui-sync.toml"), "run"]) == Exit.UNREADABLE
    assert "no data rows" in capsys.readouterr().err
    assert ws.dump() == before


def test_export_roundtrip_gives_an_empty_plan(ws, tmp_path):
    apply(ws)
    for ext in ("csv", "xlsx"):
        d, u = ws.root / f"departments.{ext}", ws.root / f"users.{ext}"
        asyncio.run(service.export(ws.config, d, u))
        toml = (ws.root / "tui-sync.toml").read_text()
        (ws.root / "tui-sync.toml").write_text(
            toml.replace('"departments.csv"', f'"departments.{ext}"').replace('"users.csv"', f'"users.{ext}"'))
        kinds = {c.kind for c in plan_of(ws).changes}
        # gone.away is inactive in the LMS and in the export, so it is matched: nothing to do
        assert kinds == set(), kinds


def test_exported_csv_escapes_formula_cells_when_asked(ws):
    async def meddle():
        lms = ws.lms()
        u = await lms.find_user(login="ann.lee")
        await lms.update_user(u.id, {"jobTitle": "=HYPERLINK(\"http://x\")"})
        await lms.close()
    asyncio.run(meddle())
    asyncio.run(service.export(ws.config, ws.root / "d.csv", ws.root / "u.csv", guard_formulas=True))
    text = (ws.root / "u.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text
    asyncio.run(service.export(ws.config, ws.root / "d.csv", ws.root / "u.csv"))  # F3: off by default
    text = (ws.root / "u.csv").read_text(encoding="utf-8-sig")
    assert ',"=HYPERLINK(""http' in text and "'=" not in text


def test_saved_plan_roundtrips_through_json(ws, tmp_path):
    plan = plan_of(ws, [Resolution("OLD", "HQ")])
    write_plan(plan, tmp_path / "p.json")
    again = read_plan(tmp_path / "p.json")
    assert [(c.id, c.kind, c.fields, c.depends_on, c.target) for c in again.changes] == \
           [(c.id, c.kind, c.fields, c.depends_on, c.target) for c in plan.changes]
    assert again.matched_users == plan.matched_users and again.resolutions == plan.resolutions


def test_a_lock_left_by_a_killed_process_is_recovered(ws):
    import signal
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from pathlib import Path; from tui_sync.state.lock import SyncLock\n"
                               f"l = SyncLock(Path({str(ws.config.state)!r}), 'apply'); l.acquire(); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(Exception, match=f"pid {holder.pid}"):
        SyncLock(ws.config.state).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()  # reaped: its files are closed, so the kernel has released its flock (no pause needed)
    with SyncLock(ws.config.state, "apply") as lock:
        assert lock.holder()["pid"] != holder.pid


def test_run_holds_an_update_that_terminates_when_a_source_shrinks(tmp_path):
    # inactive → terminated is an update_user (U5), destructive by its effect (A4): a shrunken sheet
    # (P3 row drop) holds it with the inactivations
    ws = Workspace(tmp_path, extra_config='[policy]\nreview = []\nmax_inactivations = 100\nmax_row_drop = "20%"\n')
    ws.load_lms([lms_dept("HQ")], [])
    ws.sheets([dept("HQ")], [person(f"u{i}.x") for i in range(9)] + [person("old.hand", Status="inactive")])
    assert asyncio.run(service.run(ws.config)).exit_code == Exit.OK
    assert ws.users()["old.hand"]["status"] == "inactive"
    ws.sheets([dept("HQ")], [person(f"u{i}.x") for i in range(4)] + [person("old.hand", Status="terminated")])
    report = asyncio.run(service.run(ws.config))
    assert report.exit_code == Exit.HELD and "fewer" in report.held_reasons[0]
    assert ws.users()["old.hand"]["status"] == "inactive"
    assert all(ws.users()[f"u{i}.x"]["status"] == "active" for i in range(9))
