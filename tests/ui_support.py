"""Shared by the UI tests: a demo folder, and waiting for the app to settle."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.worker import WorkerFailed

from tui_sync import service
from tui_sync.ui.app import SyncApp


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo folder (sample_data + the embedded LMS's prior state); returns its config path.
    Run times and the actor are fixed so that screens showing runs are the same on every machine."""
    import tui_sync.state.runs as runs

    monkeypatch.setattr(runs, "now", lambda: "2026-01-15T09:30:00+01:00")
    monkeypatch.setattr(runs, "actor", lambda: "operator@sync-host")
    cfg = asyncio.run(service.prepare_demo(tmp_path / "demo"))
    monkeypatch.chdir(cfg.base_dir)
    return cfg.path


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
