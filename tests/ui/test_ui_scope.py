"""C1–C3 in the UI: the review lists rows out of scope and protected objects on request (o), the
Sources pane shows each scope rule's keeps and drops, the Mapping pane shows and edits field policies."""
from __future__ import annotations

from contextlib import asynccontextmanager
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


@asynccontextmanager
async def users_source(demo: Path, rules: str = RULES):
    """The app with `rules`, planned (or not), on the Sources pane's users tab."""
    edit(demo, "[schedule]", rules)
    app = SyncApp(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "1", "u")
        yield app, pilot


def users_problems(app: SyncApp) -> str:
    return plain(app.screen.query_one("#source-users .source-problems"))


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
    async with users_source(demo) as (app, _):
        shown = users_problems(app)
        assert "scope: 8 of 299 rows out of scope" in shown
        assert 'exclude[1]: Grade is "C1" — keeps 293, drops 6' in shown
        assert 'exclude[2]: Login matches "*.schmidt" — keeps 297, drops 2' in shown
        assert "scope:" not in plain(app.screen.query_one("#source-departments .source-problems"))


async def test_the_sources_pane_takes_the_scope_counts_from_the_plan_made_from_the_sheet(demo: Path):
    """C1: the plan scoped the sheet and recorded each rule's keeps and drops: no second pass over it."""
    async with users_source(demo) as (app, _):
        screen, cfg = app.screen, app.session.cfg
        result = await service.make_plan(cfg)  # a new plan, from sheets the pane has not counted
        app.session.plan_made(result, kept=False, inputs=None, made_with=cfg)
        screen.session_changed()  # (as the app's PlanChanged does; nothing else runs in between)
        shown = users_problems(app)
        assert "scope: 8 of 299 rows out of scope" in shown
        assert 'exclude[2]: Login matches "*.schmidt" — keeps 297, drops 2' in shown
        assert "scope counts" not in [w.name for w in app.workers]


async def test_the_sources_pane_counts_a_sheet_read_anew_in_a_worker_showing_counting_meanwhile(demo: Path):
    """C1: a pass over a large sheet would freeze the terminal: the pane is drawn first, the counts follow."""
    async with users_source(demo) as (app, pilot):
        screen, cfg = app.screen, app.session.cfg
        read = service.read_sources(cfg)  # the sheets read anew (as the pane's reload does), not the plan's
        app.session.sheets_read({"departments": read.departments, "users": read.users}, {}, made_with=cfg)
        screen.session_changed()  # drawn at once, before any count can arrive
        assert "scope: counting…" in users_problems(app)
        assert "scope counts" in [w.name for w in app.workers]
        await settle(pilot)
        shown = users_problems(app)
        assert "counting" not in shown
        assert "scope: 8 of 299 rows out of scope" in shown
        assert 'exclude[1]: Grade is "C1" — keeps 293, drops 6' in shown
        screen.session_changed()  # counted once per sheet read: the same sheets are not counted again
        assert "scope counts" not in [w.name for w in app.workers]
        assert 'exclude[1]: Grade is "C1" — keeps 293, drops 6' in users_problems(app)


async def test_the_sources_pane_counts_anew_when_the_scope_changed_since_the_plan(demo: Path):
    """C1: the plan's keeps and drops are for the rules it was made with, not for edited ones."""
    async with users_source(demo) as (app, pilot):
        edit(demo, 'values = ["C1"] }', 'values = ["C1", "C2"] }')
        app.session.set_config(service.load(app.session.config_path))  # the same sheets, other rules
        app.screen.session_changed()
        assert "scope: counting…" in users_problems(app)
        await settle(pilot)
        shown = users_problems(app)
        assert 'exclude[1]: Grade is "C1" or "C2" — keeps' in shown
        assert 'exclude[1]: Grade is "C1" — keeps 293, drops 6' not in shown
        assert 'exclude[2]: Login matches "*.schmidt" — keeps 297, drops 2' in shown


async def test_the_sources_pane_says_which_scope_rule_does_not_fit_the_sheet(demo: Path):
    """C1: a rule naming a column the sheet lacks: no plan; the pane says what, where and what to do."""
    misfit = '[users.scope]\nexclude = [{ column = "Contract", values = ["temp"] }]\n\n[schedule]'
    async with users_source(demo, misfit) as (app, _):
        shown = users_problems(app)
        assert 'found column = "Contract", expected a column of the users sheet' in shown
        assert "[users.scope] exclude[1].column" in shown
        assert "Fix the rule's column in [users.scope]" in shown
        assert "counting" not in shown


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
