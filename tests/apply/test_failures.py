"""O3: every failure of the operating surface ends with a message that says what, where and what
to do, with the documented exit code — never "internal error" and a Python exception name.

A table of cases run through the CLI as an operator would, then the cases that need more than
one step. Full and read-only disks are real: a small tmpfs mounted for the test (the test
process needs root, or CAP_SYS_ADMIN, to mount it — as in this project's sandbox), filled up
or remounted read-only. ENOSPC from a real filesystem, not a simulated one.
"""
from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import stat
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui_sync.cli import main
from tui_sync.errors import Exit
from tui_sync.state.lock import SyncLock
from tui_sync.state.runs import RunStore
from workspace import Workspace, cli, dept, person

CLI = [sys.executable, "-m", "tui_sync.cli"]


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "2m") -> Iterator[Path]:
    """A small real filesystem at `path` for the test's duration."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(disk: Path, leave_kib: int) -> None:
    """Fill the disk but for about `leave_kib` KiB."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(free - leave_kib * 1024, 0))


def remount_read_only(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)


def workspace(root: Path, *, state_dir: Path | None = None, lms: Path | None = None) -> Workspace:
    ws = Workspace(root)
    toml = ws.root / "tui-sync.toml"
    text = toml.read_text()
    if lms is not None:
        text = text.replace('path = "lms.sqlite"', f'path = "{lms}"')
    if state_dir is not None:
        text = f'state_dir = "{state_dir}"\n' + text
    toml.write_text(text)
    ws.sheets([dept("HQ", "Headquarters"), dept("OPS", "Operations", "HQ")],
              [person(f"user.{i:02d}", "OPS" if i % 2 else "HQ") for i in range(40)])
    return ws


def said_well(err: str, *fragments: str) -> None:
    """A message, not a crash: what (the fragments), where (a path) and what to do (a hint)."""
    assert "internal error" not in err and "Traceback" not in err and "Error:" not in err.split("→")[0], err
    assert err.startswith("error: /") and "\n  → " in err, err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    setup: Callable[[Path], tuple[Workspace, Callable[[], None]]]  # the workspace, and what breaks it
    command: tuple[str, ...]
    exit_code: int
    says: tuple[str, ...]


def _state_on_full_disk(tmp: Path):
    disk = tmp / "disk"
    ws = workspace(tmp / "ws", state_dir=disk / "state")
    return ws, lambda: fill(disk, 8)


def _state_on_a_disk_with_no_room(tmp: Path):
    disk = tmp / "disk"
    ws = workspace(tmp / "ws", state_dir=disk / "state")
    return ws, lambda: fill(disk, 0)


def _read_only_state(tmp: Path):
    disk = tmp / "disk"
    ws = workspace(tmp / "ws", state_dir=disk / "state")
    ws.load_lms([], [])  # (a ledger and a state folder exist)

    def breaks() -> None:
        assert main(["--config", str(ws.root / "tui-sync.toml"), "apply", "--approve", "none"]) == Exit.OK
        remount_read_only(disk)
    return ws, breaks


def _damaged_state(tmp: Path):
    ws = workspace(tmp / "ws")
    ws.load_lms([], [])
    return ws, lambda: (ws.root / ".tui-sync" / "state.sqlite").write_bytes(os.urandom(4096))


def _state_path_is_a_file(tmp: Path):
    ws = workspace(tmp / "ws")
    return ws, lambda: (ws.root / ".tui-sync").write_text("not a folder\n")


FULL = ("the disk is full", "free space on the disk")
READ_ONLY = ("the state folder is read-only", "writable")
DAMAGED = ("the state file is damaged", "state.sqlite", "aside")
A_FILE = ("the state folder's path is a file, not a folder", ".tui-sync", "move the file")

CASES = {
    "disk_full_in_the_state_folder_during_apply": Case(_state_on_full_disk, ("apply", "--approve", "all"),
                                                        Exit.UNREADABLE, FULL),
    # (a plan printed for applying is sealed with the state folder's key, made there the first time)
    "disk_full_in_the_state_folder_for_a_sealed_plan": Case(_state_on_a_disk_with_no_room, ("plan", "--json"),
                                                             Exit.UNREADABLE, FULL),
    "read_only_state_folder_run": Case(_read_only_state, ("run",), Exit.UNREADABLE, READ_ONLY),
    "read_only_state_folder_apply": Case(_read_only_state, ("apply", "--approve", "all"), Exit.UNREADABLE,
                                         READ_ONLY),
    "damaged_state_file_run": Case(_damaged_state, ("run",), Exit.UNREADABLE, DAMAGED),
    "damaged_state_file_runs": Case(_damaged_state, ("runs",), Exit.UNREADABLE, DAMAGED),
    "damaged_state_file_plan": Case(_damaged_state, ("plan",), Exit.UNREADABLE, DAMAGED),
    "state_path_is_a_file_apply": Case(_state_path_is_a_file, ("apply", "--approve", "all"), Exit.UNREADABLE,
                                       A_FILE),
    "state_path_is_a_file_plan": Case(_state_path_is_a_file, ("plan",), Exit.UNREADABLE, A_FILE),
    "state_path_is_a_file_runs": Case(_state_path_is_a_file, ("runs",), Exit.UNREADABLE, A_FILE),
}


