"""Review paths an operator takes: resolutions from a problem filter, the blocked count, the detail of
a moved user, the has-children dialog, focus after dialogs and failures, approve safe, cursor advance."""
from __future__ import annotations

from textual.widgets import Input

from tui_sync.model import Decision, Kind
from tui_sync.ui.app import SyncApp
from tui_sync.ui.plan_rows import Filter
from tui_sync.ui.screens.resolve import ResolveScreen
from tui_sync.ui.widgets.change_detail import ChangeDetail

from ui_support import goto, messages, plain, press, review, settle


def detail_text(app: SyncApp) -> str:
    return plain(app.screen.query_one(ChangeDetail).query_one("#detail-body"))


async def move_users_of_mow_cus(pilot, to: str = "MOW-LOG") -> None:
    await goto(pilot, "delete_department:mow-cus")
    await press(pilot, "enter", "m")
    for ch in to.lower():
        await pilot.press(ch)
    await press(pilot, "enter")


async def test_a_moved_user_is_shown_as_an_existing_user_moved_by_the_resolution(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await move_users_of_mow_cus(pilot)
        await goto(pilot, "update_user:pavel.egorov")
        text = detail_text(app)
        assert "match: new" not in text
        assert "existing LMS user, moved because the users of MOW-CUS move to MOW-LOG (your resolution" in " ".join(text.split())


async def test_resolving_from_a_problem_filter_keeps_the_resolved_change_in_view(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = review(app)
        screen.set_filter(Filter(problem="department_has_users"))
        await settle(pilot)
        assert [app.session.view.changes[i].id for i in app.session.view.rows] == ["delete_department:mow-cus"]
        await move_users_of_mow_cus(pilot)
        view = app.session.view
        assert view.filter.problem is None
        assert screen.table.current().id == "delete_department:mow-cus"
        assert "0 of" not in plain(screen.query_one("#filter-text"))
        assert any("no longer has the problem department_has_users" in m for m in messages(app))


async def test_rejecting_a_blocked_delete_takes_it_off_the_blocked_count(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = review(app)
        assert "2 blocked" in plain(screen.query_one("#counts"))
        await goto(pilot, "delete_department:ber-acad")
        await press(pilot, "r")
        assert "1 blocked" in plain(screen.query_one("#counts"))
        await press(pilot, "u")
        assert "2 blocked" in plain(screen.query_one("#counts"))


async def test_the_has_children_dialog_offers_no_move_of_users(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await goto(pilot, "delete_department:ber-acad")
        await press(pilot, "enter")
        assert isinstance(app.screen, ResolveScreen) and not app.screen.blockers.users
        shown = {b.binding.id for b in app.screen.active_bindings.values()}  # what the footer offers
        assert "resolve.move" not in shown and "resolve.keep" in shown
        await press(pilot, "m")
        assert isinstance(app.screen, ResolveScreen)  # no picker of departments for nobody
        await press(pilot, "k")
        assert app.session.view.change("delete_department:ber-acad").decision is Decision.REJECTED


async def test_keys_are_not_typed_into_the_search_after_a_failed_plan_or_the_palette(demo):
    from tui_sync.ui.screens.mapping import MappingScreen

    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        users = demo.parent / "users.xlsx"
        users.rename(demo.parent / "users-away.xlsx")
        await press(pilot, "f5")
        assert app.session.plan_error
        assert not isinstance(app.focused, Input)
        await press(pilot, "2")
        assert isinstance(app.screen, MappingScreen)
        await press(pilot, "3")
        (demo.parent / "users-away.xlsx").rename(users)
        await press(pilot, "f5")
        assert app.session.plan_error is None and app.focused is review(app).table
        await press(pilot, "ctrl+p")
        await press(pilot, "escape")
        assert not isinstance(app.focused, Input)
        await press(pilot, "slash", "b", "e", "r", "enter")  # search: typed only after /
        assert review(app).query_one("#search", Input).value == "ber" and app.focused is review(app).table
        await press(pilot, "c")
        assert review(app).query_one("#search", Input).value == "" and not isinstance(app.focused, Input)
        await press(pilot, "2")
        assert isinstance(app.screen, MappingScreen)


async def test_a_and_r_move_the_cursor_to_the_next_change(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = app.session.view
        first, second, third = (view.changes[i].id for i in view.rows[:3])
        await press(pilot, "a", "r")
        assert view.change(first).decision is Decision.APPROVED
        assert view.change(second).decision is Decision.REJECTED
        assert review(app).table.current().id == third


async def test_approve_safe_approves_what_neither_inactivates_terminates_nor_deletes(demo):
    from tui_sync import service
    from tui_sync.ui.screens.confirm import ConfirmScreen

    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = app.session.view
        await goto(pilot, "update_user:thomas.berger")
        await press(pilot, "r")
        review(app).set_filter(Filter(kind=Kind.CREATE_USER))  # the filter does not narrow it: as the CLI
        await press(pilot, "s")
        assert isinstance(app.screen, ConfirmScreen) and "safe" in plain(app.screen.query_one("#dialog-title"))
        await press(pilot, "y")
        for c in view.changes:
            status = c.fields.get("status", (None, None))[1]
            if c.id == "update_user:thomas.berger":
                assert c.decision is Decision.REJECTED  # a rejection stays
            elif c.kind in (Kind.INACTIVATE_USER, Kind.DELETE_DEPARTMENT) or c.blocked or (
                    c.kind is Kind.UPDATE_USER and status in ("inactive", "terminated")):
                assert c.decision is Decision.PENDING, c.id
            else:
                assert c.decision is Decision.APPROVED, c.id
        assert sum(c.decision is Decision.APPROVED for c in view.changes) == \
            sum(service.is_safe(c) for c in view.changes) - 1
        assert any(c.kind is Kind.REACTIVATE_USER and c.decision is Decision.APPROVED for c in view.changes)
