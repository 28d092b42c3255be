"""A2: where apply's journal goes. The embedded LMS records each chunk's outcomes in the transaction
of its writes (no `started` marks: a change without an outcome was not written); iSpring, whose
calls have no transaction, has each chunk journaled in the run history before and after its writes."""
from __future__ import annotations

import asyncio
import sqlite3

import pytest

from ispring_emulator import ISpringEmulator
from tui_sync import service
from tui_sync.engine.apply import Applier
from tui_sync.errors import LMSError
from tui_sync.lms.base import JournalRow
from tui_sync.model import Change, Decision, Kind, Plan
from workspace import Workspace, dept, lms_dept, lms_user, person

SECRET_ENV = "TUI_SYNC_TEST_JOURNAL_SECRET"


def _creates(*logins: str) -> Plan:
    return Plan([Change(f"create_user:{login}", Kind.CREATE_USER, login,
                        {"login": (None, login), "email": (None, f"{login}@example.com"),
                         "firstName": (None, "F"), "lastName": (None, "L")}, decision=Decision.APPROVED)
                 for login in logins], [])


async def _apply(lms, plan: Plan, **kw) -> list[list[JournalRow]]:
    calls: list[list[JournalRow]] = []
    try:
        await Applier(lms, plan, journal=calls.append, **kw).run()
    finally:
        await lms.close()
    return calls


def test_the_embedded_lms_journals_outcomes_with_its_writes_and_nothing_before(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", "Headquarters")], [lms_user("taken")])
    plan = _creates("ann.lee", "TAKEN", "bob.roe")
    calls = asyncio.run(_apply(ws.lms(), plan, lms_journal="run-1"))
    assert calls == []  # nothing went to the run history's journal
    with sqlite3.connect(ws.root / "lms.sqlite") as con:
        rows = con.execute("SELECT run, change_id, outcome, lms_id FROM apply_log ORDER BY rowid").fetchall()
    users = ws.users()
    assert sorted(rows) == [("run-1", "create_user:TAKEN", "stale", None),
                            ("run-1", "create_user:ann.lee", "applied", users["ann.lee"]["id"]),
                            ("run-1", "create_user:bob.roe", "applied", users["bob.roe"]["id"])]


def test_a_chunk_whose_journal_cannot_be_written_leaves_neither_its_writes_nor_its_journal(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ", "Headquarters")], [])
    with sqlite3.connect(ws.root / "lms.sqlite") as con:  # the journal's insert fails, as a full disk would
        con.execute("CREATE TRIGGER refuse BEFORE INSERT ON apply_log BEGIN SELECT RAISE(ABORT, 'no room'); END")
    with pytest.raises(LMSError, match="no room"):
        asyncio.run(_apply(ws.lms(), _creates("ann.lee"), lms_journal="run-1"))
    with sqlite3.connect(ws.root / "lms.sqlite") as con:
        assert con.execute("SELECT count(*) FROM apply_log").fetchone() == (0,)
    assert "ann.lee" not in ws.users()


def test_ispring_journals_each_chunk_as_started_before_its_writes_and_its_outcomes_after(tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    ws.sheets([dept("HQ", "Headquarters")], [person("ann.lee"), person("bob.roe")])
    with ISpringEmulator() as emu:
        ws.use_ispring(emu, SECRET_ENV, monkeypatch)
        emu.add_department("Headquarters", "HQ")
        lms = service.open_lms(ws.config)
        assert not lms.abilities.journal
        calls = asyncio.run(_apply(lms, _creates("ann.lee", "bob.roe")))
    assert calls[0] == [("create_user:ann.lee", "started", None, None), ("create_user:bob.roe", "started", None, None)]
    assert [(c, o) for c, o, _, _ in calls[1]] == [("create_user:ann.lee", "applied"), ("create_user:bob.roe", "applied")]
    assert len(calls) == 2
