"""A4 as a hostile tester tries it: `apply --plan` with plans made elsewhere, edited anywhere
but their decisions, malformed, truncated or huge. Each is refused with exit 2 and a message
saying what to do, and leaves the LMS, the ledger, the run history and the state folder as
they were. Decision edits (with a BOM, Windows line ends, other spacing) keep working."""
from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from tui_sync import service
from tui_sync.errors import Exit
from tui_sync.model import Change, Kind, Plan
from tui_sync.plan_io import write_plan
from tui_sync.state.ledger import Ledger
from tui_sync.state.runs import RunStore
from workspace import Workspace, cli, dept, lms_dept, lms_user, person

AFRESH = "plan afresh with `tui-sync plan --out"


def make_ws(root: Path) -> Workspace:
    """ann.lee's title changes, cat.new is created, gone.away is inactivated, OLD is deleted;
    lms.admin is in the LMS but not managed: no plan may touch it."""
    ws = Workspace(root)
    ws.load_lms([lms_dept("HQ", "Headquarters"), lms_dept("OLD")],
                [lms_user("ann.lee", jobTitle="Clerk"), lms_user("bob.stone"), lms_user("gone.away"),
                 lms_user("lms.admin", None, jobTitle="LMS administrator")])
    admin = ws.users()["lms.admin"]["id"]
    Ledger(ws.root / ".tui-sync").drop(users=[admin])
    ws.sheets([dept("HQ", "Headquarters")],
              [person("ann.lee", Title="Lead"), person("bob.stone"), person("cat.new")])
    return ws


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return make_ws(tmp_path / "ws")


def save(capsys, ws: Workspace, name: str = "plan.json") -> tuple[Path, dict]:
    path = ws.root / name
    assert cli(capsys, ws, "plan", "--out", str(path))[0] == Exit.OK
    return path, json.loads(path.read_text(encoding="utf-8"))


def everything(ws: Workspace) -> tuple:
    """What a refused plan must leave alone: the LMS, the ledger, the runs and their plan copies."""
    state = ws.root / ".tui-sync"
    ledger = Ledger(state)
    runs = [(r.id, r.status) for r in RunStore(state).list()]
    copies = sorted(p.name for p in (state / "runs").glob("*")) if (state / "runs").exists() else []
    return (ws.dump(), sorted(ledger.users().rows()), sorted(ledger.departments().rows()), runs, copies)


def refused(capsys, ws: Workspace, path: Path, *why: str) -> str:
    before = everything(ws)
    code, out, err = cli(capsys, ws, "apply", "--plan", str(path), "--approve", "all")
    assert code == Exit.USAGE, err
    assert AFRESH in err and str(path) in err and "Traceback" not in err and out == ""
    for text in why:
        assert text in err
    assert everything(ws) == before
    return err


