"""Fixtures for every folder of tests (tests/ui/conftest.py adds the UI's)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tui_sync import service


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The demo folder (sample_data's sheets and config, the embedded LMS in its prior state); its config path."""
    return asyncio.run(service.prepare_demo(tmp_path / "demo")).path
