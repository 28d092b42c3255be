"""Both sheets of a run read at the same time (two local files): the tables land where they
belong, the departments' failure is the one reported when both fail (as when they were read
in turn), and no reading thread outlives the read."""
from __future__ import annotations

import asyncio
import hashlib
import threading

import pytest

from tui_sync import service
from tui_sync.errors import SourceError
from workspace import DEPT_HEADERS, Workspace, dept, person, write_csv


def reading_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("tui-sync:")]


def test_both_files_are_read_into_their_own_tables(tmp_path):
    ws = Workspace(tmp_path)
    ws.sheets([dept("HQ"), dept("OPS", parent="HQ")], [person("ann"), person("bob"), person("cy", "OPS")])
    sources = service.read_sources(ws.config)
    assert sources.departments.df.get_column("Code").to_list() == ["HQ", "OPS"]
    assert sources.users.df.get_column("Login").to_list() == ["ann", "bob", "cy"]
    assert sources.departments.source.endswith("departments.csv")
    assert sources.users.source.endswith("users.csv")
    assert reading_threads() == []


def test_when_both_sheets_are_bad_the_departments_failure_is_reported(tmp_path):
    ws = Workspace(tmp_path)
    # the departments fail late (a ragged row after many good ones), the users at once (no file)
    rows = [dept(f"D{i}", parent="HQ" if i else "") for i in range(50_000)]
    write_csv(tmp_path / "departments.csv", DEPT_HEADERS, rows)
    with (tmp_path / "departments.csv").open("a", encoding="utf-8") as f:
        f.write("LAST,Last,HQ,extra\n")
    (tmp_path / "users.csv").unlink()
    for _ in range(3):
        with pytest.raises(SourceError) as err:
            asyncio.run(service.make_plan(ws.config))
        assert err.value.where.endswith("departments.csv")
        assert "has 4 cells but the header has 3 columns" in str(err.value)
    assert reading_threads() == []


def test_a_bad_users_sheet_beside_a_good_departments_sheet_is_reported(tmp_path):
    ws = Workspace(tmp_path)
    ws.sheets([dept("HQ")], [person("ann")])
    (tmp_path / "users.csv").write_bytes(b"")
    with pytest.raises(SourceError) as err:
        asyncio.run(service.make_plan(ws.config))
    assert err.value.where.endswith("users.csv")
    assert "empty" in str(err.value)
    assert reading_threads() == []


# A users sheet of some megabytes: parsed from its path, fingerprinted while the plan is made.
MANY = 60_000


def big_users(ws: Workspace) -> bytes:
    ws.sheets([dept("HQ")], [person(f"user{i}.x", Title="Engineer " + "x" * 20) for i in range(MANY)])
    data = (ws.root / "users.csv").read_bytes()
    assert len(data) > 4 << 20
    return data


def test_a_large_sheet_s_fingerprint_is_in_the_plan_and_the_sources(tmp_path):
    ws = Workspace(tmp_path)
    data = big_users(ws)
    result = asyncio.run(service.make_plan(ws.config))
    fingerprint = hashlib.sha256(data).hexdigest()
    assert result.plan.sources["users"]["fingerprint"] == fingerprint  # P3
    assert (result.sources.users.fingerprint, result.sources.users.size_bytes) == (fingerprint, len(data))
    assert result.plan.sources["departments"]["fingerprint"] == \
        hashlib.sha256((tmp_path / "departments.csv").read_bytes()).hexdigest()
    assert result.sources.users.rows == MANY
    assert reading_threads() == []


def test_a_nul_late_in_a_large_sheet_is_reported_before_a_broken_lms(tmp_path):
    ws = Workspace(tmp_path)
    data = big_users(ws)
    (tmp_path / "users.csv").write_bytes(data.replace(b"user59000.x@", b"user59000.x\x00@"))
    (tmp_path / "lms.sqlite").write_bytes(b"this is no database " * 100)
    with pytest.raises(SourceError) as err:
        asyncio.run(service.make_plan(ws.config))
    assert err.value.where.endswith("users.csv")
    assert "contains a NUL character (line 59002)" in str(err.value)
    assert reading_threads() == []