@pytest.mark.parametrize("name", CASES)
def test_failure_says_what_where_and_what_to_do(name, tmp_path, capsys):
    case = CASES[name]
    with tmpfs(tmp_path / "disk") if "disk" in name or "read_only" in name else contextlib.nullcontext():
        ws, breaks = case.setup(tmp_path)
        breaks()
        capsys.readouterr()
        code, out, err = cli(capsys, ws, *case.command)
    assert code == case.exit_code, err
    said_well(err, *case.says)
    if case.command[0] in ("apply", "run"):
        assert ws.users() == {}  # nothing was applied


# --- cases that need more than one step ---------------------------------------------------


def test_a_read_only_state_folder_still_shows_the_run_history(tmp_path, capsys):
    with tmpfs(tmp_path / "disk"):
        ws, breaks = _read_only_state(tmp_path)
        breaks()
        capsys.readouterr()
        code, out, err = cli(capsys, ws, "runs")
        assert code == Exit.OK and "completed" in out, err
        code, out, err = cli(capsys, ws, "runs", "show", "1", "--format", "json")
        assert code == Exit.OK and json.loads(out)["status"] == "completed"


def test_a_read_only_state_folder_still_shows_an_apply_left_unfinished(tmp_path, capsys):
    """A3: `runs` takes an unfinished run's journal in when it can; on a read-only state folder it
    shows the history as it stands instead of failing."""
    with tmpfs(tmp_path / "disk"):
        ws, _ = _read_only_state(tmp_path)
        assert main(["--config", str(ws.root / "tui-sync.toml"), "apply", "--approve", "none"]) == Exit.OK
        con = sqlite3.connect(tmp_path / "disk" / "state" / "state.sqlite")
        with con:  # (as a killed apply leaves it)
            con.execute("UPDATE runs SET status='running'")
        con.close()
        remount_read_only(tmp_path / "disk")
        capsys.readouterr()
        code, out, err = cli(capsys, ws, "runs")
        assert code == Exit.OK and "running" in out, err
        code, out, err = cli(capsys, ws, "runs", "show", "1", "--format", "json")
        assert code == Exit.OK and json.loads(out)["status"] == "running", err


def test_plan_with_the_state_path_a_file_fails_instead_of_planning_with_an_empty_ledger(tmp_path, capsys):
    ws = workspace(tmp_path / "ws")
    ws.load_lms([{"code": "HQ", "name": "Headquarters", "parentCode": None}],
                [{"login": "gone.user", "email": "gone@example.com", "firstName": "G", "lastName": "U",
                  "departmentId": "HQ", "status": "active"}])
    code, out, _ = cli(capsys, ws, "plan", "--json")
    assert code == Exit.OK and json.loads(out)["summary"]["inactivate_user"] == 1  # the ledger manages gone.user
    os.replace(ws.root / ".tui-sync", tmp_path / "moved")
    (ws.root / ".tui-sync").write_text("")
    code, out, err = cli(capsys, ws, "plan")
    assert code == Exit.UNREADABLE and out == ""
    said_well(err, *A_FILE)


def test_disk_full_during_apply_on_the_embedded_lms_stops_cleanly_and_resumes(tmp_path, capsys):
    with tmpfs(tmp_path / "disk", "4m") as disk:
        ws = workspace(tmp_path / "ws", lms=disk / "lms.sqlite")
        fill(disk, 120)  # room to open the database and write a little, not for forty users
        code, _, err = cli(capsys, ws, "apply", "--approve", "all")
        assert code == Exit.UNREADABLE
        said_well(err, "embedded LMS database is full", str(disk / "lms.sqlite"), "apply --resume")
        (run,) = RunStore(ws.root / ".tui-sync").list()
        assert run.status == "interrupted"
        (disk / "filler").unlink()
        code, out, err = cli(capsys, ws, "apply", "--resume")
        assert code == Exit.OK, err
        assert RunStore(ws.root / ".tui-sync").get(run.id).status == "completed"
        code, out, _ = cli(capsys, ws, "lms", "dump", "--json")
        assert len(json.loads(out)["users"]) == 40


