"""dev.py: `-- ARGS` runs in the caller's folder; a second `demo` keeps an applied demo and says how to reset."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "DEMO", tmp_path / "tui-sync-demo")  # not the repository's own demo
    return module


def test_tui_sync_args_run_in_the_callers_folder(dev, tmp_path: Path):
    cmd, where, say = dev.task_command(["--", "lms", "dump"], tmp_path)
    assert cmd[-2:] == ["lms", "dump"] and cmd[0].endswith("tui-sync")
    assert where == tmp_path and say is None


def test_a_second_demo_opens_the_one_there_and_says_how_to_start_over(dev, tmp_path: Path):
    cmd, where, _ = dev.task_command(["demo"], tmp_path)
    assert cmd[1:] == ["demo"]  # none yet: prepared from the sample data
    dev.DEMO.mkdir()
    (dev.DEMO / "tui-sync.toml").write_text("")
    cmd, where, say = dev.task_command(["demo"], tmp_path)
    assert "demo" not in cmd[1:] and cmd[1:] == ["--config", str(dev.DEMO / "tui-sync.toml")]
    assert where == dev.DEMO and "python3 dev.py demo --reset" in say
    cmd, _, say = dev.task_command(["demo", "--reset"], tmp_path)
    assert cmd[1:] == ["demo"] and say is None
    cmd, _, _ = dev.task_command(["demo", "--no-ui"], tmp_path)
    assert cmd[1:] == ["plan", "--config", str(dev.DEMO / "tui-sync.toml")]
