"""D2, D4 and U4 on an iSpring account that holds one department code in two cases (iSpring allows
it, the embedded LMS does not), read through the real REST client from the emulator."""
from __future__ import annotations

from pathlib import Path

import pytest

from builders import make_plan, user
from ispring_emulator import ISpringEmulator
from tui_sync.config import LmsConfig, Secret
from tui_sync.lms.ispring import ISpringLMS


async def test_a_row_that_names_a_code_the_account_holds_in_two_cases_changes_neither(
        emu: ISpringEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hq = emu.add_department("HQ", "HQ")
    upper = emu.add_department("Ops", "OPS")
    lower = emu.add_department("ops", "ops")
    monkeypatch.setenv("ISPRING_SECRET", emu.client_secret)
    cfg = LmsConfig(kind="ispring", base_url=emu.base_url, client_id=emu.client_id,
                    client_secret=Secret(env="ISPRING_SECRET"), requests_per_second=1000)
    async with ISpringLMS(cfg, tmp_path) as lms:
        snap = await lms.snapshot()

    plan = make_plan([dict(code="HQ", name="HQ"), dict(code="OPS", name="Operations")], [user("ann", dept="OPS")],
                     snap, ledger_departments=[hq, upper, lower])

    assert plan.changes == []  # no rename of either, no delete of either, nobody placed in one of them
    [conflict, unknown] = plan.problems
    assert (conflict.code, conflict.entity, conflict.row, conflict.column) == ("identity_conflict", "department", 3,
                                                                              "code")
    assert f"ids {upper} (OPS), {lower} (ops)" in conflict.message
    assert (unknown.code, unknown.entity, unknown.row) == ("unknown_department", "user", 2)
    assert f"ids {upper} (OPS), {lower} (ops)" in unknown.message
