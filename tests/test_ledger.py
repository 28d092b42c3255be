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
