"""A4 at apply time: a change acts only on the object it was planned for (embedded LMS and
iSpring alike), `--approve safe` judges by effect, a change that cannot be applied fails
alone, and an interrupted apply can be abandoned; nothing wedges the configuration."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ispring_emulator import ISpringEmulator
from tui_sync import service
from tui_sync.cli import main
from tui_sync.config import Config
from tui_sync.engine.apply import Applier
from tui_sync.errors import Exit
from tui_sync.model import Change, Decision, Kind, Plan
from tui_sync.state.ledger import Ledger
from tui_sync.state.runs import RunStore
from tui_sync.applying import approve
from workspace import USER_HEADERS, Workspace, cli, dept, lms_dept, lms_user, person, write_csv

SECRET_ENV = "TUI_SYNC_TEST_A4_SECRET"


def people(cfg: Config) -> dict[str, dict]:
    snap = asyncio.run(service.snapshot(cfg))
    return {u["login"]: u for u in snap.users.iter_rows(named=True)}


def plan_of(cfg: Config) -> Plan:
    return asyncio.run(service.make_plan(cfg)).plan


def apply(cfg: Config, plan: Plan | None = None, how: str | None = "all"):
    return asyncio.run(service.apply(cfg, plan=plan, approve=how))


def outcomes(report) -> dict[str, tuple[str, str | None]]:
    return {c.change_id: (c.outcome, c.error) for c in report.run.changes}


async def _rename(cfg: Config, login: str, new: str) -> None:
    """Another person now at the LMS id the plan named (a reused id, a hand edit in the LMS)."""
    lms = service.open_lms(cfg)
    try:
        u = await lms.find_user(login=login)
        await lms.update_user(u.id, {"login": new, "email": f"{new}@example.com"})
    finally:
        await lms.close()


@pytest.fixture(params=["local", "ispring"])
def lms_ws(request, tmp_path, monkeypatch):
    """ann.lee's title changes and gone.away is inactivated, on the embedded LMS or the iSpring emulator."""
    ws = Workspace(tmp_path / "ws")
    ws.sheets([dept("HQ", "Headquarters")], [person("ann.lee", Title="Lead"), person("bob.stone")])
    users = [lms_user("ann.lee", jobTitle="Clerk"), lms_user("bob.stone"), lms_user("gone.away")]
    if request.param == "local":
        ws.load_lms([lms_dept("HQ", "Headquarters")], users)
        yield ws.config
        return
    with ISpringEmulator() as emu:
        ws.use_ispring(emu, SECRET_ENV, monkeypatch)
        hq = emu.add_department("Headquarters", "HQ")
        ids = [emu.add_user(u["login"], u["email"], u["firstName"], u["lastName"], department_id=hq,
                            **({"job_title": u["jobTitle"]} if u.get("jobTitle") else {})) for u in users]
        Ledger(ws.root / ".tui-sync").record({hq: None}, dict.fromkeys(ids))
        yield ws.config


def test_a_change_whose_target_is_now_someone_else_is_stale_and_writes_nothing(lms_ws):
    cfg = lms_ws
    plan = plan_of(cfg)
    assert {c.id for c in plan.changes} == {"update_user:ann.lee", "inactivate_user:gone.away"}
    assert plan.by_id()["update_user:ann.lee"].identity == {"login": "ann.lee", "email": "ann.lee@example.com",
                                                             "key": None}
    asyncio.run(_rename(cfg, "ann.lee", "eve.other"))
    asyncio.run(_rename(cfg, "gone.away", "lms.admin"))
    report = apply(cfg, plan)
    got = outcomes(report)
    assert got["update_user:ann.lee"][0] == "stale"
    assert "no longer the one planned: its login is 'eve.other' in the LMS, planned as 'ann.lee'" \
        in got["update_user:ann.lee"][1]
    assert got["inactivate_user:gone.away"][0] == "stale"
    now = people(cfg)
    assert now["eve.other"]["jobTitle"] == "Clerk" and now["lms.admin"]["status"] == "active"
    assert report.exit_code == Exit.ROW_ERRORS


