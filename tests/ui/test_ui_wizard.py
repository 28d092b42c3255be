"""The first-sync wizard, keyboard only: every step, back and forward, the config it writes, secrets."""
from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from textual.widgets import Input

from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.confirm import ConfirmScreen
from tui_sync.ui.screens.review import ReviewScreen
from tui_sync.ui.screens.wizard import WizardScreen

from ui_support import plain, press, settle, step

async def test_without_a_config_the_wizard_writes_one_and_ends_in_the_review(hr_sheets: Path):
    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        seen = [step(app)]
        for _ in range(9):
            await press(pilot, "ctrl+n")
            seen.append(step(app))
        assert seen == ["LMS", "Departments sheet", "Departments preview", "Departments mapping", "Users sheet",
                        "Users preview", "Users mapping", "Schedule and safety", "Scope and protection", "Dry run"]
        dry = plain(app.screen.query_one("#dryrun-body"))
        assert "create_user" in dry and "293" in dry
        assert "✖ duplicate_login — 2: users rows 83, 300" in dry  # where the problems are, by code
        assert 'users row 34, column "E-mail", stefanie.ott: E-mail is blank' in dry  # which column, whom, what
        assert not (hr_sheets / "tui-sync.toml").exists()  # nothing is written before Finish
        await press(pilot, "ctrl+n")
        assert isinstance(app.screen, ReviewScreen)
        assert len(app.session.view.changes) == 325
    raw = tomllib.loads((hr_sheets / "tui-sync.toml").read_text())
    assert raw["lms"] == {"kind": "local", "path": "lms.sqlite"}
    assert raw["departments"]["source"] == {"kind": "file", "path": "departments.csv"}
    assert raw["departments"]["mapping"]["parentCode"] == "Parent code"
    assert raw["users"]["mapping"]["departmentId"] == "Department code"
    assert raw["users"]["mapping"]["userUniqueKey"] == "Personnel no."  # suggested: HR's usual spelling
    assert raw["policy"]["review"] == ["delete_department", "inactivate_user"]


async def test_the_unique_key_note_shows_only_while_the_key_is_unmapped(hr_sheets: Path):
    from textual.widgets import Select

    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for _ in range(6):
            await press(pilot, "ctrl+n")
        assert step(app) == "Users mapping"
        key = app.screen.query_one("#map-users-userUniqueKey", Select)
        note = app.screen.query_one("#unique-key-note")
        assert key.value == "Personnel no." and not note.display
        key.clear()
        await settle(pilot)
        assert note.display and "login and email cannot both change" in plain(note)
        key.value = "Personnel no."
        await settle(pilot)
        assert not note.display


async def test_a_mistake_is_named_at_its_step_and_back_keeps_what_was_typed(hr_sheets: Path):
    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+n")
        path = app.screen.query_one("#departments-path", Input)
        path.value = ""
        await press(pilot, "ctrl+n")
        assert step(app) == "Departments sheet"
        assert "[departments.source] path" in plain(app.screen.query_one("#wizard-error"))
        path.value = "nowhere.csv"
        await press(pilot, "ctrl+n")
        assert step(app) == "Departments preview"
        assert "nowhere.csv" in plain(app.screen.query_one("#step-dpreview .preview-info"))
        await press(pilot, "escape")
        assert step(app) == "Departments sheet"
        assert app.screen.query_one("#departments-path", Input).value == "nowhere.csv"


