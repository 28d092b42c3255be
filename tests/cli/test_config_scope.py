"""C1–C3 configuration: `[users.scope]`, `[departments.scope]`, `[protect]`, `[users.fields]`,
`[departments.fields]` — parsed, validated with messages that name the key, and written back."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tui_sync.config import load_config, parse_config
from tui_sync.config_write import dumps, save_config
from tui_sync.engine.policy import FieldPolicy
from tui_sync.engine.protect import Protect
from tui_sync.engine.scope import Scope, ScopeRule
from tui_sync.errors import Exit

from config_dicts import error_of, minimal, with_section

EXAMPLE = """
[users.scope]
include = [{ column = "Company", values = ["ACME", " Acme Ltd "] }]
exclude = [{ column = "Employment type", values = ["Contractor", "Intern"] },
           { column = "Login", pattern = "test-*" }]

[departments.scope]
exclude = [{ column = "Kind", values = ["external"] }]

[protect]
users = ["admin", "svc-*", "admin"]
departments = ["EXT"]

[users.fields]
email = { update = "on_create" }
jobTitle = { blank = "keep" }
subordination = { update = "if_empty" }

[departments.fields]
parentCode = { blank = "keep" }
name = { update = "if_empty", blank = "keep" }
"""


def example() -> dict:
    data = minimal()
    extra = tomllib.loads(EXAMPLE)
    data["users"]["mapping"] |= {"jobTitle": "Position", "subordination": "Supervisor"}
    data["departments"]["mapping"]["parentCode"] = "Parent code"
    for name in ("users", "departments"):
        data[name] |= extra[name]
    data["protect"] = extra["protect"]
    return data


def test_scope_protection_and_field_policies_are_read():
    cfg = parse_config(example(), Path("tui-sync.toml"))
    assert cfg.users.scope == Scope(
        include=(ScopeRule("Company", values=("ACME", "Acme Ltd")),),
        exclude=(ScopeRule("Employment type", values=("Contractor", "Intern")), ScopeRule("Login", pattern="test-*")))
    assert cfg.departments.scope.exclude == (ScopeRule("Kind", values=("external",)),)
    assert cfg.protect == Protect(users=("admin", "svc-*"), departments=("EXT",))
    assert cfg.users.fields == {"email": FieldPolicy(update="on_create"), "jobTitle": FieldPolicy(blank="keep"),
                                "subordination": FieldPolicy(update="if_empty")}
    assert cfg.departments.fields == {"parentCode": FieldPolicy(blank="keep"),
                                      "name": FieldPolicy(update="if_empty", blank="keep")}


def test_without_the_sections_nothing_is_scoped_protected_or_held_back():
    cfg = parse_config(minimal(), Path("tui-sync.toml"))
    assert not cfg.users.scope and not cfg.departments.scope and not cfg.protect
    assert cfg.users.fields == {} and cfg.departments.fields == {}


def test_the_sections_survive_a_save_and_a_reload(tmp_path: Path):
    cfg = parse_config(example(), tmp_path / "tui-sync.toml")
    again = save_config(tmp_path / "tui-sync.toml", example())
    assert (again.users.scope, again.departments.scope, again.protect, again.users.fields,
            again.departments.fields) == (cfg.users.scope, cfg.departments.scope, cfg.protect, cfg.users.fields,
                                          cfg.departments.fields)
    shuffled = example()
    shuffled["users"] = dict(reversed(shuffled["users"].items()))
    text = dumps(shuffled)
    assert text.index("[users.mapping]") < text.index("users.scope") < text.index("users.fields")
    assert load_config(tmp_path / "tui-sync.toml").protect.users == ("admin", "svc-*")


@pytest.mark.parametrize(("section", "values", "where", "expected"), [
    ("users.scope", {"exclude": [{"column": "X", "values": ["a"]}], "exclud": []},
     "[users.scope] exclud", "include, exclude"),
    ("users.scope", {"exclude": [{"column": "X", "value": ["a"]}]},
     "[users.scope] exclude[1].value", "column, values, pattern"),
    ("protect", {"user": ["admin"]}, "[protect] user", "users, departments"),
    ("users.fields", {"email": {"updates": "on_create"}}, "[users.fields] email.updates", "update, blank"),
])
def test_an_unknown_key_is_named_with_what_the_table_takes(section, values, where, expected):
    err = error_of(with_section(section, **values))
    assert err.where == f"tui-sync.toml: {where}"
    assert err.message.startswith("unknown key") and expected in err.hint
    assert err.exit_code is Exit.USAGE


def test_a_scope_rule_without_column_is_refused():
    err = error_of(with_section("users.scope", include=[{"values": ["ACME"]}]))
    assert err.where == "tui-sync.toml: [users.scope] include[1].column"
    assert err.message.startswith("missing") and 'column = "' in err.message


@pytest.mark.parametrize(("rule", "found"), [
    ({"column": "Login", "values": ["a"], "pattern": "b*"}, "found both values and pattern"),
    ({"column": "Login"}, "found neither values nor pattern"),
])
def test_a_scope_rule_takes_exactly_one_of_values_and_pattern(rule, found):
    err = error_of(with_section("departments.scope", exclude=[{"column": "Code", "values": ["x"]}, rule]))
    assert err.where == "tui-sync.toml: [departments.scope] exclude[2]"
    assert err.message == found
    assert "values = [" in err.hint and "pattern = " in err.hint


@pytest.mark.parametrize(("rules", "found"), [
    ({"exclude": {"column": "Login", "pattern": "x"}}, "found a table"),
    ({"exclude": ["Login"]}, 'found "Login" (a string)'),
    ({"exclude": [{"column": "Type", "values": []}]}, "found a list of 0"),
    ({"exclude": [{"column": "Type", "values": [7]}]}, "found 7 (a whole number)"),
    ({"exclude": [{"column": "Type", "values": "Contractor"}]}, 'found "Contractor" (a string)'),
    ({"exclude": [{"column": "Type", "pattern": " "}]}, 'found " " (a string)'),
])
def test_scope_rules_of_the_wrong_shape_say_what_was_found_and_expected(rules, found):
    err = error_of(with_section("users.scope", **rules))
    assert err.message.startswith(found) and "expected" in err.message


def test_a_policy_on_an_unmapped_field_is_refused():
    err = error_of(with_section("users.fields", phone={"blank": "keep"}))
    assert err.where == "tui-sync.toml: [users.fields] phone"
    assert "unmapped field" in err.message and "[users.mapping]" in err.hint and "login" in err.hint


@pytest.mark.parametrize(("section", "field_name", "column"), [
    ("users", "login", None), ("users", "email", None), ("users", "subordination", "Supervisor"),
    ("users", "coSubordination", "Functional manager"), ("departments", "code", None),
])
def test_blank_on_an_identity_or_supervisor_field_is_refused(section, field_name, column):
    data = with_section(f"{section}.fields", **{field_name: {"blank": "keep"}})
    if column:
        data[section]["mapping"][field_name] = column
    err = error_of(data)
    assert err.where == f"tui-sync.toml: [{section}.fields] {field_name}.blank"
    assert err.message.startswith(f'found blank = "keep" on {field_name}') and "takes no blank" in err.message


def test_update_on_an_identity_field_is_allowed_and_a_unique_key_takes_no_policy():
    cfg = parse_config(with_section("users.fields", email={"update": "on_create"}), Path("tui-sync.toml"))
    assert cfg.users.fields["email"].update == "on_create"
    data = with_section("users.fields", userUniqueKey={"update": "on_create"})
    data["users"]["mapping"]["userUniqueKey"] = "Personnel no."
    assert "never written to the LMS" in error_of(data).message


@pytest.mark.parametrize(("policy", "found"), [
    ({"update": "never"}, 'found "never" (a string), expected one of "always", "on_create", "if_empty"'),
    ({"blank": "skip"}, 'found "skip" (a string), expected one of "clear", "keep"'),
])
def test_unknown_policy_words_list_the_ones_that_work(policy, found):
    err = error_of(with_section("users.fields", email=policy) if "update" in policy
                   else with_section("users.fields", lastName=policy))
    assert err.message == found


def test_a_field_policy_must_be_a_table():
    err = error_of(with_section("users.fields", email="on_create"))
    assert err.where == "tui-sync.toml: [users.fields] email"
    assert 'found "on_create" (a string), expected { update = ' in err.message


@pytest.mark.parametrize(("value", "found"), [("admin", 'found "admin" (a string)'), ([7], "found 7"),
                                               ([""], 'found "" (a string)')])
def test_protect_takes_lists_of_texts(value, found):
    err = error_of(with_section("protect", users=value))
    assert err.where == "tui-sync.toml: [protect] users"
    assert err.message.startswith(found) and "expected a list" in err.message


def test_the_commented_examples_in_sample_data_are_valid_when_uncommented(tmp_path: Path):
    import re
    import shutil

    sample = Path(__file__).resolve().parents[2] / "sample_data"
    text = (sample / "tui-sync.toml").read_text(encoding="utf-8")
    start, end = text.index("# Scope (C1)"), text.index("# Unattended runs")
    block = re.sub(r"(?m)^# (?=\[|\w+ = |\s+\{)", "", text[start:end])
    for name in ("departments.csv", "users.xlsx"):
        shutil.copy(sample / name, tmp_path / name)
    (tmp_path / "tui-sync.toml").write_text(text[:start] + block + text[end:], encoding="utf-8")
    cfg = load_config(tmp_path / "tui-sync.toml")
    assert len(cfg.users.scope.exclude) == 2 and len(cfg.users.scope.include) == 1 and cfg.departments.scope
    assert cfg.protect.users == ("admin", "svc-*") and cfg.users.fields["email"].update == "on_create"
    assert cfg.departments.fields["parentCode"].blank == "keep"
