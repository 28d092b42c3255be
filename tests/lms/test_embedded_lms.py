"""The embedded SQLite LMS: the LMS interface, `lms load` / `lms dump`, and the load sheets."""
from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from tui_sync.errors import LMSError, UsageError
from tui_sync.lms import embedded_frames
from tui_sync.lms.base import (
    CUSTOM_PREFIX,
    DEPARTMENT_SCHEMA,
    NO_SUPERVISOR,
    USER_SCHEMA,
    DepartmentRecord,
    UserRecord,
)
from tui_sync.lms.embedded import EmbeddedLMS
from tui_sync.lms.embedded_load import prepare_users
from tui_sync.lms.sheets import read_departments, read_load_files, read_users_frame
from tui_sync.sources.table import ROW


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "lms" / "lms.sqlite"


@pytest.fixture
async def lms(db: Path):
    lms = EmbeddedLMS(db)
    yield lms
    await lms.close()


def user(login: str, department_id: str | None = None, **kw) -> UserRecord:
    return UserRecord(
        id="", login=login, email=kw.pop("email", f"{login}@example.com"), firstName=kw.pop("firstName", "First"),
        lastName=kw.pop("lastName", "Last"), department_id=department_id, status=kw.pop("status", "active"), **kw,
    )


def dept(code: str, name: str | None = None, parent: str | None = None, **kw) -> dict:
    return {"code": code, "name": name or f"Dept {code}", "parentCode": parent, **kw}


def row(login: str, department: str | None = None, **kw) -> dict:
    out = {
        "login": login, "email": f"{login}@example.com", "firstName": login.title(), "lastName": "Last",
        "departmentId": department, "status": "active", "subordination": None, "coSubordination": None,
        "phone": None, "jobTitle": None, "custom": {},
    }
    out.update(kw)
    return out


def without_ids(dump: dict) -> dict:
    return {k: [{f: v for f, v in r.items() if f != "id"} for r in rows] for k, rows in dump.items()}


# ---------------------------------------------------------------- a missing database


async def test_missing_database_is_an_empty_lms_with_only_the_root_and_reading_does_not_create_it(db: Path):
    lms = EmbeddedLMS(db)
    snap = await lms.snapshot()
    assert snap.departments.schema == pl.Schema(DEPARTMENT_SCHEMA)
    assert snap.users.schema == pl.Schema(USER_SCHEMA)
    assert snap.departments.height == snap.users.height == 0
    assert await lms.dump() == {"departments": [], "users": []}
    assert await lms.get_department(snap.root_id) == DepartmentRecord(snap.root_id, None, "Root", None)
    assert await lms.find_department("SALES") is None
    assert await lms.find_user(login="jdoe", email="jdoe@example.com") is None
    assert await lms.department_user_count(snap.root_id) == 0
    await lms.close()
    assert not db.exists() and not db.parent.exists()


async def test_first_write_creates_the_database_with_the_same_root(lms: EmbeddedLMS, db: Path):
    root_before = (await lms.snapshot()).root_id
    await lms.create_department(code="SALES", name="Sales", parent_id=None)
    assert db.exists()
    assert (await lms.snapshot()).root_id == root_before


async def test_create_false_refuses_to_create_a_missing_database(db: Path):
    lms = EmbeddedLMS(db, create=False)
    assert (await lms.snapshot()).users.height == 0
    with pytest.raises(LMSError, match="no embedded LMS database"):
        await lms.create_department(code="SALES", name="Sales", parent_id=None)
    assert not db.exists()


def link_lookups(db: Path) -> list[str]:
    """How SQLite finds the rows that point to a user or a department's supervisor (a foreign key's check)."""
    with sqlite3.connect(db) as conn:
        return [" ".join(str(r[-1]) for r in conn.execute(f"EXPLAIN QUERY PLAN SELECT 1 FROM {table} WHERE {col} = 7"))
                for table, col in (("users", "sub_id"), ("users", "cosub_id"), ("departments", "supervisor_id"),
                                   ("departments", "co_supervisor_id"))]


async def test_the_rows_that_point_to_a_user_are_found_by_index_not_by_reading_the_table(lms: EmbeddedLMS, db: Path):
    await lms.load([dept("A")], [row("boss", "A"), row("ann", "A", subordination="boss", coSubordination="boss")])
    assert all(plan.startswith("SEARCH") for plan in link_lookups(db)), link_lookups(db)


