"""Benchmark: requests per change when the engine applies a month's delta to iSpring Learn.

Starts the loopback emulator (tests/ispring_emulator.py, the API's page size of 1000) with a fixed
latency per request, plans a typical month's delta (30 hires, 20 field updates, 20 moves into one
department, 20 leavers: 90 changes) and applies it through the service layer, as
`tui-sync apply --approve all` does. Reports the requests per change by kind of request, the
changes per second and the share of the rate limit used. Targets: at most 1.1 requests per change
and at least 90 % of the rate limit. Exits 1 when one is missed.

    .venv/bin/python -m bench.ispring_apply                      # the month's delta at 5 requests/s
    .venv/bin/python -m bench.ispring_apply --scale 10 --rate 50 # ten times the delta, a faster account

It runs as a module from the repository's root, where the tests' emulator and workspace builder
are `tests.ispring_emulator` and `tests.workspace`.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tui_sync import service
from tui_sync.state.ledger import Ledger

try:  # the tests' own loopback iSpring emulator and workspace builder
    from tests.ispring_emulator import ISpringEmulator
    from tests.workspace import Workspace, dept, person
except ModuleNotFoundError as exc:
    if exc.name != "tests":
        raise
    sys.exit("Run this bench from the repository's root as a module: .venv/bin/python -m bench.ispring_apply")

MAX_REQUESTS_PER_CHANGE = 1.1
MIN_RATE_USE = 0.90
SECRET_ENV = "TUI_SYNC_BENCH_ISPRING_SECRET"
STAFF = 200  # users that stay as they are


class _Env:
    def setenv(self, name: str, value: str) -> None:
        os.environ[name] = value


def _kind(method: str, path: str) -> str:
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27,}", "/{id}", path)
    return f"{method} {path}"


def build(ws: Workspace, emu: ISpringEmulator, scale: int) -> None:
    """The LMS before the month, and the sheets after it."""
    hq = emu.add_department("Headquarters", "HQ")
    sales = emu.add_department("Sales", "SALES")
    n = {"staff": STAFF * scale, "update": 20 * scale, "move": 20 * scale, "leave": 20 * scale, "hire": 30 * scale}
    ids = []
    rows = []
    for group in ("staff", "update", "move", "leave"):
        for i in range(n[group]):
            login = f"{group}.u{i:05}"
            ids.append(emu.add_user(login, f"{login}@example.com", group.title(), f"U{i}", department_id=hq,
                                    job_title="Clerk"))
            if group == "leave":
                continue
            rows.append(person(login, "SALES" if group == "move" else "HQ", First=group.title(), Last=f"U{i}",
                               Title="Lead" if group == "update" else "Clerk"))
    rows += [person(f"hire.u{i:05}", "HQ", First="Hire", Last=f"U{i}", Title="Clerk") for i in range(n["hire"])]
    ws.sheets([dept("HQ", "Headquarters"), dept("SALES", "Sales")], rows)
    Ledger(ws.root / ".tui-sync").record({hq: None, sales: None}, dict.fromkeys(ids))


def run(scale: int, rate: float, latency: float) -> bool:
    with ISpringEmulator(latency=latency) as emu, tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        ws.use_ispring(emu, SECRET_ENV, _Env(), rate=rate)
        build(ws, emu, scale)
        cfg = ws.config
        plan = asyncio.run(service.make_plan(cfg)).plan
        changes = Counter(c.kind.value for c in plan.changes)
        before = len(emu.requests)
        started = time.monotonic()
        report = asyncio.run(service.apply(cfg, plan=plan, approve="all"))
        elapsed = time.monotonic() - started
        seen = emu.requests[before:]
    outcomes = Counter(c.outcome for c in report.run.changes)
    total = sum(changes.values())
    per_change = len(seen) / total
    rate_use = len(seen) / elapsed / rate
    print(f"iSpring apply through the engine: rate {rate:g}/s, latency {latency * 1000:.0f} ms, "
          f"page size 1000", flush=True)
    print("changes: " + ", ".join(f"{n} {k}" for k, n in sorted(changes.items())) + f" ({total})")
    print("outcomes: " + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())))
    print("requests by kind:")
    for kind, n in Counter(_kind(r.method, r.path) for r in seen).most_common():
        print(f"  {n:6}  {n / total:5.2f} per change  {kind}")
    ok_requests = per_change <= MAX_REQUESTS_PER_CHANGE
    ok_rate = rate_use >= MIN_RATE_USE
    ok_outcomes = set(outcomes) == {"applied"}
    print(f"{len(seen)} requests for {total} changes: {per_change:.2f} per change "
          f"(target <= {MAX_REQUESTS_PER_CHANGE}: {'met' if ok_requests else 'NOT met'})")
    print(f"{elapsed:.1f} s: {total / elapsed:.1f} changes/s, {len(seen) / elapsed:.2f} requests/s = "
          f"{rate_use:.0%} of the rate limit (target >= {MIN_RATE_USE:.0%}: {'met' if ok_rate else 'NOT met'})")
    if not ok_outcomes:
        print("NOT every change was applied")
    return ok_requests and ok_rate and ok_outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1, help="multiply the month's delta (and the staff)")
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second (the account's limit)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the emulator adds to each request")
    args = parser.parse_args()
    sys.exit(0 if run(args.scale, args.rate, args.latency) else 1)


if __name__ == "__main__":
    main()
