"""Benchmark: applying changes to iSpring Learn through the client keeps the rate limit busy.

Starts the loopback emulator (tests/ispring_emulator.py) with a fixed latency per
request, then applies N changes (half user creates, half user updates) directly
through `ISpringLMS` with a pool of workers (as the apply engine will), and
compares the achieved throughput with the theoretical limit
min(rate, concurrency / latency). Target: at least 70 %.

    .venv/bin/python bench/ispring_apply.py                 # the three standard scenarios
    .venv/bin/python bench/ispring_apply.py --quick         # a tenth of the changes
    .venv/bin/python bench/ispring_apply.py --count 2000 --rate 50 --concurrency 4 --latency 0.05
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from ispring_emulator import ISpringEmulator  # noqa: E402

from tui_sync.config import LmsConfig, Secret  # noqa: E402
from tui_sync.lms.base import UserRecord  # noqa: E402
from tui_sync.lms.ispring import ISpringLMS  # noqa: E402

TARGET = 0.70
SECRET_ENV = "TUI_SYNC_BENCH_ISPRING_SECRET"


@dataclass(frozen=True)
class Result:
    count: int
    rate: float
    concurrency: int
    latency: float
    elapsed: float
    requests: int

    @property
    def theoretical(self) -> float:
        return min(self.rate, self.concurrency / self.latency) if self.latency > 0 else self.rate

    @property
    def achieved(self) -> float:
        return self.count / self.elapsed

    @property
    def share(self) -> float:
        return self.achieved / self.theoretical


async def apply_changes(count: int, rate: float, concurrency: int, latency: float) -> Result:
    with ISpringEmulator(latency=latency) as emu, tempfile.TemporaryDirectory() as state:
        os.environ[SECRET_ENV] = emu.client_secret
        cfg = LmsConfig(kind="ispring", base_url=emu.base_url, client_id=emu.client_id,
                        client_secret=Secret(env=SECRET_ENV), requests_per_second=rate)
        async with ISpringLMS(cfg, Path(state), concurrency=concurrency) as lms:
            department = await lms.create_department(code="BENCH", name="Bench", parent_id=None)
            await lms.find_user(login="warm-up")  # the profile field catalogue, as apply's checks would
            creates = count // 2
            updates = count - creates
            queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
            for i in range(creates):
                queue.put_nowait(("create", i))
            ids: list[str | None] = [None] * creates
            errors: list[BaseException] = []

            async def worker() -> None:
                while True:
                    try:
                        kind, i = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    try:
                        if kind == "create":
                            ids[i] = await lms.create_user(UserRecord(
                                id="", login=f"user{i:06}", email=f"user{i:06}@example.com", firstName="Bench",
                                lastName=f"User {i}", department_id=department, status="active"))
                        else:
                            await lms.update_user(ids[i % creates], {"jobTitle": f"Title {i}"})
                    except Exception as exc:  # report, keep going
                        errors.append(exc)

            requests_before = len(emu.requests)
            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            for i in range(updates):
                queue.put_nowait(("update", i))
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.monotonic() - started
            requests = len(emu.requests) - requests_before
        if errors:
            raise SystemExit(f"{len(errors)} change(s) failed, the first: {errors[0]}")
        made = sum(1 for u in emu.users())
        if made != creates:
            raise SystemExit(f"expected {creates} users, the emulator holds {made}")
    return Result(count, rate, concurrency, latency, elapsed, requests)


def report(r: Result) -> bool:
    ok = r.share >= TARGET
    print(
        f"{r.count:>6} changes  rate {r.rate:>6g}/s  concurrency {r.concurrency}  latency {r.latency * 1000:.0f} ms: "
        f"{r.elapsed:7.1f} s, {r.achieved:6.1f} changes/s ({r.requests} requests) "
        f"vs. limit {r.theoretical:6.1f}/s = {r.share:5.1%} {'ok' if ok else 'BELOW TARGET'}",
        flush=True,
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, help="changes to apply (with --rate: one custom scenario)")
    parser.add_argument("--rate", type=float, help="requests per second")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the emulator adds to each request")
    parser.add_argument("--quick", action="store_true", help="a tenth of the standard counts")
    args = parser.parse_args()
    if args.count or args.rate:
        scenarios = [(args.count or 1000, args.rate or 100.0)]
    else:
        scale = 10 if args.quick else 1
        scenarios = [
            (10_000 // scale, 100.0),   # the rate binds: min(100, 8 / 0.02 = 400)
            (10_000 // scale, 1000.0),  # concurrency / latency binds: min(1000, 400)
            (100 // scale, 5.0),        # the default rate
        ]
    print(f"iSpring apply benchmark (target: {TARGET:.0%} of min(rate, concurrency / latency))", flush=True)
    results = [report(asyncio.run(apply_changes(count, rate, args.concurrency, args.latency)))
               for count, rate in scenarios]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
