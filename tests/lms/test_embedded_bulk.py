"""The embedded LMS's set-based reads and writes for apply's chunks (A2 at wave granularity):
each item still gets its own answer, and a set that cannot go as one is written item by item."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tui_sync.errors import LMSError
from tui_sync.lms.base import UserRecord
from tui_sync.lms.embedded import EmbeddedLMS
from tui_sync.lms.embedded_schema import TOKEN_TABLE, TOKEN_TRIGGERS


@pytest.fixture
async def lms(tmp_path: Path):
    lms = EmbeddedLMS(tmp_path / "lms.sqlite")
    yield lms
    await lms.close()


def user(login: str, department_id: str | None = None, **custom: str) -> UserRecord:
    return UserRecord(id="", login=login, email=f"{login}@example.com", firstName="F", lastName="L",
                      department_id=department_id, status="active", custom=custom)


async def test_create_users_answers_each_new_id_in_order(lms):
    hq = await lms.create_department(code="HQ", name="HQ", parent_id=None)
    ids = await lms.create_users([user("a.one", hq, Grade="7"), user("b.two"), user("c.three", hq)])
    for uid, login in zip(ids, ["a.one", "b.two", "c.three"]):
        assert (await lms.get_user(uid)).login == login
    assert (await lms.get_user(ids[0])).custom == {"Grade": "7"}
    assert (await lms.get_user(ids[0])).department_id == hq and (await lms.get_user(ids[1])).department_id is None


async def test_a_taken_login_fails_alone_and_the_rest_are_created(lms):
    await lms.create_user(user("taken"))
    answers = await lms.create_users([user("new.one"), user("TAKEN"), user("new.two")])
    assert isinstance(answers[1], LMSError) and "already taken" in answers[1].message
    assert [(await lms.get_user(a)).login for a in (answers[0], answers[2])] == ["new.one", "new.two"]
    assert len((await lms.snapshot()).users) == 3


async def test_update_users_writes_each_shape_and_a_missing_department_fails_alone(lms):
    hq = await lms.create_department(code="HQ", name="HQ", parent_id=None)
    a, b, c = await lms.create_users([user("a.one"), user("b.two"), user("c.three")])
    answers = await lms.update_users([(a, {"jobTitle": "Lead", "custom:Grade": "3"}), (b, {"department_id": hq}),
                                      (c, {"department_id": "999"})])
    assert answers[:2] == [a, b] and isinstance(answers[2], LMSError)
    assert (await lms.get_user(a)).jobTitle == "Lead" and (await lms.get_user(a)).custom == {"Grade": "3"}
    assert (await lms.get_user(b)).department_id == hq and (await lms.get_user(c)).department_id is None


async def test_read_users_finds_by_id_login_or_email_in_any_case(lms):
    a, b, c = await lms.create_users([user("a.one", Grade="1"), user("b.two"), user("c.three")])
    found = await lms.read_users(ids=[a, "12345", "x"], logins=["B.TWO", "nobody"], emails=["c.three@EXAMPLE.com"])
    assert sorted(u.login for u in found) == ["a.one", "b.two", "c.three"]
    assert next(u for u in found if u.id == a).custom == {"Grade": "1"}


def _triggers_and_token(path: Path) -> tuple[set[str], bytes | None]:
    with sqlite3.connect(path) as con:
        names = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        return names, con.execute(f"SELECT token FROM {TOKEN_TABLE}").fetchone()[0]


async def test_bulk_writes_keep_the_snapshot_token_honest_for_other_writers(lms, tmp_path):
    """The set-based writes pause the per-row triggers that clear the snapshot token; what commits
    has them all again, a new token, and a write by anything else still clears it."""
    await lms.create_user(user("first"))
    triggers, token = _triggers_and_token(lms.path)
    assert set(TOKEN_TRIGGERS) <= triggers and token is not None
    async with lms.batch():  # (large enough for the pause to pay: see frame_cache.triggers_paused)
        ids = await lms.create_users([user("a.one", Grade="1"), *(user(f"u{i}") for i in range(300))])
        assert await lms.update_users([(i, {"jobTitle": "Lead"}) for i in ids]) == ids
    after, new_token = _triggers_and_token(lms.path)
    assert after == triggers and new_token not in (None, token)
    with sqlite3.connect(lms.path) as con:  # someone else's write
        con.execute("UPDATE users SET job_title = 'Other' WHERE login = 'a.one'")
    assert _triggers_and_token(lms.path)[1] is None


async def test_a_bulk_write_that_fails_leaves_the_triggers_in_place(lms):
    await lms.create_user(user("taken"))
    triggers = _triggers_and_token(lms.path)[0]
    answers = await lms.create_users([user("TAKEN"), *(user(f"u{i}") for i in range(300))])  # refused as a set
    assert isinstance(answers[0], LMSError) and not any(isinstance(a, LMSError) for a in answers[1:])
    assert _triggers_and_token(lms.path)[0] == triggers