async def test_a_database_of_schema_version_1_gets_the_link_indexes_with_its_first_write(lms: EmbeddedLMS, db: Path):
    await lms.load([dept("A")], [row("boss", "A"), row("ann", "A", subordination="boss")])
    await lms.close()
    with sqlite3.connect(db) as conn:  # as tui_sync 0.x left it
        for name in ("users_sub", "users_cosub", "departments_supervisor", "departments_co_supervisor"):
            conn.execute(f"DROP INDEX {name}")
        conn.execute("PRAGMA user_version = 1")
    assert all(plan.startswith("SCAN") for plan in link_lookups(db))
    assert (await lms.snapshot()).users.height == 2  # reading changes nothing
    assert all(plan.startswith("SCAN") for plan in link_lookups(db))
    await lms.create_department(code="B", name="B", parent_id=None)
    await lms.close()
    assert all(plan.startswith("SEARCH") for plan in link_lookups(db))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


async def test_a_foreign_sqlite_file_is_refused(db: Path):
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (x)")
    with pytest.raises(LMSError, match="not an embedded LMS"):
        await EmbeddedLMS(db).snapshot()


# ---------------------------------------------------------------- departments


async def test_departments_are_created_updated_and_moved(lms: EmbeddedLMS):
    hq = await lms.create_department(code="HQ", name="Headquarters", parent_id=None)
    sales = await lms.create_department(code="SALES", name="Sales", parent_id=hq)
    assert await lms.get_department(sales) == DepartmentRecord(sales, "SALES", "Sales", hq)
    assert await lms.get_department(hq) == DepartmentRecord(hq, "HQ", "Headquarters", None)

    await lms.update_department(sales, {"code": "sales-eu", "name": "Sales Europe", "parent_id": None})
    assert await lms.get_department(sales) == DepartmentRecord(sales, "sales-eu", "Sales Europe", None)
    assert (await lms.find_department("SALES-EU")).id == sales
    assert await lms.find_department("SALES") is None


async def test_department_codes_are_unique_regardless_of_case(lms: EmbeddedLMS):
    await lms.create_department(code="Sales", name="Sales", parent_id=None)
    ops = await lms.create_department(code="OPS", name="Operations", parent_id=None)
    with pytest.raises(LMSError, match="department code 'SALES' is already taken"):
        await lms.create_department(code="SALES", name="Other", parent_id=None)
    with pytest.raises(LMSError, match="already taken"):
        await lms.update_department(ops, {"code": " sales"})
    assert (await lms.get_department(ops)).code == "OPS"


async def test_unicode_codes_compare_regardless_of_case(lms: EmbeddedLMS):
    await lms.create_department(code="ПРОДАЖИ", name="Продажи", parent_id=None)
    with pytest.raises(LMSError, match="already taken"):
        await lms.create_department(code="продажи", name="x", parent_id=None)
    assert (await lms.find_department("Продажи")).code == "ПРОДАЖИ"


async def test_department_cannot_move_under_itself_or_a_descendant(lms: EmbeddedLMS):
    a = await lms.create_department(code="A", name="A", parent_id=None)
    b = await lms.create_department(code="B", name="B", parent_id=a)
    c = await lms.create_department(code="C", name="C", parent_id=b)
    for parent in (a, c):
        with pytest.raises(LMSError, match="descendants"):
            await lms.update_department(a, {"parent_id": parent})
    assert (await lms.get_department(a)).parent_id is None


async def test_department_parent_must_exist(lms: EmbeddedLMS):
    with pytest.raises(LMSError, match="no department with id '999'"):
        await lms.create_department(code="A", name="A", parent_id="999")
    a = await lms.create_department(code="A", name="A", parent_id=None)
    with pytest.raises(LMSError, match="no department"):
        await lms.update_department(a, {"parent_id": "nonsense"})


async def test_department_needs_a_code_and_a_name(lms: EmbeddedLMS):
    with pytest.raises(LMSError, match="code cannot be blank"):
        await lms.create_department(code=" ", name="A", parent_id=None)
    with pytest.raises(LMSError, match="name cannot be blank"):
        await lms.create_department(code="A", name="", parent_id=None)


async def test_delete_department_is_refused_while_it_has_users_or_children(lms: EmbeddedLMS):
    a = await lms.create_department(code="A", name="A", parent_id=None)
    b = await lms.create_department(code="B", name="B", parent_id=a)
    uid = await lms.create_user(user("jdoe", b))
    with pytest.raises(LMSError, match="child department"):
        await lms.delete_department(a)
    with pytest.raises(LMSError, match="still has 1 user"):
        await lms.delete_department(b)
    await lms.update_user(uid, {"department_id": None})
    await lms.delete_department(b)
    await lms.delete_department(a)
    assert await lms.get_department(a) is None and await lms.get_department(b) is None
    assert (await lms.snapshot()).departments.height == 0


async def test_the_root_cannot_be_deleted_or_changed(lms: EmbeddedLMS):
    root = (await lms.snapshot()).root_id
    await lms.create_department(code="A", name="A", parent_id=None)
    with pytest.raises(LMSError, match="root department cannot be deleted"):
        await lms.delete_department(root)
    with pytest.raises(LMSError, match="root department cannot be changed"):
        await lms.update_department(root, {"name": "Everyone"})


