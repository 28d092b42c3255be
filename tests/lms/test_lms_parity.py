"""The sync scenarios give the same outcomes on the iSpring emulator
(a real HTTP server, through the real REST client) as on the embedded LMS."""
from __future__ import annotations

import asyncio
import shutil

import polars as pl
import pytest

from ispring_emulator import ISpringEmulator
from tui_sync import service
from tui_sync.config import Config, load_config
from tui_sync.lms.base import NO_SUPERVISOR, Snapshot, UserRecord
from tui_sync.model import Resolution
from tui_sync.state.ledger import Ledger

SECRET_ENV = "TUI_SYNC_TEST_ISPRING_SECRET"


@pytest.fixture
def pair(tmp_path, monkeypatch):
    """The demo twice: on the embedded LMS, and on the iSpring emulator holding the same prior state."""
    local = asyncio.run(service.prepare_demo(tmp_path / "local"))
    with ISpringEmulator(custom_fields=({"name": "Grade"}, {"name": "Hire date"})) as emu:
        monkeypatch.setenv(SECRET_ENV, emu.client_secret)
        remote_dir = tmp_path / "remote"
        shutil.copytree(local.base_dir, remote_dir, ignore=shutil.ignore_patterns("lms.sqlite*", ".tui-sync"))
        toml = (remote_dir / "tui-sync.toml").read_text()
        start, end = toml.index("[lms]"), toml.index("[departments.source]")
        toml = toml[:start] + (
            f'[lms]\nkind = "ispring"\nbase_url = "{emu.base_url}"\nclient_id = "{emu.client_id}"\n'
            f'client_secret = {{ env = "{SECRET_ENV}" }}\nrequests_per_second = 1000\n\n') + toml[end:]
        (remote_dir / "tui-sync.toml").write_text(toml)
        remote = load_config(remote_dir / "tui-sync.toml")
        asyncio.run(copy_lms(local, remote))
        yield local, remote


async def copy_lms(src: Config, dst: Config) -> None:
    """The prior state and the ledger of `src`, rebuilt in `dst` through its LMS client."""
    snap = await service.snapshot(src)
    lms = service.open_lms(dst)
    ids: dict[str, str] = {}  # departments
    uids: dict[str, str] = {}  # users (the embedded LMS numbers both from 1)
    try:
        depts = {r["id"]: r for r in snap.departments.iter_rows(named=True)}
        done: set[str] = set()
        while len(done) < len(depts):
            for i, d in depts.items():
                if i not in done and (d["parent_id"] is None or d["parent_id"] in done):
                    ids[i] = await lms.create_department(code=d["code"], name=d["name"],
                                                         parent_id=ids.get(d["parent_id"]))
                    done.add(i)
        custom = [c for c in snap.users.columns if c.startswith("custom:")]
        users = list(snap.users.iter_rows(named=True))
        for u in users:
            uids[u["id"]] = await lms.create_user(UserRecord(
                id="", login=u["login"], email=u["email"], firstName=u["firstName"], lastName=u["lastName"],
                department_id=ids.get(u["department_id"]), status="active", phone=u["phone"],
                jobTitle=u["jobTitle"], custom={c[7:]: u[c] for c in custom if u[c] is not None}))
        for status in ("inactive", "terminated"):
            await lms.set_status([uids[u["id"]] for u in users if u["status"] == status], status)
        for u in users:
            if u["subordination"] or u["coSubordination"]:
                await lms.set_supervisors(uids[u["id"]], uids.get(u["subordination"]), uids.get(u["coSubordination"]))
    finally:
        await lms.close()
    old = Ledger(src.state)
    Ledger(dst.state).record({ids[i]: k for i, k in old.departments().iter_rows()},
                             {uids[i]: k for i, k in old.users().iter_rows()})


