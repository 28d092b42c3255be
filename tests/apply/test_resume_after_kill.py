"""A2: an apply killed at random moments (SIGKILL, a real process: after a random number of the
transactions it commits) resumes each time without duplicates, and ends where an uninterrupted apply ends."""
from __future__ import annotations

import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from synth import Mix, write_workspace
from tui_sync import service
from tui_sync.config import load_config

KILLS = 20


def tui_sync(ws: Path, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tui_sync.cli", "--config", str(ws / "tui-sync.toml"), *args],
                            cwd=ws, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def finish(ws: Path, *args: str) -> int:
    p = tui_sync(ws, *args)
    _, err = p.communicate(timeout=300)
    assert p.returncode in (0, 1), err.decode()
    return p.returncode


class Commits:
    """Transactions that other processes commit to the LMS's database and the run history's, as this
    process sees them: SQLite's `data_version` of a connection changes with each."""

    def __init__(self, ws: Path):
        self.cons = [sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                     for path in (ws / "lms.sqlite", ws / ".tui-sync" / "state.sqlite")]

    def versions(self) -> list[int]:
        return [con.execute("PRAGMA data_version").fetchone()[0] for con in self.cons]

    def close(self) -> None:
        for con in self.cons:
            con.close()


def killed_after(p: subprocess.Popen, commits: Commits, n: int) -> bool:
    """SIGKILL `p` once it has committed `n` transactions or more (to the LMS or the run history);
    False when it ended by itself first."""
    seen = commits.versions()
    deadline = time.monotonic() + 300  # (a hung apply fails the test instead of hanging it)
    while n > 0 and p.poll() is None:
        assert time.monotonic() < deadline, f"the apply neither committed nor ended: {p.args}"
        now = commits.versions()
        n -= sum(a != b for a, b in zip(now, seen))
        seen = now
        time.sleep(0.001)
    p.send_signal(signal.SIGKILL)
    if p.wait() != -signal.SIGKILL:  # it had ended by itself
        _, err = p.communicate()
        assert p.returncode in (0, 1), err.decode()
        return False
    return True


def dump(ws: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "tui_sync.cli", "--config", str(ws / "tui-sync.toml"),
                          "lms", "dump", "--json"], capture_output=True, check=True)
    data = json.loads(out.stdout)
    for item in data["departments"] + data["users"]:
        item.pop("id", None)  # ids differ between the two databases; everything else must not
    return data


def test_apply_killed_20_times_resumes_to_the_same_lms_without_duplicates(tmp_path):
    base = tmp_path / "base"
    write_workspace(base, 3000, Mix(removed=0.1, new=1.0, updated=0.5, moved=0.3))
    assert finish(base, "plan", "--out", str(base / "plan.json")) == 0
    n_changes = len(json.loads((base / "plan.json").read_text())["changes"])
    assert n_changes >= 4800  # "about 5,000 changes"

    # A4: a plan applies only in the folder it was made in: each copy plans for itself (the same
    # plan: the copies are alike); every round of `killed` starts from `start`, planned at that path
    reference, killed, start = tmp_path / "reference", tmp_path / "killed", tmp_path / "start"
    for ws in (reference, killed):
        shutil.copytree(base, ws)
        assert finish(ws, "plan", "--out", str(ws / "plan.json")) == 0
    shutil.copytree(killed, start)
    finish(reference, "apply", "--plan", str(reference / "plan.json"), "--approve", "all")

    rng = random.Random(7)
    kills = rounds = resumes_killed = 0
    while kills < KILLS:  # rounds on fresh copies, each killed a few times, then resumed to the end, each checked
        rounds += 1
        shutil.rmtree(killed, ignore_errors=True)
        shutil.copytree(start, killed)
        cfg = load_config(killed / "tui-sync.toml")
        args: tuple[str, ...] = ("apply", "--plan", str(killed / "plan.json"), "--approve", "all")
        commits = Commits(killed)
        try:
            for _ in range(rng.randint(1, 4)):
                # killed after a few of its transactions: once its run is recorded, before, while or after it
                # writes to the LMS, while it journals, while it resumes
                lms_before = commits.versions()[0]
                if not killed_after(tui_sync(killed, *args), commits, rng.randint(1, 4)):
                    break  # it finished first
                kills += 1
                resumes_killed += args[1] == "--resume"
                if service.unfinished_run(cfg) is not None:
                    args = ("apply", "--resume")
                else:  # killed before its run was recorded: A2, nothing was written to the LMS
                    assert commits.versions()[0] == lms_before and args[1] == "--plan"
            else:
                finish(killed, *args)
        finally:
            commits.close()
        assert dump(killed) == dump(reference), f"round {rounds} after {kills} kills"
    assert resumes_killed  # an apply resumed after being killed, and killed again while resuming
    logins = [u["login"].casefold() for u in dump(killed)["users"]]
    assert len(logins) == len(set(logins))
    # and the run log tells the story: one run, completed after its interruptions
    out = subprocess.run([sys.executable, "-m", "tui_sync.cli", "--config", str(killed / "tui-sync.toml"),
                          "runs", "--json"], capture_output=True, check=True)
    runs = json.loads(out.stdout)
    assert [r["status"] for r in runs] == ["completed"]
    # a second plan on the killed copy is as empty as on the reference
    assert finish(killed, "plan", "--out", str(killed / "again.json")) == 0
    assert json.loads((killed / "again.json").read_text())["changes"] == []