def test_an_lms_path_that_is_a_device_is_refused_and_nothing_is_left_beside_it(tmp_path, capsys):
    devices = tmp_path / "dev"
    devices.mkdir()
    zero = devices / "zero"
    os.mknod(zero, stat.S_IFCHR | 0o666, os.makedev(1, 5))  # a /dev/zero of our own
    ws = workspace(tmp_path / "ws", lms=zero)
    for command in (("plan",), ("apply", "--approve", "all"), ("lms", "dump")):
        code, _, err = cli(capsys, ws, *command)
        assert code == Exit.UNREADABLE, err
        said_well(err, "not a regular file", str(zero), "[lms] path")
    assert sorted(p.name for p in devices.iterdir()) == ["zero"]  # no zero-journal, no zero-wal


def test_a_busy_lock_names_its_holder_and_notifies_nobody(tmp_path, capsys):
    notified = tmp_path / "notified.json"
    write = f"import pathlib, sys; pathlib.Path({str(notified)!r}).write_bytes(sys.stdin.buffer.read())"
    ws = workspace(tmp_path / "ws")
    toml = ws.root / "tui-sync.toml"
    toml.write_text(toml.read_text() + "\n[notify]\ncommand = "
                    + json.dumps(" ".join(shlex.quote(a) for a in (sys.executable, "-c", write)))
                    + "\nalways = true\n")
    with SyncLock(ws.root / ".tui-sync", "apply"):
        code, _, err = cli(capsys, ws, "run")
    assert code == Exit.USAGE
    assert "a sync of this configuration is running" in err
    assert f"pid {os.getpid()} on {socket.gethostname()}, since " in err and "apply" in err
    assert not notified.exists()  # nothing failed: another sync is doing the work
    assert RunStore(ws.root / ".tui-sync").list() == []


def test_a_symlinked_lock_is_refused_and_its_target_is_untouched(tmp_path, capsys):
    ws = workspace(tmp_path / "ws")
    ws.load_lms([], [])
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    (ws.root / ".tui-sync" / "sync.lock").symlink_to(precious)
    code, _, err = cli(capsys, ws, "apply", "--approve", "all")
    assert code == Exit.UNREADABLE
    said_well(err, "the lock file is a symbolic link", "sync.lock", "remove the link")
    assert precious.read_text() == "keep me\n" and ws.users() == {}


