"""Apply from the UI: the question (No by default), progress in a worker, cancel, and resume on the next open."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from textual import events

from tui_sync import service
from tui_sync.model import Decision
from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.apply import ApplyScreen
from tui_sync.ui.screens.confirm import ConfirmScreen

from ui_support import plain, press, settle


async def test_apply_asks_first_and_no_is_the_default(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "k", "k", "k", "k")  # create_user
        await press(pilot, "A", "y", "c", "g")
        assert isinstance(app.screen, ConfirmScreen) and app.screen.danger is False
        body = plain(app.screen.query_one("#dialog-body Static"))
        assert "create_user" in body and "15" in body and "Not applied: 39 pending" in body
        await press(pilot, "enter")  # No
        assert not isinstance(app.screen, ApplyScreen)
        assert service.runs(app.session.cfg) == []


async def test_destructive_changes_make_the_question_red(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "A", "y", "g")
        assert isinstance(app.screen, ConfirmScreen) and app.screen.danger
        assert "inactivate_user" in plain(app.screen.query_one("#dialog-body Static"))


async def test_apply_shows_progress_and_ends_on_the_run_summary(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "A", "y", "g", "y")
        screen = app.screen
        assert isinstance(screen, ApplyScreen) and not screen.running
        assert "Run 1: completed" in plain(screen.query_one("#dialog-title"))
        assert "52 applied, 2 blocked" in plain(screen.query_one("#apply-summary"))
        counts = " ".join(plain(screen.query_one("#apply-counts")).split())
        assert counts == "54 of 54 done 52 applied 0 failed 0 stale 2 blocked"  # as the outcomes say
        assert "delete_department BER-ACAD" in plain(screen.query_one("#apply-errors"))
        await press(pilot, "escape")
        assert app.session.view is not None and len(app.session.view.changes) < 10  # planned afresh
        dump = await service.lms_dump(app.session.cfg)
        assert any(u["login"] == "lea.sommer" for u in dump["users"])


async def test_the_counts_line_counts_what_was_attempted_not_what_was_skipped(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "a", "g", "y")  # one change approved: 51 are skipped, 2 blocked
        screen = app.screen
        assert "1 applied, 2 blocked, 51 skipped" in plain(screen.query_one("#apply-summary"))
        counts = " ".join(plain(screen.query_one("#apply-counts")).split())
        assert counts == "3 of 3 done 1 applied 0 failed 0 stale 2 blocked"


async def _interrupted(config: Path) -> None:
    cfg = service.load(config)
    cancel = asyncio.Event()
    cancel.set()  # stops before the first batch: the run is recorded as interrupted
    with pytest.raises(asyncio.CancelledError):
        await service.apply(cfg, approve="all", cancel=cancel)
    assert service.unfinished_run(cfg) is not None


async def test_an_interrupted_apply_is_offered_for_resuming_when_the_ui_opens(demo):
    await _interrupted(demo)
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "Resume" in app.screen.title_text
        await press(pilot, "y")
        screen = app.screen
        assert isinstance(screen, ApplyScreen) and screen.resume and not screen.running
        assert "completed" in plain(screen.query_one("#dialog-title"))
        await press(pilot, "escape")
        assert service.unfinished_run(app.session.cfg) is None
        dump = await service.lms_dump(app.session.cfg)
        assert any(u["login"] == "lea.sommer" for u in dump["users"])


async def test_a_new_apply_finishes_the_interrupted_run_first_and_says_so(demo):
    await _interrupted(demo)
    interrupted = service.unfinished_run(service.load(demo))
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "n")  # not now: the offer to resume
        await press(pilot, "a", "g", "y")
        screen = app.screen
        assert isinstance(screen, ApplyScreen) and not screen.running
        assert f"Interrupted run {interrupted.id} was finished first." in plain(screen.query_one("#apply-summary"))
        assert screen.run_id is not None and screen.run_id != interrupted.id
        assert service.unfinished_run(app.session.cfg) is None


async def test_cancelling_a_long_apply_stops_it_and_leaves_it_resumable(tmp_path):
    from synth import Mix, write_workspace

    config = await asyncio.to_thread(write_workspace, tmp_path / "big", 60_000, Mix(updated=0.3))
    app = SyncApp(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        view = app.session.view
        assert len(view.changes) > 3000
        view.decide(view.rows, Decision.APPROVED)
        await pilot.press("g")
        app.screen.action_answer(True)
        while not (isinstance(app.screen, ApplyScreen) and app.screen._cancel is not None):
            await asyncio.sleep(0.001)
        key = events.Key("c", "c")  # straight to the app: pilot.press waits until the (busy) process idles
        key.set_sender(app)
        app._driver.send_message(key)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ApplyScreen)
        assert "cancelled" in plain(screen.query_one("#dialog-title"))
        run = service.unfinished_run(app.session.cfg)
        assert run is not None and run.status == "interrupted"
        assert 0 < sum(1 for c in run.changes if c.outcome == "applied") < len(view.changes)


def test_the_apply_question_warns_of_an_update_that_terminates(demo):
    """A4: judged by effect: an approved update that terminates makes the question a dangerous one."""
    from tui_sync.model import Change, Kind, Plan
    from tui_sync.ui.screens.apply import apply_question

    cfg = service.load(demo)

    def asked(fields: dict) -> bool:
        c = Change("update_user:x", Kind.UPDATE_USER, "x", fields, target="1", decision=Decision.APPROVED)
        return apply_question(Plan([c], []), cfg)[2]
    assert asked({"status": ("inactive", "terminated")}) is True
    assert asked({"jobTitle": ("Clerk", "Lead")}) is False
