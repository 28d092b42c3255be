"""The daemon runs the schedule (S1) with an injected clock, shares the sync lock, and
leaves held changes (P3) for a person, who releases them later."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from tui_sync import service
from tui_sync.cli import main
from tui_sync.daemon import Daemon, DaemonRunning, DaemonState, logging_to
from tui_sync.errors import Exit, UsageError
from tui_sync.schedule import UTC, zone
from tui_sync.state.lock import SyncLock
from workspace import Workspace, dept, lms_dept, lms_user, person

BERLIN = zone("Europe/Berlin")
SCHEDULE = '[schedule]\ntimes = ["07:00", "13:00", "19:00"]\ntimezone = "Europe/Berlin"\n'


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN).astimezone(UTC)


def local(at: dt.datetime) -> str:
    return at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z")


class FakeClock:
    """The daemon's clock and sleep: sleeping moves the clock on at once."""

    def __init__(self, start: dt.datetime):
        self.now = start
        self.naps: list[float] = []
        self.on_sleep = lambda: None

    def __call__(self) -> dt.datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += dt.timedelta(seconds=seconds)
        self.on_sleep()
        await asyncio.sleep(0)


def daemon_for(cfg, clock: FakeClock, stop_after: int | None = None, **kw) -> Daemon:
    d = Daemon(cfg, clock=clock, sleep=clock.sleep, log=kw.pop("log", logging.getLogger("test.daemon")), **kw)
    if stop_after is not None:
        clock.on_sleep = lambda: d.stop() if len(d.results) >= stop_after else None
    return d


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws", extra_config=SCHEDULE)
    w.load_lms([lms_dept("HQ", "Headquarters"), lms_dept("OLD")],
               [lms_user("ann.lee", jobTitle="Clerk"), lms_user("bob.stone"), lms_user("gone.away")])
    w.sheets([dept("HQ", "Headquarters"), dept("NEW", "New team", "HQ")],
             [person("ann.lee", Title="Lead"), person("bob.stone", "NEW", Supervisor="ann.lee"),
              person("cat.new", "NEW")])
    return w


# --- the schedule -----------------------------------------------------------------

async def test_daemon_runs_two_scheduled_slots_in_a_row_against_the_embedded_lms(tmp_path):
    cfg = await service.prepare_demo(tmp_path / "demo")
    clock = FakeClock(berlin(2025, 6, 2, 6, 50))
    with logging_to(cfg, stderr=False) as log:
        daemon = daemon_for(cfg, clock, stop_after=2, log=log)
        await daemon.serve()

    assert [local(r.slot.at) for r in daemon.results] == ["2025-06-02 07:00 CEST", "2025-06-02 13:00 CEST"]
    assert [r.status for r in daemon.results] == ["held", "held"]  # the demo's inactivations wait for a person
    runs = service.runs(cfg)
    assert [(r.trigger, r.status) for r in reversed(runs)] == [("schedule", "held"), ("schedule", "held")]
    first, second = reversed(runs)
    assert sum(1 for c in service.run_details(cfg, first.id).changes if c.outcome == "applied") > 0
    # the second run found the LMS already in step: only the held changes are left
    assert {c.outcome for c in service.run_details(cfg, second.id).changes} == {"held"}
    dump = await service.lms_dump(cfg)
    assert "lea.sommer" in {u["login"] for u in dump["users"]}
    # the last slot run is remembered; no sleep went past a slot
    assert DaemonState(cfg.state).last_slot() == berlin(2025, 6, 2, 13, 0)
    assert max(clock.naps) <= 60
    text = (cfg.state / "daemon.log").read_text()
    assert "next runs: 2025-06-02 07:00 CEST, 2025-06-02 13:00 CEST, 2025-06-02 19:00 CEST" in text
    assert f"run {first.id} held" in text and f"run {second.id} held" in text and "daemon stopped" in text
    # both runs hold the same changes: they count once, since the first run held them
    held = service.held_summary(cfg)
    assert held is not None and held.count == 10 and held.run_id == second.id
    assert held.since == dt.datetime.fromisoformat(first.started)
    assert held.path == cfg.state / "held" / f"run-{second.id}.plan.json" and len(held.paths) == 2
    assert held.by_kind == {"delete_department": 3, "inactivate_user": 7}
    assert held.describe().startswith("10 changes held for review since ")


