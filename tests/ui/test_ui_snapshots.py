"""Snapshots of the main screens at pinned sizes (review the SVGs in tests/ui/__snapshots__ before accepting).

No clock, temporary path or host name reaches the screen: run times and the actor are fixed by the
`demo` fixture, paths are shown relative to the config's folder, toasts are cleared, cursors don't blink.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from tui_sync.ui.app import SyncApp

from ui_support import goto, settle


def steady(*keys: str, change: str | None = None):
    """run_before: wait for planning, optionally go to a change, press keys, then freeze what moves."""
    async def run_before(pilot) -> None:
        await settle(pilot)
        if change:
            await goto(pilot, change)
        for k in keys:
            await pilot.press(k)
            await settle(pilot)
        pilot.app.clear_notifications()
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()
    return run_before


def test_review_pane(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(100, 30), run_before=steady())


def test_review_pane_at_80x24(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(80, 24),
                        run_before=steady("a", "r", change="create_department:lon-ecom"))  # (a, r move on)


def test_review_pane_at_120x40(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(120, 40),
                        run_before=steady("a", "r", change="update_user:thomas.berger"))


def test_review_pane_wide_with_a_filter(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(160, 40), run_before=steady("k", "k", "k", "k", "k"))


def test_review_pane_with_hostile_values_at_80x24(hostile, snap_compare):
    """F4: markup, an ANSI sequence, emoji and right-to-left text as HR typed them."""
    assert snap_compare(SyncApp(hostile), terminal_size=(80, 24), run_before=steady(change="update_user:old.one"))


def test_resolve_dialog(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(100, 30),
                        run_before=steady("enter", change="delete_department:mow-cus"))


def test_apply_question(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(100, 30), run_before=steady("A", "y", "g"))


def test_sources_pane(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(100, 30), run_before=steady("1"))


def test_mapping_pane(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(100, 30), run_before=steady("2", "u"))


def test_mapping_pane_at_80x24(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(80, 24), run_before=steady("2"))


def test_problems_pane(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(100, 30), run_before=steady("4"))


def test_runs_pane_after_an_apply(demo, snap_compare):
    assert snap_compare(SyncApp(demo), terminal_size=(100, 30),
                        run_before=steady("a", "g", "y", "enter", change="create_department:ber-esg"))


@pytest.fixture
def no_config(hr_sheets: Path) -> Path:
    return hr_sheets / "tui-sync.toml"


def test_wizard_first_step_at_80x24(no_config, snap_compare):
    assert snap_compare(SyncApp(no_config), terminal_size=(80, 24), run_before=steady())


def test_wizard_users_mapping(no_config, snap_compare):
    keys = ["ctrl+n"] * 6
    assert snap_compare(SyncApp(no_config), terminal_size=(100, 30), run_before=steady(*keys))


def test_wizard_mapping_dropdown_open_at_80x24(no_config, snap_compare):
    keys = ["ctrl+n"] * 6 + ["tab", "enter"]  # the users mapping; the second field's list, open
    assert snap_compare(SyncApp(no_config), terminal_size=(80, 24), run_before=steady(*keys))