async def test_deleting_a_missing_department_is_an_error(lms: EmbeddedLMS):
    with pytest.raises(LMSError, match="no department with id '42'"):
        await lms.delete_department("42")


async def test_deleted_ids_are_never_reused(lms: EmbeddedLMS):
    a = await lms.create_department(code="A", name="A", parent_id=None)
    await lms.delete_department(a)
    b = await lms.create_department(code="B", name="B", parent_id=None)
    assert a != b


# ---------------------------------------------------------------- users


async def test_user_is_created_and_read_back(lms: EmbeddedLMS):
    sales = await lms.create_department(code="SALES", name="Sales", parent_id=None)
    uid = await lms.create_user(user(
        "jdoe", sales, email="JDoe@Example.com", phone="+49 30 1", jobTitle="Engineer",
        custom={"grade": "B2", "empty": "", "none": None},
    ))
    assert await lms.get_user(uid) == UserRecord(
        id=uid, login="jdoe", email="JDoe@Example.com", firstName="First", lastName="Last",
        department_id=sales, status="active", phone="+49 30 1", jobTitle="Engineer", custom={"grade": "B2"},
    )
    assert await lms.department_user_count(sales) == 1


async def test_user_without_department_belongs_to_the_root(lms: EmbeddedLMS):
    uid = await lms.create_user(user("jdoe"))
    assert (await lms.get_user(uid)).department_id is None
    assert await lms.department_user_count((await lms.snapshot()).root_id) == 1


async def test_create_user_ignores_supervisor_links(lms: EmbeddedLMS):
    boss = await lms.create_user(user("boss"))
    uid = await lms.create_user(user("jdoe", subordination=boss, coSubordination=NO_SUPERVISOR))
    got = await lms.get_user(uid)
    assert (got.subordination, got.coSubordination) == (None, None)


@pytest.mark.parametrize("other", [
    {"login": "JDOE"}, {"login": " jdoe "}, {"email": "JDOE@EXAMPLE.COM"},
])
async def test_login_and_email_are_unique_regardless_of_case(lms: EmbeddedLMS, other: dict):
    await lms.create_user(user("jdoe"))
    candidate = {"login": "other", "email": "other@example.com", **other}
    field = next(iter(other))
    with pytest.raises(LMSError, match=f"{field} '.*' is already taken"):
        await lms.create_user(user(candidate["login"], email=candidate["email"]))
    second = await lms.create_user(user("other"))
    with pytest.raises(LMSError, match="already taken"):
        await lms.update_user(second, other)
    assert (await lms.get_user(second)).login == "other"


async def test_cyrillic_logins_are_unique_regardless_of_case(lms: EmbeddedLMS):
    await lms.create_user(user("Иван", email="ivan@example.com"))
    with pytest.raises(LMSError, match="login 'иван' is already taken"):
        await lms.create_user(user("иван", email="ivan2@example.com"))
    assert (await lms.find_user(login="ИВАН")).login == "Иван"


async def test_update_user_changes_fields_and_custom_fields(lms: EmbeddedLMS):
    a = await lms.create_department(code="A", name="A", parent_id=None)
    uid = await lms.create_user(user("jdoe", custom={"grade": "B2", "city": "Berlin"}))
    await lms.update_user(uid, {
        "login": "john.doe", "email": "john.doe@example.com", "firstName": "John", "lastName": "Doe",
        "department_id": a, "status": "inactive", "phone": "", "jobTitle": "Lead",
        "custom:grade": "C1", "custom:city": None, "custom:team": "Blue",
    })
    assert await lms.get_user(uid) == UserRecord(
        id=uid, login="john.doe", email="john.doe@example.com", firstName="John", lastName="Doe",
        department_id=a, status="inactive", phone=None, jobTitle="Lead", custom={"grade": "C1", "team": "Blue"},
    )


@pytest.mark.parametrize("changes, message", [
    ({"status": "gone"}, "invalid status 'gone'"),
    ({"department_id": "999"}, "no department with id '999'"),
    ({"login": ""}, "login cannot be blank"),
    ({"nickname": "x"}, "cannot update user field 'nickname'"),
    ({"subordination": "999"}, "no user with id '999'"),
])
async def test_update_user_refuses_bad_changes_and_changes_nothing(lms: EmbeddedLMS, changes: dict, message: str):
    uid = await lms.create_user(user("jdoe"))
    before = await lms.get_user(uid)
    with pytest.raises(LMSError, match=message):
        await lms.update_user(uid, {"jobTitle": "Lead", **changes})
    assert await lms.get_user(uid) == before