async def test_a_slot_missed_during_downtime_runs_once_on_start_not_once_per_slot(ws):
    cfg = ws.config
    DaemonState(cfg.state).save(berlin(2025, 6, 2, 7, 0))
    clock = FakeClock(berlin(2025, 6, 4, 9, 30))  # down for two days: six slots passed
    daemon = daemon_for(cfg, clock, stop_after=1)
    await daemon.serve()
    assert len(daemon.results) == 1 and local(daemon.results[0].slot.at) == "2025-06-04 07:00 CEST"
    assert clock.naps == [60.0]  # it ran at once: the only nap came after the run
    assert len(service.runs(cfg)) == 1
    assert DaemonState(cfg.state).last_slot() == berlin(2025, 6, 4, 7, 0)


async def test_after_the_machine_slept_past_two_slots_one_run_follows(ws):
    cfg = ws.config
    clock = FakeClock(berlin(2025, 6, 2, 6, 59))
    daemon = daemon_for(cfg, clock)

    def on_sleep():
        if len(daemon.results) == 1 and clock.now < berlin(2025, 6, 2, 12, 0):
            clock.now = berlin(2025, 6, 2, 20, 15)  # suspended from ~07:01 to 20:15
        if len(daemon.results) >= 2:
            daemon.stop()
    clock.on_sleep = on_sleep
    await daemon.serve()
    assert [local(r.slot.at) for r in daemon.results] == ["2025-06-02 07:00 CEST", "2025-06-02 19:00 CEST"]


async def test_daemon_across_the_spring_forward_night_runs_the_missing_time_once_at_0300(tmp_path):
    ws = Workspace(tmp_path / "ws", extra_config='[schedule]\ntimes = ["02:30"]\ntimezone = "Europe/Berlin"\n')
    clock = FakeClock(berlin(2025, 3, 29, 12, 0))
    daemon = daemon_for(ws.config, clock, stop_after=2)
    await daemon.serve()
    assert [local(r.slot.at) for r in daemon.results] == ["2025-03-30 03:00 CEST", "2025-03-31 02:30 CEST"]


async def test_daemon_across_the_fall_back_night_runs_the_doubled_time_once(tmp_path):
    ws = Workspace(tmp_path / "ws", extra_config='[schedule]\ntimes = ["02:30"]\ntimezone = "Europe/Berlin"\n')
    clock = FakeClock(berlin(2025, 10, 25, 12, 0))
    daemon = daemon_for(ws.config, clock, stop_after=2)
    await daemon.serve()
    assert [r.slot.at for r in daemon.results] == [dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
                                                    dt.datetime(2025, 10, 27, 1, 30, tzinfo=UTC)]


# --- edits of the configuration --------------------------------------------------------

def _edit(cfg, old: str, new: str) -> None:
    text = cfg.path.read_text(encoding="utf-8")
    assert old in text
    cfg.path.write_text(text.replace(old, new), encoding="utf-8")


async def test_an_edited_schedule_is_taken_up_without_a_restart_and_runs_nothing_after_the_fact(ws):
    cfg = ws.config
    clock = FakeClock(berlin(2025, 6, 2, 6, 50))
    with logging_to(cfg, stderr=False) as log:
        daemon = daemon_for(cfg, clock, log=log)

        def on_sleep():
            if len(daemon.results) == 1 and clock.now < berlin(2025, 6, 2, 7, 30):
                clock.now = berlin(2025, 6, 2, 10, 0)
                # 09:00 is past already: it does not run; 13:00 is gone; 16:30 is new
                _edit(cfg, '["07:00", "13:00", "19:00"]', '["09:00", "16:30", "19:00"]')
            if len(daemon.results) >= 2:
                daemon.stop()
        clock.on_sleep = on_sleep
        await daemon.serve()
    assert [local(r.slot.at) for r in daemon.results] == ["2025-06-02 07:00 CEST", "2025-06-02 16:30 CEST"]
    text = (cfg.state / "daemon.log").read_text()
    assert "configuration reloaded: daily at 09:00, 16:30, 19:00 (Europe/Berlin); next runs: " \
           "2025-06-02 16:30 CEST" in text