@pytest.fixture
def refusing_lms():
    """An LMS address on loopback that refuses every request at once (401)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def ispring_with_a_secret_to_store(pilot, lms_url: str) -> None:
    """The wizard from its first step to the dry run: iSpring at `lms_url`, its client secret typed to be stored."""
    from tui_sync.ui.widgets.toggles import Choice

    screen = pilot.app.screen
    screen.query_one("#lms-kind").query(Choice).last().value = True
    await pilot.pause()
    screen.query_one("#lms-base-url", Input).value = lms_url
    screen.query_one("#lms-client-id", Input).value = "tui-sync-client"
    secret = screen.query_one("#lms-client-secret")
    secret.query(Choice).last().value = True  # store it here
    await pilot.pause()
    secret.query_one(".secret-value", Input).value = "s3cr3t-value"
    for _ in range(9):
        await press(pilot, "ctrl+n")
    assert step(pilot.app) == "Dry run"


async def test_secrets_are_written_only_as_references_and_stored_values_are_private(hr_sheets: Path, refusing_lms):
    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await ispring_with_a_secret_to_store(pilot, refusing_lms)
        assert "Nothing could be planned" in plain(app.screen.query_one("#dryrun-body"))
        await press(pilot, "ctrl+n")  # finish even though the LMS refuses us
        assert isinstance(app.screen, ReviewScreen)
        assert app.session.plan_error
    text = (hr_sheets / "tui-sync.toml").read_text()
    assert "s3cr3t-value" not in text
    raw = tomllib.loads(text)
    assert raw["lms"]["client_secret"] == {"stored": "ispring_client_secret"}
    stored = hr_sheets / ".tui-sync" / "secrets.toml"
    assert tomllib.loads(stored.read_text()) == {"ispring_client_secret": "s3cr3t-value"}
    if os.name == "posix":
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600


async def test_leaving_the_wizard_writes_nothing(hr_sheets: Path):
    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "escape")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        assert isinstance(app.screen, ReviewScreen)
        assert "no configuration yet" in plain(app.screen.query_one("#plan-status"))
    assert not (hr_sheets / "tui-sync.toml").exists()


async def test_german_headers_are_suggested_in_the_wizard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import xlsxwriter

    (tmp_path / "departments.csv").write_text(
        "Abteilungsnr;Abteilungsname;Übergeordnete Abteilungsnr\n001;Zentrale;\n010;Vertrieb;001\n", encoding="utf-8")
    book = xlsxwriter.Workbook(str(tmp_path / "users.xlsx"))
    sheet = book.add_worksheet("Mitarbeiter")
    rows = [("Personalnummer", "Benutzername", "E-Mail-Adresse", "Vorname", "Nachname", "Abteilungsname",
             "Abteilungsnr", "Vorgesetzter", "Stellenbezeichnung"),
            ("1001", "f.jaeger", "f.jaeger@example.de", "Frank", "Jäger", "Vertrieb", "010", "", "Leiter")]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    monkeypatch.chdir(tmp_path)
    app = SyncApp(tmp_path / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for _ in range(10):  # every step, the optional scope step too
            await press(pilot, "ctrl+n")
        assert isinstance(app.screen, ReviewScreen)
    raw = tomllib.loads((tmp_path / "tui-sync.toml").read_text())
    assert raw["departments"]["mapping"] == {"code": "Abteilungsnr", "name": "Abteilungsname",
                                             "parentCode": "Übergeordnete Abteilungsnr"}
    users = raw["users"]["mapping"]
    assert {k: users.get(k) for k in ("login", "email", "firstName", "lastName", "departmentId",
                                      "subordination", "userUniqueKey", "jobTitle")} == {
        "login": "Benutzername", "email": "E-Mail-Adresse", "firstName": "Vorname", "lastName": "Nachname",
        "departmentId": "Abteilungsnr", "subordination": "Vorgesetzter", "userUniqueKey": "Personalnummer",
        "jobTitle": "Stellenbezeichnung"}


async def users_mapping_step(pilot) -> None:
    for _ in range(6):
        await press(pilot, "ctrl+n")
    assert step(pilot.app) == "Users mapping"


async def test_a_column_chosen_for_a_field_leaves_the_custom_field_list(hr_sheets: Path):
    from textual.widgets import Select, SelectionList

    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await users_mapping_step(pilot)
        customs = app.screen.query_one("#custom-fields", SelectionList)
        offered = lambda: [customs.get_option_at_index(i).value for i in range(customs.option_count)]  # noqa: E731
        assert offered() == ["Grade", "Hire date"]
        customs.select("Grade")
        customs.select("Hire date")
        app.screen.query_one("#map-users-phone", Select).value = "Grade"
        await settle(pilot)
        assert offered() == ["Phone", "Hire date"] and customs.selected == ["Hire date"]  # (Phone is free now)
        assert any('"Grade" is now the column of phone' in m for m in (n.message for n in app._notifications))
        for _ in range(4):  # schedule, scope, dry run, finish
            await press(pilot, "ctrl+n")
        assert isinstance(app.screen, ReviewScreen)
    mapping = tomllib.loads((hr_sheets / "tui-sync.toml").read_text())["users"]["mapping"]
    assert mapping["phone"] == "Grade" and mapping["Hire date"] == "Hire date" and "Grade" not in mapping


async def test_dropdowns_show_sample_values_and_a_fixed_mapping_clears_the_error(hr_sheets: Path):
    from textual.widgets import Select

    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await users_mapping_step(pilot)
        login = app.screen.query_one("#map-users-login", Select)
        prompts = {value: plain_text(prompt) for prompt, value in login._options if value is not Select.NULL}
        assert prompts["Login"].startswith("Login") and "." in prompts["Login"].removeprefix("Login")
        login.value = Select.NULL
        await press(pilot, "ctrl+n")
        error = app.screen.query_one("#wizard-error")
        assert "required field(s) not mapped: login" in plain(error) and error.display
        login.value = "Login"
        await settle(pilot)
        assert not error.display


def plain_text(prompt) -> str:
    return prompt.plain if hasattr(prompt, "plain") else str(prompt)


async def test_checkbox_radio_and_list_states_show_by_shape_not_colour(hr_sheets: Path):
    from tui_sync.ui.widgets.toggles import Choice, Tick, Ticks

    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        radios = list(app.screen.query(Choice))
        assert {r.value: r._button.plain[1] for r in radios[:2]} == {True: "●", False: " "}
        await press(pilot, "ctrl+n")  # the departments sheet: a checkbox
        tick = app.screen.query(Tick).first()
        assert tick._button.plain[1] == ("X" if tick.value else " ")
        tick.value = not tick.value
        assert tick._button.plain[1] == ("X" if tick.value else " ")
        for _ in range(5):
            await press(pilot, "ctrl+n")
        customs = app.screen.query_one("#custom-fields", Ticks)
        customs.deselect_all()
        customs.select("Grade")
        await pilot.pause()
        marks = ["".join(s.text for s in customs.render_line(y))[1] for y in range(customs.option_count)]
        assert sorted(marks) == [" ", "X"]


async def test_a_typed_secret_reaches_the_state_folder_only_on_finish(hr_sheets: Path, refusing_lms):
    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await ispring_with_a_secret_to_store(pilot, refusing_lms)  # the dry run used the secret …
        assert not (hr_sheets / ".tui-sync" / "secrets.toml").exists()  # … without storing it
        await press(pilot, "escape")
        while isinstance(app.screen, WizardScreen) and app.screen.index > 0:
            await press(pilot, "escape")
        await press(pilot, "escape", "y")  # leave: nothing was written
        assert isinstance(app.screen, ReviewScreen)
    assert not (hr_sheets / ".tui-sync" / "secrets.toml").exists() and not (hr_sheets / "tui-sync.toml").exists()


async def test_enter_on_a_steps_last_field_goes_next_and_question_mark_shows_the_keys(hr_sheets: Path):
    from tui_sync.ui.screens.keys_help import KeysScreen

    app = SyncApp(hr_sheets / "tui-sync.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert step(app) == "LMS"
        app.screen.query_one("#lms-path", Input).focus()
        await press(pilot, "enter")  # the database file is the step's last field
        assert step(app) == "Departments sheet"
        app.screen.set_focus(None)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, KeysScreen)
