"""C1–C3 in the UI: the review lists rows out of scope and protected objects on request (o), the
Sources pane shows each scope rule's keeps and drops, the Mapping pane shows and edits field policies."""
from __future__ import annotations

from pathlib import Path

from tui_sync import service
from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.scope_report import ScopeReportScreen

from ui_support import plain, press, review, settle
from workspace import edit

RULES = """
[users.scope]
exclude = [{ column = "Grade", values = ["C1"] }, { column = "Login", pattern = "*.schmidt" }]

[protect]
users = ["oliver.k*"]
departments = ["010"]

[users.fields]
jobTitle = { blank = "keep" }

[schedule]"""


def lines_text(view) -> list[str]:
    return [" ".join(text.strip() for text, _, _ in line if text.strip()) for line in view.lines]


async def test_the_review_lists_rows_out_of_scope_and_protected_objects_on_request(demo: Path):
    edit(demo, "[schedule]", RULES)
    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = review(app)
        assert "8 out of scope (o)" in plain(screen.query_one("#counts"))
        await press(pilot, "o")
        assert isinstance(app.screen, ScopeReportScreen)
        from tui_sync.ui.widgets.lines_view import LinesView

        text = lines_text(app.screen.query_one(LinesView))
        assert "departments: no scope, every row counts" in text
        assert "users: 8 of 299 rows out of scope" in text
        assert 'users row 2 katharina.albrecht exclude[1]: Grade is "C1"' in text
        assert any(t.endswith('exclude[2]: Login matches "*.schmidt"') for t in text)
        assert "protected LMS objects: 4" in text  # oliver.klein; 010 and its 011, 012
        assert 'user oliver.klein [protect] users "oliver.k*"' in text
        assert "department 011 under protected department 010" in text
        assert any(t.startswith("users row 3 oliver.klein LMS user oliver.klein is protected") for t in text)
        await press(pilot, "escape")
        assert review(app)


async def test_the_sources_pane_shows_each_scope_rule_with_what_it_keeps_and_drops(demo: Path):
    edit(demo, "[schedule]", RULES)
    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "1", "u")
        shown = plain(app.screen.query_one("#source-users .source-problems"))
        assert "scope: 8 of 299 rows out of scope" in shown
        assert 'exclude[1]: Grade is "C1" — keeps 293, drops 6' in shown
        assert 'exclude[2]: Login matches "*.schmidt" — keeps 297, drops 2' in shown
        assert "scope:" not in plain(app.screen.query_one("#source-departments .source-problems"))


async def test_the_mapping_pane_shows_field_policies_and_saves_a_new_one(demo: Path):
    edit(demo, "[schedule]", RULES)
    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "2", "u")
        from textual.widgets import DataTable

        table = app.screen.query_one("#mapping-users DataTable", DataTable)
        labels = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "jobTitle · blank keeps" in labels and "email*" in labels
        table.move_cursor(row=labels.index("email*"))
        await press(pilot, "p")
        from tui_sync.ui.screens.pick import PickScreen

        assert isinstance(app.screen, PickScreen)
        assert all("blank" not in label for _, label in app.screen.items)  # an identity takes no blank
        app.screen.dismiss("on_create/clear")
        await settle(pilot)
        await press(pilot, "y")
    cfg = service.load(demo)
    assert cfg.users.fields["email"].update == "on_create" and cfg.users.fields["jobTitle"].blank == "keep"
    assert demo.with_name("tui-sync.toml.bak").exists()
