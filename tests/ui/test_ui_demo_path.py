"""The whole demo path, keyboard only: open the demo → review → approve and reject → resolve a
department that still has users → apply → the run is in Runs, and the embedded LMS holds the result."""
from __future__ import annotations

from tui_sync import service
from tui_sync.model import Decision
from tui_sync.ui.app import SyncApp
from tui_sync.ui.screens.apply import ApplyScreen
from tui_sync.ui.screens.resolve import ResolveScreen
from tui_sync.ui.screens.runs import RunsScreen

from ui_support import goto, plain, press, review, settle


async def test_demo_review_resolve_apply_and_the_run_and_lms_show_it(demo):
    app = SyncApp(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review(app)
        # reject one update, keep the other decisions for the bulk approval below
        await goto(pilot, "update_user:thomas.berger")
        await press(pilot, "r")
        # resolve MOW-CUS: its two users move to MOW-LOG
        await goto(pilot, "delete_department:mow-cus")
        await press(pilot, "enter")
        assert isinstance(app.screen, ResolveScreen)
        await press(pilot, "m")
        for ch in "MOW-LOG":
            await pilot.press(ch)
        await press(pilot, "enter")
        view = app.session.view
        assert not view.change("delete_department:mow-cus").blocked
        assert view.change("update_user:thomas.berger").decision is Decision.REJECTED  # kept by the re-plan
        # approve everything else (BER-ACAD stays blocked: a hand-made child department)
        await press(pilot, "c", "A", "y")
        assert view.change("delete_department:mow-cus").decision is Decision.APPROVED
        assert view.change("delete_department:ber-acad").decision is Decision.PENDING
        await press(pilot, "g", "y")
        assert isinstance(app.screen, ApplyScreen)
        assert "completed" in plain(app.screen.query_one("#dialog-title"))
        await press(pilot, "enter")  # show the run in Runs
        screen = app.screen
        assert isinstance(screen, RunsScreen) and screen.run is not None and screen.run.status == "completed"
        outcomes = {c.change_id: c.outcome for c in screen.run.changes}
        assert outcomes["delete_department:mow-cus"] == "applied"
        assert outcomes["update_user:thomas.berger"] == "rejected"
        assert outcomes["delete_department:ber-acad"] == "blocked"
        dump = await service.lms_dump(app.session.cfg)
        await press(pilot, "3")
        assert len(app.session.view.changes) <= 3  # planned afresh after the apply: little is left
    codes = {d["code"] for d in dump["departments"]}
    users = {u["login"]: u for u in dump["users"]}
    assert "MOW-CUS" not in codes and "BER-MAIL" not in codes and {"BER-ESG", "LON-ECOM-MKT", "BER-ACAD"} <= codes
    assert users["pavel.egorov"]["departmentId"] == "MOW-LOG" and users["pavel.egorov"]["status"] == "inactive"
    assert users["ext.d.fedorov"]["departmentId"] == "MOW-LOG"
    assert users["lea.sommer"]["departmentId"] == "BER-ESG"
    assert users["thomas.berger"]["jobTitle"] == "Controller"  # rejected: unchanged
    assert "julia.wagner" in users and "jwagner" not in users  # a login change, applied
