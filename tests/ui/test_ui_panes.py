"""Sources, mapping, problems and runs panes with Pilot; keys, the palette and [keys] remapping."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

from textual.widgets import DataTable

from tui_sync.model import Decision
from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.confirm import ConfirmScreen
from tui_sync.ui.screens.keys_help import KeysScreen
from tui_sync.ui.screens.mapping import MappingScreen
from tui_sync.ui.screens.notice import NoticeScreen
from tui_sync.ui.screens.problems import ProblemsScreen
from tui_sync.ui.screens.runs import RunsScreen
from tui_sync.ui.screens.sources import SourcesScreen
from tui_sync.ui.widgets.lines_view import LinesView
from tui_sync.ui.widgets.sheet_preview import SheetPreview

from ui_support import messages, plain, press, settle


async def test_sources_pane_shows_what_was_read_and_the_first_rows(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "1")
        screen = app.screen
        assert isinstance(screen, SourcesScreen)
        deps = screen.query_one("#source-departments")
        assert "departments.csv" in plain(deps.query_one(".source-info"))
        assert "33 rows × 4 columns" in plain(deps.query_one(".source-info"))
        preview = deps.query_one(SheetPreview)
        assert preview.row_count == 33 and [str(v) for v in preview.get_row_at(0)[:2]] == ["2", "001"]
        await press(pilot, "u")
        users = screen.query_one("#source-users")
        assert "299 rows" in plain(users.query_one(".source-info"))
        await press(pilot, "l")  # reload, in a worker
        assert "299 rows" in plain(users.query_one(".source-info"))
        await press(pilot, "t")  # test the connection
        assert isinstance(app.screen, NoticeScreen)
        assert "reachable" in str(app.screen.body.renderables[0])


async def test_a_source_that_cannot_be_read_is_shown_in_the_pane_not_as_a_crash(demo: Path):
    demo.write_text(demo.read_text().replace('path = "users.xlsx"', 'path = "missing.xlsx"'))
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.session.plan_error and "missing.xlsx" in app.session.plan_error
        assert "Nothing could be planned" in plain(app.screen.query_one("#plan-status"))
        await press(pilot, "1")
        users = app.screen.query_one("#source-users")
        assert "missing.xlsx" in plain(users.query_one(".source-problems"))
        deps = app.screen.query_one("#source-departments")
        assert "33 rows" in plain(deps.query_one(".source-info"))


async def test_mapping_pane_lists_fields_suggests_and_saves_the_toml(demo: Path):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "2")
        screen = app.screen
        assert isinstance(screen, MappingScreen)
        table = screen.query_one("#mapping-departments DataTable", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(4)] == ["code*", "name*", "parentCode",
                                                                  "departmentUniqueKey"]
        assert "suggestion" in str(table.get_row_at(3)[2]) and "Dept key" in str(table.get_row_at(3)[2])
        await press(pilot, "down", "down", "down", "s")
        assert screen.drafts["departments"]["departmentUniqueKey"] == "Dept key"
        await press(pilot, "u")
        users = screen.query_one("#mapping-users DataTable", DataTable)
        note = plain(screen.query_one("#mapping-users .mapping-note"))
        assert "userUniqueKey is not mapped" in note
        rows = [str(users.get_row_at(i)[0]) for i in range(users.row_count)]
        assert "login*" in rows and "Grade" in rows and "Hire date" in rows
        users.move_cursor(row=rows.index("Hire date"))
        await press(pilot, "x")  # a custom field removed
        await press(pilot, "w")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        saved = tomllib.loads(demo.read_text())
        assert saved["departments"]["mapping"]["departmentUniqueKey"] == "Dept key"
        assert "Hire date" not in saved["users"]["mapping"]
        assert saved["schedule"]["timezone"] == "Europe/Berlin"  # the rest is kept
        assert app.session.cfg.departments.mapping["departmentUniqueKey"] == "Dept key"
        assert app.session.view is not None and not app.session.planning  # planned again


async def test_problems_pane_groups_row_problems_by_code_with_sheet_rows(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "4")
        assert isinstance(app.screen, ProblemsScreen)
        lines = app.screen.query_one(LinesView).lines
        flat = [" ".join(c[0] for c in line) for line in lines]
        assert flat[0].startswith("✖ duplicate_login — 2 errors")
        assert any("users row 83 · Login" in f and "max.mueller" in f for f in flat)
        assert any("unknown_parent" in f for f in flat) and any("self_supervision" in f for f in flat)
        await press(pilot, "down", "enter")
        assert isinstance(app.screen, NoticeScreen)


async def test_runs_pane_lists_runs_and_exports_a_log(demo: Path):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "5")
        assert isinstance(app.screen, RunsScreen)
        assert "No runs yet" in plain(app.screen.query_one("#run-info"))
        await press(pilot, "3", "a", "g", "y")  # approve one change and apply it
        await press(pilot, "escape", "5")
        screen = app.screen
        assert isinstance(screen, RunsScreen) and screen.run is not None
        assert "1 applied" in plain(screen.query_one("#run-info"))
        await press(pilot, "e", "enter")
        assert (demo.parent / f"run-{screen.run.id}.txt").read_text().startswith(f"tui_sync run {screen.run.id}")
        await press(pilot, "e")
        field = app.screen.query_one("#export-path")
        field.value = "logs/run.json"
        await press(pilot, "enter")
        data = json.loads((demo.parent / "logs" / "run.json").read_text())
        assert data["status"] == "completed" and data["changes"]
        await press(pilot, "e")
        app.screen.query_one("#export-path").value = "run.csv"
        await press(pilot, "enter")
        assert (demo.parent / "run.csv").read_text().startswith("run,change,kind,key,outcome")
        assert any("saved as CSV" in m for m in messages(app))


async def test_a_run_shows_what_was_not_applied_first_with_why(demo: Path):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "A", "y", "g", "y")  # approve everything: the two blocked deletes are not applied
        await press(pilot, "escape", "5")
        lines = app.screen.query_one("#run-changes").lines
        outcomes = [row[0][0] for row in lines]
        assert outcomes[:2] == ["blocked", "blocked"] and set(outcomes[2:]) == {"applied"}
        assert "not applied: department" in lines[0][3][0] and "still has" in lines[0][3][0]  # its own words


async def test_question_mark_lists_the_keys_with_their_binding_ids(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, KeysScreen)
        ids = [r.id for r in app.screen.rows]
        assert ids[0].startswith("review.") and "review.approve" in ids and "app.quit" in ids
        assert "rows.down" in ids


async def test_every_action_is_in_the_command_palette(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Approve", "Reject", "Undo", "Apply", "Resolve", "Approve filtered", "Sources", "Runs",
                "Plan again", "Quit"} <= titles
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Approve")
        await command.callback()
        await settle(pilot)
        assert app.session.view.changes[app.session.view.rows[0]].decision is Decision.APPROVED


async def test_keys_are_remapped_under_keys_in_the_config(demo: Path):
    demo.write_text(demo.read_text() + '\n[keys]\n"review.approve" = "y"\n"no.such.binding" = "z"\n')
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        view = app.session.view
        first = view.changes[view.rows[0]]
        await press(pilot, "a")
        assert first.decision is Decision.PENDING
        await press(pilot, "y")
        assert first.decision is Decision.APPROVED
        assert any("no.such.binding" in m for m in messages(app))


async def test_a_mapped_column_missing_from_the_sheet_is_fixed_in_the_mapping_pane(demo: Path):
    demo.write_text(demo.read_text().replace('email = "E-mail"', 'email = "Mail"'))
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.session.plan_error and '"Mail"' in app.session.plan_error
        await press(pilot, "2", "u")  # the pane reads the sheets itself: the plan never got that far
        screen = app.screen
        users = screen.query_one("#mapping-users DataTable", DataTable)
        assert "column not in the sheet" in str(users.get_row_at(1)[2])
        users.move_cursor(row=1)
        await press(pilot, "enter")
        for ch in "E-mai":
            await pilot.press(ch)
        await press(pilot, "enter", "w", "y")
        assert tomllib.loads(demo.read_text())["users"]["mapping"]["email"] == "E-mail"
        assert app.session.plan_error is None and len(app.session.view.changes) == 54


async def test_a_misspelt_mapped_column_is_fixed_with_the_suggestion_key(demo: Path):
    demo.write_text(demo.read_text().replace('email = "E-mail"', 'email = "Email adress"'))
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert 'perhaps email = "E-mail"?' in app.session.plan_error
        await press(pilot, "2", "u")
        users = app.screen.query_one("#mapping-users DataTable", DataTable)
        assert 'column not in the sheet — suggestion "E-mail" (s)' in str(users.get_row_at(1)[2])
        users.move_cursor(row=1)
        await press(pilot, "s", "w", "y")
        assert tomllib.loads(demo.read_text())["users"]["mapping"]["email"] == "E-mail"
        assert app.session.plan_error is None and len(app.session.view.changes) == 54


async def test_a_broken_config_is_shown_in_the_panes_not_as_a_crash(demo: Path):
    demo.write_text(demo.read_text() + "\n[apply]\nconcurrency = 'eight'\n")
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.session.cfg is None and app.session.config_error
        assert "tui-sync.toml" in plain(app.screen.query_one("#plan-status"))
        for pane in ("1", "2", "4", "5"):
            await press(pilot, pane)
        assert app.is_running


async def test_mapping_pane_names_the_code_page_not_misread_headers(demo: Path):
    """F1: a sheet read in the wrong code page: the mapping pane says which one reads the mapped names."""
    sheet = demo.parent / "departments.csv"
    text = sheet.read_text(encoding="utf-8").replace("ü", "ue").replace("Department,", "Отдел,", 1)
    sheet.write_bytes(text.encode("cp1251"))
    demo.write_text(demo.read_text().replace('name = "Department"', 'name = "Отдел"')
                    .replace('path = "departments.csv"', 'path = "departments.csv"\nencoding = "cp1252"'))
    app = SyncApp(demo)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert 'set encoding = "cp1251"' in app.session.plan_error
        await press(pilot, "2")
        table = app.screen.query_one("#mapping-departments DataTable", DataTable)
        notes = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        assert any('not in the sheet as read in cp1252: set encoding = "cp1251"' in n for n in notes), notes
        assert not any("suggestion" in n for n in notes)


async def test_the_palette_reaches_other_panes_actions_and_help_names_tab(demo):
    from tui_sync.ui.screens.runs import ExportScreen

    from tui_sync import service

    await service.apply(service.load(demo), approve="none")  # a run to export
    app = SyncApp(demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "Runs: Export…" in commands and "Sources: Test connection" in commands
        await commands["Runs: Export…"].callback()
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        await press(pilot, "escape", "3", "question_mark")
        shown = plain(app.screen.query_one("#dialog-body Static"))
        assert "tab, shift+tab" in shown and "scroll" in shown
