"""A2 at wave granularity on iSpring: statuses and moves ready together go out as bulk calls, each
user's outcome journaled on its own; a wave's checks are one batched read, departments one read
per run. Measured at the loopback emulator's request log, through the service layer."""
from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

import pytest

from ispring_emulator import ISpringEmulator
from tui_sync import service
from tui_sync.state.ledger import Ledger
from workspace import USER_HEADERS, Workspace, dept, person, write_csv

SECRET_ENV = "TUI_SYNC_TEST_BULK_SECRET"
LEAVERS = [f"gone.{i}" for i in range(10)]
MOVERS = [f"move.{i}" for i in range(3)]


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Ten managed users gone from the sheet, three moving HQ -> Sales, one new title, one hire."""
    ws = Workspace(tmp_path / "ws")
    ws.sheets([dept("HQ", "Headquarters"), dept("SALES", "Sales")],
              [person("stay.here", Title="Lead"), person("new.hire"), *(person(m, "SALES") for m in MOVERS)])
    with ISpringEmulator() as emu:
        ws.use_ispring(emu, SECRET_ENV, monkeypatch)
        hq = emu.add_department("Headquarters", "HQ")
        sales = emu.add_department("Sales", "SALES")
        ids = [emu.add_user(login, f"{login}@example.com", login.split(".")[0].title(),
                            login.split(".")[-1].title(), department_id=hq)
               for login in ["stay.here", *LEAVERS, *MOVERS]]
        Ledger(ws.root / ".tui-sync").record({hq: None, sales: None}, dict.fromkeys(ids))
        yield ws.config, emu, sales


async def _set_status(cfg, user_ids: list[str], status: str) -> None:
    lms = service.open_lms(cfg)
    try:
        await lms.set_status(user_ids, status)
    finally:
        await lms.close()


def _apply(cfg, emu):
    plan = asyncio.run(service.make_plan(cfg)).plan
    before = len(emu.requests)
    report = asyncio.run(service.apply(cfg, plan=plan, approve="all"))
    return {c.change_id: c.outcome for c in report.run.changes}, emu.requests[before:]


def test_ten_removals_are_one_bulk_call_each_journaled_as_applied(world):
    cfg, emu, _ = world
    outcomes, seen = _apply(cfg, emu)
    assert [r.path for r in seen if r.path.startswith("/users/deactivate")] == ["/users/deactivate"]
    assert {outcomes[f"inactivate_user:{login}"] for login in LEAVERS} == {"applied"}
    assert {emu.user_by_login(login)["status"] for login in LEAVERS} == {3}


def test_a_department_only_update_is_one_move_call_per_department(world):
    cfg, emu, sales = world
    outcomes, seen = _apply(cfg, emu)
    assert [r.path for r in seen if r.path.endswith("/user/move")] == [f"/department/{sales}/user/move"]
    assert {outcomes[f"update_user:{m}"] for m in MOVERS} == {"applied"}
    assert {emu.user_by_login(m)["departmentId"] for m in MOVERS} == {sales}
    movers = {emu.user_by_login(m)["userId"] for m in MOVERS}
    assert not [r for r in seen if r.method == "POST" and r.path.split("/")[-1] in movers]


def test_checks_read_in_batches_and_departments_once(world):
    cfg, emu, _ = world
    outcomes, seen = _apply(cfg, emu)
    assert set(outcomes.values()) == {"applied"} and len(outcomes) == 15
    lookups = [r for r in seen if r.method == "GET" and r.path.startswith("/users")]
    # the users wave: by id (updates, moves) + by login + by email (the hire); the leavers' wave: by id
    assert len(lookups) <= 4
    assert not [r for r in seen if r.method == "GET" and r.path.startswith("/department/")]
    assert len([r for r in seen if r.path == "/departments"]) <= 1, " ".join(f"{r.method}{r.path}" for r in seen)


def test_a_refused_bulk_call_is_retried_user_by_user_each_with_its_own_outcome(world):
    cfg, emu, _ = world
    emu.fail(400, times=1, method="POST", path="/users/deactivate")
    outcomes, seen = _apply(cfg, emu)
    assert len([r for r in seen if r.path == "/users/deactivate"]) == 1 + len(LEAVERS)
    assert {outcomes[f"inactivate_user:{login}"] for login in LEAVERS} == {"applied"}
    assert {emu.user_by_login(login)["status"] for login in LEAVERS} == {3}


def test_an_apply_killed_in_the_middle_of_a_bulk_call_resumes_without_duplicates(world):
    """SIGKILL while iSpring holds the answer of the bulk deactivate it has carried out (A2)."""
    cfg, emu, _ = world
    users_before = len(emu.users())
    emu.stall(10, method="POST", path="/users/deactivate")
    p = subprocess.Popen([sys.executable, "-m", "tui_sync.cli", "--config", str(cfg.path), "apply",
                          "--approve", "all"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not any(r.path == "/users/deactivate" for r in emu.requests):
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read().decode() if p.stderr else ""
            time.sleep(0.02)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    emu.clear_faults()
    run = asyncio.run(service.resume(cfg))
    assert run is not None and {c.outcome for c in run.changes} == {"applied"}
    assert len(emu.users()) == users_before + 1  # the hire, once
    assert {emu.user_by_login(login)["status"] for login in LEAVERS} == {3}


def test_terminations_from_the_status_column_are_one_bulk_call(world):
    cfg, emu, _ = world
    write_csv(cfg.path.parent / "users.csv", USER_HEADERS,
              [person("stay.here", Title="Lead"), *(person(m, Status="terminated") for m in MOVERS),
               *(person(g) for g in LEAVERS)])
    outcomes, seen = _apply(cfg, emu)
    assert outcomes == {"update_user:stay.here": "applied", **{f"inactivate_user:{m}": "applied" for m in MOVERS}}
    assert [r.path for r in seen if r.method == "POST" and r.path.startswith("/users/")] == ["/users/terminate"]
    assert {emu.user_by_login(m)["status"] for m in MOVERS} == {5}


def test_inactive_users_terminated_by_the_status_column_are_one_bulk_call(world):
    """U5: inactive -> terminated is an update; an update of the status alone goes out in bulk."""
    cfg, emu, _ = world
    asyncio.run(_set_status(cfg, [emu.user_by_login(m)["userId"] for m in MOVERS], "inactive"))
    write_csv(cfg.path.parent / "users.csv", USER_HEADERS,
              [person("stay.here"), *(person(m, Status="terminated") for m in MOVERS), *(person(g) for g in LEAVERS)])
    outcomes, seen = _apply(cfg, emu)
    assert outcomes == {f"update_user:{m}": "applied" for m in MOVERS}
    assert [r.path for r in seen if r.method == "POST" and r.path.startswith("/user")] == ["/users/terminate"]
    assert {emu.user_by_login(m)["status"] for m in MOVERS} == {5}


def _user_reads(seen):
    return [r for r in seen if r.path == "/users/v2"]


def _filtered(r) -> bool:
    return any(k in r.query for k in ("userIds", "logins", "emails"))


def test_a_wave_touching_most_users_of_a_small_account_rereads_every_user_in_pages(world):
    """A2 cost model: the users wave asks by id, login and email (3 filtered reads) of an account
    of 14 users (one page): one paged re-read is cheaper. The leavers' wave asks by id only (1
    filtered read, as cheap as the page): filters."""
    cfg, emu, _ = world
    plan = asyncio.run(service.make_plan(cfg)).plan
    assert plan.lms_users == 14
    before = len(emu.requests)
    report = asyncio.run(service.apply(cfg, plan=plan, approve="all"))
    assert {c.outcome for c in report.run.changes} == {"applied"}
    reads = _user_reads(emu.requests[before:])
    assert [_filtered(r) for r in reads] == [False, True], [r.query for r in reads]
    assert "userIds" in reads[1].query
    assert emu.user_by_login("new.hire") is not None and len(emu.users()) == 15


def test_without_the_account_size_a_wave_uses_filtered_reads(world):
    """A plan that does not say how many users the LMS held: filtered reads (a paged re-read is not priced)."""
    cfg, emu, _ = world
    plan = asyncio.run(service.make_plan(cfg)).plan
    plan.lms_users = None
    before = len(emu.requests)
    report = asyncio.run(service.apply(cfg, plan=plan, approve="all"))
    assert {c.outcome for c in report.run.changes} == {"applied"}
    reads = _user_reads(emu.requests[before:])
    assert reads and all(_filtered(r) for r in reads)
    assert len(reads) == 4  # users wave: by id, by login, by email; leavers' wave: by id
