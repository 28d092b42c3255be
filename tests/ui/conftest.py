"""Fixtures for the UI tests: the demo folder with its runs' times pinned, HR's sheets without a
config (for the wizard), and the hostile folder."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tui_sync import service

from hostile import hostile_workspace
from ui_support import SAMPLE


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo folder (sample_data + the embedded LMS's prior state); returns its config path.
    Run times and the actor are fixed so that screens showing runs are the same on every machine;
    the current folder is the demo's."""
    import tui_sync.state.runs as runs

    monkeypatch.setattr(runs, "now", lambda: "2026-01-15T09:30:00+01:00")
    monkeypatch.setattr(runs, "actor", lambda: "operator@sync-host")
    cfg = asyncio.run(service.prepare_demo(tmp_path / "demo"))
    monkeypatch.chdir(cfg.base_dir)
    return cfg.path


@pytest.fixture
def hr_sheets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with HR's two sheets (the demo's) and no config yet; the current folder is it."""
    for name in ("departments.csv", "users.xlsx"):
        shutil.copy(SAMPLE / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The hostile folder's config path (F4: markup and terminal control in every value); the current folder is its."""
    path = hostile_workspace(tmp_path / "hostile")
    monkeypatch.chdir(path.parent)
    return path