# --- at scale: the embedded LMS's journal commits with its writes (A2) -----------------------------

def _journal_and_lms(ws: Path) -> tuple[dict[str, tuple[str, str | None]], dict[str, tuple[int, str | None]]]:
    """What the journal says of the run (the run history and the rows still in the LMS's own journal)
    and the LMS's users (login -> id, job title)."""
    outcomes: dict[str, tuple[str, str | None]] = {}
    with sqlite3.connect(ws / ".tui-sync" / "state.sqlite") as con:
        for change, outcome, lms_id in con.execute("SELECT change_id, outcome, lms_id FROM run_changes"):
            outcomes[change] = (outcome, lms_id)
    with sqlite3.connect(ws / "lms.sqlite") as con:
        try:
            for change, outcome, lms_id in con.execute("SELECT change_id, outcome, lms_id FROM apply_log ORDER BY rowid"):
                outcomes[change] = (outcome, lms_id)  # (newer than the history: not taken in yet)
        except sqlite3.OperationalError:  # killed before its first write transaction
            pass
        users = {login: (uid, title) for uid, login, title in con.execute("SELECT id, login, job_title FROM users")}
    return outcomes, users


def _lms_journal_rows(ws: Path) -> int:
    with sqlite3.connect(ws / "lms.sqlite") as con:
        try:
            return con.execute("SELECT count(*) FROM apply_log").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_apply_killed_between_chunks_at_scale_leaves_a_journal_that_matches_the_lms_exactly(tmp_path):
    """60,000 changes, 12 transactions of the embedded LMS: killed (SIGKILL) after one to three of
    them, and twice more while resuming, then resumed to the end. After every kill, each change the
    journal calls applied is in the LMS and nothing else the plan creates or updates is."""
    ws = tmp_path / "ws"
    write_workspace(ws, 20_000, Mix(removed=0.0, new=2.0, updated=1.0, moved=0.0, new_departments=0.0,
                                    renamed_departments=0.0, closed_departments=0.0), n_departments=200)
    assert finish(ws, "plan", "--out", str(ws / "plan.json")) == 0
    plan = json.loads((ws / "plan.json").read_text())["changes"]
    creates = {c["id"]: c["key"] for c in plan if c["kind"] == "create_user"}
    updates = {c["id"]: (c["key"], c["fields"]["jobTitle"]) for c in plan if c["kind"] == "update_user"}
    assert (len(creates), len(updates)) == (40_000, 20_000)
    with sqlite3.connect(ws / "lms.sqlite") as con:
        before = {login for (login,) in con.execute("SELECT login FROM users")}

    rng = random.Random(13)
    args: tuple[str, ...] = ("apply", "--plan", str(ws / "plan.json"), "--approve", "all")
    for _ in range(3):
        p = tui_sync(ws, *args)
        # rows in the LMS's journal (a resume takes in what is there first): one to three transactions
        # committed, so that at least three of the twelve are still to come when it is killed
        wait_for = rng.randrange(1, 4) * 5000
        while p.poll() is None and _lms_journal_rows(ws) < wait_for:
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
        assert p.wait() == -signal.SIGKILL, p.stderr.read().decode() if p.stderr else ""
        args = ("apply", "--resume")
        outcomes, users = _journal_and_lms(ws)
        assert "started" not in {o for o, _ in outcomes.values()}  # nothing is half-journaled
        applied = {cid for cid, (o, _) in outcomes.items() if o == "applied"}
        created = {login for login in users if login not in before}
        assert created == {creates[cid] for cid in applied if cid in creates}
        assert all(str(users[creates[cid]][0]) == outcomes[cid][1] for cid in applied if cid in creates)
        updated = {login for cid, (login, (_, after)) in updates.items() if users[login][1] == after}
        assert updated == {updates[cid][0] for cid in applied if cid in updates}
        # A3: the history shows the killed apply as interrupted, with what it applied (taken in from the
        # LMS's journal as a resume would take it, and nothing else)
        shown = subprocess.run([sys.executable, "-m", "tui_sync.cli", "--config", str(ws / "tui-sync.toml"), "runs"],
                               capture_output=True, text=True, check=True).stdout
        assert f"interrupted  {len(applied)} applied, {60_000 - len(applied)} pending" in shown, shown
        assert _lms_journal_rows(ws) == 0 and _journal_and_lms(ws)[0] == outcomes
    finish(ws, "apply", "--resume")
    outcomes, users = _journal_and_lms(ws)
    assert {o for o, _ in outcomes.values()} == {"applied"} and len(outcomes) == 60_000
    assert _lms_journal_rows(ws) == 0  # the run history holds it all now
    assert len(users) == 60_000 and {login.casefold() for login in users} == {login.casefold() for login in
                                                                              {*before, *creates.values()}}
    assert finish(ws, "plan", "--out", str(ws / "again.json")) == 0
    assert json.loads((ws / "again.json").read_text())["changes"] == []