def test_an_unchanged_target_is_applied_on_both_lms(lms_ws):
    report = apply(lms_ws, plan_of(lms_ws))
    assert {o for o, _ in outcomes(report).values()} == {"applied"}
    now = people(lms_ws)
    assert now["ann.lee"]["jobTitle"] == "Lead" and now["gone.away"]["status"] == "inactive"


def test_a_target_that_carries_another_unique_key_now_is_stale(tmp_path):
    ws = Workspace(tmp_path / "ws", extra_config='userUniqueKey = "Key"\n')
    ws.load_lms([lms_dept("HQ", "Headquarters")], [lms_user("ann.lee", jobTitle="Clerk")], managed=False)
    ann = ws.users()["ann.lee"]["id"]
    Ledger(ws.root / ".tui-sync").record({}, {ann: "E-1"})
    write_csv(ws.root / "users.csv", [*USER_HEADERS, "Key"], [person("ann.lee", Title="Lead", Key="E-1")])
    plan = plan_of(ws.config)
    assert plan.by_id()["update_user:ann.lee"].identity["key"] == "E-1"
    Ledger(ws.root / ".tui-sync").record({}, {ann: "E-2"})  # bound to another employee since
    got = outcomes(apply(ws.config, plan))
    assert got["update_user:ann.lee"][0] == "stale" and "unique key 'E-2'" in got["update_user:ann.lee"][1]
    assert ws.users()["ann.lee"]["jobTitle"] == "Clerk"


def _admin_ws(tmp_path: Path) -> tuple[Workspace, str]:
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", "Headquarters")], [lms_user("lms.admin")], managed=False)
    return ws, ws.users()["lms.admin"]["id"]


def _create_admin() -> Change:
    return Change("create_user:lms.admin", Kind.CREATE_USER, "lms.admin",
                  {"login": (None, "lms.admin"), "email": (None, "lms.admin@example.com"),
                   "firstName": (None, "Lms"), "lastName": (None, "Admin")}, decision=Decision.APPROVED)


def test_a_create_meeting_an_existing_lookalike_is_stale_and_does_not_make_it_managed(tmp_path):
    ws, admin = _admin_ws(tmp_path)
    got = outcomes(apply(ws.config, Plan([_create_admin()], []), how=None))
    assert got["create_user:lms.admin"][0] == "stale"
    assert admin not in Ledger(ws.root / ".tui-sync").users()["lms_id"].to_list()


def test_a_create_an_interrupted_attempt_made_counts_as_applied(tmp_path):
    """The same lookalike, when this run's journal says the change was being written."""
    ws, admin = _admin_ws(tmp_path)
    plan = Plan([_create_admin()], [])
    results = asyncio.run(_applier_run(ws, plan, {"create_user:lms.admin": ("started", None)}))
    assert [(o.outcome, o.lms_id) for o in results] == [("applied", admin)]


async def _applier_run(ws: Workspace, plan: Plan, done: dict) -> list:
    lms = ws.lms()
    try:
        return await Applier(lms, plan, journal=lambda rows: None, done=done).run()
    finally:
        await lms.close()


