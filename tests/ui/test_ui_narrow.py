"""At 80×24 (an SSH session's default) every key the footer offers is whole on screen, and so is the
review's count line."""
from __future__ import annotations

from textual.widgets._footer import FooterKey

from tui_sync.ui.app import SyncApp

from ui_support import plain, press, review, settle


def footer_keys(app: SyncApp) -> dict[str, tuple[int, int]]:
    """key -> (x where it starts, x where it ends) of every key the footer shows."""
    return {k.key: (k.region.x, k.region.right) for k in app.screen.query(FooterKey) if k.display}


async def test_every_pane_shows_its_footer_keys_whole_at_80_columns(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for pane, wanted in (("3", {"a", "r", "m", "f", "u", "g", "f5", "question_mark", "q"}),
                             ("2", {"s", "x", "w", "f5", "question_mark", "q"}),
                             ("1", {"l", "t", "f5", "question_mark", "q"}),
                             ("4", {"f5", "question_mark", "q"}),
                             ("5", {"e", "l", "f5", "question_mark", "q"})):
            await press(pilot, pane)
            keys = footer_keys(app)
            assert wanted <= set(keys), (pane, sorted(keys))
            clipped = {k: span for k, span in keys.items() if span[1] > 80}
            assert not clipped, (pane, clipped)


async def test_the_review_counts_fit_at_80_columns(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        counts = plain(review(app).query_one("#counts")).rstrip("\n")
        assert "2 blocked" in counts and "8 row problems" in counts
        assert len(counts) <= 78, counts


async def test_a_toast_over_a_dialog_leaves_its_answers_visible_at_80x24(demo):
    from textual.widgets._toast import Toast

    from tui_sync.ui.screens.confirm import ConfirmScreen

    from ui_support import goto

    app = SyncApp(demo)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await goto(pilot, "update_user:thomas.berger")
        await press(pilot, "a", "q")
        assert isinstance(app.screen, ConfirmScreen)
        app.notify("A notice that arrives while the question is open, as toasts do.", timeout=30)
        app.notify("And another one: they stack.", timeout=30)
        await settle(pilot)
        toasts = [t.region for t in app.screen.query(Toast)]
        buttons = app.screen.query_one("#dialog-buttons").region
        assert toasts and all(not t.overlaps(buttons) for t in toasts), (toasts, buttons)