async def test_update_of_a_missing_user_is_an_error(lms: EmbeddedLMS):
    with pytest.raises(LMSError, match="no user with id '7'"):
        await lms.update_user("7", {"jobTitle": "x"})


async def test_set_status_changes_every_user_or_none(lms: EmbeddedLMS):
    a = await lms.create_user(user("a"))
    b = await lms.create_user(user("b"))
    await lms.set_status([a, b], "terminated")
    assert {(await lms.get_user(i)).status for i in (a, b)} == {"terminated"}
    with pytest.raises(LMSError, match="no user with id '999'"):
        await lms.set_status([a, "999"], "active")
    assert (await lms.get_user(a)).status == "terminated"
    with pytest.raises(LMSError, match="invalid status"):
        await lms.set_status([a], "blocked")


async def test_supervisors_are_user_ids_none_or_inherited(lms: EmbeddedLMS):
    boss = await lms.create_user(user("boss"))
    uid = await lms.create_user(user("jdoe"))
    await lms.set_supervisors(uid, boss, NO_SUPERVISOR)
    got = await lms.get_user(uid)
    assert (got.subordination, got.coSubordination) == (boss, NO_SUPERVISOR)
    await lms.update_user(uid, {"subordination": None, "coSubordination": boss})
    got = await lms.get_user(uid)
    assert (got.subordination, got.coSubordination) == (None, boss)


async def test_a_user_cannot_supervise_themself(lms: EmbeddedLMS):
    uid = await lms.create_user(user("jdoe"))
    with pytest.raises(LMSError, match="own supervisor"):
        await lms.set_supervisors(uid, uid, None)
    with pytest.raises(LMSError, match="own functional manager"):
        await lms.set_supervisors(uid, None, uid)


async def test_find_user_by_login_then_by_email_regardless_of_case(lms: EmbeddedLMS):
    a = await lms.create_user(user("alice"))
    b = await lms.create_user(user("bob"))
    assert (await lms.find_user(login="ALICE")).id == a
    assert (await lms.find_user(email="Bob@Example.com")).id == b
    assert (await lms.find_user(login="alice", email="bob@example.com")).id == a
    assert (await lms.find_user(login="nobody", email="bob@example.com")).id == b
    assert await lms.find_user(login="nobody") is None
    assert await lms.get_user("not-an-id") is None


# ---------------------------------------------------------------- snapshot


async def test_snapshot_holds_departments_and_users_as_text_frames(lms: EmbeddedLMS):
    hq = await lms.create_department(code="007", name="HQ", parent_id=None)
    sales = await lms.create_department(code="SALES", name="Sales", parent_id=hq)
    boss = await lms.create_user(user("boss", hq, custom={"grade": "C1"}))
    jdoe = await lms.create_user(user("jdoe", sales, status="inactive", phone="+1", custom={"team": "Blue"}))
    loner = await lms.create_user(user("loner"))
    await lms.set_supervisors(jdoe, boss, NO_SUPERVISOR)

    snap = await lms.snapshot()
    assert snap.departments.schema == pl.Schema(DEPARTMENT_SCHEMA)
    assert snap.departments.to_dicts() == [
        {"id": hq, "code": "007", "name": "HQ", "parent_id": None},
        {"id": sales, "code": "SALES", "name": "Sales", "parent_id": hq},
    ]
    assert snap.custom_fields == ("grade", "team")
    assert snap.known_custom_fields is None
    assert snap.users.schema == pl.Schema({**USER_SCHEMA, "custom:grade": pl.String, "custom:team": pl.String})
    assert snap.users.to_dicts() == [
        {"id": boss, "login": "boss", "email": "boss@example.com", "firstName": "First", "lastName": "Last",
         "department_id": hq, "status": "active", "subordination": None, "coSubordination": None,
         "phone": None, "jobTitle": None, "custom:grade": "C1", "custom:team": None},
        {"id": jdoe, "login": "jdoe", "email": "jdoe@example.com", "firstName": "First", "lastName": "Last",
         "department_id": sales, "status": "inactive", "subordination": boss, "coSubordination": NO_SUPERVISOR,
         "phone": "+1", "jobTitle": None, "custom:grade": None, "custom:team": "Blue"},
        {"id": loner, "login": "loner", "email": "loner@example.com", "firstName": "First", "lastName": "Last",
         "department_id": None, "status": "active", "subordination": None, "coSubordination": None,
         "phone": None, "jobTitle": None, "custom:grade": None, "custom:team": None},
    ]


async def test_snapshot_without_custom_fields_has_exactly_the_user_schema(lms: EmbeddedLMS):
    await lms.create_user(user("jdoe"))
    snap = await lms.snapshot()
    assert snap.users.schema == pl.Schema(USER_SCHEMA)
    assert snap.custom_fields == ()


