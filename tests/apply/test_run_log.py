"""The run log an administrator attaches to a ticket (A3): each change's values before → after, the sheet
rows' problems, and a note where a change came from a resolution — in `runs show` (text, CSV, JSON) and the
Runs pane."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from tui_sync import service
from tui_sync.model import Resolution
from tui_sync.ui.app import SyncApp
from tui_sync.ui.widgets.lines_view import LinesView

from ui_support import press, settle


async def applied_with_a_resolution(demo) -> int:
    """Plan with "move the users of MOW-CUS to MOW", approve all, apply: the run's id."""
    cfg = service.load(demo)
    report = await service.apply(cfg, approve="all", resolutions=[Resolution("MOW-CUS", "MOW")])
    return report.run.id


def runs_show(demo, run_id: int, *fmt: str) -> str:
    out = subprocess.run([sys.executable, "-m", "tui_sync.cli", "runs", "--config", str(demo), "show", str(run_id),
                          *fmt], capture_output=True, text=True, cwd=demo.parent)
    assert out.returncode == 0, out.stderr
    return out.stdout


async def test_runs_show_lists_values_before_and_after_row_problems_and_resolution_notes(demo):
    run_id = await applied_with_a_resolution(demo)
    text = runs_show(demo, run_id)
    assert "[applied ] update_user thomas.berger" in text
    assert "jobTitle: Controller → Senior Controller" in text
    assert "departmentId: MOW-CUS → MOW" in text
    assert "note: moved by a resolution: the users of MOW-CUS move to MOW (their department is deleted)" in text
    assert "Resolutions (users moved out of a department that is deleted):\n  users of MOW-CUS move to MOW" in text
    assert 'error missing_value — users row 34, column "E-mail", stefanie.ott' in text


async def test_the_csv_and_json_logs_carry_the_same_details(demo):
    run_id = await applied_with_a_resolution(demo)
    rows = list(csv.DictReader(io.StringIO(runs_show(demo, run_id, "--format", "csv"))))
    pavel = next(r for r in rows if r["change"] == "update_user:pavel.egorov")
    assert pavel["before → after"] == "departmentId: MOW-CUS → MOW" and "resolution" in pavel["note"]
    data = json.loads(runs_show(demo, run_id, "--format", "json"))
    berger = next(c for c in data["changes"] if c["change_id"] == "update_user:thomas.berger")
    assert berger["fields"] == ["jobTitle: Controller → Senior Controller"]
    assert data["resolutions"] == ["users of MOW-CUS move to MOW"]
    assert any("invalid_email" in p and "users row 299" in p for p in data["row_problems"])


async def test_the_runs_pane_shows_what_each_change_did(demo):
    await applied_with_a_resolution(demo)
    app = SyncApp(demo)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "5")
        lines = {" ".join(str(cell[0]) for cell in line) for line in app.screen.query_one(LinesView).lines}
        assert any("thomas.berger" in line and "jobTitle: Controller → Senior Controller" in line for line in lines)
        assert any("pavel.egorov" in line and "moved by a resolution" in line for line in lines)
