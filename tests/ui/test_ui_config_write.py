"""Saving the config from the UI (tomli-w): other settings kept, nothing invalid written, no plain secrets."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tui_sync import service
from tui_sync.errors import ConfigError

from ui_support import SAMPLE


def test_saving_a_mapping_keeps_every_other_setting_and_a_backup(demo: Path):
    cfg = service.load(demo)
    before = tomllib.loads(demo.read_text())
    new = service.save_mapping(cfg, "departments", {**cfg.departments.mapping, "departmentUniqueKey": "Dept key"})
    after = tomllib.loads(demo.read_text())
    assert after["departments"]["mapping"]["departmentUniqueKey"] == "Dept key"
    for section in ("lms", "users", "schedule", "policy", "apply"):
        assert after[section] == before[section]
    assert new.departments.mapping["departmentUniqueKey"] == "Dept key"
    assert demo.with_name("tui-sync.toml.bak").read_text() != demo.read_text()


def test_an_invalid_mapping_is_refused_and_nothing_is_written(demo: Path):
    cfg = service.load(demo)
    text = demo.read_text()
    mapping = dict(cfg.users.mapping)
    del mapping["email"]
    with pytest.raises(ConfigError, match="email"):
        service.save_mapping(cfg, "users", mapping)
    assert demo.read_text() == text


def test_a_plain_text_secret_is_never_written(tmp_path: Path):
    raw = tomllib.loads((SAMPLE / "tui-sync.toml").read_text())
    raw["lms"] = {"kind": "ispring", "client_id": "abc", "client_secret": "hunter2"}
    target = tmp_path / "tui-sync.toml"
    with pytest.raises(ConfigError, match="plain text"):
        service.save_config(target, raw)
    assert not target.exists()
    raw["lms"]["client_secret"] = {"env": "ISPRING_CLIENT_SECRET"}
    service.save_config(target, raw)
    assert "hunter2" not in target.read_text()
    assert tomllib.loads(target.read_text())["lms"]["client_secret"] == {"env": "ISPRING_CLIENT_SECRET"}


def test_one_source_is_checked_on_its_own_naming_the_key(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"\[users.source\] path"):
        service.check_source_settings({"kind": "file"}, tmp_path / "tui-sync.toml", "users")
    src = service.check_source_settings({"kind": "url", "url": "https://hr.example/u.xlsx"}, tmp_path / "x.toml",
                                        "users")
    assert src.kind == "url"
