"""Shared by the UI tests: waiting for the app to settle, pressing keys, reading what a screen shows.
(The fixtures are in tests/ui/conftest.py.)"""
from __future__ import annotations

import asyncio
from pathlib import Path

from textual.worker import WorkerFailed

from tui_sync.ui.app import SyncApp

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"  # the demo's sheets, config and prior LMS


async def settle(pilot, timeout: float = 30.0) -> None:
    """Wait until no worker runs and every message is handled (planning, reading, applying)."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        await pilot.pause()
        try:
            await app.workers.wait_for_complete()
        except WorkerFailed:
            pass  # the app reported it; the tests look at what it shows
        await pilot.pause()
        busy = [w for w in app.workers if w.is_running]
        planning = getattr(app, "session", None) is not None and app.session.planning
        if not busy and not planning:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the app did not settle: {[w.name for w in app.workers if w.is_running]}")


async def press(pilot, *keys: str) -> None:
    for k in keys:
        await pilot.press(k)
        await settle(pilot)


def messages(app: SyncApp) -> list[str]:
    return [n.message for n in app._notifications]


def review(app: SyncApp):
    from tui_sync.ui.screens.review import ReviewScreen

    screen = app.screen
    assert isinstance(screen, ReviewScreen), f"expected the review pane, found {type(screen).__name__}"
    return screen


async def goto(pilot, change_id: str) -> None:
    """Put the review table's cursor on a change (clearing the filters when it is not shown)."""
    from tui_sync.ui.plan_rows import Filter

    app = pilot.app
    screen = review(app)
    view = app.session.view
    if change_id not in (view.changes[i].id for i in view.rows):
        screen.set_filter(Filter())
    screen.table.set_cursor(view.rows.index(view.index[change_id]))
    await pilot.pause()


def plain(widget) -> str:
    """What a Static shows, as plain text (Rich renderables rendered without colour)."""
    from rich.console import Console

    content = getattr(widget, "content", None)
    if content is None:
        content = widget.render()
    if isinstance(content, str):
        return content
    if hasattr(content, "__rich_console__") or hasattr(content, "__rich__"):
        console = Console(width=200, color_system=None)
        with console.capture() as cap:
            console.print(content)
        return cap.get()
    return str(content)


def step(app: SyncApp) -> str:
    """The title of the wizard's current step."""
    from tui_sync.ui.screens.wizard import WizardScreen

    screen = app.screen
    assert isinstance(screen, WizardScreen), f"expected the wizard, found {type(screen).__name__}"
    return screen.steps[screen.index].title
