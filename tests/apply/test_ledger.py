"""The ledger (L1): what the sync manages, in `<state>/state.sqlite`."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl

from tui_sync.state.ledger import Ledger

SCHEMA = pl.Schema({"lms_id": pl.String, "key": pl.String})


def as_dict(frame: pl.DataFrame) -> dict[str, str | None]:
    return dict(frame.iter_rows())


def test_reading_a_missing_ledger_is_empty_and_creates_nothing(tmp_path: Path):
    state = tmp_path / ".tui-sync"
    ledger = Ledger(state)
    for frame in (ledger.departments(), ledger.users()):
        assert frame.schema == SCHEMA and frame.height == 0
    ledger.drop(["1"], ["2"])
    assert not state.exists()


def test_recorded_entries_read_back_with_their_keys(tmp_path: Path):
    ledger = Ledger(tmp_path / ".tui-sync")
    ledger.record({"10": "Dept-Key", "11": None}, {"20": "EMP-001", "21": None})
    assert (tmp_path / ".tui-sync" / "state.sqlite").exists()
    assert ledger.departments().schema == SCHEMA and ledger.users().schema == SCHEMA
    assert as_dict(ledger.departments()) == {"10": "Dept-Key", "11": None}
    assert as_dict(ledger.users()) == {"20": "EMP-001", "21": None}


def test_recording_a_known_id_replaces_its_key(tmp_path: Path):
    ledger = Ledger(tmp_path)
    ledger.record({}, {"20": "old", "21": "keep", "22": "dropped-key"})
    ledger.record({}, {"20": "new", "22": None})
    assert as_dict(ledger.users()) == {"20": "new", "21": "keep", "22": None}


def test_drop_forgets_entries(tmp_path: Path):
    ledger = Ledger(tmp_path)
    ledger.record({"1": None, "2": None}, {"3": "k3", "4": "k4"})
    ledger.drop(departments=["1", "missing"], users=iter(["4"]))
    assert as_dict(ledger.departments()) == {"2": None}
    assert as_dict(ledger.users()) == {"3": "k3"}


def test_reading_leaves_no_files_behind(tmp_path: Path):
    ledger = Ledger(tmp_path)
    ledger.record({"1": None}, {})
    ledger.departments()
    ledger.users()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.sqlite"]


def test_a_state_file_without_ledger_tables_is_an_empty_ledger(tmp_path: Path):
    with sqlite3.connect(tmp_path / "state.sqlite") as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY)")
    ledger = Ledger(tmp_path)
    assert ledger.users().height == 0 and ledger.departments().schema == SCHEMA
    ledger.record({"1": "k"}, {})
    assert as_dict(ledger.departments()) == {"1": "k"}
    with sqlite3.connect(tmp_path / "state.sqlite") as conn:  # other tables are left alone
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def test_a_large_ledger_round_trips(tmp_path: Path):
    ledger = Ledger(tmp_path)
    users = {str(i): (f"K{i}" if i % 3 else None) for i in range(200_000)}
    ledger.record({}, users)
    frame = ledger.users()
    assert frame.height == 200_000
    assert as_dict(frame) == users


# --- the users' cache of a large ledger (frame_cache) ------------------------------------

import tui_sync.state.ledger as ledger_module  # noqa: E402


def cache_files(state: Path) -> list[Path]:
    return sorted(state.glob("state.sqlite.ledger-users-v1-*.arrow"))


def large(tmp_path: Path, monkeypatch, n: int = 50) -> Ledger:
    monkeypatch.setattr(ledger_module, "CACHE_MIN_ROWS", 10)
    ledger = Ledger(tmp_path)
    ledger.record({}, {str(i): f"K{i}" for i in range(n)})
    return ledger


def test_a_large_ledger_is_read_from_its_cache_while_nothing_changes(tmp_path: Path, monkeypatch):
    ledger = large(tmp_path, monkeypatch)
    assert as_dict(ledger.users()) == {str(i): f"K{i}" for i in range(50)}
    (cache,) = cache_files(tmp_path)
    # what the next read returns is the file's content (the same shape, other keys): the cache is used
    pl.DataFrame({"lms_id": [str(i) for i in range(50)], "key": ["cached"] * 50}).write_ipc(cache)
    assert set(as_dict(ledger.users()).values()) == {"cached"}


def test_every_write_of_the_ledger_makes_the_old_cache_useless(tmp_path: Path, monkeypatch):
    ledger = large(tmp_path, monkeypatch)
    ledger.users()
    (old,) = cache_files(tmp_path)
    ledger.record({}, {"7": "NEW"})
    assert as_dict(ledger.users())["7"] == "NEW"
    ledger.drop(users=["8"])
    assert "8" not in as_dict(ledger.users())
    (now,) = cache_files(tmp_path)  # a new one; the old one is gone
    assert now != old and not old.exists()


def test_a_write_by_another_program_is_seen_and_no_cache_is_kept(tmp_path: Path, monkeypatch):
    ledger = large(tmp_path, monkeypatch)
    ledger.users()
    with sqlite3.connect(tmp_path / "state.sqlite") as conn:  # the sqlite3 shell, say
        conn.execute("INSERT INTO ledger_users (lms_id, key) VALUES ('999', 'by hand')")
    assert as_dict(ledger.users())["999"] == "by hand"
    assert as_dict(ledger.users())["999"] == "by hand"  # read from SQLite again: the token is gone
    ledger.record({}, {"1000": None})  # the next write of ours brings a token back
    frame = ledger.users()
    assert as_dict(frame)["999"] == "by hand" and len(cache_files(tmp_path)) == 1
    ledger.record({}, {str(i): None for i in range(2000, 2300)})  # large: its token's triggers paused
    ledger.users()
    with sqlite3.connect(tmp_path / "state.sqlite") as conn:  # and back: another write is seen again
        conn.execute("UPDATE ledger_users SET key = 'by hand' WHERE lms_id = '2000'")  # (as many rows as cached)
    assert as_dict(ledger.users())["2000"] == "by hand"


def test_a_damaged_ledger_cache_is_ignored(tmp_path: Path, monkeypatch):
    ledger = large(tmp_path, monkeypatch)
    ledger.users()
    (cache,) = cache_files(tmp_path)
    cache.write_bytes(b"not arrow at all")
    assert as_dict(ledger.users()) == {str(i): f"K{i}" for i in range(50)}


def test_warm_leaves_a_cache_for_the_next_plan(tmp_path: Path, monkeypatch):
    ledger = large(tmp_path, monkeypatch)
    assert cache_files(tmp_path) == []  # written, not read yet
    ledger.warm()
    assert len(cache_files(tmp_path)) == 1


def test_a_cache_file_left_half_written_is_removed_once_it_is_old(tmp_path: Path, monkeypatch):
    import os
    import time

    ledger = large(tmp_path, monkeypatch)
    ledger.users()
    (cache,) = cache_files(tmp_path)
    old = tmp_path / f".{cache.name}.12345-dead.tmp"  # a plan stopped while it wrote the cache
    fresh = tmp_path / f".{cache.name}.12346-live.tmp"  # another process writing right now
    for f in (old, fresh):
        f.write_bytes(b"partial")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    ledger.record({}, {"new": None})
    ledger.users()  # writes the new cache, and tidies up
    assert not old.exists() and fresh.exists()


def test_a_ledger_without_keys_is_cached_coded_and_read_back(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(ledger_module, "CACHE_MIN_ROWS", 10)
    ledger = Ledger(tmp_path)
    ledger.record({}, {str(i): None for i in range(100)})  # no unique key: one (null) key for all
    ledger.warm()
    (cache,) = cache_files(tmp_path)
    assert pl.read_ipc_schema(cache)["key"] == pl.UInt8  # (frame_cache: a column of few values, coded)
    with sqlite3.connect(tmp_path / "state.sqlite") as conn:  # what is read now is the file's
        conn.execute("DROP TRIGGER ledger_stale_ledger_users_update")
        conn.execute("UPDATE ledger_users SET key = 'not from the cache'")
    conn.close()
    frame = ledger.users()
    assert frame.schema == {"lms_id": pl.String, "key": pl.String}
    assert as_dict(frame) == {str(i): None for i in range(100)}