def test_a_resumed_rename_accepts_the_login_its_first_attempt_wrote(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", "Headquarters")], [lms_user("ann.lee")])
    ann = ws.users()["ann.lee"]["id"]
    rename = Change("update_user:ann.lee", Kind.UPDATE_USER, "ann.lee", {"login": ("ann.lee", "ann.smith")},
                    target=ann, decision=Decision.APPROVED,
                    identity={"login": "ann.lee", "email": "ann.lee@example.com", "key": None})
    assert [o.outcome for o in asyncio.run(_applier_run(ws, Plan([rename], []), {}))] == ["applied"]
    again = asyncio.run(_applier_run(ws, Plan([rename], []), {rename.id: ("started", None)}))
    assert [o.outcome for o in again] == ["applied"] and "ann.smith" in ws.users()


# --- --approve safe, by effect -------------------------------------------------------

def test_approve_safe_leaves_pending_an_update_that_terminates(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", "Headquarters")],
                [lms_user("ann.lee", jobTitle="Clerk"), lms_user("old.timer", status="inactive")])
    ws.sheets([dept("HQ", "Headquarters")],
              [person("ann.lee", Title="Lead"), person("old.timer", Status="terminated")])
    plan = plan_of(ws.config)
    terminate = plan.by_id()["update_user:old.timer"]
    assert terminate.kind is Kind.UPDATE_USER and terminate.fields["status"] == ("inactive", "terminated")
    approve(plan, "safe")
    assert terminate.decision is Decision.PENDING
    assert plan.by_id()["update_user:ann.lee"].decision is Decision.APPROVED
    apply(ws.config, plan, how=None)
    assert ws.users()["old.timer"]["status"] == "inactive" and ws.users()["ann.lee"]["jobTitle"] == "Lead"


@pytest.mark.parametrize("kind, fields, safe", [
    (Kind.UPDATE_USER, {"status": ("active", "inactive")}, False),
    (Kind.UPDATE_USER, {"status": ("inactive", "active")}, True),
    (Kind.UPDATE_USER, {"jobTitle": ("a", "b")}, True),
    (Kind.INACTIVATE_USER, {"status": ("active", "terminated")}, False),
    (Kind.REACTIVATE_USER, {"status": ("inactive", "active")}, True),
    (Kind.DELETE_DEPARTMENT, {"code": ("OLD", None)}, False),
])
def test_safe_means_nothing_inactivates_terminates_or_deletes(kind, fields, safe):
    c = Change("x", kind, "x", fields, target="1")
    approve(Plan([c], []), "safe")
    assert (c.decision is Decision.APPROVED) is safe


# --- nothing wedges ----------------------------------------------------------------

def _broken() -> Change:
    """A create without an email: what a plan from an older or buggy writer may hold."""
    return Change("create_user:no.mail", Kind.CREATE_USER, "no.mail", {"login": (None, "no.mail")},
                  decision=Decision.APPROVED)


@pytest.fixture
def ws(tmp_path) -> Workspace:
    w = Workspace(tmp_path / "ws")
    w.load_lms([lms_dept("HQ", "Headquarters")], [lms_user("ann.lee", jobTitle="Clerk")])
    w.sheets([dept("HQ", "Headquarters")], [person("ann.lee", Title="Lead")])
    return w


def test_a_change_that_cannot_be_applied_fails_alone_and_the_run_completes(ws):
    plan = plan_of(ws.config)
    plan.changes.insert(0, _broken())
    report = apply(ws.config, plan)
    got = outcomes(report)
    assert got["create_user:no.mail"] == ("failed", "cannot be applied: a create_user needs the field email")
    assert got["update_user:ann.lee"][0] == "applied" and report.run.status == "completed"
    assert report.exit_code == Exit.ROW_ERRORS and ws.users()["ann.lee"]["jobTitle"] == "Lead"


def _interrupted(ws: Workspace, plan: Plan) -> int:
    store = RunStore(ws.root / ".tui-sync")
    run_id = store.start("apply", plan, str(ws.root / "tui-sync.toml"),
                         {c.id: "pending" if c.decision is Decision.APPROVED else "skipped" for c in plan.changes})
    store.finish(run_id, "interrupted", "killed")
    return run_id


def test_an_interrupted_run_holding_a_bad_change_resumes_with_that_change_failed(ws, capsys):
    plan = plan_of(ws.config)
    approve(plan, "all")
    plan.changes.insert(0, _broken())
    run_id = _interrupted(ws, plan)
    code, out, err = cli(capsys, ws, "apply", "--resume")
    assert code == Exit.ROW_ERRORS and "Traceback" not in err and "internal error" not in err
    run = service.run_details(ws.config, run_id)
    assert run.status == "completed"
    assert {c.change_id: c.outcome for c in run.changes} == {"create_user:no.mail": "failed",
                                                            "update_user:ann.lee": "applied"}
    assert cli(capsys, ws, "apply", "--approve", "all")[0] == Exit.OK  # and the configuration goes on


def test_abandon_closes_an_interrupted_run_without_writing(ws, capsys):
    plan = plan_of(ws.config)
    approve(plan, "all")
    run_id = _interrupted(ws, plan)
    before = ws.dump()
    code, _, err = cli(capsys, ws, "apply", "--abandon")
    assert code == Exit.OK and f"run {run_id} abandoned" in err
    assert ws.dump() == before
    run = service.run_details(ws.config, run_id)
    assert run.status == "abandoned" and "abandoned by" in run.message
    assert [c.outcome for c in run.changes] == ["abandoned"]
    assert service.unfinished_run(ws.config) is None
    _, out, _ = cli(capsys, ws, "runs")
    assert "abandoned" in out
    assert "nothing to abandon" in cli(capsys, ws, "apply", "--abandon")[2]
    assert "nothing to resume" in cli(capsys, ws, "apply", "--resume")[2]
    assert ws.dump() == before


def test_a_run_whose_saved_plan_is_gone_is_refused_with_the_way_out(ws, capsys):
    run_id = _interrupted(ws, plan_of(ws.config))
    RunStore(ws.root / ".tui-sync").plan_path(run_id).unlink()
    code, _, err = cli(capsys, ws, "apply", "--approve", "all")
    assert code == Exit.USAGE and f"(run {run_id}) cannot be resumed" in err and "apply --abandon" in err
    assert ws.users()["ann.lee"]["jobTitle"] == "Clerk"
    assert cli(capsys, ws, "apply", "--abandon")[0] == Exit.OK
    assert cli(capsys, ws, "apply", "--approve", "all")[0] == Exit.OK
    assert ws.users()["ann.lee"]["jobTitle"] == "Lead"


def test_abandon_takes_no_plan(ws, capsys):
    code, _, err = cli(capsys, ws, "apply", "--abandon", "--approve", "all")
    assert code == Exit.USAGE and "--abandon takes no other option" in err


def test_a_run_that_cannot_be_recorded_leaves_no_plan_copy(ws):
    twice = [_broken(), _broken()]  # the same id twice: the journal refuses the run
    store = RunStore(ws.root / ".tui-sync")
    with pytest.raises(Exception):
        store.start("apply", Plan(twice, []), None, {})
    assert list((ws.root / ".tui-sync" / "runs").glob("*")) == [] and store.list() == []


def test_apply_help_lists_abandon(capsys):
    with pytest.raises(SystemExit):
        main(["apply", "--help"])
    out = capsys.readouterr().out
    assert "--abandon" in out and "terminates" in out


def test_a_plan_json_printed_for_applying_is_sealed(ws, capsys):
    code, out, _ = cli(capsys, ws, "plan", "--json")
    assert code == Exit.OK
    data = json.loads(out)
    assert data["binding"]["folder"] == str(ws.root.resolve()) and data["digest"].startswith("hmac-sha256:")
    (ws.root / "p.json").write_text(out)
    assert cli(capsys, ws, "apply", "--plan", str(ws.root / "p.json"), "--approve", "all")[0] == Exit.OK


def test_a_user_renamed_and_inactivated_by_one_plan_gets_both(tmp_path):
    """The inactivation is checked after the rename: the login this plan wrote is the planned one too."""
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", "Headquarters")], [lms_user("ann.lee")])
    ws.sheets([dept("HQ", "Headquarters")],
              [person("ann.smith", Email="ann.lee@example.com", Status="inactive")])
    plan = plan_of(ws.config)
    assert {c.kind for c in plan.changes} == {Kind.UPDATE_USER, Kind.INACTIVATE_USER}
    got = outcomes(apply(ws.config, plan))
    assert {o for o, _ in got.values()} == {"applied"}, got
    assert ws.users()["ann.smith"]["status"] == "inactive"