async def test_an_edit_that_breaks_the_configuration_fails_each_slot_until_it_is_fixed(ws):
    cfg = ws.config
    good = cfg.path.read_text(encoding="utf-8")
    clock = FakeClock(berlin(2025, 6, 2, 6, 50))
    with logging_to(cfg, stderr=False) as log:
        daemon = daemon_for(cfg, clock, log=log)

        def on_sleep():
            if len(daemon.results) == 1 and "BROKEN" not in cfg.path.read_text(encoding="utf-8"):
                _edit(cfg, "[users.mapping]", "[users.mapping]\nBROKEN = = 1")
            if len(daemon.results) == 2 and "BROKEN" in cfg.path.read_text(encoding="utf-8"):
                cfg.path.write_text(good + "\n", encoding="utf-8")  # fixed (one byte longer)
            if len(daemon.results) >= 3:
                daemon.stop()
        clock.on_sleep = on_sleep
        await daemon.serve()
    assert [r.status for r in daemon.results][1] == "failed"
    assert daemon.results[0].status != "failed" and daemon.results[2].status != "failed"
    failed = daemon.results[1]
    assert failed.exit_code == Exit.USAGE and "not valid TOML" in failed.message and "line" in failed.message
    run = next(r for r in service.runs(cfg) if r.id == failed.run_id)
    assert run.status == "failed" and "the configuration cannot be used" in run.message
    text = (cfg.state / "daemon.log").read_text()
    assert "the configuration was edited and cannot be used" in text and "usable again" in text


async def test_moving_the_state_folder_needs_a_restart(ws):
    cfg = ws.config
    clock = FakeClock(berlin(2025, 6, 2, 6, 50))
    daemon = daemon_for(cfg, clock, stop_after=1)
    cfg.path.write_text('state_dir = "elsewhere"\n' + cfg.path.read_text(encoding="utf-8"), encoding="utf-8")
    await daemon.serve()
    assert daemon.results[0].status == "failed" and "restart the daemon" in daemon.results[0].message
    assert not (cfg.base_dir / "elsewhere").exists()


def test_the_daemon_needs_a_schedule(tmp_path):
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(UsageError, match="needs a schedule"):
        Daemon(ws.config)
    assert main(["--config", str(ws.root / "tui-sync.toml"), "daemon"]) == Exit.USAGE


async def test_a_second_daemon_for_the_same_configuration_is_refused(ws):
    cfg = ws.config
    first = daemon_for(cfg, FakeClock(berlin(2025, 6, 2, 8, 0)))
    second = daemon_for(cfg, FakeClock(berlin(2025, 6, 2, 8, 0)))

    async def try_second():
        with pytest.raises(DaemonRunning, match="already running"):
            await second.serve()
        first.stop()
    first.sleep = lambda s: try_second()
    await first.serve()


# --- one sync at a time -------------------------------------------------------------

def test_a_scheduled_run_that_finds_a_sync_running_waits_then_skips_and_records_it(ws):
    cfg = ws.config
    clock = FakeClock(berlin(2025, 6, 2, 7, 0))
    daemon = daemon_for(cfg, clock, lock_wait=600, lock_poll=30)
    slot = service_slot(daemon, berlin(2025, 6, 2, 7, 0))
    with SyncLock(cfg.state, "apply"):
        result = asyncio.run(daemon.run_slot(slot))
    assert result.status == "skipped" and result.waited >= 600
    assert clock.naps and all(n <= 30 for n in clock.naps)
    run = service.runs(cfg)[0]
    assert run.status == "skipped" and run.trigger == "schedule"
    assert "another sync of this configuration was running" in run.message and "apply" in run.message
    assert ws.users()["ann.lee"]["jobTitle"] == "Clerk"  # nothing was applied


def test_a_scheduled_run_waits_for_a_manual_sync_to_finish_then_runs_and_notes_the_wait(ws):
    cfg = ws.config
    clock = FakeClock(berlin(2025, 6, 2, 7, 0))
    daemon = daemon_for(cfg, clock, lock_wait=600, lock_poll=30)
    manual = SyncLock(cfg.state, "apply")
    manual.acquire()
    clock.on_sleep = lambda: manual.release() if len(clock.naps) == 3 else None  # finishes after 90 s
    result = asyncio.run(daemon.run_slot(service_slot(daemon, berlin(2025, 6, 2, 7, 0))))
    assert result.status == "held" and result.waited == 90
    run = service.runs(cfg)[0]
    assert run.trigger == "schedule" and "waited 90 s for another sync" in run.message
    assert ws.users()["ann.lee"]["jobTitle"] == "Lead"


