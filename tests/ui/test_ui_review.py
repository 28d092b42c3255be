"""The review pane with Pilot: the plan as a table, decisions, selection, undo, filters, detail, resolve."""
from __future__ import annotations

from textual.widgets import OptionList

from tui_sync.model import Decision, Kind
from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.confirm import ConfirmScreen
from tui_sync.ui.screens.resolve import ResolveScreen
from tui_sync.ui.widgets.change_detail import ChangeDetail

from ui_support import goto, messages, plain, press, review, settle


def decision(app: SyncApp, change_id: str) -> Decision:
    return app.session.view.change(change_id).decision


def detail_text(app: SyncApp) -> str:
    body = app.screen.query_one(ChangeDetail).query_one("#detail-body")
    from rich.console import Console

    console = Console(width=120, color_system=None)
    with console.capture() as cap:
        console.print(body.content)
    return cap.get()


async def test_the_plan_opens_in_the_review_pane_with_counts(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = review(app)
        view = app.session.view
        assert len(view.changes) == 54 and screen.table.row_count() == 54
        assert view.kind_counts[Kind.CREATE_USER] == 15 and view.kind_counts[Kind.DELETE_DEPARTMENT] == 3
        counts = plain(screen.query_one("#counts"))
        assert "+15" in counts and "54 pending" in counts and "2 blocked" in counts


async def test_a_plan_that_fails_on_replanning_leaves_nothing_of_the_old_plan_on_screen(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = review(app)
        assert "54 of 54 shown" in plain(screen.query_one("#filter-text")) and detail_text(app).strip()
        (demo.parent / "users.xlsx").rename(demo.parent / "users-moved.xlsx")
        await press(pilot, "f5")
        await settle(pilot)
        assert app.session.plan_error and "users.xlsx" in app.session.plan_error
        assert "Nothing could be planned" in plain(screen.query_one("#plan-status"))
        assert plain(screen.query_one("#counts")).strip() == ""
        assert plain(screen.query_one("#filter-text")).strip() == ""
        assert detail_text(app).strip() == ""
        assert not screen.query_one("#plan-header").display and not screen.table.display
        (demo.parent / "users-moved.xlsx").rename(demo.parent / "users.xlsx")
        await press(pilot, "f5")
        await settle(pilot)
        assert app.session.plan_error is None and "54 of 54 shown" in plain(screen.query_one("#filter-text"))
        assert detail_text(app).strip() and screen.query_one("#plan-header").display


async def test_approve_reject_toggle_and_undo_by_key(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, "update_user:thomas.berger")
        await press(pilot, "a")
        assert decision(app, "update_user:thomas.berger") is Decision.APPROVED
        assert review(app).table.current().id != "update_user:thomas.berger"  # on to the next change
        await goto(pilot, "update_user:thomas.berger")
        await press(pilot, "space")
        assert decision(app, "update_user:thomas.berger") is Decision.REJECTED
        await press(pilot, "space")
        assert decision(app, "update_user:thomas.berger") is Decision.APPROVED
        await press(pilot, "r")
        assert decision(app, "update_user:thomas.berger") is Decision.REJECTED
        await press(pilot, "u", "u", "u", "u")
        assert decision(app, "update_user:thomas.berger") is Decision.PENDING


async def test_a_range_selection_decides_every_row_in_it(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = review(app)
        await press(pilot, "v", "down", "down")
        await press(pilot, "shift+down")
        await press(pilot, "a")
        view = app.session.view
        approved = [view.changes[i].key for i in view.rows[:4]]
        assert all(view.changes[i].decision is Decision.APPROVED for i in view.rows[:4]), approved
        assert view.changes[view.rows[4]].decision is Decision.PENDING
        await press(pilot, "escape")
        assert screen.table.anchor is None


async def test_a_change_with_errors_cannot_be_approved_and_says_why(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, "delete_department:ber-acad")
        await press(pilot, "a")
        assert decision(app, "delete_department:ber-acad") is Decision.PENDING
        assert any("cannot be approved" in m and "department_has_children" in m for m in messages(app))


async def test_rejecting_shows_which_changes_it_blocks(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, "create_department:lon-ecom-mkt")
        await press(pilot, "r")
        note = next(m for m in messages(app) if m.startswith("Rejecting"))
        assert "chloe.evans" in note and "mia.schaefer" in note
        await goto(pilot, "create_department:lon-ecom-mkt")  # (r moved the cursor on)
        assert "blocked while this is rejected" in detail_text(app)


async def test_approve_everything_in_the_filter_after_a_confirmation_with_the_count(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "k", "k", "k", "k")  # create_user
        view = app.session.view
        assert view.filter.kind is Kind.CREATE_USER and len(view.rows) == 15
        await press(pilot, "A")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Approve 15 change(s)" in app.screen.title_text
        await press(pilot, "enter")  # the default answer is No
        assert view.decision_counts[Decision.APPROVED] == 0
        await press(pilot, "A", "y")
        assert view.decision_counts[Decision.APPROVED] == 15
        assert all(c.decision is Decision.PENDING for c in view.changes if c.kind is not Kind.CREATE_USER)


async def test_filters_by_key_and_free_text_search(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        view = app.session.view
        await press(pilot, "p")  # any problem
        assert {view.changes[i].key for i in view.rows} == {"felix.braun", "BER-ACAD", "MOW-CUS"}
        await press(pilot, "p")  # blocked
        assert {view.changes[i].key for i in view.rows} == {"BER-ACAD", "MOW-CUS"}
        await press(pilot, "c")
        assert len(view.rows) == 54
        await press(pilot, "d")
        assert view.filter.decision is Decision.PENDING
        await press(pilot, "c", "slash")
        for ch in "koch":
            await press(pilot, ch)
        assert [view.changes[i].key for i in view.rows] == ["rainer.koch"]
        await press(pilot, "enter", "a")  # back in the table: keys decide again
        assert decision(app, "update_user:rainer.koch") is Decision.APPROVED


async def test_the_detail_shows_fields_sheet_row_rule_and_dependencies(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, "update_user:markus.wagner")
        text = detail_text(app)
        assert "departmentId" in text and "MUC-DISP" in text and "BER-OPS-OUT" in text
        assert "Sheet row 112" in text and "Dispatcher" in text
        assert "match: by login" in text
        await goto(pilot, "create_user:chloe.evans")
        text = detail_text(app)
        assert "Depends on" in text and "LON-ECOM-MKT" in text
        assert "unknown_supervisor" not in text
        await goto(pilot, "create_user:felix.braun")
        assert "unknown_supervisor" in detail_text(app)


async def test_resolve_keep_the_department_rejects_its_delete(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, "delete_department:ber-acad")
        await press(pilot, "enter")
        assert isinstance(app.screen, ResolveScreen)
        assert [d.code for d in app.screen.blockers.children] == ["TRAINING-EXT"]
        await press(pilot, "k")
        assert decision(app, "delete_department:ber-acad") is Decision.REJECTED


async def test_resolve_move_users_replans_in_place_and_keeps_decisions(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto(pilot, "create_user:lea.sommer")
        await press(pilot, "a")
        await press(pilot, "k", "k", "k")  # delete_department
        await goto(pilot, "delete_department:mow-cus")
        await press(pilot, "enter")
        assert [u.login for u in app.screen.blockers.users] == ["ext.d.fedorov", "pavel.egorov"]
        await press(pilot, "m")
        first = app.screen.query_one(OptionList).get_option_at_index(0)
        assert "MOW" in str(first.prompt) and "(its parent department)" in str(first.prompt)  # offered first
        for ch in "mow-log":
            await pilot.press(ch)
        await press(pilot, "enter")
        view = app.session.view
        assert app.session.result.plan.resolutions[0].to == "MOW-LOG"
        assert not view.change("delete_department:mow-cus").blocked
        assert view.change("update_user:pavel.egorov").fields["departmentId"] == ("MOW-CUS", "MOW-LOG")
        assert decision(app, "create_user:lea.sommer") is Decision.APPROVED
        assert view.filter.kind is Kind.DELETE_DEPARTMENT  # the filter and the cursor stay
        assert review(app).table.current().id == "delete_department:mow-cus"
        await press(pilot, "a")
        assert decision(app, "delete_department:mow-cus") is Decision.APPROVED


async def test_f_picks_any_filter_from_a_list_with_counts(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "f")
        for ch in "has_users":
            await pilot.press(ch)
        await press(pilot, "enter")
        view = app.session.view
        assert view.filter.problem == "department_has_users"
        assert [view.changes[i].key for i in view.rows] == ["MOW-CUS"]


async def test_changes_held_by_an_unattended_run_are_announced_and_shown_with_h(demo):
    from tui_sync import service

    cfg = service.load(demo)
    report = await service.run(cfg)  # holds the inactivations and deletes ([policy] review)
    held = {c.id for c in report.held}
    assert held
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = review(app)
        banner = plain(screen.query_one("#held-banner"))
        assert f"{len(held)} changes held for review since" in banner and "press H" in banner
        assert any("held for review" in m for m in messages(app))
        await press(pilot, "H")
        shown = {app.session.view.changes[i].id for i in app.session.view.rows}
        assert shown == held
        # releasing them: approve what is shown, apply; the banner goes away
        await press(pilot, "A", "y", "g", "y")
        await settle(pilot)
        await press(pilot, "escape")
        assert app.session.held is None
        assert not screen.query_one("#held-banner").display


async def test_review_names_a_guessed_code_page_with_what_it_reads(demo):
    """F1: a sheet that is not UTF-8 shows its guessed code page and a sample above the plan."""
    sheet = demo.parent / "departments.csv"
    text = sheet.read_text(encoding="utf-8").replace("ü", "ue")
    sheet.write_bytes(text.encode("cp1251"))
    app = SyncApp(demo)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = review(app)
        line = plain(screen.query_one("#read-as"))
        assert screen.query_one("#read-as").display
        assert 'departments read as cp1251 (guessed): "Филиал' in line
        assert any(p.code == "encoding_guessed" for p in app.session.view.plan.problems)
        await press(pilot, "1")  # the Sources pane names it too, with the sample
        deps = app.screen.query_one("#source-departments")
        assert "cp1251 (guessed)" in plain(deps.query_one(".source-info"))
        assert 'cp1251 (guessed): "Филиал' in plain(deps.query_one(".source-problems"))


async def test_review_has_no_code_page_line_for_utf8_and_xlsx(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert not review(app).query_one("#read-as").display


async def test_a_full_collection_runs_while_the_plan_settles_in_not_on_a_later_key(demo):
    """The plan worker and the search index each end with a full collection (gc.collect): the plan's
    objects are then long-lived, and the collector's next full pass is not paid on a keypress."""
    import gc

    full = gc.get_stats()[2]["collections"]
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("slash")  # (the search index is built on the way to searching)
        await settle(pilot)
        assert app.session.view is not None and app.session.view._haystack is not None
    assert gc.get_stats()[2]["collections"] >= full + 2
