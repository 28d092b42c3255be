"""O1: no secret of a configuration reaches any output of a run, a failing run, the daemon or a
config error — stdout, stderr, daemon.log, the run history and its exports, saved plans, the
notification payloads a loopback webhook receives, the notify command's environment.

Real parts: the iSpring emulator (its client secret from an environment variable), an HTTPS
file server asking for a password (from another one) at an address with a share id in its path
and a token in its query, and a webhook receiver whose path is its secret.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import shlex
import sys
from pathlib import Path

import pytest

from ispring_emulator import ISpringEmulator
from servers.certs import make_pki
from servers.loopback import FileServer, Reply, basic_auth
from servers.webhook import Hook
from tui_sync.cli import main
from tui_sync.config import load_config
from tui_sync.daemon import Daemon, logging_to
from tui_sync.errors import Exit
from tui_sync.schedule import next_slot

PASSWORD = "HR-PASSWORD-93bd"
ISPRING_SECRET = "ISPRING-SECRET-6a1f"
URL_TOKEN = "URLTOKEN-77c2"
SHARE_ID = "SHARE-ID-1f3e"
WEBHOOK_PATH = "WEBHOOK-PATH-5e0d"
SECRETS = (PASSWORD, ISPRING_SECRET, URL_TOKEN, SHARE_ID, WEBHOOK_PATH)
SECRET_VARS = ("HR_FILE_PASSWORD", "TUI_SYNC_ISPRING_SECRET")  # (a TUI_SYNC_ name: still withheld)

DEPARTMENTS = "Code,Name,Parent\nHQ,Headquarters,\nOPS,Operations,HQ\n"
USERS = ("Login,Email,First,Last,Dept\n"
         "ann.lee,ann.lee@example.com,Ann,Lee,HQ\n"
         "bob.ray,bob.ray@example.com,Bob,Ray,OPS\n")

DUMP = ("import json, os, pathlib, sys; d = pathlib.Path(sys.argv[1]); n = len(list(d.glob('env-*.json')));"
        " (d / f'env-{n}.json').write_text(json.dumps(dict(os.environ)));"
        " (d / f'body-{n}.json').write_bytes(sys.stdin.buffer.read())")


@pytest.fixture
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def config(root: Path, emu: ISpringEmulator, users_url: str, ca_file: Path, webhook: str, notified: Path) -> Path:
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-c", DUMP, str(notified)))
    (root / "departments.csv").write_text(DEPARTMENTS)
    path = root / "tui-sync.toml"
    path.write_text(f"""\
[lms]
kind = "ispring"
base_url = "{emu.base_url}"
client_id = "{emu.client_id}"
client_secret = {{ env = "TUI_SYNC_ISPRING_SECRET" }}
requests_per_second = 1000

[departments.source]
kind = "file"
path = "departments.csv"

[departments.mapping]
code = "Code"
name = "Name"
parentCode = "Parent"

[users.source]
kind = "url"
url = "{users_url}"
username = "hr"
password = {{ env = "HR_FILE_PASSWORD" }}
ca_file = "{ca_file}"
timeout = 3

[users.mapping]
login = "Login"
email = "Email"
firstName = "First"
lastName = "Last"
departmentId = "Dept"

[schedule]
times = ["07:00"]
timezone = "UTC"

