"""The embedded LMS's snapshot cache: used only while the database is in the state it was written from."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from tui_sync import frame_cache
from tui_sync.lms import embedded
from tui_sync.lms.base import UserRecord
from tui_sync.lms.embedded import EmbeddedLMS


@pytest.fixture(autouse=True)
def cache_every_snapshot(monkeypatch):
    monkeypatch.setattr(embedded, "SNAPSHOT_CACHE_MIN_USERS", 0)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "lms.sqlite"


def caches(db: Path) -> list[Path]:
    return sorted(db.parent.glob(db.name + ".snapshot-*.arrow"))


def user(login: str, **kw) -> UserRecord:
    return UserRecord(id="", login=login, email=f"{login}@example.com", firstName="F", lastName="L",
                      department_id=None, status="active", **kw)


def load_rows(n: int = 3) -> tuple[list[dict], list[dict]]:
    return ([{"code": "HQ", "name": "Head office", "parentCode": None}],
            [{"login": f"u{i}", "email": f"u{i}@example.com", "firstName": "F", "lastName": "L",
              "departmentId": "HQ", "custom": {"badge": str(i)}} for i in range(n)])


def no_database_reads(monkeypatch) -> None:
    def fail(*_):
        raise AssertionError("the users were read from the database")
    monkeypatch.setattr(embedded, "read_users", fail)


async def snap(db: Path):
    lms = EmbeddedLMS(db)
    try:
        return await lms.snapshot()
    finally:
        await lms.close()


async def test_a_snapshot_is_cached_and_read_back_while_nothing_changes(db: Path, monkeypatch):
    lms = EmbeddedLMS(db)
    await lms.load(*load_rows())
    first = await lms.snapshot()
    await lms.close()
    [cache] = caches(db)
    with monkeypatch.context() as m:
        no_database_reads(m)
        second = await snap(db)
    assert second.users.equals(first.users) and second.custom_fields == first.custom_fields == ("badge",)
    assert second.departments.equals(first.departments)
    assert caches(db) == [cache]


async def test_every_write_of_the_lms_makes_a_new_snapshot(db: Path):
    lms = EmbeddedLMS(db)
    await lms.load(*load_rows())
    await lms.snapshot()
    old = caches(db)
    uid = (await lms.find_user(login="u1")).id
    await lms.update_user(uid, {"jobTitle": "Boss", "custom:badge": "9"})
    after = await lms.snapshot()
    row = after.users.filter(pl.col("id") == uid)
    assert row["jobTitle"].to_list() == ["Boss"] and row["custom:badge"].to_list() == ["9"]
    new_id = await lms.create_user(user("new"))
    assert new_id in (await lms.snapshot()).users["id"].to_list()
    await lms.set_status([new_id], "inactive")
    assert (await lms.snapshot()).users.filter(pl.col("id") == new_id)["status"].to_list() == ["inactive"]
    await lms.close()
    assert len(caches(db)) == 1 and caches(db) != old  # the newest only


async def test_a_write_by_another_program_is_seen_and_stops_caching(db: Path):
    lms = EmbeddedLMS(db)
    await lms.load(*load_rows())
    await lms.snapshot()
    await lms.close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE users SET job_title = 'changed by hand' WHERE login = 'u0'")
        conn.execute("UPDATE user_fields SET value = 'x'")
    conn.close()
    after = await snap(db)
    assert after.users.filter(pl.col("login") == "u0")["jobTitle"].to_list() == ["changed by hand"]
    assert set(after.users["custom:badge"].to_list()) == {"x"}
    assert (await snap(db)).users.equals(after.users)


async def test_a_rolled_back_batch_keeps_the_cache_valid(db: Path, monkeypatch):
    lms = EmbeddedLMS(db)
    await lms.load(*load_rows())
    before = await lms.snapshot()
    with pytest.raises(RuntimeError):
        async with lms.batch():
            await lms.create_user(user("ghost"))
            raise RuntimeError("stop")
    await lms.close()
    with monkeypatch.context() as m:
        no_database_reads(m)
        assert (await snap(db)).users.equals(before.users)


async def test_a_database_from_before_the_token_is_read_without_a_cache_until_written(db: Path):
    lms = EmbeddedLMS(db)
    await lms.load(*load_rows())
    await lms.close()
    with sqlite3.connect(db) as conn:  # as an older tui_sync left it
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE snapshot_state")
    conn.close()
    for c in caches(db):
        c.unlink()
    assert (await snap(db)).users.height == 3 and caches(db) == []
    lms = EmbeddedLMS(db)
    await lms.create_user(user("late"))
    assert (await lms.snapshot()).users.height == 4
    await lms.close()
    assert len(caches(db)) == 1


async def test_a_damaged_cache_is_ignored(db: Path):
    lms = EmbeddedLMS(db)
    await lms.load(*load_rows())
    first = await lms.snapshot()
    await lms.close()
    [cache] = caches(db)
    cache.write_bytes(cache.read_bytes()[:100])
    assert (await snap(db)).users.equals(first.users)


async def test_small_snapshots_leave_no_file(db: Path, monkeypatch):
    monkeypatch.setattr(embedded, "SNAPSHOT_CACHE_MIN_USERS", 10)
    lms = EmbeddedLMS(db)
    await lms.load(*load_rows())
    await lms.snapshot()
    await lms.close()
    assert caches(db) == []


def test_an_apply_leaves_a_fresh_cache_for_the_next_plan(tmp_path, monkeypatch):
    import asyncio

    from tui_sync import service
    from workspace import Workspace, dept, lms_dept, lms_user, person

    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ")], [lms_user("ann.lee")])
    ws.sheets([dept("HQ")], [person("ann.lee", Title="Lead"), person("bob.new")])
    asyncio.run(service.apply(ws.config, approve="all"))
    db = ws.root / "lms.sqlite"
    [cache] = caches(db)
    no_database_reads(monkeypatch)  # the next snapshot is served by the cache alone
    snap = asyncio.run(service.snapshot(ws.config))
    assert sorted(snap.users["login"].to_list()) == ["ann.lee", "bob.new"]
    assert caches(db) == [cache]


async def test_a_snapshot_inside_a_batch_neither_reads_nor_writes_the_cache(db: Path):
    lms = EmbeddedLMS(db)
    committed, other = load_rows(5)[1], [dict(u, login="x" + u["login"], email="x" + u["email"]) for u in load_rows(5)[1]]
    try:
        await lms.load(load_rows()[0], committed)  # committed, with its cache
        (cache,) = caches(db)
        kept = cache.read_bytes()
        with pytest.raises(RuntimeError):
            async with lms.batch():
                await lms.load(load_rows()[0], other)  # as many users (load drops the token's triggers)
                inside = await lms.snapshot()
                assert sorted(inside.users["login"]) == sorted(u["login"] for u in other)
                raise RuntimeError("roll the batch back")
    finally:
        await lms.close()
    assert caches(db) == [cache] and cache.read_bytes() == kept  # uncommitted: no file was written for it
    assert sorted((await snap(db)).users["login"]) == sorted(u["login"] for u in committed)


def test_an_apply_whose_cache_cannot_be_rebuilt_is_still_completed(tmp_path, monkeypatch):
    import asyncio

    from tui_sync import service
    from tui_sync.errors import LMSError
    from workspace import Workspace, dept, lms_dept, lms_user, person

    ws = Workspace(tmp_path / "ws")
    ws.load_lms([lms_dept("HQ")], [lms_user("ann.lee")])
    ws.sheets([dept("HQ")], [person("ann.lee", Title="Lead"), person("bob.new")])
    plan = asyncio.run(service.make_plan(ws.config)).plan  # read while the database reads fine

    def fail(*_):
        raise LMSError("disk I/O error")
    monkeypatch.setattr(embedded, "read_users", fail)  # the snapshot after the writes cannot be read
    report = asyncio.run(service.apply(ws.config, plan=plan, approve="all"))
    assert report.run.status == "completed"
    assert {c.outcome for c in report.run.changes} == {"applied"}


async def test_the_cache_a_load_leaves_holds_what_the_database_holds(db: Path, monkeypatch):
    departments, users = load_rows(6)
    users[0]["subordination"], users[1]["coSubordination"] = "u1", ""  # a supervisor; none
    users[2]["departmentId"], users[3]["status"] = None, "inactive"
    users[4]["custom"], users[5]["phone"] = {"badge": "4", "room": "7"}, "+49 30 1"
    lms = EmbeddedLMS(db)
    await lms.load(departments, users)
    [cache] = caches(db)  # written from what the load wrote, not read back
    with monkeypatch.context() as m:
        no_database_reads(m)
        from_cache = await lms.snapshot()
    await lms.close()
    cache.unlink()
    from_database = await snap(db)
    assert from_cache.users.equals(from_database.users)
    assert from_cache.custom_fields == from_database.custom_fields == ("badge", "room")


# --- the file's layout (frame_cache): text columns of few values are stored coded --------------

def many_users(n: int = 64) -> tuple[list[dict], list[dict]]:
    """`n` users whose status, department, job title and badge repeat (coded), logins and emails not."""
    departments = [{"code": code, "name": code, "parentCode": None} for code in ("HQ", "LAB")]
    return departments, [
        {"login": f"u{i}", "email": f"u{i}@example.com", "firstName": "F", "lastName": "L",
         "departmentId": ("HQ", "LAB")[i % 2], "jobTitle": "Engineer" if i % 3 else None,
         "custom": {"badge": "blue"} if i % 4 else {}} for i in range(n)]


async def cached_and_read(db: Path, monkeypatch) -> tuple[Path, pl.DataFrame]:
    """The cache `lms load` leaves, and the users read from it alone."""
    lms = EmbeddedLMS(db)
    try:
        await lms.load(*many_users())
        with monkeypatch.context() as m:
            no_database_reads(m)
            users = (await lms.snapshot()).users
    finally:
        await lms.close()
    [cache] = caches(db)
    return cache, users


async def test_columns_of_few_values_are_stored_coded_and_read_back_as_text(db: Path, monkeypatch):
    cache, from_cache = await cached_and_read(db, monkeypatch)
    stored = pl.read_ipc(cache)
    assert stored.schema["status"] in (pl.UInt8, pl.UInt16, pl.UInt32)  # one value: coded
    assert stored.schema["jobTitle"] in (pl.UInt8, pl.UInt16, pl.UInt32)  # (nulls too)
    assert stored.schema["login"] == pl.String  # all distinct: as it is
    assert stored.columns[-1] == frame_cache.DICTIONARIES
    cache.unlink()
    from_database = await snap(db)
    assert from_cache.equals(from_database.users) and from_cache.schema == from_database.users.schema
    assert from_cache["jobTitle"].null_count() == 22 and set(from_cache["custom:badge"].drop_nulls()) == {"blue"}


def rewritten(cache: Path, change) -> None:
    """The cache file with its stored (coded) frame changed by `change`, under the same name."""
    change(pl.read_ipc(cache)).write_ipc(cache)


@pytest.mark.parametrize("damage", [
    pytest.param(lambda f: f.with_columns(pl.col("status") + 5), id="a position past its dictionary"),
    pytest.param(lambda f: f.with_columns(pl.col(frame_cache.DICTIONARIES).shift(1)), id="dictionaries moved"),
    pytest.param(lambda f: f.with_columns(pl.col(frame_cache.DICTIONARIES).shift(-1)), id="a dictionary too many"),
    pytest.param(lambda f: f.with_columns(pl.col("status").cast(pl.String)), id="a dictionary for text"),
    pytest.param(lambda f: f.drop(frame_cache.DICTIONARIES), id="no dictionaries"),
    pytest.param(lambda f: f.with_columns(pl.col(frame_cache.DICTIONARIES).cast(pl.List(pl.Int64), strict=False)),
                 id="dictionaries of numbers"),
])
async def test_a_cache_whose_codes_do_not_decode_is_ignored(db: Path, monkeypatch, damage):
    cache, good = await cached_and_read(db, monkeypatch)
    rewritten(cache, damage)
    assert (await snap(db)).users.equals(good)


async def test_a_cache_cut_short_or_not_utf8_is_ignored(db: Path, monkeypatch):
    cache, good = await cached_and_read(db, monkeypatch)
    whole = cache.read_bytes()
    cache.write_bytes(whole[:len(whole) // 2])
    assert (await snap(db)).users.equals(good)
    assert b"u10@example.com" in whole  # (uncompressed: the text is in the file as it is)
    cache.write_bytes(whole.replace(b"u10@example.com", b"u10@\xff\xfeample.com"))
    assert (await snap(db)).users.equals(good)
    cache.write_bytes(whole)  # and the file itself was good
    with monkeypatch.context() as m:
        no_database_reads(m)
        assert (await snap(db)).users.equals(good)


@pytest.mark.parametrize("order", ["by id", "shuffled"])
def test_custom_fields_land_on_their_users_in_any_row_order(order: str):
    from tui_sync.lms.embedded_frames import users_frame

    n = 40
    users = pl.DataFrame({
        "id": list(range(1, n + 1)), "login": [f"u{i}" for i in range(1, n + 1)], "email": None,
        "firstName": None, "lastName": None, "department_id": 1, "status": "active", "sub_mode": "inherit",
        "sub_id": None, "cosub_mode": "inherit", "cosub_id": None, "phone": None, "jobTitle": None,
    }, schema_overrides={c: pl.String for c in ("email", "firstName", "lastName", "phone", "jobTitle")})
    fields = pl.DataFrame({  # badge for every user, room for every third
        "user_id": [*range(1, n + 1), *range(3, n + 1, 3)],
        "name": ["badge"] * n + ["room"] * len(range(3, n + 1, 3)),
        "value": [f"b{i}" for i in range(1, n + 1)] + [f"r{i}" for i in range(3, n + 1, 3)],
    })
    if order == "shuffled":  # (as a load may hand them over: the merge is only for rows in id order)
        users, fields = users.sample(fraction=1, shuffle=True, seed=1), fields.sample(fraction=1, shuffle=True, seed=2)
    frame = users_frame(users, fields, root=0)
    assert frame.columns[-2:] == ["custom:badge", "custom:room"]
    assert frame["login"].to_list() == users["login"].to_list()  # the users' order
    by_login = {row["login"]: (row["custom:badge"], row["custom:room"]) for row in frame.iter_rows(named=True)}
    assert by_login == {f"u{i}": (f"b{i}", f"r{i}" if i % 3 == 0 else None) for i in range(1, n + 1)}


async def test_a_cache_stored_without_codes_is_read_as_it_is(db: Path, monkeypatch):
    cache, users = await cached_and_read(db, monkeypatch)
    users.write_ipc(cache, compression="lz4")  # text as it is (a small frame, or columns of many values)
    with monkeypatch.context() as m:
        no_database_reads(m)
        assert (await snap(db)).users.equals(users)


async def test_a_cache_of_the_earlier_layout_is_not_read_and_goes_with_the_next(db: Path, monkeypatch):
    cache, users = await cached_and_read(db, monkeypatch)
    earlier = cache.with_name(cache.name.replace(".snapshot-v2-", ".snapshot-v1-"))
    cache.rename(earlier)  # as tui_sync wrote it before: the same token, the columns as text, LZ4
    users.with_columns(pl.lit("from the v1 file").alias("jobTitle")).write_ipc(earlier, compression="lz4")
    assert (await snap(db)).users.equals(users)  # read from the database, and cached anew
    assert caches(db) == [cache]


async def test_a_cache_of_several_record_batches_is_not_read_and_is_written_anew_as_one(db: Path, monkeypatch):
    """The file holds one record batch (one chunk per column, as the planner needs them, with no copy to
    join batches); a file of several, as tui_sync wrote before, is read no more and replaced."""
    cache, users = await cached_and_read(db, monkeypatch)
    assert pl.read_ipc(cache).n_chunks() == 1 and set(users.n_chunks("all")) == {1}
    pl.read_ipc(cache).write_ipc(cache, record_batch_size=10)  # (polars's own default: batches of a size)
    assert pl.read_ipc(cache).n_chunks() > 1
    reads = []
    real = embedded.read_users
    with monkeypatch.context() as m:
        m.setattr(embedded, "read_users", lambda conn: reads.append(1) or real(conn))
        assert (await snap(db)).users.equals(users)
    assert reads == [1] and pl.read_ipc(cache).n_chunks() == 1  # read from the database, and cached anew
    with monkeypatch.context() as m:
        no_database_reads(m)
        again = (await snap(db)).users
    assert again.equals(users) and set(again.n_chunks("all")) == {1}