def test_a_manual_sync_is_refused_while_a_scheduled_one_holds_the_lock(ws, capsys):
    with SyncLock(ws.config.state, "schedule"):
        assert main(["--config", str(ws.root / "tui-sync.toml"), "run"]) == Exit.USAGE
    assert "a sync of this configuration is running" in capsys.readouterr().err


def service_slot(daemon: Daemon, at: dt.datetime):
    from tui_sync.schedule import next_slot

    return next_slot(daemon.times, daemon.tz, at - dt.timedelta(seconds=1))


# --- stopping and failing -------------------------------------------------------------

def test_stopping_during_a_run_interrupts_it_resumably_and_a_restart_runs_the_slot_again(ws, monkeypatch):
    cfg = ws.config
    clock = FakeClock(berlin(2025, 6, 2, 6, 59))
    daemon = daemon_for(cfg, clock)
    real_run = service.run

    async def run_then_stop(*args, **kw):  # stopped (as by SIGTERM) once the run is under way
        daemon.stop()
        return await real_run(*args, **kw)
    monkeypatch.setattr(service, "run", run_then_stop)
    asyncio.run(daemon.serve())
    assert [r.status for r in daemon.results] == ["interrupted"]
    interrupted = service.unfinished_run(cfg)
    assert interrupted is not None and interrupted.id == daemon.results[0].run_id
    assert interrupted.status == "interrupted" and "cancelled" in interrupted.message
    assert DaemonState(cfg.state).last_slot() < berlin(2025, 6, 2, 7, 0)  # the slot is not marked as handled

    monkeypatch.setattr(service, "run", real_run)
    clock2 = FakeClock(berlin(2025, 6, 2, 7, 5))
    again = daemon_for(cfg, clock2, stop_after=1)
    asyncio.run(again.serve())
    assert local(again.results[0].slot.at) == "2025-06-02 07:00 CEST" and again.results[0].status == "held"
    assert service.unfinished_run(cfg) is None
    assert service.run_details(cfg, interrupted.id).status == "completed"  # resumed first
    assert ws.users()["ann.lee"]["jobTitle"] == "Lead" and "cat.new" in ws.users()


def test_a_failing_slot_is_recorded_and_the_daemon_goes_on(ws):
    cfg = ws.config
    (ws.root / "users.csv").write_text("Login,Email,First,Last,Dept,Status,Supervisor,Title\n")
    clock = FakeClock(berlin(2025, 6, 2, 6, 59))
    daemon = daemon_for(cfg, clock)

    def on_sleep():
        if len(daemon.results) == 1:
            ws.sheets([dept("HQ", "Headquarters")], [person("ann.lee", Title="Lead")])  # HR fixed the sheet
        if len(daemon.results) == 2:
            daemon.stop()
    clock.on_sleep = on_sleep
    asyncio.run(daemon.serve())
    assert [r.status for r in daemon.results] == ["failed", "held"]
    assert daemon.results[0].exit_code == Exit.UNREADABLE
    failed = service.run_details(cfg, daemon.results[0].run_id)
    assert failed.status == "failed" and "no data rows" in failed.message


def test_sigterm_stops_the_daemon_cleanly(ws):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tui_sync.cli", "--config", str(ws.root / "tui-sync.toml"),
                             "daemon"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        log = ws.root / ".tui-sync" / "daemon.log"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (log.exists() and "daemon started" in log.read_text()):
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "next runs:" in err and "SIGTERM: stopping" in err and "daemon stopped" in err


# --- held changes ---------------------------------------------------------------------

def test_a_held_run_released_from_the_cli_is_no_longer_held(ws, capsys):
    cfg = str(ws.root / "tui-sync.toml")
    assert main(["--config", cfg, "run"]) == Exit.HELD
    held = service.held_summary(ws.config)
    assert held is not None and held.count == 2 and held.by_kind == {"delete_department": 1, "inactivate_user": 1}
    assert main(["--config", cfg, "runs"]) == Exit.OK
    assert " held " in capsys.readouterr().out
    # approving nothing leaves them held
    assert main(["--config", cfg, "apply", "--plan", str(held.path), "--approve", "safe"]) == Exit.OK
    assert service.held_summary(ws.config).count == 2
    assert main(["--config", cfg, "apply", "--plan", str(held.path), "--approve", "all"]) == Exit.OK
    assert service.held_summary(ws.config) is None
    assert ws.users()["gone.away"]["status"] == "inactive" and "OLD" not in ws.departments()


