"""Every pane shows the current inputs: F5 re-reads what the Sources and Mapping panes show, a source
the config no longer names is never shown under the new name, and held changes are read on every plan."""
from __future__ import annotations

from tui_sync import service
from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.mapping import MappingScreen
from tui_sync.ui.screens.sources import SourcesScreen
from tui_sync.ui.widgets.sheet_preview import SheetPreview

from ui_support import messages, plain, press, review, settle

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_a_source_path_changed_to_a_missing_file_shows_no_rows_of_the_old_file(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "1")
        deps = app.screen.query_one("#source-departments")
        assert "33 rows" in plain(deps.query_one(".source-info"))
        raw = dict(app.session.cfg.raw)
        raw["departments"] = {**raw["departments"], "source": {"kind": "file", "path": "gone.csv"}}
        cfg = service.save_config(demo, raw)  # what the wizard's Finish does
        app.wizard_closed((cfg, None))
        await settle(pilot)
        await press(pilot, "1")
        assert isinstance(app.screen, SourcesScreen)
        deps = app.screen.query_one("#source-departments")
        info = plain(deps.query_one(".source-info"))
        assert "gone.csv" in info and "33 rows" not in info
        assert "gone.csv" in plain(deps.query_one(".source-problems"))
        assert deps.query_one(SheetPreview).row_count == 0
        await press(pilot, "2")
        assert isinstance(app.screen, MappingScreen)
        note = plain(app.screen.query_one("#mapping-departments .mapping-note"))
        assert "has not been read" in note and "gone.csv" in note


async def test_f5_reads_the_sheets_again_for_the_sources_pane(demo):
    departments = demo.parent / "departments.csv"
    good = departments.read_bytes()
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        departments.unlink()
        await press(pilot, "1", "f5")
        deps = app.screen.query_one("#source-departments")
        assert "departments.csv" in plain(deps.query_one(".source-problems"))
        assert "33 rows" not in plain(deps.query_one(".source-info"))
        departments.write_bytes(PNG)  # an image swapped in under the same name
        await press(pilot, "f5")
        shown = plain(deps.query_one(".source-problems"))
        assert "not found" not in shown.casefold() and "departments.csv" in shown
        departments.write_bytes(good)
        await press(pilot, "f5")
        assert "33 rows" in plain(deps.query_one(".source-info"))
        assert deps.query_one(SheetPreview).row_count == 33
        assert app.session.plan_error is None


async def test_changes_held_by_a_run_made_while_the_ui_is_open_show_after_f5(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.session.held is None
        report = await service.run(service.load(demo))  # `tui-sync run` in the same folder
        held = {c.id for c in report.held}
        assert held
        await press(pilot, "f5")
        screen = review(app)
        assert screen.query_one("#held-banner").display
        await press(pilot, "H")
        assert {app.session.view.changes[i].id for i in app.session.view.rows} == held
        assert not any("No changes are held" in m for m in messages(app))


async def test_f5_with_unsaved_mapping_edits_asks_and_says_which_mapping_it_planned_with(demo):
    import tomllib

    from textual.widgets import DataTable

    from tui_sync.ui.screens.confirm import ConfirmScreen

    demo.write_text(demo.read_text().replace('email = "E-mail"', 'email = "Email adress"'))
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.session.plan_error
        await press(pilot, "2", "u")
        users = app.screen.query_one("#mapping-users DataTable", DataTable)
        users.move_cursor(row=1)
        await press(pilot, "s")  # the suggestion, not saved
        await press(pilot, "f5")
        assert isinstance(app.screen, ConfirmScreen) and "unsaved" in plain(app.screen.query_one("#dialog-title"))
        await press(pilot, "n")  # plan without them: the saved mapping fails again, and says why
        assert app.session.plan_error
        assert any("still unsaved" in m for m in messages(app))
        await press(pilot, "3")
        assert "users mapping has unsaved edits" in " ".join(plain(app.screen.query_one("#plan-status")).split())
        await press(pilot, "f5", "y")  # save them: the save shows what changes first
        assert isinstance(app.screen, ConfirmScreen) and "Save the mapping" in plain(
            app.screen.query_one("#dialog-title"))
        await press(pilot, "y")
        assert tomllib.loads(demo.read_text())["users"]["mapping"]["email"] == "E-mail"
        assert app.session.plan_error is None and len(app.session.view.changes) == 54


async def test_the_problems_pane_shows_no_problems_of_a_plan_that_could_not_be_made_again(demo):
    from tui_sync.ui.screens.problems import ProblemsScreen
    from tui_sync.ui.widgets.lines_view import LinesView

    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "4")
        assert isinstance(app.screen, ProblemsScreen) and app.screen.query_one(LinesView).lines
        (demo.parent / "users.xlsx").rename(demo.parent / "users-away.xlsx")
        await press(pilot, "f5")
        assert "Nothing could be planned" in plain(app.screen.query_one("#problems-head"))
        assert "users.xlsx" in plain(app.screen.query_one("#problems-head"))
        assert app.screen.query_one(LinesView).lines == []
        (demo.parent / "users-away.xlsx").rename(demo.parent / "users.xlsx")
        await press(pilot, "f5")
        assert app.screen.query_one(LinesView).lines and "8 row problem(s)" in plain(
            app.screen.query_one("#problems-head"))
