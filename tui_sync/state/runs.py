"""Run history and the apply journal (A2, A3), in `<state>/state.sqlite`.

A run row is written when an apply starts, each change's outcome as it
happens, and the run is closed at the end. (With an LMS that keeps apply's
journal in its own transactions, the embedded one, the outcomes of a run in
progress are there; `take` brings them here when the run stops or resumes.) A run still `running` when the
lock is free was interrupted: `apply --resume` picks it up from here.
Messages and errors are stored with their addresses redacted (O1). The state
folder's failures become `StateError`s (O3, `failures.guarded`).
"""
from __future__ import annotations

import getpass
import json
import socket
import uuid
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from ..files import create_private, private_dir
from ..model import Change, Kind, Outcome, Plan, RunStatus
from ..plan_io import read_plan, write_plan
from ..safe_text import redact_text
from .failures import check_folder, guarded, reading_uri, writable

DB_NAME = "state.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    ended TEXT,
    trigger TEXT NOT NULL,
    actor TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT,
    sources TEXT,
    counts TEXT,
    message TEXT,
    plan_file TEXT
);
CREATE TABLE IF NOT EXISTS run_changes (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    change_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    lms_id TEXT,
    at TEXT,
    PRIMARY KEY (run_id, change_id)
);
"""


def now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass(slots=True)
class ChangeOutcome:
    change_id: str
    kind: str
    key: str
    outcome: str  # an Outcome value
    error: str | None = None
    lms_id: str | None = None
    at: str | None = None


@dataclass
class Run:
    id: int
    started: str
    ended: str | None
    trigger: str
    actor: str
    status: str  # a RunStatus value
    config: str | None
    sources: dict[str, Any]
    counts: dict[str, Any]
    message: str | None = None
    changes: list[ChangeOutcome] = field(default_factory=list)

    def __repr__(self) -> str:  # (as `Plan`'s: a run of a million changes is not printed whole)
        return f"<Run {self.id}: {self.status}, {len(self.changes)} changes>"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "started": self.started, "ended": self.ended, "trigger": self.trigger,
            "actor": self.actor, "status": self.status, "config": self.config, "sources": self.sources,
            "counts": self.counts, "message": self.message,
            "changes": [{f: getattr(c, f) for f in c.__slots__} for c in self.changes],
        }


class RunStore:
    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.path = state_dir / DB_NAME
        self._writer: sqlite3.Connection | None = None

    def _connect(self, create: bool = True) -> sqlite3.Connection | None:
        check_folder(self.state_dir)
        if not create and not self.path.exists():
            return None
        if not create and not writable(self.state_dir):  # a read-only disk: the history can still be read
            return sqlite3.connect(reading_uri(self.path), uri=True)
        private_dir(self.state_dir)
        create_private(self.path)  # 0600, and so are its -wal and -shm files (O2)
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(SCHEMA)
        return con

    @guarded("read the run history")
    def plan_path(self, run_id: int) -> Path:
        with closing(self._connect()) as con:
            row = con.execute("SELECT plan_file FROM runs WHERE id=?", (run_id,)).fetchone()
        return self.state_dir / "runs" / (row[0] if row and row[0] else f"{run_id}.plan.json")

    # --- writing -------------------------------------------------------------

    @guarded("record the start of a run")
    def start(self, trigger: str, plan: Plan, config: str | None, outcomes: dict[str, str]) -> int:
        """Open a run for `plan`; `outcomes` gives each change's starting outcome
        (`pending` for the ones to apply; `rejected`, `blocked`, `held` … for the rest).

        The plan file is written before the run exists, so a run can always be resumed."""
        name = f"{uuid.uuid4().hex}.plan.json"
        copy = self.state_dir / "runs" / name
        write_plan(plan, copy)
        try:
            with closing(self._connect()) as con, con:
                cur = con.execute(
                    "INSERT INTO runs (started, trigger, actor, status, config, sources, counts, plan_file)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (now(), trigger, actor(), RunStatus.RUNNING.value, config, json.dumps(plan.sources),
                     json.dumps(plan.summary()), name))
                run_id = int(cur.lastrowid)
                kinds, skipped, blocked = {k: k.value for k in Kind}, Outcome.SKIPPED.value, Outcome.BLOCKED.value
                con.executemany(  # (a row per change of a plan of up to millions: the enums' values looked up once)
                    "INSERT INTO run_changes (run_id, seq, change_id, kind, key, outcome, error)"
                    " VALUES (?,?,?,?,?,?,?)",
                    ((run_id, i, c.id, kinds[c.kind], c.key, o, _blocked_by(c) if o == blocked else None)
                     for i, c in enumerate(plan.changes)
                     for o in (outcomes.get(c.id, skipped),)))
        except BaseException:  # no run was recorded: no copy is left behind for it
            copy.unlink(missing_ok=True)
            raise
        return run_id

    @guarded("record the outcome of changes")
    def block(self, run_id: int, changes: list[Change]) -> None:
        """Changes of a run found blocked after it began (C2 at a resume): recorded as blocked, with
        their problems, unless already applied."""
        if not changes:
            return
        with closing(self._connect()) as con, con:
            con.executemany(
                "UPDATE run_changes SET outcome=?, error=?, at=? WHERE run_id=? AND change_id=? AND outcome != 'applied'",
                ((Outcome.BLOCKED.value, _blocked_by(c), now(), run_id, c.id) for c in changes))

    @guarded("record the outcome of changes")
    def record(self, run_id: int, results: Iterable[tuple[str, str, str | None, str | None]]) -> None:
        """(change_id, outcome, error, lms_id) for several changes, in one transaction.
        Called around every chunk of writes, so it keeps its connection open until `finish`."""
        at = now()
        if self._writer is None:
            self._writer = self._connect()
        with self._writer as con:
            con.executemany(
                "UPDATE run_changes SET outcome=?, error=?, lms_id=COALESCE(?, lms_id), at=? WHERE run_id=? AND change_id=?",
                ((o, e and redact_text(e), i, at, run_id, c) for c, o, e, i in results))

    @guarded("record the outcome of changes")
    def take(self, run_id: int, rows: list[tuple[str, str, str | None, str | None, str]]) -> None:
        """(change_id, outcome, error, lms_id, at) that an LMS journaled in its own transactions
        (A2), oldest first (a later row of a change supersedes an earlier one), in one transaction.
        Taking the same rows again changes nothing."""
        if not rows:
            return
        with closing(self._connect()) as con, con:
            con.executemany(
                "UPDATE run_changes SET outcome=?, error=?, lms_id=COALESCE(?, lms_id), at=? WHERE run_id=? AND change_id=?",
                ((o, e and redact_text(e), i, at, run_id, c) for c, o, e, i, at in rows))

    @guarded("read the run history")
    def journal_key(self, run_id: int) -> str:
        """A key naming this run of this state folder and no other (an LMS that keeps apply's journal
        in its own transactions files the run's outcomes under it): its plan copy's random name (a run
        recorded before the copies had one: this folder's path and the run's id)."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT plan_file FROM runs WHERE id=?", (run_id,)).fetchone()
        return row[0] if row and row[0] else f"{self.path.resolve()}#{run_id}"

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    @guarded("record the end of a run")
    def finish(self, run_id: int, status: str, message: str | None = None) -> Run:
        self.close()
        with closing(self._connect()) as con, con:
            con.execute("UPDATE runs SET ended=?, status=?, counts=?, message=? WHERE id=?",
                        (now(), status, json.dumps(_counts(con, run_id)), message and redact_text(message), run_id))
        run = self.get(run_id)
        assert run is not None
        return run

    @guarded("reopen an interrupted run")
    def reopen(self, run_id: int) -> None:
        with closing(self._connect()) as con, con:
            con.execute("UPDATE runs SET status='running', ended=NULL WHERE id=?", (run_id,))

    @guarded("abandon a run")
    def abandon(self, run_id: int) -> Run:
        """A4: close an interrupted run without writing. What it applied stays applied; what it had
        not finished is recorded as `abandoned` (a change it had started may have been written)."""
        with closing(self._connect()) as con, con:
            con.execute(
                "UPDATE run_changes SET outcome='abandoned', at=?, error=CASE outcome"
                " WHEN 'started' THEN 'the apply stopped while writing it: it may or may not be in the LMS'"
                " WHEN 'linking' THEN 'written, but not its supervisor links' ELSE error END"
                " WHERE run_id=? AND outcome IN ('pending','started','linking')", (now(), run_id))
        return self.finish(run_id, RunStatus.ABANDONED, f"abandoned by {actor()}: closed without writing; "
                                                "what it had applied stays applied")

    @guarded("record a run's status")
    def set_status(self, run_id: int, status: str, message: str | None = None) -> None:
        with closing(self._connect()) as con, con:
            con.execute("UPDATE runs SET status=?, message=COALESCE(?, message) WHERE id=?",
                        (status, message and redact_text(message), run_id))

    @guarded("record a run in the history")
    def record_event(self, trigger: str, status: str, config: str | None, message: str) -> Run:
        """A run that applied nothing: a scheduled run `skipped` (another sync held the lock) or
        `failed` before it could plan (a source or the LMS unreadable): S1, A3."""
        at = now()
        with closing(self._connect()) as con, con:
            cur = con.execute(
                "INSERT INTO runs (started, ended, trigger, actor, status, config, sources, counts, message)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (at, at, trigger, actor(), status, config, "{}", "{}", redact_text(message)))
            run_id = int(cur.lastrowid)
        run = self.get(run_id)
        assert run is not None
        return run

    @guarded("add a note to a run")
    def note(self, run_id: int, text: str) -> None:
        """Add a sentence to a run's message (e.g. that a scheduled run waited for the lock)."""
        with closing(self._connect()) as con, con:
            con.execute("UPDATE runs SET message = CASE WHEN message IS NULL OR message = '' THEN ?"
                        " ELSE message || '; ' || ? END WHERE id=?", (redact_text(text),) * 2 + (run_id,))

    @guarded("read the run history")
    def mark_interrupted(self) -> None:
        """Runs left `running` by a process that is gone (call with the lock held)."""
        con = self._connect(create=False)
        if con is None:
            return
        with closing(con), con:
            con.execute("UPDATE runs SET status='interrupted' WHERE status='running'")

    # --- reading -------------------------------------------------------------

    @guarded("read the run history")
    def unfinished(self) -> Run | None:
        """The latest run that did not complete (interrupted or left running), with its changes."""
        run_id = self.unfinished_id()
        return self.get(run_id) if run_id is not None else None

    @guarded("read the run history")
    def unfinished_id(self) -> int | None:
        """The id of `unfinished()`, without reading its changes."""
        con = self._connect(create=False)
        if con is None:
            return None
        with closing(con):
            row = con.execute("SELECT id FROM runs WHERE status IN ('running','interrupted') ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    @guarded("read a run's saved plan")
    def load_plan(self, run_id: int) -> Plan:
        """A run's own copy of its plan; a change in it that cannot be applied fails alone (A4)."""
        return read_plan(self.plan_path(run_id), check=False)

    @guarded("read the run history")
    def list(self, limit: int = 200) -> list[Run]:
        con = self._connect(create=False)
        if con is None:
            return []
        with closing(con):
            rows = con.execute(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
            return [_with_counts(con, _run(r)) for r in rows]

    @guarded("read the run history")
    def get(self, run_id: int, with_changes: bool = True) -> Run | None:
        con = self._connect(create=False)
        if con is None:
            return None
        with closing(con):
            r = con.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
            if r is None:
                return None
            run = _with_counts(con, _run(r))
            if with_changes:
                run.changes = [ChangeOutcome(*x) for x in con.execute(
                    "SELECT change_id, kind, key, outcome, error, lms_id, at FROM run_changes WHERE run_id=? ORDER BY seq",
                    (run_id,))]
        return run

    @guarded("read the run history")
    def outcomes(self, run_id: int) -> dict[str, tuple[str, str | None]]:
        """change id -> (outcome, lms id) for a run (the journal, for resuming)."""
        with closing(self._connect()) as con:
            return {c: (o, i) for c, o, i in con.execute(
                "SELECT change_id, outcome, lms_id FROM run_changes WHERE run_id=?", (run_id,))}

    @guarded("read the run history")
    def begun(self, run_id: int) -> dict[str, tuple[str, str | None]]:
        """change id -> (outcome, lms id) for the changes of a run that a resume must know (A2):
        those applied, begun or written but not linked, and any that names an LMS object."""
        with closing(self._connect()) as con:
            return {c: (o, i) for c, o, i in con.execute(
                "SELECT change_id, outcome, lms_id FROM run_changes WHERE run_id=?"
                " AND (outcome IN ('applied', 'started', 'linking') OR lms_id IS NOT NULL)", (run_id,))}

    @guarded("read the run history")
    def last_completed(self) -> Run | None:
        con = self._connect(create=False)
        if con is None:
            return None
        with closing(con):
            r = con.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE status IN ('completed','held') ORDER BY id DESC LIMIT 1").fetchone()
        return _run(r) if r else None


def outcome_counts(flat: dict[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for k, n in flat.items():
        kind, outcome = k.split(":", 1)
        out.setdefault(kind, {})[outcome] = n
    return out


def totals(run: Run) -> Counter:
    c: Counter = Counter()
    for per in run.counts.values():
        if isinstance(per, dict):
            c.update(per)
    return c


def _counts(con: sqlite3.Connection, run_id: int) -> dict[str, dict[str, int]]:
    return outcome_counts({f"{k}:{o}": n for k, o, n in con.execute(
        "SELECT kind, outcome, COUNT(*) FROM run_changes WHERE run_id=? GROUP BY kind, outcome", (run_id,))})


def _with_counts(con: sqlite3.Connection, run: Run) -> Run:
    """A run that has not ended counts its outcomes so far (a finished run's are kept with it)."""
    if run.status in (RunStatus.RUNNING, RunStatus.INTERRUPTED):
        run.counts = _counts(con, run.id)
    return run


def _run(r: tuple) -> Run:
    return Run(id=r[0], started=r[1], ended=r[2], trigger=r[3], actor=r[4], status=r[5], config=r[6],
               sources=json.loads(r[7] or "{}"), counts=json.loads(r[8] or "{}"), message=r[9])

RUN_COLUMNS = "id, started, ended, trigger, actor, status, config, sources, counts, message"


def actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "?"
    return f"{user}@{socket.gethostname()}"


def _blocked_by(change) -> str | None:
    """Why a blocked change was not applied, in its own problems' words (`protected`, D5's
    `department_has_users` …): the run log says it, not only that it had errors."""
    errors = [p.message for p in change.problems if p.is_error]
    return "not applied: " + "; ".join(errors) if errors else None

