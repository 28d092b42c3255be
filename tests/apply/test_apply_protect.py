"""C2 at apply (A2, A4): a saved plan made before `[protect] departments` named a department never
writes inside the protected subtree, as the LMS holds it when the plan is applied: a change to a
sub-department (rename, move, delete), or a create or move under one, is blocked with `protected`
— on the embedded LMS and on iSpring alike."""
from __future__ import annotations

import asyncio

import pytest

from ispring_emulator import ISpringEmulator
from tui_sync import service
from tui_sync.state.ledger import Ledger
from workspace import Workspace, dept, edit, lms_dept, person

SECRET_ENV = "TUI_SYNC_TEST_C2_SECRET"
LMS = [lms_dept("HQ", "Headquarters"), lms_dept("P", "Partner"), lms_dept("X", "Ext X", "P"),
       lms_dept("Y", "Ext Y", "X"), lms_dept("OLD", "Old", "X"), lms_dept("FREE", "Free", "HQ")]
# X renamed, Y moved out, OLD gone (a delete), NEWD created under X, FREE renamed (outside)
SHEET = [dept("HQ", "Headquarters"), dept("P", "Partner"), dept("X", "Renamed X", "P"), dept("Y", "Ext Y", "HQ"),
         dept("NEWD", "New", "X"), dept("FREE", "Renamed free", "HQ")]


@pytest.fixture(params=["local", "ispring"])
def ws(request, tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    ws.sheets(SHEET, [person("bob.berg")])
    if request.param == "local":
        ws.load_lms(LMS, [])
        yield ws
        return
    with ISpringEmulator() as emu:
        ws.use_ispring(emu, SECRET_ENV, monkeypatch)
        ids: dict[str, str] = {}
        for d in LMS:
            ids[d["code"]] = emu.add_department(d["name"], d["code"], ids.get(d["parentCode"]))
        Ledger(ws.root / ".tui-sync").record(dict.fromkeys(ids.values()), {})
        yield ws


def departments(ws: Workspace) -> dict[str, tuple[str, str | None]]:
    snap = asyncio.run(service.snapshot(ws.config))
    code = dict(snap.departments.select("id", "code").iter_rows())
    return {c: (n, code.get(p)) for c, n, p in snap.departments.select("code", "name", "parent_id").iter_rows()}


def test_c2_a_saved_plan_writes_nothing_inside_a_department_protected_since(ws):
    plan = asyncio.run(service.make_plan(ws.config)).plan
    assert {c.id for c in plan.changes if c.entity == "department"} == {
        "update_department:x", "update_department:y", "delete_department:old", "create_department:newd",
        "update_department:free"}
    edit(ws.root / "tui-sync.toml", "[users.mapping]", '[protect]\ndepartments = ["p"]\n\n[users.mapping]')
    report = asyncio.run(service.apply(ws.config, plan=plan, approve="all"))
    got = {c.change_id: (c.outcome, c.error) for c in report.run.changes}
    assert got.pop("update_department:free")[0] == "applied"
    assert got.pop("create_user:bob.berg")[0] == "applied"  # (users may be placed anywhere)
    assert {cid: outcome for cid, (outcome, _) in got.items()} == dict.fromkeys(
        ("update_department:x", "update_department:y", "delete_department:old", "create_department:newd"), "blocked")
    assert "department Y is protected ([protect] departments: it is inside a protected department)" \
        in got["update_department:y"][1]
    assert "department X is protected" in got["create_department:newd"][1]  # its parent
    now = departments(ws)
    assert now == {"HQ": ("Headquarters", None), "P": ("Partner", None), "X": ("Ext X", "P"), "Y": ("Ext Y", "X"),
                   "OLD": ("Old", "X"), "FREE": ("Renamed free", "HQ")}


def test_c2_a_resumed_run_writes_nothing_inside_a_department_protected_since_it_began(ws):
    plan = asyncio.run(service.make_plan(ws.config)).plan
    cancel = asyncio.Event()

    def progress(p) -> None:
        if p.done >= 1:
            cancel.set()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(service.apply(ws.config, plan=plan, approve="all", progress=progress, cancel=cancel))
    run = service.unfinished_run(ws.config)
    assert run is not None
    before = {c.change_id: c.outcome for c in run.changes}
    inside = ("update_department:x", "update_department:y", "delete_department:old", "create_department:newd")
    assert any(before[cid] != "applied" for cid in inside)  # (something inside is left for the resume)
    edit(ws.root / "tui-sync.toml", "[users.mapping]", '[protect]\ndepartments = ["p"]\n\n[users.mapping]')
    after = {c.change_id: (c.outcome, c.error) for c in asyncio.run(service.resume(ws.config)).changes}
    for cid in inside:
        assert after[cid][0] == ("applied" if before[cid] == "applied" else "blocked"), (cid, after[cid])
        if before[cid] != "applied":
            assert "is protected ([protect] departments" in after[cid][1]
    assert after["create_user:bob.berg"][0] == "applied" and after["update_department:free"][0] == "applied"
    unchanged = {"X": ("Ext X", "P"), "Y": ("Ext Y", "X"), "OLD": ("Old", "X")}
    now = departments(ws)
    for code, (cid, was) in {"X": ("update_department:x", unchanged["X"]), "Y": ("update_department:y", unchanged["Y"]),
                             "OLD": ("delete_department:old", unchanged["OLD"])}.items():
        if before[cid] != "applied":
            assert now[code] == was
    assert ("NEWD" in now) == (before["create_department:newd"] == "applied")
