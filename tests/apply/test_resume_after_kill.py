"""A2: an apply killed at random moments (SIGKILL, a real process)
resumes each time without duplicates, and ends where an uninterrupted apply ends."""
from __future__ import annotations

import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from synth import Mix, write_workspace

KILLS = 20


def tui_sync(ws: Path, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tui_sync.cli", "--config", str(ws / "tui-sync.toml"), *args],
                            cwd=ws, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def finish(ws: Path, *args: str) -> int:
    p = tui_sync(ws, *args)
    _, err = p.communicate(timeout=300)
    assert p.returncode in (0, 1), err.decode()
    return p.returncode


def run_started(ws: Path) -> bool:
    db = ws / ".tui-sync" / "state.sqlite"
    if not db.exists():
        return False
    with sqlite3.connect(db) as con:
        try:
            return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] > 0
        except sqlite3.OperationalError:
            return False


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
    kills = rounds = most = 0
    while kills < KILLS:  # rounds on fresh copies, each killed until it is done, each checked
        rounds += 1
        shutil.rmtree(killed, ignore_errors=True)
        shutil.copytree(start, killed)
        args: tuple[str, ...] = ("apply", "--plan", str(killed / "plan.json"), "--approve", "all")
        before, patience = kills, 1.0
        while True:
            p = tui_sync(killed, *args)
            # start-up takes ~0.25 s, the apply ~0.5 s more; on a busy machine each kill waits a little
            # longer than the last, so that every round ends with an apply that finishes by itself
            time.sleep(rng.uniform(0.2, 0.6) * patience)
            patience *= 1.25
            if p.poll() is not None:
                p.communicate()
                break
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills += 1
            if run_started(killed):  # killed before its run was recorded: nothing happened, start again
                args = ("apply", "--resume")
        finish(killed, "apply", "--resume")
        most = max(most, kills - before)
        assert dump(killed) == dump(reference), f"round {rounds} after {kills} kills"
    assert most >= 3  # an apply resumed after being killed, and killed again while resuming
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