def comparable(snap: Snapshot) -> tuple[dict, dict]:
    """The LMS without its ids: departments by code, users by login, links by code and login."""
    code = dict(snap.departments.select("id", "code").iter_rows())
    login = dict(snap.users.select("id", "login").iter_rows())
    depts = {r["code"]: (r["name"], code.get(r["parent_id"])) for r in snap.departments.iter_rows(named=True)}
    custom = sorted(c for c in snap.users.columns if c.startswith("custom:"))
    users = {}
    for r in snap.users.iter_rows(named=True):
        users[r["login"]] = (
            r["email"], r["firstName"], r["lastName"], code.get(r["department_id"]), r["status"], r["phone"],
            r["jobTitle"], *(None if r[f] in (None, NO_SUPERVISOR) else login[r[f]]
                             for f in ("subordination", "coSubordination")),
            tuple((c, r[c]) for c in custom if r[c] is not None),
        )
    return depts, users


def shape(plan) -> list[tuple]:
    return sorted((c.id, c.kind.value, tuple(sorted(c.fields.items())), c.blocked) for c in plan.changes)


def test_demo_plans_and_applies_the_same_on_ispring_and_embedded(pair):
    local, remote = pair
    assert comparable(asyncio.run(service.snapshot(local))) == comparable(asyncio.run(service.snapshot(remote)))
    resolutions = [Resolution("MOW-CUS", "MOW")]
    plans = [asyncio.run(service.make_plan(c, resolutions)).plan for c in (local, remote)]
    assert plans[0].summary() == plans[1].summary()
    assert shape(plans[0]) == shape(plans[1])
    assert sorted(map(repr, plans[0].problems)) == sorted(map(repr, plans[1].problems))

    reports = [asyncio.run(service.apply(c, plan=p, approve="all")) for c, p in zip((local, remote), plans)]
    outcomes = [sorted((o.change_id, o.outcome) for o in r.run.changes) for r in reports]
    assert outcomes[0] == outcomes[1]
    assert any(o == "applied" for _, o in outcomes[0])
    after = [comparable(asyncio.run(service.snapshot(c))) for c in (local, remote)]
    assert after[0] == after[1]
    # and the next plan is the same (only what stays blocked) on both
    again = [asyncio.run(service.make_plan(c)).plan for c in (local, remote)]
    assert shape(again[0]) == shape(again[1])
    assert pl.Series([c.kind.value for c in again[1].changes]).is_in(["delete_department"]).all()


RULES = """
[users.scope]
exclude = [{ column = "Grade", values = ["C1"] }, { column = "Login", pattern = "*.schmidt" }]

[protect]
users = ["oliver.*"]
departments = ["010"]

[users.fields]
email = { update = "on_create" }
jobTitle = { blank = "keep" }
"""


def test_scope_protection_and_field_policy_plan_and_apply_the_same_on_ispring_and_embedded(pair):
    configs = []
    for cfg in pair:
        cfg.path.write_text(cfg.path.read_text() + RULES)
        configs.append(load_config(cfg.path))
    before = comparable(asyncio.run(service.snapshot(configs[0])))
    plans = [asyncio.run(service.make_plan(c)).plan for c in configs]
    assert plans[0].summary() == plans[1].summary()
    assert plans[0].summary()["out_of_scope"] == 8
    assert shape(plans[0]) == shape(plans[1])
    assert sorted(map(repr, plans[0].problems)) == sorted(map(repr, plans[1].problems))
    assert any(p.code == "protected" for p in plans[0].problems)
    # C1: managed users whose rows left the scope (grade C1, *.schmidt) are inactivated like absent ones
    assert {"katharina.albrecht", "tobias.schmidt"} <= {c.key for c in plans[0].changes
                                                        if c.kind.value == "inactivate_user"}

    for c, p in zip(configs, plans):
        asyncio.run(service.apply(c, plan=p, approve="all"))
    after = [comparable(asyncio.run(service.snapshot(c))) for c in configs]
    assert after[0] == after[1]
    depts, users = after[0]
    for login, fields in before[1].items():
        if login.startswith("oliver."):  # C2: untouched
            assert users[login] == fields
        elif login in users and users[login][4] == "active" and fields[4] == "active":
            assert users[login][0] == fields[0]  # C3: email is written on create only
    assert depts["010"] == before[0]["010"]