def test_an_apply_killed_then_abandoned_records_what_it_applied_as_applied(tmp_path):
    """A4 `apply --abandon` after a kill: the history takes in the LMS's journal first, so the changes
    the killed apply committed are `applied`, the rest `abandoned`, and the LMS's journal is empty."""
    ws = tmp_path / "ws"
    write_workspace(ws, 4000, Mix(removed=0.0, new=2.0, updated=0.0, moved=0.0, new_departments=0.0,
                                  renamed_departments=0.0, closed_departments=0.0), n_departments=40)
    assert finish(ws, "plan", "--out", str(ws / "plan.json")) == 0
    with sqlite3.connect(ws / "lms.sqlite") as con:
        before = con.execute("SELECT count(*) FROM users").fetchone()[0]
    p = tui_sync(ws, "apply", "--plan", str(ws / "plan.json"), "--approve", "all")
    while p.poll() is None and _lms_journal_rows(ws) < 5000:  # the first of two transactions committed
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    assert p.wait() == -signal.SIGKILL
    # what the UI offers to resume names what the killed apply applied (taken in from the LMS's journal)
    offered = service.unfinished_run(load_config(ws / "tui-sync.toml"))
    assert offered is not None and offered.status == "interrupted"
    assert Counter(c.outcome for c in offered.changes)["applied"] >= 5000 and _lms_journal_rows(ws) == 0
    assert finish(ws, "apply", "--abandon") == 0
    assert _lms_journal_rows(ws) == 0
    with sqlite3.connect(ws / ".tui-sync" / "state.sqlite") as con:  # the run history alone
        counts = Counter(dict(con.execute("SELECT outcome, count(*) FROM run_changes GROUP BY outcome")))
        status = con.execute("SELECT status FROM runs").fetchall()
    with sqlite3.connect(ws / "lms.sqlite") as con:
        created = con.execute("SELECT count(*) FROM users").fetchone()[0] - before
    assert status == [("abandoned",)]
    assert counts == {"applied": created, "abandoned": 8000 - created} and created >= 5000
