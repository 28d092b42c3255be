"""The review survives quitting: decisions, resolutions, filter and cursor are saved in the state folder,
restored while the plan's inputs are unchanged, and discarded with a notice when they changed."""
from __future__ import annotations

import stat

from tui_sync.model import Decision, Kind
from tui_sync.ui import saved_review
from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.confirm import ConfirmScreen

from ui_support import goto, messages, plain, press, review, settle

CHANGE = "update_user:thomas.berger"


async def review_then_quit(demo) -> None:
    """Approve one change, reject another, filter to updates, quit with the confirmation."""
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, "create_user:lea.sommer")
        await press(pilot, "r")
        await goto(pilot, CHANGE)
        await press(pilot, "a")
        await press(pilot, "k", "k", "k", "k", "k")  # kind filter: update_user
        await goto(pilot, CHANGE)
        await press(pilot, "q")
        assert isinstance(app.screen, ConfirmScreen), "quitting with unapplied decisions asks first"
        assert "2 unapplied" in plain(app.screen.query_one("#dialog-title"))
        await press(pilot, "y")
    assert app.return_code == 0


async def test_decisions_filter_and_cursor_come_back_after_quitting(demo):
    await review_then_quit(demo)
    state = demo.parent / ".tui-sync"
    saved = state / saved_review.FILE
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600  # O2
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        view = app.session.view
        assert view.change(CHANGE).decision is Decision.APPROVED
        assert view.change("create_user:lea.sommer").decision is Decision.REJECTED
        assert view.filter.kind is Kind.UPDATE_USER
        assert review(app).table.current().id == CHANGE
        assert any("review was restored: 2 decision(s)" in m for m in messages(app))


async def test_a_saved_review_is_discarded_with_a_notice_when_a_sheet_changed(demo):
    await review_then_quit(demo)
    departments = demo.parent / "departments.csv"
    departments.write_bytes(departments.read_bytes() + b"\n")  # other bytes, the same rows
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.session.view.change(CHANGE).decision is Decision.PENDING
        notice = next(m for m in messages(app) if "saved review" in m)
        assert "the departments sheet changed" in notice and "the users sheet" not in notice
        await press(pilot, "q")  # nothing decided: no question
    assert app.return_code == 0
    assert saved_review.load(demo.parent / ".tui-sync").decisions == {}


async def test_a_saved_review_is_discarded_when_the_lms_changed(demo):
    await review_then_quit(demo)
    from tui_sync import service

    cfg = service.load(demo)
    await service.apply(cfg, approve="all")  # someone else synced meanwhile
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        notice = next(m for m in messages(app) if "saved review" in m)
        assert "the LMS changed" in notice
        assert all(c.decision is Decision.PENDING for c in app.session.view.changes)


async def test_quitting_asks_only_with_unapplied_decisions_and_stay_is_the_default(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, CHANGE)
        await press(pilot, "a", "q")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "enter")  # the focused answer: stay
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.session.view.change(CHANGE).decision is Decision.APPROVED
        await press(pilot, "u", "q")  # nothing left to apply: quits at once
    assert app.return_code == 0


async def test_a_resolution_is_restored_with_the_review(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        view = app.session.view
        blocked = next(c for c in view.changes if c.kind is Kind.DELETE_DEPARTMENT and c.blocked)
        target = app.session.result.plan.blocked_by[blocked.id].get("parent") or ["HQ"]
        from tui_sync.model import Resolution

        app.start_plan([Resolution(blocked.key, target[0])], keep=True, reread=False)
        await settle(pilot)
        assert app.session.view.plan.resolutions
        await press(pilot, "q", "y")
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert [(r.move_users_of, r.to) for r in app.session.view.plan.resolutions] == [(blocked.key, target[0])]


async def test_after_an_apply_its_decisions_are_not_unapplied_even_before_the_new_plan(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, CHANGE)
        await press(pilot, "a")
        assert app.session.unapplied() == 1
        app.apply_closed(True)  # what the apply dialog does when it closes; a new plan starts
        assert app.session.planning and app.session.view.change(CHANGE).decision is Decision.APPROVED
        assert app.session.unapplied() == 0 and app.review_state() is None
        await settle(pilot)
        await press(pilot, "q")
    assert app.return_code == 0


async def test_the_review_is_saved_while_the_ui_runs_not_only_on_quitting(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, CHANGE)
        await press(pilot, "a")
        app.autosave()  # what the one-second timer does
        await settle(pilot)
        saved = saved_review.load(demo.parent / ".tui-sync")
        assert saved is not None and saved.decisions == {CHANGE: "approved"}
        assert not app.session.dirty