def test_runs_show_into_a_closed_pipe_ends_quietly_like_a_shell_tool(tmp_path):
    ws = workspace(tmp_path / "ws")
    ws.sheets([dept("HQ")], [person(f"user.{i:04d}") for i in range(3000)])  # a long run log
    config = str(ws.root / "tui-sync.toml")
    subprocess.run([*CLI, "--config", config, "apply", "--approve", "all"], check=True, capture_output=True)
    # `tui-sync runs show 1 | head -1`: the reader takes one line and goes
    shown = subprocess.Popen([*CLI, "--config", config, "runs", "show", "1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert shown.stdout is not None and shown.stdout.readline().startswith(b"tui_sync run 1")
    shown.stdout.close()
    err = shown.stderr.read() if shown.stderr else b""
    assert shown.wait() == 128 + 13  # SIGPIPE, as `cat` or `grep` would end
    assert err == b""  # no "internal error", no "Exception ignored … BrokenPipeError"


@pytest.mark.parametrize("command", [("runs", "show", "1"), ("runs", "show", "1", "--format", "csv"),
                                     ("runs", "--json"), ("runs",), ("plan", "--json"), ("lms", "dump")])
def test_output_to_a_full_device_is_a_message_naming_standard_output(command, tmp_path):
    # `tui-sync runs show 1 --format csv > /dev/full`: ENOSPC on stdout, however short the output (O3)
    ws = workspace(tmp_path / "ws")
    config = str(ws.root / "tui-sync.toml")
    subprocess.run([*CLI, "--config", config, "apply", "--approve", "all"], check=True, capture_output=True)
    with open("/dev/full", "w") as full:
        done = subprocess.run([*CLI, "--config", config, *command], stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == Exit.USAGE, done.stderr
    assert done.stderr.startswith("error: standard output: cannot write the output: No space left on device\n  → ")
    assert "internal error" not in done.stderr and "Exception ignored" not in done.stderr


def test_a_run_whose_report_cannot_be_printed_still_notifies(tmp_path):
    ws = workspace(tmp_path / "ws")
    told = tmp_path / "told.json"
    script = tmp_path / "tell.sh"
    script.write_text(f"#!/bin/sh\ncat > {told}\n")
    script.chmod(0o700)
    toml = ws.root / "tui-sync.toml"
    toml.write_text(toml.read_text() + f'\n[notify]\ncommand = "{script}"\nalways = true\n')
    with open("/dev/full", "w") as full:
        done = subprocess.run([*CLI, "--config", str(toml), "run"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert "standard output" in done.stderr
    assert json.loads(told.read_text())["status"] == "completed"


def test_a_closed_stdout_or_stderr_is_a_message_not_an_internal_error(tmp_path):
    # `tui-sync runs >&-` (and schedulers that close descriptors): nothing may take fd 1's place
    ws = workspace(tmp_path / "ws")
    config = str(ws.root / "tui-sync.toml")
    subprocess.run([*CLI, "--config", config, "apply", "--approve", "all"], check=True, capture_output=True)
    state = ws.root / ".tui-sync" / "state.sqlite"
    before = state.read_bytes()
    closed_out = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", *CLI, "--config", config, "runs"],
                                stderr=subprocess.PIPE, text=True)
    assert closed_out.returncode == Exit.USAGE
    assert closed_out.stderr.startswith("error: standard output: cannot write the output: standard output is closed")
    assert "internal error" not in closed_out.stderr and "Exception ignored" not in closed_out.stderr
    closed_err = subprocess.run(["sh", "-c", 'exec "$@" 2>&-', "sh", *CLI, "--config", config, "runs"],
                                stdout=subprocess.PIPE, text=True)
    assert closed_err.returncode == Exit.OK and "completed" in closed_err.stdout
    assert state.read_bytes() == before


def test_a_lock_held_by_another_program_says_so_instead_of_question_marks(tmp_path, capsys):
    import fcntl

    ws = workspace(tmp_path / "ws")
    ws.load_lms([], [])
    lock = ws.root / ".tui-sync" / "sync.lock"
    lock.parent.mkdir(exist_ok=True)
    with open(lock, "w") as held:  # `flock .tui-sync/sync.lock sleep 60`: locked, nothing written in it
        fcntl.flock(held, fcntl.LOCK_EX)
        code, _, err = cli(capsys, ws, "run")
    assert code == Exit.USAGE and "a sync of this configuration is running" in err
    assert "?" not in err.split("→")[0] and "its holder is not written in the lock file" in err


def test_an_lms_path_that_is_not_a_database_says_what_to_check(tmp_path, capsys):
    ws = workspace(tmp_path / "ws")
    (ws.root / "lms.sqlite").write_bytes(os.urandom(5000))  # [lms] path names some other file
    code, _, err = cli(capsys, ws, "plan")
    assert code == Exit.UNREADABLE
    said_well(err, "cannot open the embedded LMS database: file is not a database", "[lms] path")


@pytest.mark.parametrize(("out", "says"), [
    ("lms.sqlite", "cannot write the plan over the embedded LMS's database"),
    ("tui-sync.toml", "cannot write the plan over the configuration file"),
    ("users.csv", "cannot write the plan over the users sheet it reads"),
    (".tui-sync/state.sqlite", "cannot write the plan into the state folder"),
    (".tui-sync/plan.json", "cannot write the plan into the state folder"),
])
def test_plan_out_never_replaces_what_tui_sync_works_from(out, says, tmp_path, capsys):
    # `plan --out lms.sqlite` replaced the embedded LMS's database with a plan: every user gone (O2)
    ws = workspace(tmp_path / "ws")
    ws.load_lms([], [])
    assert cli(capsys, ws, "plan", "--out", str(ws.root / "first.json"))[0] == Exit.OK  # (a state folder)
    target = ws.root / out
    before = target.read_bytes() if target.exists() else None
    code, _, err = cli(capsys, ws, "plan", "--out", str(target))
    assert code == Exit.USAGE and says in err and "→ name another file" in err
    assert (target.read_bytes() if target.exists() else None) == before


def test_export_never_writes_into_the_state_folder_or_over_the_lms(tmp_path, capsys):
    lms = tmp_path / "ws" / "lms.csv"  # an embedded LMS whose file name ends in .csv
    ws = workspace(tmp_path / "ws", lms=lms)
    assert cli(capsys, ws, "apply", "--approve", "all")[0] == Exit.OK
    before = lms.read_bytes()
    code, _, err = cli(capsys, ws, "export", "--departments", str(lms), "--users", str(ws.root / "u.csv"))
    assert code == Exit.USAGE and "cannot write the departments sheet over the embedded LMS's database" in err
    assert lms.read_bytes() == before and not (ws.root / "u.csv").exists()