[notify]
command = {json.dumps(command)}
webhook = "{webhook}"
always = true
""")
    return path


def test_no_secret_reaches_any_output_of_runs_failing_runs_the_daemon_or_config_errors(
        tmp_path, capsys, monkeypatch, pki):
    monkeypatch.setenv("HR_FILE_PASSWORD", PASSWORD)
    monkeypatch.setenv("TUI_SYNC_ISPRING_SECRET", ISPRING_SECRET)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    root, notified = tmp_path / "ws", tmp_path / "notified"
    root.mkdir()
    notified.mkdir()
    seen: list[str] = []  # everything the operator or a script would read

    def cli(*args: str, config: Path | None = None) -> int:
        code = main(["--config", str(config or cfg), *args])
        out, err = capsys.readouterr()
        seen.extend((out, err))
        return code

    broken = {"now": False}

    def users_file(req) -> Reply:
        if broken["now"]:
            return Reply(403, b"<html><body>Forbidden</body></html>", {"Content-Type": "text/html"})
        return Reply(body=USERS.encode(), headers={"Content-Type": "text/csv"})

    with ISpringEmulator(client_secret=ISPRING_SECRET) as emu, FileServer(pki.server_context()) as files, \
            Hook() as hook:
        users_path = f"/hr/{SHARE_ID}/users.csv"
        users_url = files.route(users_path, users_file, auth=("hr", PASSWORD)) + f"?token={URL_TOKEN}"
        webhook = hook.address.rsplit("/hooks/", 1)[0] + f"/hooks/{WEBHOOK_PATH}/x"
        cfg = config(root, emu, users_url, pki.ca_file, webhook, notified)

        assert cli("plan", "--out", str(root / "plan.json")) == Exit.OK
        assert cli("run") == Exit.OK  # creates both departments and both users
        assert emu.user_by_login("bob.ray") is not None
        assert files.hits(users_path)[-1].headers["authorization"] == basic_auth("hr", PASSWORD)

        broken["now"] = True  # the file server refuses: a failing run, recorded and notified
        assert cli("run") == Exit.UNREADABLE
        loaded = load_config(cfg)
        with logging_to(loaded, stderr=False) as log:  # and a scheduled run that fails the same way
            daemon = Daemon(loaded, log=log, notify_retry_pause=0)
            slot = next_slot(daemon.times, daemon.tz, dt.datetime.now(dt.timezone.utc))
            assert asyncio.run(daemon.run_slot(slot)).status == "failed"
        logging.getLogger("tui_sync.daemon").handlers.clear()

        for args in (("runs",), ("runs", "--json"), ("runs", "show", "2"), ("runs", "show", "2", "--format", "csv"),
                     ("runs", "show", "3", "--format", "json"), ("runs", "show", "1", "--format", "json")):
            assert cli(*args) == Exit.OK
        webhook_bodies = [json.dumps(b) for b in hook.bodies]

    # a config error that quotes an address with a token and a webhook path
    bad = root / "bad.toml"
    bad.write_text(cfg.read_text().replace(webhook, f"http://hooks.example.com/services/{WEBHOOK_PATH}?t={URL_TOKEN}"))
    assert cli("check", config=bad) == Exit.USAGE
    assert "hooks.example.com/services/…" in seen[-1]

    assert len(webhook_bodies) == 3 and len(list(notified.glob("body-*.json"))) == 3
    assert json.loads(webhook_bodies[1])["status"] == "failed"
    envs = [json.loads(p.read_text()) for p in notified.glob("env-*.json")]
    for env in envs:  # O1: the notify command's environment is minimal and holds no secret variable
        assert not set(SECRET_VARS) & set(env) and "PATH" in env
        assert set(env) <= {"PATH", "HOME", "LANG", "TZ"} | {k for k in env if k.startswith(("LC_", "TUI_SYNC_"))}

    files_written = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.suffix != ".toml"}
    assert any(p.name == "daemon.log" for p in files_written) and any(p.name == "state.sqlite" for p in files_written)
    assert any(p.parent.name == "runs" for p in files_written) and (root / "plan.json") in files_written
    channels = {"stdout/stderr": "\n".join(seen), "webhook payloads": "\n".join(webhook_bodies),
                "notify command": "\n".join(p.read_text() for p in notified.iterdir()),
                **{str(p.relative_to(root)): b.decode("utf-8", "replace") for p, b in files_written.items()}}
    leaks = [(secret, channel) for channel, text in channels.items() for secret in SECRETS if secret in text]
    assert leaks == []
    # the TOML holds references to the secrets, never their values (the address is the operator's own)
    assert PASSWORD not in cfg.read_text() and ISPRING_SECRET not in cfg.read_text()
    # and the failures still say where: the host and the first path segment
    assert files.url("/hr/…") in channels["stdout/stderr"] and files.url("/hr/…") in channels[".tui-sync/daemon.log"]


def test_a_config_error_quotes_an_address_without_its_token_or_deeper_path(tmp_path, capsys):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "tui-sync.toml").write_text(
        '[lms]\nkind = "local"\n\n[departments.source]\nkind = "url"\n'
        f'url = "http://files.example.com/hr/{SHARE_ID}/org.xlsx?token={URL_TOKEN}"\n'
        '[departments.mapping]\ncode = "Code"\nname = "Name"\n\n[users.source]\nkind = "file"\npath = "u.csv"\n'
        '[users.mapping]\nlogin = "L"\nemail = "E"\nfirstName = "F"\nlastName = "N"\ndepartmentId = "D"\n')
    assert main(["--config", str(ws / "tui-sync.toml"), "plan"]) == Exit.USAGE
    err = capsys.readouterr().err
    assert '"http://files.example.com/hr/…"' in err and "[departments.source] url" in err
    assert URL_TOKEN not in err and SHARE_ID not in err
