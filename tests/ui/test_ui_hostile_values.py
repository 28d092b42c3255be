"""F4 in the UI: values that look like markup or terminal control, driven through every screen with Pilot.

What reaches the terminal is read from the screen's compositor, the same segments Textual writes:
each value must be there as HR typed it (control characters shown escaped), and no segment of
text may carry a raw control character.
"""
from __future__ import annotations

import re

from rich.console import Console

from hostile import BIDI, BOLD, CLOSE, CODE, CONTRACT, EMOJI, ESC, FORMAT, GRADE, LINK, LONG, RED, RTL, shown
from ui_support import goto, messages, press, settle
from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.notice import NoticeScreen
from tui_sync.ui.screens.pick import PickScreen
from tui_sync.ui.screens.resolve import ResolveScreen
from tui_sync.ui.widgets.change_detail import ChangeDetail

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # and bidi overrides


def screen_text(app: SyncApp) -> str:
    """The screen as the terminal gets it (dialogs over what they cover), one line per row.
    Fails when a raw control character would reach the terminal."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    lines = []
    for line in update.strips:
        text = []
        for strip in line:
            for seg in strip:
                if seg.control:
                    continue
                assert not CONTROL.search(seg.text), f"a raw control character reaches the terminal: {seg.text!r}"
                text.append(seg.text)
        lines.append("".join(text))
    return "\n".join(lines)


def detail_text(app: SyncApp) -> str:
    """The whole change detail (it scrolls), rendered as the screen renders it."""
    body = app.screen.query_one(ChangeDetail).query_one("#detail-body")
    console = Console(width=200, color_system=None)
    with console.capture() as cap:
        console.print(body.content)
    out = cap.get()
    assert not CONTROL.search(out.replace("\n", "")), "a raw control character in the change detail"
    return out


def assert_shows(text: str, *values: str) -> None:
    for v in values:
        assert shown(v) in text, f"{shown(v)!r} is not shown literally on this screen:\n{text}"


async def test_every_screen_shows_hostile_values_literally_and_keeps_working(hostile):
    app = SyncApp(hostile)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        view = app.session.view
        assert app.session.plan_error is None and app.session.config_error is None
        ids = {c.id for c in view.changes}
        assert {"update_user:old.one", "create_user:team.lead", "delete_department:old",
                f"create_department:{CODE.casefold()}"} <= ids

        # --- review: every row and its detail -------------------------------------------------
        for c in view.changes:
            await goto(pilot, c.id)
            screen_text(app)
            detail_text(app)
        await goto(pilot, "update_user:old.one")
        assert_shows(detail_text(app), f"Old {CLOSE}", f"New {ESC}")
        assert_shows(screen_text(app), f"Old {CLOSE}", f"New {ESC}")
        await goto(pilot, "create_user:team.lead")
        assert_shows(detail_text(app), CLOSE, BOLD, RTL, LINK, GRADE)
        assert_shows(screen_text(app), CLOSE, BOLD, RTL)
        await goto(pilot, "create_user:eng.one")
        assert_shows(detail_text(app), CONTRACT, ESC, FORMAT, EMOJI)
        await goto(pilot, "create_user:long.name")
        assert LONG in detail_text(app).replace("\n", "").replace(" ", "")
        await goto(pilot, "create_department:ops")
        assert_shows(detail_text(app), RTL)
        await goto(pilot, "create_user:rd.one")
        assert_shows(detail_text(app), BIDI, CODE, FORMAT)
        await goto(pilot, f"create_department:{CODE.casefold()}")
        assert_shows(screen_text(app), CODE, EMOJI)

        # --- a search for a value, then the bulk question over it --------------------------------
        await press(pilot, "slash")
        for ch in "[/]":
            await pilot.press(ch)
        await settle(pilot)
        assert_shows(screen_text(app), 'search "[/]"', CLOSE)
        await press(pilot, "escape", "escape")

        # --- resolve (D5) and its pick list ---------------------------------------------------------
        await goto(pilot, "delete_department:old")
        await press(pilot, "enter")
        assert isinstance(app.screen, ResolveScreen)
        assert_shows(screen_text(app), f"{BOLD} old", RED, ESC)
        await press(pilot, "m")
        assert isinstance(app.screen, PickScreen)
        assert_shows(screen_text(app), f"OPS  {RTL}", f"HQ  Head {RED}", f"{CODE}  {EMOJI}")
        await press(pilot, "escape", "escape")

        # --- problems and one opened ------------------------------------------------------------------
        await press(pilot, "4")
        text = screen_text(app)
        assert_shows(text, f"{RED}@nowhere does not look like an email address",
                     f"department {LINK}: no department has this code")
        await press(pilot, "down", "enter")  # (the first line heads a group)
        assert isinstance(app.screen, NoticeScreen)
        assert_shows(screen_text(app), f"{RED}@nowhere does not look like an email address")
        await press(pilot, "escape")

        # --- sources: both sheets and their first rows ------------------------------------------------
        await press(pilot, "1")
        assert_shows(screen_text(app), f"Head {RED}", RTL, EMOJI, CODE)
        await press(pilot, "u")
        text = screen_text(app)
        assert_shows(text, GRADE, BOLD, ESC, FORMAT, LINK)
        assert "N" * 50 in text and LONG not in text  # the preview cuts a long cell

        # --- mapping: samples, the column list, a toast naming a column ------------------------------
        await press(pilot, "2", "u")
        assert_shows(screen_text(app), GRADE, LINK)
        mapping = app.screen.query_one("#mapping-users DataTable")
        row = [str(mapping.get_row_at(i)[0]) for i in range(mapping.row_count)].index("jobTitle")
        mapping.move_cursor(row=row)
        await press(pilot, "enter")
        assert isinstance(app.screen, PickScreen)
        assert_shows(screen_text(app), GRADE, CLOSE, CONTRACT)
        for ch in "Grade":
            await pilot.press(ch)
        await press(pilot, "enter")
        toast = f'"{GRADE}" was mapped to Grade; now it is mapped to jobTitle.'
        assert toast in messages(app)
        assert_shows(screen_text(app), GRADE)
        await press(pilot, "z")

        # --- apply everything that can be, then the run ------------------------------------------------
        await press(pilot, "3", "A")
        assert_shows(screen_text(app), "Approve")
        await press(pilot, "y", "g")
        assert "Apply" in screen_text(app)
        await press(pilot, "y")
        await settle(pilot)
        assert "Run 1" in screen_text(app)
        await press(pilot, "enter")
        text = screen_text(app)
        assert_shows(text, CODE, "team.lead")
        assert app.session.cfg is not None

        # --- the setup wizard: previews and mapping lists ------------------------------------------------
        await press(pilot, "W")
        for _ in range(2):
            await press(pilot, "ctrl+n")
        assert_shows(screen_text(app), f"Head {RED}", RTL, EMOJI)
        for _ in range(3):
            await press(pilot, "ctrl+n")
        text = screen_text(app)
        assert_shows(text, GRADE, BOLD, ESC)
        await press(pilot, "ctrl+n")
        assert_shows(screen_text(app), GRADE)
        for _ in range(2):
            await press(pilot, "ctrl+n")
        assert "Scope and protection" in screen_text(app)
        await press(pilot, "enter")  # the column list: the sheet's headers, literally
        assert_shows(screen_text(app), GRADE)
        await press(pilot, "escape")
        await press(pilot, "ctrl+n")
        assert "Problems:" in screen_text(app)
        for _ in range(10):
            await press(pilot, "escape")
        await press(pilot, "y")
        assert app.screen.name in ("review", "runs")
