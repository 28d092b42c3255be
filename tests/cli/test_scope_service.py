"""C1–C3 through the service, as the UI uses it: rule counts, out-of-scope rows with their rule,
protected objects with theirs, suggestions for [protect] users, saving field policies."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tui_sync import service
from tui_sync.engine.policy import FieldPolicy
from tui_sync.errors import ConfigError

from workspace import edit

RULES = """
[users.scope]
exclude = [{ column = "Grade", values = ["C1"] }, { column = "Login", pattern = "*.schmidt" }]

[protect]
users = ["oliver.k*", "admin"]
departments = ["010"]

[schedule]"""


def test_rule_counts_and_the_rows_left_out_with_the_rule_that_left_them_out(demo: Path):
    edit(demo, "[schedule]", RULES)
    cfg = service.load(demo)
    users = service.read_sources(cfg).users
    scoped = service.scope_counts(cfg, "users", users)
    assert [(c.side, c.keeps, c.drops) for c in scoped.counts] == [("exclude", 293, 6), ("exclude", 297, 2)]
    assert scoped.out_of_scope == 8 and scoped.table.rows == 291
    rows = service.out_of_scope_rows(cfg, "users", users)
    assert rows.height == 8 and rows.columns == ["row", "key", "rule"]
    first = rows.row(0, named=True)
    assert first == {"row": 2, "key": "katharina.albrecht", "rule": 'exclude[1]: Grade is "C1"'}
    assert 'exclude[2]: Login matches "*.schmidt"' in rows["rule"].to_list()


def test_a_rule_on_a_column_the_sheet_lacks_names_the_config_file(demo: Path):
    edit(demo, "[schedule]", '[users.scope]\nexclude = [{ column = "Type", values = ["x"] }]\n\n[schedule]')
    cfg = service.load(demo)
    with pytest.raises(ConfigError) as info:
        service.scope_counts(cfg, "users", service.read_sources(cfg).users)
    assert info.value.where == f"{cfg.path}: [users.scope] exclude[1].column"


def test_protected_objects_each_with_the_rule_that_applied(demo: Path):
    edit(demo, "[schedule]", RULES)
    cfg = service.load(demo)
    snap = asyncio.run(service.snapshot(cfg))
    found = {(o.entity, o.key): o.why for o in service.protected_objects(cfg, snap)}
    assert found[("user", "oliver.klein")] == '[protect] users "oliver.k*"'
    assert found[("department", "010")] == '[protect] departments "010"'
    assert found[("department", "011")] == "under protected department 010"
    assert all(e == "department" or k.startswith("oliver.k") for e, k in found)


def test_suggestions_for_protect_are_active_lms_users_no_row_matches(demo: Path):
    cfg = service.load(demo)
    snap = asyncio.run(service.snapshot(cfg))
    users = service.read_sources(cfg).users
    suggested = service.protect_suggestions(cfg, snap, users)
    logins = {lg.casefold() for lg in users.df["Login"].drop_nulls()}
    active = set(snap.users.filter(snap.users["status"] == "active")["login"])
    assert suggested and all(s.casefold() not in logins and s in active for s in suggested)
    assert suggested == sorted(suggested)


def test_field_policies_are_saved_and_a_policy_leaves_with_its_mapping(demo: Path):
    cfg = service.load(demo)
    cfg = service.save_field_policies(cfg, "users", {"jobTitle": FieldPolicy(blank="keep"),
                                                     "email": FieldPolicy(update="on_create"),
                                                     "phone": FieldPolicy()})
    assert cfg.users.fields == {"jobTitle": FieldPolicy(blank="keep"), "email": FieldPolicy(update="on_create")}
    mapping = {f: c for f, c in cfg.users.mapping.items() if f != "jobTitle"}
    cfg = service.save_mapping(cfg, "users", mapping)
    assert cfg.users.fields == {"email": FieldPolicy(update="on_create")}
    cfg = service.save_field_policies(cfg, "users", {})
    assert cfg.users.fields == {} and "fields" not in cfg.raw["users"]