async def test_snapshot_read_in_chunks_keeps_users_and_custom_fields_together(
    lms: EmbeddedLMS, monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(embedded_frames, "SNAPSHOT_CHUNK", 3)
    ids = [await lms.create_user(user(f"u{i}", custom={"n": str(i)} if i % 2 else {})) for i in range(8)]
    snap = await lms.snapshot()
    assert snap.users["id"].to_list() == ids
    assert snap.users[CUSTOM_PREFIX + "n"].to_list() == [str(i) if i % 2 else None for i in range(8)]


async def test_snapshot_keeps_unusual_text_intact(lms: EmbeddedLMS):
    text = 'Zoë "Q" \\ Müller\tÇa\nnew line 😀'
    await lms.create_user(user("q", lastName=text, custom={"note": text}))
    snap = await lms.snapshot()
    assert snap.users["lastName"].to_list() == [text]
    assert snap.users["custom:note"].to_list() == [text]


# ---------------------------------------------------------------- batch


async def test_batch_commits_all_writes_at_the_end(lms: EmbeddedLMS, db: Path):
    async with lms.batch():
        a = await lms.create_department(code="A", name="A", parent_id=None)
        await lms.create_user(user("jdoe", a))
        assert (await EmbeddedLMS(db).snapshot()).users.height == 0  # not visible to others yet
    other = EmbeddedLMS(db)
    assert (await other.snapshot()).users.height == 1
    await other.close()


async def test_batch_rolls_back_every_write_on_an_exception(lms: EmbeddedLMS):
    await lms.create_department(code="KEEP", name="Keep", parent_id=None)
    with pytest.raises(RuntimeError):
        async with lms.batch():
            a = await lms.create_department(code="A", name="A", parent_id=None)
            await lms.create_user(user("jdoe", a))
            raise RuntimeError("apply interrupted")
    snap = await lms.snapshot()
    assert snap.departments["code"].to_list() == ["KEEP"]
    assert snap.users.height == 0


async def test_a_refused_write_inside_a_batch_is_undone_alone(lms: EmbeddedLMS):
    async with lms.batch():
        await lms.create_user(user("jdoe"))
        with pytest.raises(LMSError):
            await lms.create_user(user("JDOE", email="other@example.com"))
        await lms.create_user(user("asmith"))
    assert (await lms.snapshot()).users["login"].to_list() == ["jdoe", "asmith"]


async def test_writes_outside_a_batch_commit_one_by_one(lms: EmbeddedLMS, db: Path):
    await lms.create_user(user("jdoe"))
    other = EmbeddedLMS(db)
    assert (await other.find_user(login="jdoe")) is not None
    await other.close()


# ---------------------------------------------------------------- lms load / lms dump

LOAD_DEPARTMENTS = [
    dept("SALES", "Sales", "HQ"),
    dept("HQ", "Headquarters"),
    dept("007", "Security", "HQ"),
    dept("EU", "Sales Europe", "SALES"),
]
LOAD_USERS = [
    row("jdoe", "EU", subordination="asmith", coSubordination="", phone="+49 30 1", jobTitle="Engineer",
        custom={"grade": "B2", "city": "Berlin"}),
    row("asmith", "SALES", status="inactive"),
    row("root.user", None, status="terminated", coSubordination="jdoe"),
]


async def test_load_then_dump_speaks_the_design_vocabulary(lms: EmbeddedLMS):
    await lms.load(LOAD_DEPARTMENTS, LOAD_USERS)
    dump = await lms.dump()
    assert set(dump) == {"departments", "users"}
    assert all(r["id"] for r in dump["departments"] + dump["users"])
    assert without_ids(dump) == {
        "departments": [  # parents first, then by code
            {"code": "HQ", "name": "Headquarters", "parentCode": None},
            {"code": "007", "name": "Security", "parentCode": "HQ"},
            {"code": "SALES", "name": "Sales", "parentCode": "HQ"},
            {"code": "EU", "name": "Sales Europe", "parentCode": "SALES"},
        ],
        "users": [  # by login
            {"login": "asmith", "email": "asmith@example.com", "firstName": "Asmith", "lastName": "Last",
             "departmentId": "SALES", "status": "inactive", "subordination": None, "coSubordination": None,
             "phone": None, "jobTitle": None, "custom": {}},
            {"login": "jdoe", "email": "jdoe@example.com", "firstName": "Jdoe", "lastName": "Last",
             "departmentId": "EU", "status": "active", "subordination": "asmith", "coSubordination": "",
             "phone": "+49 30 1", "jobTitle": "Engineer", "custom": {"city": "Berlin", "grade": "B2"}},
            {"login": "root.user", "email": "root.user@example.com", "firstName": "Root.User", "lastName": "Last",
             "departmentId": None, "status": "terminated", "subordination": None, "coSubordination": "jdoe",
             "phone": None, "jobTitle": None, "custom": {}},
        ],
    }
    assert list(dump["users"][1]["custom"]) == ["city", "grade"]
    assert list(dump["users"][1]) == [
        "id", "login", "email", "firstName", "lastName", "departmentId", "status",
        "subordination", "coSubordination", "phone", "jobTitle", "custom",
    ]


async def test_loaded_links_reach_the_snapshot_as_ids(lms: EmbeddedLMS):
    await lms.load(LOAD_DEPARTMENTS, LOAD_USERS)
    snap = await lms.snapshot()
    ids = dict(snap.users.select("login", "id").iter_rows())
    jdoe = snap.users.filter(pl.col("login") == "jdoe").row(0, named=True)
    assert (jdoe["subordination"], jdoe["coSubordination"]) == (ids["asmith"], NO_SUPERVISOR)
    codes = dict(snap.departments.select("id", "code").iter_rows())
    assert codes[jdoe["department_id"]] == "EU"


async def test_dump_loads_back_unchanged(lms: EmbeddedLMS, tmp_path: Path):
    await lms.load(LOAD_DEPARTMENTS, LOAD_USERS)
    first = await lms.dump()
    copy_lms = EmbeddedLMS(tmp_path / "copy.sqlite")
    await copy_lms.load(copy.deepcopy(first["departments"]), copy.deepcopy(first["users"]))
    assert without_ids(await copy_lms.dump()) == without_ids(first)
    await copy_lms.close()


async def test_load_replaces_everything_but_keeps_the_root(lms: EmbeddedLMS):
    root = (await lms.snapshot()).root_id
    old = await lms.create_department(code="OLD", name="Old", parent_id=None)
    await lms.create_user(user("old.user", old, custom={"x": "1"}))
    await lms.load([dept("NEW")], [row("new.user", "NEW")])
    dump = await lms.dump()
    assert [d["code"] for d in dump["departments"]] == ["NEW"]
    assert [u["login"] for u in dump["users"]] == ["new.user"]
    snap = await lms.snapshot()
    assert snap.root_id == root and snap.custom_fields == ()
    await lms.load([], [])
    assert await lms.dump() == {"departments": [], "users": []}


async def test_load_reads_blank_and_numeric_statuses(lms: EmbeddedLMS):
    await lms.load([], [row("a", status=None), row("b", status=""), row("c", status=" Inactive "), row("d", status="5")])
    assert [u["status"] for u in (await lms.dump())["users"]] == ["active", "active", "inactive", "terminated"]


async def test_load_matches_codes_and_logins_regardless_of_case(lms: EmbeddedLMS):
    await lms.load([dept("Sales"), dept("eu", parent="SALES")], [row("Boss", "EU"), row("jdoe", "sales", subordination="BOSS")])
    dump = await lms.dump()
    assert [(d["code"], d["parentCode"]) for d in dump["departments"]] == [("Sales", None), ("eu", "Sales")]
    assert [(u["departmentId"], u["subordination"]) for u in dump["users"]] == [("eu", None), ("Sales", "Boss")]


@pytest.mark.parametrize("departments, users, expected", [
    ([dept("A", parent="NOPE")], [], ["departments row 2", "unknown parentCode 'NOPE'"]),
    ([dept("A"), dept("a")], [], ["departments row 3", "code 'a' is already used on row 2"]),
    ([dept("A", parent="C"), dept("B", parent="A"), dept("C", parent="B")], [],
     ["departments rows 2, 4, 3", "cycle A → C → B → A"]),
    ([dept("A", parent="A")], [], ["cycle A → A"]),
    ([{**dept("A"), "name": ""}], [], ["departments row 2", "name of department 'A' is blank"]),
    ([dept("A")], [row("jdoe", "B")], ["users row 2", "unknown departmentId 'B'"]),
    ([], [row("jdoe"), row("x"), row("JDoe")], ["users row 4", "login 'JDoe' is already used on row 2"]),
    ([], [row("jdoe"), row("x", email="JDOE@example.com")], ["users row 3", "email 'JDOE@example.com' is already used"]),
    ([], [row("jdoe", subordination="ghost")], ["users row 2", "unknown subordination login 'ghost'"]),
    ([], [row("jdoe", coSubordination="jdoe")], ["users row 2", "cannot be their own coSubordination"]),
    ([], [row("jdoe", status="on leave")], ["users row 2", "invalid status 'on leave'"]),
    ([], [{**row("jdoe"), "login": " "}], ["users row 2", "login is blank"]),
    ([], [row("jdoe", grade="B2")], ["users row 2", "unknown field 'grade'"]),
])
async def test_load_refuses_bad_rows_naming_row_and_value_and_writes_nothing(
    lms: EmbeddedLMS, db: Path, departments: list, users: list, expected: list[str],
):
    with pytest.raises(LMSError) as err:
        await lms.load(departments, users)
    for text in expected:
        assert text in str(err.value)
    assert "nothing was loaded" in str(err.value)
    assert not db.exists()


async def test_a_refused_load_keeps_the_previous_contents(lms: EmbeddedLMS):
    await lms.load(LOAD_DEPARTMENTS, LOAD_USERS)
    before = await lms.dump()
    with pytest.raises(LMSError):
        await lms.load([dept("X")], [row("a", "X"), row("b", "MISSING")])
    assert await lms.dump() == before


async def test_load_names_spreadsheet_rows_when_given(lms: EmbeddedLMS):
    with pytest.raises(LMSError, match="users row 17: unknown departmentId 'B'"):
        await lms.load([], [{**row("jdoe", "B"), ROW: 17}])


async def test_load_lists_every_problem_at_once(lms: EmbeddedLMS):
    with pytest.raises(LMSError) as err:
        await lms.load([dept("A", parent="X")], [row("a", "Z"), row("b", status="maybe")])
    assert "3 problem(s)" in str(err.value)


# ---------------------------------------------------------------- lms load sheets


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


USERS_HEADER = "login,email,firstName,lastName,departmentId,status,subordination,coSubordination,phone,jobTitle"


async def test_load_files_in_csv_and_xlsx_fill_the_lms(tmp_path: Path, lms: EmbeddedLMS):
    deps = write_csv(tmp_path / "d.csv", "code,name,parentCode\n001,Head office,\n\n002,Branch,001\n")
    users = write_xlsx(tmp_path / "u.xlsx", [
        USERS_HEADER.split(",") + ["Grade"],
        ["boss", "boss@example.com", "Big", "Boss", "001", None, None, None, None, "CEO", "C1"],
        ["jdoe", "jdoe@example.com", "John", "Doe", "002", "inactive", "boss", None, "+1", None, None],
    ])
    departments, users_rows = read_load_files(deps, users)
    assert departments == [
        {"code": "001", "name": "Head office", "parentCode": None, ROW: 2},
        {"code": "002", "name": "Branch", "parentCode": "001", ROW: 4},
    ]
    assert users_rows[0]["custom"] == {"Grade": "C1"} and users_rows[1]["custom"] == {}
    await lms.load(departments, users_rows)
    dump = await lms.dump()
    assert [d["code"] for d in dump["departments"]] == ["001", "002"]  # codes stay text
    assert dump["users"][1] == {
        "id": dump["users"][1]["id"], "login": "jdoe", "email": "jdoe@example.com", "firstName": "John",
        "lastName": "Doe", "departmentId": "002", "status": "inactive", "subordination": "boss",
        "coSubordination": None, "phone": "+1", "jobTitle": None, "custom": {},
    }
    assert dump["users"][0]["custom"] == {"Grade": "C1"} and dump["users"][0]["status"] == "active"


def test_header_only_files_are_empty_lists(tmp_path: Path):
    deps = write_csv(tmp_path / "d.csv", "code,name,parentCode\n")
    users = write_csv(tmp_path / "u.csv", USERS_HEADER + "\n")
    assert read_load_files(deps, users) == ([], [])


def test_optional_headers_may_be_left_out_and_match_regardless_of_case(tmp_path: Path):
    deps = write_csv(tmp_path / "d.csv", "Code,NAME\nA,Alpha\n")
    users = write_csv(tmp_path / "u.csv", "Login,Email,FirstName,LastName,DepartmentId\njdoe,j@x.org,J,D,A\n")
    departments, users_rows = read_load_files(deps, users)
    assert departments == [{"code": "A", "name": "Alpha", "parentCode": None, ROW: 2}]
    assert users_rows[0]["status"] is None and users_rows[0]["login"] == "jdoe" and users_rows[0]["custom"] == {}


@pytest.mark.parametrize("which, text, missing", [
    ("departments", "code,parentCode\nA,\n", "'name'"),
    ("users", "login,email,firstName,lastName\njdoe,j@x.org,J,D\n", "'departmentId'"),
])
def test_missing_required_header_names_the_file_and_the_header(tmp_path: Path, which: str, text: str, missing: str):
    files = {
        "departments": write_csv(tmp_path / "departments.csv", "code,name\nA,Alpha\n"),
        "users": write_csv(tmp_path / "users.csv", USERS_HEADER + "\n"),
    }
    files[which] = write_csv(tmp_path / f"bad_{which}.csv", text)
    with pytest.raises(UsageError) as err:
        read_load_files(files["departments"], files["users"])
    assert f"bad_{which}.csv" in str(err.value) and missing in str(err.value)


def test_unknown_department_column_is_refused(tmp_path: Path):
    deps = write_csv(tmp_path / "d.csv", "code,name,Notes\nA,Alpha,x\n")
    users = write_csv(tmp_path / "u.csv", USERS_HEADER + "\n")
    with pytest.raises(UsageError, match="unknown column.*'Notes'"):
        read_load_files(deps, users)


# ---------------------------------------------------------------- lms load from a users frame (large files)

LOAD_FILE_DEPARTMENTS = "code,name,parentCode\nHQ,Head office,\nОтдел,Отдел продаж,hq\n"
LOAD_FILE_USERS = (USERS_HEADER + ",Grade,Город\n"
                   "Иван,ivan@example.com,Иван,Петров,отдел,3,,,+7,Менеджер,M1,Москва\n"
                   "boss,BOSS@example.com,Big,Boss,HQ,,,,,CEO,,\n"
                   "anna,anna@example.com,Anna,Schmidt,,5,ИВАН,Boss,,,E2,\n")


async def test_a_users_frame_loads_what_the_same_rows_load(tmp_path: Path):
    deps = write_csv(tmp_path / "d.csv", LOAD_FILE_DEPARTMENTS)
    users = write_csv(tmp_path / "u.csv", LOAD_FILE_USERS)
    as_rows, as_frame = EmbeddedLMS(tmp_path / "rows.sqlite"), EmbeddedLMS(tmp_path / "frame.sqlite")
    await as_rows.load(*read_load_files(deps, users))
    frame, custom = read_users_frame(users)
    assert prepare_users(frame, custom, {"hq", "отдел"}) is not None  # checked by polars, not row by row
    await as_frame.load(read_departments(deps), frame, custom)
    dump = await as_frame.dump()
    assert without_ids(dump) == without_ids(await as_rows.dump())
    anna = next(u for u in dump["users"] if u["login"] == "anna")
    assert (anna["subordination"], anna["coSubordination"], anna["status"], anna["departmentId"]) == \
        ("Иван", "boss", "terminated", None)
    assert next(u for u in dump["users"] if u["login"] == "Иван")["custom"] == {"Grade": "M1", "Город": "Москва"}
    await as_rows.close()
    await as_frame.close()


@pytest.mark.parametrize("extra, expected", [
    ("ИВАН,x@example.com,X,Y,HQ,,,,,,,\n", ["users row 5", "login 'ИВАН' is already used on row 2"]),
    ("x,IVAN@example.com,X,Y,HQ,,,,,,,\n", ["users row 5", "email 'IVAN@example.com' is already used on row 2"]),
    ("x,x@example.com,X,Y,NOPE,,,,,,,\n", ["users row 5", "unknown departmentId 'NOPE'"]),
    ("x,x@example.com,X,Y,HQ,away,,,,,,\n", ["users row 5", "invalid status 'away'"]),
    ("x,x@example.com,X,Y,HQ,,ghost,,,,,\n", ["users row 5", "unknown subordination login 'ghost'"]),
    ("x,x@example.com,X,Y,HQ,,,X,,,,\n", ["users row 5", "cannot be their own coSubordination"]),
    ("x,,X,Y,HQ,,,,,,,\n", ["users row 5", "email of 'x' is blank"]),
])
async def test_a_users_frame_with_a_bad_row_is_refused_naming_it(tmp_path: Path, extra: str, expected: list[str]):
    deps = write_csv(tmp_path / "d.csv", LOAD_FILE_DEPARTMENTS)
    users = write_csv(tmp_path / "u.csv", LOAD_FILE_USERS + extra)
    lms = EmbeddedLMS(tmp_path / "lms.sqlite")
    with pytest.raises(LMSError) as err:
        await lms.load(read_departments(deps), *read_users_frame(users))
    for text in expected:
        assert text in str(err.value)
    assert "nothing was loaded" in str(err.value) and not (tmp_path / "lms.sqlite").exists()


async def test_a_users_frame_is_refused_with_every_problem_of_both_files(tmp_path: Path):
    deps = write_csv(tmp_path / "d.csv", LOAD_FILE_DEPARTMENTS + "B,Branch,NOPE\n")
    users = write_csv(tmp_path / "u.csv", LOAD_FILE_USERS + "x,x@example.com,X,Y,ZZ,,,,,,,\n")
    with pytest.raises(LMSError) as err:
        await EmbeddedLMS(tmp_path / "lms.sqlite").load(read_departments(deps), *read_users_frame(users))
    assert "2 problem(s)" in str(err.value) and "unknown parentCode 'NOPE'" in str(err.value)
    assert "unknown departmentId 'ZZ'" in str(err.value)