def test_a_held_change_that_went_stale_is_reported_stale_when_released(ws, capsys):
    cfg = str(ws.root / "tui-sync.toml")
    assert main(["--config", cfg, "run"]) == Exit.HELD
    held = service.held_summary(ws.config)

    async def meddle():  # while the changes wait, someone terminates gone.away by hand
        lms = ws.lms()
        u = await lms.find_user(login="gone.away")
        await lms.set_status([u.id], "terminated")
        await lms.close()
    asyncio.run(meddle())
    capsys.readouterr()
    assert main(["--config", cfg, "apply", "--plan", str(held.path), "--approve", "all"]) == Exit.ROW_ERRORS
    out = capsys.readouterr().out
    assert "[stale   ] inactivate_user gone.away — status is now terminated in the LMS, planned from active" in out
    assert ws.users()["gone.away"]["status"] == "terminated"
    assert service.held_summary(ws.config) is None  # a person decided; the next run plans afresh


def test_a_later_unattended_run_supersedes_an_earlier_held_plan(ws):
    assert asyncio.run(service.run(ws.config)).held
    # HR puts gone.away back and keeps OLD: nothing needs a person any more
    ws.sheets([dept("HQ", "Headquarters"), dept("NEW", "New team", "HQ"), dept("OLD")],
              [person("ann.lee", Title="Lead"), person("bob.stone", "NEW", Supervisor="ann.lee"),
               person("cat.new", "NEW"), person("gone.away")])
    assert not asyncio.run(service.run(ws.config)).held
    assert service.held_summary(ws.config) is None


def test_held_summary_is_none_without_runs_and_writes_nothing(tmp_path):
    ws = Workspace(tmp_path / "ws")
    assert service.held_summary(ws.config) is None
    assert not (ws.root / ".tui-sync" / "state.sqlite").exists()


def _interrupted_with(ws, plan) -> int:
    from tui_sync.state.runs import RunStore

    store = RunStore(ws.root / ".tui-sync")
    run_id = store.start("schedule", plan, str(ws.root / "tui-sync.toml"), {c.id: "pending" for c in plan.changes})
    store.finish(run_id, "interrupted", "killed")
    return run_id


def test_an_interrupted_run_with_a_change_that_cannot_be_applied_does_not_wedge_the_slots(ws):
    """A4: the bad change fails alone when the first slot resumes the run; both slots sync."""
    from tui_sync.model import Change, Decision, Kind, Plan

    cfg = ws.config
    bad = Change("create_user:no.mail", Kind.CREATE_USER, "no.mail", {"login": (None, "no.mail")},
                 decision=Decision.APPROVED)
    resumed = _interrupted_with(ws, Plan([bad], []))
    clock = FakeClock(berlin(2025, 6, 2, 6, 59))
    daemon = daemon_for(cfg, clock, stop_after=2)
    asyncio.run(daemon.serve())
    assert [r.status for r in daemon.results] == ["held", "held"]
    run = service.run_details(cfg, resumed)
    assert run.status == "completed" and [(c.outcome, c.error) for c in run.changes] == \
        [("failed", "cannot be applied: a create_user needs the field email")]
    assert ws.users()["ann.lee"]["jobTitle"] == "Lead" and "cat.new" in ws.users()


def test_a_run_that_cannot_be_resumed_fails_its_slots_until_abandoned_then_they_sync(ws, capsys):
    from tui_sync.model import Plan
    from tui_sync.state.runs import RunStore

    cfg = ws.config
    stuck = _interrupted_with(ws, Plan([], []))
    RunStore(cfg.state).plan_path(stuck).unlink()
    clock = FakeClock(berlin(2025, 6, 2, 6, 59))
    daemon = daemon_for(cfg, clock)

    def on_sleep():
        if len(daemon.results) == 2 and service.unfinished_run(cfg) is not None:
            assert main(["--config", str(cfg.path), "apply", "--abandon"]) == Exit.OK  # the operator acts
        if len(daemon.results) == 3:
            daemon.stop()
    clock.on_sleep = on_sleep
    asyncio.run(daemon.serve())
    assert [r.status for r in daemon.results] == ["failed", "failed", "held"]
    assert "apply --abandon" in daemon.results[0].message
    assert service.run_details(cfg, stuck).status == "abandoned"
    assert ws.users()["ann.lee"]["jobTitle"] == "Lead"
