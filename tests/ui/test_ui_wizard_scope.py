"""The wizard's optional scope and protection step (C1, C2): a rule that leaves rows out,
protected logins and codes, and LMS accounts that no row matches offered for protection."""
from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest
from textual.widgets import Input, Select, SelectionList

from tui_sync.lms.embedded import EmbeddedLMS
from tui_sync.lms.sheets import read_load_files
from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.review import ReviewScreen

from ui_support import SAMPLE, plain, press, settle, step


@pytest.fixture
def folder(hr_sheets: Path) -> Path:
    """HR's sheets, no config, and an embedded LMS in the demo's prior state (with accounts no row has)."""
    deps, users = read_load_files(SAMPLE / "prior" / "lms_departments.csv", SAMPLE / "prior" / "lms_users.csv")
    deps.append({"code": "EXT", "name": "External", "parentCode": None})
    users.append({"login": "admin", "email": "admin@nordlicht.example", "firstName": "Admin", "lastName": "Account",
                  "departmentId": "001", "status": "active"})
    users.append({"login": "[b]svc[/b]", "email": "svc@nordlicht.example", "firstName": "Service",
                  "lastName": "Account", "departmentId": "001", "status": "active"})

    async def load() -> None:
        lms = EmbeddedLMS(hr_sheets / "lms.sqlite")
        try:
            await lms.load(deps, users)
        finally:
            await lms.close()
    asyncio.run(load())
    return hr_sheets


async def to_scope_step(pilot) -> None:
    await settle(pilot)
    for _ in range(8):
        await press(pilot, "ctrl+n")
    assert step(pilot.app) == "Scope and protection"


async def test_the_scope_step_writes_a_rule_and_protection_with_suggested_accounts(folder: Path):
    app = SyncApp(folder / "tui-sync.toml")
    async with app.run_test(size=(110, 40)) as pilot:
        await to_scope_step(pilot)
        screen = app.screen
        suggestions = screen.query_one("#protect-suggestions", SelectionList)
        offered = [suggestions.get_option_at_index(i).value for i in range(suggestions.option_count)]
        assert "admin" in offered and "oliver.klein" not in offered  # oliver.klein has a row
        from textual.visual import visualize

        shown = [visualize(suggestions, suggestions.get_option_at_index(i).prompt, markup=True).plain
                 for i in range(suggestions.option_count)]
        assert "[b]svc[/b]" in shown  # a login is data, never markup
        suggestions.select("admin")
        await pilot.pause()
        marks = ["".join(s.text for s in suggestions.render_line(y))[1] for y in range(suggestions.option_count)]
        assert marks.count("X") == 1 and marks.count(" ") == len(marks) - 1  # chosen shows by shape, not colour
        screen.query_one("#scope-column", Select).value = "Grade"
        screen.query_one("#scope-values", Input).value = "C1, C2"
        await press(pilot, "ctrl+n")
        assert step(app) == "Dry run"
        await press(pilot, "escape")  # back and forward again: the rule is not added twice
        assert step(app) == "Scope and protection"
        screen.query_one("#protect-departments", Input).value = "EXT"
        await press(pilot, "ctrl+n")
        await press(pilot, "ctrl+n")
        assert isinstance(app.screen, ReviewScreen)
        assert "out of scope (o)" in plain(app.screen.query_one("#counts"))
    raw = tomllib.loads((folder / "tui-sync.toml").read_text())
    assert raw["users"]["scope"] == {"exclude": [{"column": "Grade", "values": ["C1", "C2"]}]}
    assert raw["protect"] == {"users": ["admin"], "departments": ["EXT"]}


async def test_a_column_without_values_is_named_at_the_step(folder: Path):
    app = SyncApp(folder / "tui-sync.toml")
    async with app.run_test(size=(110, 40)) as pilot:
        await to_scope_step(pilot)
        app.screen.query_one("#scope-column", Select).value = "Grade"
        await press(pilot, "ctrl+n")
        assert step(app) == "Scope and protection"
        assert "a column without values" in plain(app.screen.query_one("#wizard-error"))
        app.screen.query_one("#scope-values", Input).value = "test-*"
        await press(pilot, "ctrl+n")
        assert step(app) == "Dry run"
        assert app.screen.raw["users"]["scope"] == {"exclude": [{"column": "Grade", "pattern": "test-*"}]}
