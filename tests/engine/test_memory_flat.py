"""A long-lived process (the UI, the daemon) plans again and again: its memory must stop growing."""
from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from tui_sync import service
from tui_sync.plan_io import read_plan, write_plan
from tui_sync.ui.plan_rows import PlanView

ROUNDS = 50
GROWTH_BOUND_MB = 5.0  # over the last 25 rounds; a plan that is never freed costs ~0.5 MB a round


def resident_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


class Pane:
    """What a screen holds of a plan, with a link back to itself as widget trees have: once
    replaced, only the cyclic collector can free it."""

    def __init__(self, result: service.PlanResult, saved) -> None:
        self.result, self.view, self.saved = result, PlanView(result.plan), saved
        self.children = [self]


def test_planning_again_and_again_keeps_resident_memory_flat(tmp_path):
    cfg = asyncio.run(service.prepare_demo(tmp_path / "demo"))
    path = tmp_path / "plan.json"
    rss: list[float] = []
    pane = None
    for _ in range(ROUNDS):  # a plan per round, each in its own event loop, as the UI's plan worker does
        result = asyncio.run(service.make_plan(cfg))
        write_plan(result.plan, path)
        pane = Pane(result, read_plan(path))
        rss.append(resident_mb())
    assert pane is not None and pane.view.changes  # the demo plans something
    growth = rss[-1] - rss[ROUNDS // 2 - 1]
    assert growth < GROWTH_BOUND_MB, f"resident memory grew {growth:.1f} MB over the last {ROUNDS // 2} plans: {rss}"
    assert gc.get_freeze_count() == 0  # nothing planning built was taken out of the collector's reach
