"""[notify] (O1): a command and a webhook hear about runs that need attention; a failing
notifier never fails the sync."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import shlex
import sys
from pathlib import Path

import pytest

from tui_sync import notify, service
from tui_sync.cli import main
from tui_sync.daemon import Daemon
from tui_sync.errors import Exit
from tui_sync.schedule import UTC
from tui_sync.state.runs import RunStore
from servers.webhook import Hook, nowhere
from workspace import Workspace, dept, lms_dept, lms_user, person

WRITE_STDIN = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())\n"


def workspace(tmp_path: Path, notify_toml: str, *, destructive: bool = True) -> Workspace:
    ws = Workspace(tmp_path / "ws", extra_config=notify_toml)
    ws.load_lms([lms_dept("HQ", "Headquarters")],
                [lms_user("ann.lee", jobTitle="Clerk"), lms_user("gone.away")])
    users = [person("ann.lee", Title="Lead")] + ([] if destructive else [person("gone.away")])
    ws.sheets([dept("HQ", "Headquarters")], users)
    return ws


def command_to(tmp_path: Path, out: Path, *, fail: bool = False) -> str:
    script = tmp_path / "notify_me.py"
    script.write_text(WRITE_STDIN + ("sys.exit(3)\n" if fail else ""))
    return shlex.join([sys.executable, str(script), str(out)])


def toml(command: str | None = None, webhook: str | None = None, always: bool = False) -> str:
    lines = ["[notify]"]
    if command:
        lines.append(f"command = {json.dumps(command)}")
    if webhook:
        lines.append(f"webhook = {json.dumps(webhook)}")
    if always:
        lines.append("always = true")
    return "\n".join(lines) + "\n"


def test_a_run_that_holds_changes_sends_its_summary_to_the_command_and_the_webhook(tmp_path, capsys):
    out = tmp_path / "summary.json"
    with Hook() as hook:
        ws = workspace(tmp_path, toml(command_to(tmp_path, out), hook.address))
        assert main(["--config", str(ws.root / "tui-sync.toml"), "run"]) == Exit.HELD
    sent = json.loads(out.read_text())
    assert hook.bodies == [sent]
    run = service.runs(ws.config)[0]
    assert sent["run_id"] == run.id and sent["status"] == "held" and sent["trigger"] == "run"
    assert sent["started"] == run.started and sent["ended"] == run.ended
    assert sent["config"] == str(ws.root / "tui-sync.toml")
    assert sent["counts"] == {"applied": 1, "held": 1}
    assert sent["held"]["count"] == 1 and "[policy] review lists inactivate_user" in sent["held"]["reasons"][0]
    assert sent["held"]["plan"].endswith(f"held/run-{run.id}.plan.json")
    assert sent["exit_code"] == Exit.HELD and sent["errors"] == [] and sent["row_errors"] == 0
    # the log names the webhook's host only: its path is often its secret
    err = capsys.readouterr().err
    assert "T0KEN" not in err and "T0KEN" not in json.dumps(sent)


def test_a_clean_run_notifies_only_when_always_is_set(tmp_path):
    out = tmp_path / "summary.json"
    ws = workspace(tmp_path, toml(command_to(tmp_path, out)), destructive=False)
    assert main(["--config", str(ws.root / "tui-sync.toml"), "run"]) == Exit.OK
    assert not out.exists()

    ws2 = workspace(tmp_path / "2", toml(command_to(tmp_path, out), always=True), destructive=False)
    assert main(["--config", str(ws2.root / "tui-sync.toml"), "run"]) == Exit.OK
    sent = json.loads(out.read_text())
    assert sent["status"] == "completed" and sent["exit_code"] == 0 and sent["held"]["count"] == 0


def test_row_errors_are_notified_with_the_first_errors_and_exit_1(tmp_path):
    out = tmp_path / "summary.json"
    ws = workspace(tmp_path, toml(command_to(tmp_path, out)), destructive=False)
    ws.sheets([dept("HQ", "Headquarters")],
              [person("ann.lee", Title="Lead"), person("gone.away"), person("no.where", "NOPE")])
    assert main(["--config", str(ws.root / "tui-sync.toml"), "run"]) == Exit.ROW_ERRORS
    sent = json.loads(out.read_text())
    assert sent["status"] == "completed" and sent["row_errors"] == 1 and sent["exit_code"] == Exit.ROW_ERRORS
    assert sent["errors"][0]["code"] == "unknown_department" and sent["errors"][0]["row"] == 4


def test_a_failed_run_is_notified(tmp_path, capsys):
    out = tmp_path / "summary.json"
    ws = workspace(tmp_path, toml(command_to(tmp_path, out)))
    (ws.root / "users.csv").write_text("Login,Email,First,Last,Dept,Status,Supervisor,Title\n")
    assert main(["--config", str(ws.root / "tui-sync.toml"), "run"]) == Exit.UNREADABLE
    sent = json.loads(out.read_text())
    assert sent["status"] == "failed" and sent["exit_code"] == Exit.UNREADABLE
    assert "no data rows" in sent["errors"][0]["message"]
    # the failed run is in the history, and the notification names it
    (recorded,) = RunStore(ws.root / ".tui-sync").list()
    assert recorded.status == "failed" and sent["run_id"] == recorded.id and sent["trigger"] == "run"


@pytest.mark.parametrize("kind", ["exit status", "missing program", "webhook 500", "webhook refused"])
def test_a_failing_notifier_is_logged_and_never_fails_the_run(tmp_path, capsys, monkeypatch, kind):
    monkeypatch.setattr(notify, "RETRY_PAUSE", 0)
    with Hook([500, 500]) as hook:
        notify_toml = {
            "exit status": toml(command_to(tmp_path, tmp_path / "x.json", fail=True)),
            "missing program": toml(str(tmp_path / "no-such-notifier") + " --token s3cret"),
            "webhook 500": toml(webhook=hook.address),
            "webhook refused": toml(webhook=nowhere()),
        }[kind]
        ws = workspace(tmp_path, notify_toml)
        assert main(["--config", str(ws.root / "tui-sync.toml"), "run"]) == Exit.HELD
        if kind == "webhook 500":
            assert len(hook.paths) == 2  # one retry
    err = capsys.readouterr().err
    assert "failed" in err and "the sync itself is not affected" in err
    assert "s3cret" not in err and "T0KEN" not in err
    assert ws.users()["ann.lee"]["jobTitle"] == "Lead"


def test_the_webhook_is_retried_once_and_a_4xx_is_not_retried(tmp_path):
    data = {"run_id": 1, "status": "failed", "held": {"count": 0}, "row_errors": 0, "errors_total": 1,
            "exit_code": 3}
    with Hook([503]) as hook:
        cfg = Workspace(tmp_path / "w2", extra_config=toml(webhook=hook.address)).config
        sent = asyncio.run(notify.send(cfg, data, retry_pause=0))
        assert [d.ok for d in sent] == [True] and hook.bodies == [data] and len(hook.paths) == 2
    with Hook([404]) as hook:
        cfg = Workspace(tmp_path / "w3", extra_config=toml(webhook=hook.address)).config
        sent = asyncio.run(notify.send(cfg, data, retry_pause=0))
        assert [(d.ok, d.detail) for d in sent] == [(False, "HTTP 404")] and len(hook.paths) == 1


def test_the_daemon_notifies_a_skipped_slot(tmp_path):
    from tui_sync.schedule import next_slot
    from tui_sync.state.lock import SyncLock

    out = tmp_path / "summary.json"
    ws = workspace(tmp_path, toml(command_to(tmp_path, out)) +
                   '[schedule]\ntimes = ["07:00"]\ntimezone = "UTC"\n')
    now = [dt.datetime(2025, 6, 2, 7, 0, tzinfo=UTC)]

    async def sleep(s: float) -> None:
        now[0] += dt.timedelta(seconds=s)
    daemon = Daemon(ws.config, clock=lambda: now[0], sleep=sleep, lock_wait=60, lock_poll=30)
    slot = next_slot(daemon.times, daemon.tz, now[0] - dt.timedelta(minutes=1))
    with SyncLock(ws.config.state, "apply"):
        result = asyncio.run(daemon.run_slot(slot))
    sent = json.loads(out.read_text())
    assert result.status == "skipped" and sent["status"] == "skipped" and sent["trigger"] == "schedule"
    assert sent["run_id"] == result.run_id and "another sync" in sent["message"]
    assert sent["slot"] == "2025-06-02 07:00 UTC"


def test_redact_cuts_query_strings_and_deep_paths_that_may_carry_tokens():
    text = "cannot read https://files.example/org.xlsx?sig=abc123&exp=1 (HTTP 403)"
    assert notify.redact(text) == "cannot read https://files.example/org.xlsx (HTTP 403)"
    assert notify.redact("posted to https://hooks.example/services/T0/B0/XYZ") == "posted to https://hooks.example/services/…"


def test_the_notify_command_environment_is_minimal_and_never_holds_the_configs_secret_variables(tmp_path):
    # O1: PATH, HOME, LANG, LC_*, TZ and TUI_SYNC_* pass; a secret's variable never does, whatever its name
    ws = Workspace(tmp_path / "ws", extra_config=toml("true"))
    text = (ws.root / "tui-sync.toml").read_text().replace(
        '[users.source]\nkind = "file"\npath = "users.csv"',
        '[users.source]\nkind = "url"\nurl = "https://files.example/users.csv"\nusername = "hr"\n'
        'password = { env = "TUI_SYNC_HR_PASSWORD" }')
    (ws.root / "tui-sync.toml").write_text(text)
    environ = {"PATH": "/usr/bin", "HOME": "/home/sync", "LANG": "de_DE.UTF-8", "LC_TIME": "de_DE", "TZ": "UTC",
               "TUI_SYNC_DEBUG": "1", "TUI_SYNC_HR_PASSWORD": "s3cret", "AWS_SECRET_ACCESS_KEY": "x",
               "HR_FILE_PASSWORD": "y", "SSH_AUTH_SOCK": "/tmp/agent"}
    assert notify.command_env(ws.config, environ) == {
        "PATH": "/usr/bin", "HOME": "/home/sync", "LANG": "de_DE.UTF-8", "LC_TIME": "de_DE", "TZ": "UTC",
        "TUI_SYNC_DEBUG": "1"}


def test_a_webhook_nobody_answers_is_said_in_words_not_an_exception_name(tmp_path):
    data = {"run_id": 1, "status": "failed", "held": {"count": 0}, "row_errors": 0, "errors_total": 1,
            "exit_code": 3}
    cfg = Workspace(tmp_path / "w", extra_config=toml(webhook=nowhere())).config
    (sent,) = asyncio.run(notify.send(cfg, data, retry_pause=0))
    assert not sent.ok
    assert sent.detail.startswith("the server refused the connection; check the address and port")
    assert "Error" not in sent.detail
