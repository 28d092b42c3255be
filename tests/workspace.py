"""A config folder on disk for service and CLI tests: sheets, a config, an embedded LMS, a ledger."""
from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

from tui_sync.cli import main
from tui_sync.config import Config, load_config
from tui_sync.lms.embedded import EmbeddedLMS
from tui_sync.state.ledger import Ledger

CONFIG = """\
[lms]
kind = "local"
path = "lms.sqlite"

[departments.source]
kind = "file"
path = "departments.csv"

[departments.mapping]
code = "Code"
name = "Name"
parentCode = "Parent"

[users.source]
kind = "file"
path = "users.csv"

[users.mapping]
login = "Login"
email = "Email"
firstName = "First"
lastName = "Last"
departmentId = "Dept"
status = "Status"
subordination = "Supervisor"
jobTitle = "Title"
{extra}
"""
DEPT_HEADERS = ["Code", "Name", "Parent"]
USER_HEADERS = ["Login", "Email", "First", "Last", "Dept", "Status", "Supervisor", "Title"]


def write_csv(path: Path, headers: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(headers)
        for r in rows:
            w.writerow([r.get(h, "") or "" for h in headers])


def dept(code: str, name: str | None = None, parent: str = "") -> dict[str, str]:
    return {"Code": code, "Name": name or code.title(), "Parent": parent}


def person(login: str, dept_code: str = "HQ", **kw: str) -> dict[str, str]:
    row = {"Login": login, "Email": f"{login}@example.com", "First": login.split(".")[0].title(),
           "Last": login.split(".")[-1].title(), "Dept": dept_code}
    row.update(kw)
    return row


def run(capsys: Any, config: Path, *args: str) -> tuple[int, str, str]:
    """`tui-sync --config CONFIG ARGS` in this process: (exit code, stdout, stderr)."""
    code = main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def cli(capsys: Any, ws: Workspace, *args: str) -> tuple[int, str, str]:
    """`tui-sync ARGS` on a workspace's configuration: (exit code, stdout, stderr)."""
    return run(capsys, ws.root / "tui-sync.toml", *args)


def edit(config: Path, old: str, new: str) -> None:
    """Replace a piece of a configuration file that must be there."""
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new), encoding="utf-8")


class Workspace:
    def __init__(self, root: Path, extra_config: str = ""):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "tui-sync.toml").write_text(CONFIG.format(extra=extra_config), encoding="utf-8")
        self.sheets([dept("HQ", "Headquarters")], [])

    @property
    def config(self) -> Config:
        return load_config(self.root / "tui-sync.toml")

    def sheets(self, departments: list[dict], users: list[dict]) -> None:
        write_csv(self.root / "departments.csv", DEPT_HEADERS, departments)
        write_csv(self.root / "users.csv", USER_HEADERS, users)

    def use_ispring(self, emu: Any, secret_env: str, monkeypatch: Any, rate: float = 1000) -> None:
        """Point the configuration at an iSpring emulator (its secret in `secret_env`)."""
        monkeypatch.setenv(secret_env, emu.client_secret)
        toml = self.root / "tui-sync.toml"
        toml.write_text(toml.read_text().replace(
            '[lms]\nkind = "local"\npath = "lms.sqlite"\n',
            f'[lms]\nkind = "ispring"\nbase_url = "{emu.base_url}"\nclient_id = "{emu.client_id}"\n'
            f'client_secret = {{ env = "{secret_env}" }}\nrequests_per_second = {rate}\n'))

    def lms(self) -> EmbeddedLMS:
        return EmbeddedLMS(self.root / "lms.sqlite")

    def load_lms(self, departments: list[dict], users: list[dict], managed: bool = True) -> None:
        """Fill the LMS (DESIGN `lms load` vocabulary); with `managed`, the ledger manages all of it."""
        async def go() -> None:
            lms = self.lms()
            try:
                await lms.load(departments, users)
                snap = await lms.snapshot()
            finally:
                await lms.close()
            if managed:
                Ledger(self.root / ".tui-sync").record(
                    dict.fromkeys(snap.departments["id"].to_list()), dict.fromkeys(snap.users["id"].to_list()))
        asyncio.run(go())

    def dump(self) -> dict:
        async def go() -> dict:
            lms = self.lms()
            try:
                return await lms.dump()
            finally:
                await lms.close()
        return asyncio.run(go())

    def users(self) -> dict[str, dict]:
        return {u["login"]: u for u in self.dump()["users"]}

    def departments(self) -> dict[str, dict]:
        return {d["code"]: d for d in self.dump()["departments"]}


def lms_user(login: str, dept_code: str | None = "HQ", **kw: Any) -> dict[str, Any]:
    u = {"login": login, "email": f"{login}@example.com", "firstName": login.split(".")[0].title(),
         "lastName": login.split(".")[-1].title(), "departmentId": dept_code, "status": "active"}
    u.update(kw)
    return u


def lms_dept(code: str, name: str | None = None, parent: str | None = None) -> dict[str, Any]:
    return {"code": code, "name": name or code.title(), "parentCode": parent}
