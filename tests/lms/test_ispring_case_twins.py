"""U2 and U7 on an iSpring account that holds one login in two cases (iSpring allows it, the
embedded LMS does not), read through the real REST client from the emulator."""
from __future__ import annotations

from pathlib import Path

import pytest

from builders import make_plan, user
from ispring_emulator import ISpringEmulator
from tui_sync.config import LmsConfig, Secret
from tui_sync.lms.ispring import ISpringLMS


async def test_a_row_that_names_a_login_the_account_holds_in_two_cases_changes_nothing(
        emu: ISpringEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hq = emu.add_department("HQ", "HQ")
    first = emu.add_user("ann.lee", "ann.lee@example.com", department_id=hq, Grade="B")
    second = emu.add_user("Ann.Lee", "ann.lee2@example.com", department_id=hq, Grade="B")
    monkeypatch.setenv("ISPRING_SECRET", emu.client_secret)
    cfg = LmsConfig(kind="ispring", base_url=emu.base_url, client_id=emu.client_id,
                    client_secret=Secret(env="ISPRING_SECRET"), requests_per_second=1000)
    async with ISpringLMS(cfg, tmp_path) as lms:
        snap = await lms.snapshot()

    plan = make_plan([dict(code="HQ", name="HQ")],
                     [user("ann.lee", email="new@example.com", jobTitle="Boss", Grade="B"),
                      user("bob", subordination="ann.lee", Grade="B")], snap, ledger_users=[first, second])

    assert [(c.id, c.fields.get("subordination")) for c in plan.changes] == [("create_user:bob", None)]
    [conflict, supervisor] = plan.problems
    assert (conflict.code, conflict.row) == ("identity_conflict", 2)
    assert f"ids {first} (ann.lee), {second} (Ann.Lee)" in conflict.message
    assert (supervisor.code, supervisor.row, supervisor.severity.value) == ("unknown_supervisor", 3, "warning")
    assert f"{first} (ann.lee), {second} (Ann.Lee)" in supervisor.message