def rewrite(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def change(data: dict, kind: str, key: str | None = None) -> dict:
    return next(c for c in data["changes"] if c["kind"] == kind and (key is None or c["key"] == key))


def admin_id(ws: Workspace) -> str:
    return ws.users()["lms.admin"]["id"]


def test_a_plan_made_in_another_configuration_folder_is_refused(capsys, ws, tmp_path):
    other = make_ws(tmp_path / "other")  # the same LMS content: its ids coincide with ws's
    path, _ = save(capsys, other)
    save(capsys, ws)  # (ws has a plan key of its own)
    refused(capsys, ws, path, "made for the configuration in", str(other.root))


def test_a_plan_from_a_copied_folder_is_refused_by_its_key(capsys, ws, tmp_path):
    path, _ = save(capsys, ws)
    (ws.root / ".tui-sync" / "plan.key").unlink()  # the state folder replaced since (a new key)
    save(capsys, ws, "other.json")
    refused(capsys, ws, path, "sealed with another key")


def test_a_plan_for_another_lms_is_refused(capsys, ws):
    path, _ = save(capsys, ws)
    shutil.copy(ws.root / "lms.sqlite", ws.root / "other.sqlite")
    toml = ws.root / "tui-sync.toml"
    toml.write_text(toml.read_text().replace('path = "lms.sqlite"', 'path = "other.sqlite"'))
    refused(capsys, ws, path, "made for another LMS")


def test_a_plan_without_a_binding_is_refused(capsys, ws):
    path, data = save(capsys, ws)
    del data["binding"], data["digest"]
    rewrite(path, data)
    refused(capsys, ws, path, "carries no binding")


def test_a_target_pointed_at_an_unmanaged_admin_is_refused(capsys, ws):
    path, data = save(capsys, ws)
    change(data, "inactivate_user")["target"] = admin_id(ws)
    rewrite(path, data)
    refused(capsys, ws, path, "edited after it was saved")
    assert ws.users()["lms.admin"]["status"] == "active"


def test_a_target_and_its_identity_edited_together_are_refused(capsys, ws):
    path, data = save(capsys, ws)
    c = change(data, "update_user", "ann.lee")
    c["target"], c["identity"] = admin_id(ws), {"login": "lms.admin", "email": "lms.admin@example.com", "key": None}
    c["fields"] = {"login": ["lms.admin", "hijacked"]}
    rewrite(path, data)
    refused(capsys, ws, path, "edited after it was saved")


@pytest.mark.parametrize("edit", ["status", "jobTitle", "kind"])
def test_edited_fields_or_kinds_are_refused(capsys, ws, edit):
    path, data = save(capsys, ws)
    c = change(data, "update_user", "ann.lee")
    if edit == "status":  # would pass --approve safe as an update, and terminate ann.lee
        c["fields"]["status"] = ["active", "terminated"]
    elif edit == "jobTitle":
        c["fields"]["jobTitle"][1] = "Chief Executive"
    else:
        c["kind"] = "inactivate_user"
        c["fields"] = {"status": ["active", "inactive"]}
    rewrite(path, data)
    refused(capsys, ws, path, "edited after it was saved")
    assert ws.users()["ann.lee"]["status"] == "active"


def test_an_admin_added_to_matched_does_not_become_managed(capsys, ws):
    path, data = save(capsys, ws)
    data["matched"]["users"][admin_id(ws)] = None
    rewrite(path, data)
    refused(capsys, ws, path, "edited after it was saved")
    assert admin_id(ws) not in Ledger(ws.root / ".tui-sync").users()["lms_id"].to_list()


def test_a_managed_user_added_to_vanished_stays_managed(capsys, ws):
    path, data = save(capsys, ws)
    ann = ws.users()["ann.lee"]["id"]
    data["vanished"]["users"].append(ann)
    rewrite(path, data)
    refused(capsys, ws, path, "edited after it was saved")
    assert ann in Ledger(ws.root / ".tui-sync").users()["lms_id"].to_list()


def test_a_duplicated_change_is_refused(capsys, ws):
    path, data = save(capsys, ws)
    data["changes"].append(dict(change(data, "inactivate_user")))
    rewrite(path, data)
    refused(capsys, ws, path, "edited after it was saved")


def test_an_added_top_level_key_is_refused(capsys, ws):
    path, data = save(capsys, ws)
    data["also_manage"] = [admin_id(ws)]
    rewrite(path, data)
    refused(capsys, ws, path, "edited after it was saved")


def sealed(ws: Workspace, changes: list[Change], path: Path) -> Path:
    """A plan sealed for `ws` that its planner would never write (a bug, or someone with the key)."""
    write_plan(Plan(changes, []), path, service.plan_seal(ws.config))
    return path


def test_sealed_duplicate_change_ids_are_refused_naming_the_change(capsys, ws):
    twice = Change("update_user:ann.lee", Kind.UPDATE_USER, "ann.lee", {"jobTitle": ("Clerk", "Lead")},
                   target=ws.users()["ann.lee"]["id"])
    path = sealed(ws, [twice, Change(twice.id, twice.kind, twice.key, dict(twice.fields), target=twice.target)],
                  ws.root / "dup.json")
    refused(capsys, ws, path, "change #2 (update_user:ann.lee", "also change #1")


@pytest.mark.parametrize("bad, why", [
    (Change("create_user:x", Kind.CREATE_USER, "x", {"login": (None, "x")}), "needs the field email"),
    (Change("create_user:x", Kind.CREATE_USER, "x", {"login": (None, "x"), "email": (None, "")}),
     "email after the change is blank"),
    (Change("update_user:x", Kind.UPDATE_USER, "x", {"jobTitle": ("a", "b")}), "needs the target"),
    (Change("inactivate_user:x", Kind.INACTIVATE_USER, "x", {"status": ("inactive", "active")}, target="1"),
     "must set an inactive or terminated status"),
    (Change("create_department:x", Kind.CREATE_DEPARTMENT, "X", {"code": (None, "X"), "name": (None, "X")},
            depends_on=["create_department:nowhere"]), "create_department:nowhere, which is not a change"),
    (Change("update_user:x", Kind.UPDATE_USER, "x", {"status": ("active", "on leave")}, target="1"),
     "status 'on leave' is not one of"),
])
def test_sealed_malformed_changes_are_refused_naming_the_change(capsys, ws, bad, why):
    path = sealed(ws, [bad], ws.root / "bad.json")
    refused(capsys, ws, path, f"change #1 ({bad.id}", why)


def test_an_unknown_kind_is_refused(capsys, ws):
    path, data = save(capsys, ws)
    change(data, "update_user")["kind"] = "promote_user"
    rewrite(path, data)
    refused(capsys, ws, path)


def test_a_truncated_plan_is_refused(capsys, ws):
    path, _ = save(capsys, ws)
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])
    refused(capsys, ws, path, "cannot read the plan")


def test_a_huge_file_is_refused_before_it_is_read(capsys, ws):
    path = ws.root / "huge.json"
    with path.open("wb") as f:
        f.truncate(3 << 30)  # sparse: 3 GiB that take no disk
    refused(capsys, ws, path, "3.0 GiB, larger than any plan tui-sync writes")


