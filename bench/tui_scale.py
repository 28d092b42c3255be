"""How the terminal UI copes with a plan of ~100,000 changes (a virtual review table, workers).

Drives the real app headless (App.run_test) on a synthetic organisation
(bench/synth.py) whose plan has about 100k changes, and prints:

- planning time (the engine, for reference),
- how long after planning finished the review table shows the plan (target < 1 s),
- the response time of keys: moving, paging, jumping, filtering, searching,
  approving (target < 100 ms each; worst and median of several presses).

    .venv/bin/python bench/tui_scale.py [--users 350000] [--dir /tmp/tui-scale]

The workspace is built once and reused (delete the folder to rebuild).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from textual import events

from tui_sync.ui.app import SyncApp
from tui_sync.ui.messages import PlanReady
from tui_sync.ui.widgets.plan_table import PlanTable

from synth import Mix, write_workspace

TARGET_SHOW = 1.0
TARGET_KEY = 0.100
MIX = Mix(removed=0.02, new=0.03, updated=0.2, moved=0.05)  # ~29% of users change


class TimedApp(SyncApp):
    """Notes when the plan worker handed its plan over, and when each frame was drawn."""

    plan_ready_at: float | None = None
    plan_started_at: float | None = None
    last_frame: float = 0.0

    def start_plan(self, *a, **kw) -> None:
        self.plan_started_at = time.perf_counter()
        super().start_plan(*a, **kw)

    def on_plan_ready(self, message: PlanReady) -> None:
        self.plan_ready_at = message.time_made
        super().on_plan_ready(message)

    def _display(self, screen, renderable) -> None:
        super()._display(screen, renderable)
        self.last_frame = time.perf_counter()


async def key_latency(app: TimedApp, pilot, key: str) -> float:
    """From the key event to the frame that shows its effect (the screen's next update)."""
    char = key if len(key) == 1 else None
    start = time.perf_counter()
    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)
    await pilot._wait_for_screen()
    handled = time.perf_counter()
    deadline = handled + 2.0
    while app.last_frame < handled and time.perf_counter() < deadline:
        await asyncio.sleep(0.0005)
    return max(app.last_frame, handled) - start


async def measure(config: Path, size: tuple[int, int]) -> list[tuple[str, float, float, str]]:
    app = TimedApp(config)
    rows: list[tuple[str, float, float, str]] = []
    async with app.run_test(size=size) as pilot:
        while app.session.view is None:
            await asyncio.sleep(0.001)
            if app.session.plan_error:
                raise SystemExit(app.session.plan_error)
        table = app.screen.query_one(PlanTable)
        while table.row_count() == 0:
            await asyncio.sleep(0.001)
        ready = time.perf_counter()
        while app.last_frame < ready:
            await asyncio.sleep(0.0005)
        n = len(app.session.view.changes)
        assert app.plan_ready_at is not None and app.plan_started_at is not None
        plan_seconds = app.plan_ready_at - app.plan_started_at
        rows.append((f"plan made by the engine ({n} changes)", plan_seconds, plan_seconds, "reference"))
        show = app.last_frame - app.plan_ready_at
        rows.append(("review table shows the plan, after planning", show, show,
                     "ok" if show < TARGET_SHOW else "SLOW"))

        async def timed(label: str, keys: list[str], repeat: int = 1) -> None:
            times = []
            for _ in range(repeat):
                for k in keys:
                    times.append(await key_latency(app, pilot, k))
            worst, median = max(times), statistics.median(times)
            rows.append((label, worst, median, "ok" if worst < TARGET_KEY else "SLOW"))

        while any(w.name == "search-index" and w.is_running for w in app.screen.workers):
            await asyncio.sleep(0.05)  # the search index builds in the background after the plan shows
        await pilot.pause()
        await timed("down (move the cursor)", ["down"], 30)
        await timed("pagedown", ["pagedown"], 10)
        await timed(f"end / home (jump {n} rows)", ["end", "home"], 3)
        await timed("k: cycle the kind filter", ["k"], 8)
        await timed("d: cycle the decision filter", ["d"], 4)
        await timed("p: cycle the problem filter", ["p"], 3)
        await timed("c: clear the filters", ["c"], 2)
        await pilot.press("slash")
        await timed(f"search: type a letter (filters {n})", list("user0001"), 1)
        await pilot.press("escape", "c")
        await timed("a: approve one change", ["a"], 10)
        await timed("u: undo", ["u"], 10)
        await timed("v + 20× shift+down: extend a selection", ["v"] + ["shift+down"] * 20, 1)
        await timed("r: reject the selection", ["r"], 1)
        await pilot.press("escape")
        await timed("A: ask to approve all shown", ["A"], 1)
        t = await key_latency(app, pilot, "y")
        rows.append((f"y: approve all {n} shown (one action)", t, t, "ok" if t < TARGET_SHOW else "SLOW"))
        await timed("down after approving all", ["down"], 10)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=350_000, help="users in the synthetic LMS (350k → ~100k changes)")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/tui-scale"))
    ap.add_argument("--size", default="120x40", help="terminal size, WxH")
    args = ap.parse_args()
    config = args.dir / "tui-sync.toml"
    if not config.exists() or not (args.dir / f".users-{args.users}").exists():
        print(f"building a workspace of {args.users} users in {args.dir} …", flush=True)
        t = time.perf_counter()
        write_workspace(args.dir, args.users, MIX)
        (args.dir / f".users-{args.users}").touch()
        print(f"  {time.perf_counter() - t:.1f} s", flush=True)
    w, h = (int(x) for x in args.size.split("x"))
    rows = asyncio.run(measure(config, (w, h)))
    print(f"\ntui_sync UI at scale ({args.users} users, terminal {w}×{h})")
    print(f"  {'what':<52} {'worst':>9} {'median':>9}")
    for label, worst, median, verdict in rows:
        print(f"  {label:<52} {worst * 1000:>7.0f}ms {median * 1000:>7.0f}ms  {verdict}")
    slow = [r for r in rows if r[3] == "SLOW"]
    print(f"\ntargets: shown < {TARGET_SHOW * 1000:.0f} ms after planning; each key < {TARGET_KEY * 1000:.0f} ms. "
          + ("All met." if not slow else f"{len(slow)} missed."))


if __name__ == "__main__":
    main()
