"""O2: the state folder is 0700 and its files 0600, whatever the umask; outputs an operator names
are written like a shell redirect: a symlink followed, a device or FIFO written through, never
replaced. (The lock file that is a symlink: tests/apply/test_failures.py.)"""
from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import polars as pl
import pytest

from tui_sync.cli import main
from tui_sync.config import load_config
from tui_sync.daemon import logging_to
from tui_sync.errors import Exit
from tui_sync.frame_cache import write_cached
from tui_sync.secrets import store_secret
from workspace import Workspace, dept, person


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def loose_umask():
    """The umask most systems have (022): what a mode given at creation must not depend on."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws", extra_config='\n[policy]\nreview = ["create_user"]\n')
    ws.sheets([dept("HQ"), dept("OPS", parent="HQ")], [person("ann.lee"), person("bob.ray", "OPS")])
    return ws


def cli(ws: Workspace, *args: str) -> int:
    return main(["--config", str(ws.root / "tui-sync.toml"), *args])


def test_the_state_folder_is_0700_and_every_file_in_it_0600(ws, loose_umask, capsys):
    assert cli(ws, "apply", "--approve", "all") == Exit.OK
    assert cli(ws, "run") == Exit.OK
    ws.sheets([dept("HQ"), dept("OPS", parent="HQ")], [person("ann.lee"), person("cy.new")])
    assert cli(ws, "run") == Exit.HELD  # a held plan in held/
    cfg = load_config(ws.root / "tui-sync.toml")
    with logging_to(cfg, stderr=False) as log:
        log.info("a line in daemon.log")
    store_secret(cfg.state, "hr", "s3cret-value")
    state = cfg.state
    names = {str(p.relative_to(state)) for p in state.rglob("*")}
    assert {"state.sqlite", "daemon.log", "sync.lock", "secrets.toml", "runs", "held"} <= names
    assert any(n.startswith("held/") for n in names) and any(n.startswith("runs/") for n in names)
    loose = {str(p.relative_to(state)): oct(mode(p)) for p in [state, *state.rglob("*")]
             if mode(p) != (0o700 if p.is_dir() else 0o600)}
    assert loose == {}
    assert mode(ws.root / "lms.sqlite") == 0o600  # the embedded LMS holds personal data too


def test_the_journal_files_of_the_state_database_are_0600(ws, loose_umask):
    import sqlite3

    assert cli(ws, "apply", "--approve", "all") == Exit.OK
    db = ws.root / ".tui-sync" / "state.sqlite"
    with sqlite3.connect(db) as con:  # a writer in WAL mode: SQLite gives -wal and -shm the database's mode
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE IF NOT EXISTS probe (x)")
        con.execute("INSERT INTO probe VALUES (1)")
        wal = {p.name: mode(p) for p in db.parent.glob("state.sqlite-*")}
    assert wal and set(wal.values()) == {0o600}


def test_arrow_cache_files_are_0600(tmp_path, loose_umask):
    path = tmp_path / "state.sqlite.ledger-users-v1-00ff.arrow"
    write_cached(path, pl.DataFrame({"lms_id": ["1"], "key": ["k"]}), ".ledger-users-v1-")
    assert path.exists() and mode(path) == 0o600


def _null_device(folder: Path, name: str = "null") -> Path:
    node = folder / name
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    return node


def test_plan_out_to_a_device_writes_through_and_keeps_the_device(ws, tmp_path, capsys):
    null = _null_device(tmp_path)
    assert cli(ws, "plan", "--out", str(null)) == Exit.OK
    assert stat.S_ISCHR(null.lstat().st_mode) and os.major(null.lstat().st_rdev) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".null")]  # no temporary file left


def test_plan_out_to_a_fifo_is_read_by_the_other_end(ws, tmp_path, capsys):
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert cli(ws, "plan", "--out", str(fifo)) == Exit.OK
    reader.join(10)
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and b'"version": 1' in got[0]


def test_plan_out_through_a_symlink_writes_its_target_and_keeps_the_link(ws, tmp_path, capsys):
    target = tmp_path / "reviews" / "plan.json"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o640)  # the file it replaces keeps its permissions
    link = tmp_path / "plan.json"
    link.symlink_to(target)
    assert cli(ws, "plan", "--out", str(link)) == Exit.OK
    assert link.is_symlink() and b'"version": 1' in target.read_bytes() and mode(target) == 0o640


def test_plan_out_to_a_folder_is_refused(ws, tmp_path, capsys):
    assert cli(ws, "plan", "--out", str(tmp_path)) == Exit.USAGE
    err = capsys.readouterr().err
    assert "cannot write the plan: this is a folder" in err and "→" in err


def test_export_writes_through_a_device_and_follows_a_symlink(ws, tmp_path, capsys):
    assert cli(ws, "apply", "--approve", "all") == Exit.OK
    null = _null_device(tmp_path, "null.csv")
    users = tmp_path / "users.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(users)
    assert cli(ws, "export", "--departments", str(null), "--users", str(link)) == Exit.OK, capsys.readouterr().err
    assert stat.S_ISCHR(null.lstat().st_mode) and link.is_symlink() and "ann.lee" in users.read_text("utf-8-sig")


def test_a_new_plan_file_is_0600(ws, tmp_path, loose_umask, capsys):
    assert cli(ws, "plan", "--out", str(tmp_path / "new.json")) == Exit.OK
    assert mode(tmp_path / "new.json") == 0o600  # it names people: private until its owner shares it



def test_the_crontab_line_keeps_the_state_folder_and_its_log_private(tmp_path, loose_umask):
    import subprocess

    from tui_sync.ossched import cron

    ws = Workspace(tmp_path / "ws", extra_config='\n[schedule]\ntimes = ["07:00"]\n')
    line = next(x for x in cron(ws.config, ["/bin/echo"]).splitlines() if x[:1].isdigit())
    subprocess.run(["sh", "-c", line.split(None, 5)[5].replace("\\%", "%")], check=True)  # as cron runs it
    state = ws.root / ".tui-sync"
    assert mode(state) == 0o700 and mode(state / "cron.log") == 0o600
    assert "run --config" in (state / "cron.log").read_text()


def test_export_into_a_folder_is_refused_with_a_message(ws, tmp_path, capsys):
    (tmp_path / "deps.csv").mkdir()
    code = cli(ws, "export", "--departments", str(tmp_path / "deps.csv"), "--users", str(tmp_path / "u.xlsx"))
    err = capsys.readouterr().err
    assert code == Exit.USAGE and "cannot write the departments sheet: this is a folder" in err and "→" in err
    assert "internal error" not in err