def test_a_plan_padded_with_megabytes_is_refused(capsys, ws):
    path, data = save(capsys, ws)
    change(data, "update_user")["problems"] = [{"severity": "warning", "code": "x", "entity": "user",
                                                "message": "x" * 20_000_000}]
    rewrite(path, data)
    refused(capsys, ws, path, "edited after it was saved")


def test_a_plan_that_is_not_a_plan_is_refused(capsys, ws):
    path = ws.root / "list.json"
    path.write_text("[1, 2, 3]")
    refused(capsys, ws, path, "not a tui_sync plan")
    path.write_text('{"version": 1, "changes": [1]}')
    refused(capsys, ws, path, "change #1 is not an object")


def test_decisions_edited_with_a_bom_crlf_and_other_spacing_are_applied(capsys, ws):
    path, data = save(capsys, ws)
    for c in data["changes"]:
        c["decision"] = "approved" if c["kind"] == "update_user" else "rejected"
    text = json.dumps(data, indent=4, sort_keys=True, ensure_ascii=True).replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    code, _, err = cli(capsys, ws, "apply", "--plan", str(path))
    assert code == Exit.OK, err
    users = ws.users()
    assert users["ann.lee"]["jobTitle"] == "Lead" and "cat.new" not in users
    assert users["gone.away"]["status"] == "active"


def test_decisions_edited_and_saved_as_utf16_by_notepad_are_applied(capsys, ws):
    path, data = save(capsys, ws)
    for c in data["changes"]:
        c["decision"] = "approved" if c["kind"] == "update_user" else "rejected"
    path.write_bytes(json.dumps(data, indent=2, ensure_ascii=False).replace("\n", "\r\n").encode("utf-16"))
    code, _, err = cli(capsys, ws, "apply", "--plan", str(path))
    assert code == Exit.OK, err
    assert ws.users()["ann.lee"]["jobTitle"] == "Lead" and "cat.new" not in ws.users()


def test_a_plan_that_is_a_folder_or_broken_utf16_is_refused_in_words(capsys, ws, tmp_path):
    err = refused(capsys, ws, tmp_path, "cannot read the plan: Is a directory")
    assert "Errno" not in err
    broken = ws.root / "broken.json"
    broken.write_bytes(b"\xff\xfe{\x00\x00\xd8")  # a UTF-16 BOM, then half a surrogate pair
    refused(capsys, ws, broken, "cannot read the plan")


def test_a_held_plan_is_sealed_and_applies_where_it_was_held(capsys, ws):
    assert cli(capsys, ws, "run")[0] == Exit.HELD
    [held] = (ws.root / ".tui-sync" / "held").glob("*.json")
    assert "digest" in json.loads(held.read_text())
    assert cli(capsys, ws, "apply", "--plan", str(held), "--approve", "all")[0] == Exit.OK
    assert ws.users()["gone.away"]["status"] == "inactive"


def test_a_refused_plan_leaves_an_interrupted_run_resumable(capsys, ws):
    """The refusal comes before anything else, even the resume that a plain apply does first."""
    path, data = save(capsys, ws)
    store = RunStore(ws.root / ".tui-sync")
    plan = asyncio.run(service.make_plan(ws.config)).plan
    run_id = store.start("apply", plan, str(ws.config.path), {c.id: "pending" for c in plan.changes})
    store.finish(run_id, "interrupted")
    change(data, "inactivate_user")["target"] = admin_id(ws)
    rewrite(path, data)
    refused(capsys, ws, path)
    assert store.unfinished().id == run_id


def test_a_held_change_whose_dependency_went_ahead_is_released(capsys, tmp_path):
    """`[policy] review = ["create_user"]` holds a user whose new department the run creates: the held
    plan names only what it holds, and applies (A4's checks pass it; P3's release still works)."""
    ws = Workspace(tmp_path / "ws", extra_config='[policy]\nreview = ["create_user"]\n')
    ws.load_lms([lms_dept("HQ", "Headquarters")], [])
    ws.sheets([dept("HQ", "Headquarters"), dept("NEW", "New team", "HQ")], [person("cat.new", "NEW")])
    assert cli(capsys, ws, "run")[0] == Exit.HELD
    [held] = (ws.root / ".tui-sync" / "held").glob("*.json")
    assert [c["id"] for c in json.loads(held.read_text())["changes"]] == ["create_user:cat.new"]
    code, _, err = cli(capsys, ws, "apply", "--plan", str(held), "--approve", "all")
    assert code == Exit.OK, err
    assert ws.users()["cat.new"]["departmentId"] == "NEW"


def test_a_damaged_plan_key_is_named_and_nothing_is_applied(capsys, ws):
    path, _ = save(capsys, ws)
    (ws.root / ".tui-sync" / "plan.key").write_text("not a key")
    before = everything(ws)
    code, _, err = cli(capsys, ws, "apply", "--plan", str(path), "--approve", "all")
    assert code == Exit.USAGE and "the plan key is damaged" in err and "move it aside" in err
    assert everything(ws) == before
    assert cli(capsys, ws, "plan", "--out", str(path))[0] == Exit.USAGE
