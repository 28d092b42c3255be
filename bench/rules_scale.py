"""`tui-sync plan --json` with and without C1–C3 rules (a scope rule, a protect list and two
field policies) on bench/plan_scale.py's organisation. Target: within 10 % of the time
without them. Exits 1 when the target is missed.

    .venv/bin/python bench/rules_scale.py [N ...]     (default: 100000 1000000)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from measure import best
from plan_scale import EXE, workspace

# C1–C3 as an administrator would set them: a scope rule on a column, admin accounts protected,
# two field policies. (The synthetic sheet has no contractors: the rule is evaluated on every row
# and drops none, so both plans do the same work apart from the rules.)
RULES = """
[users.scope]
exclude = [{ column = "Title", values = ["Contractor", "Intern"] }]

[protect]
users = ["admin", "svc-*"]

[users.fields]
jobTitle = { blank = "keep" }
phone = { update = "if_empty" }
"""


def planning_step(ws: Path, runs: int) -> tuple[float, float]:
    """Best seconds of the planning step alone (sheets, LMS and ledger read once), without and with
    the rules: the process times above vary more on a busy machine than the rules cost."""
    import asyncio

    from tui_sync import service
    from tui_sync.engine.planner import Inputs, build_plan
    from tui_sync.state.ledger import Ledger

    plain, rules = service.load(ws / "tui-sync.toml"), service.load(ws / "rules.toml")
    sheets, snap, ledger = service.read_sources(plain), asyncio.run(service.snapshot(plain)), Ledger(plain.state)
    managed = (ledger.departments(), ledger.users())

    def inputs(c) -> Inputs:
        return Inputs(sheets.departments, sheets.users, c.departments.mapping, c.users.mapping, snap, *managed,
                      department_scope=c.departments.scope, user_scope=c.users.scope, protect=c.protect,
                      department_fields=c.departments.fields, user_fields=c.users.fields)

    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(runs):
        for i, c in enumerate((plain, rules)):
            t = time.perf_counter()
            build_plan(inputs(c))
            times[i].append(time.perf_counter() - t)
    return min(times[0]), min(times[1])


def with_rules(sizes: list[int], runs: int = 7) -> int:
    exe = EXE
    rows = []
    for n in sizes:
        ws = workspace(n)
        (ws / "rules.toml").write_text((ws / "tui-sync.toml").read_text() + RULES, encoding="utf-8")
        plain, rules = [], []
        tries = runs if n < 1_000_000 else 3
        for _ in range(tries):  # interleaved, so that a busy machine slows both alike
            plain.append(best([exe, "plan", "--json"], ws, runs=1).seconds)
            rules.append(best([exe, "plan", "--json", "--config", "rules.toml"], ws, runs=1).seconds)
        rows.append((n, min(plain), min(rules), *planning_step(ws, tries)))
    print(f"{'users':>10} {'plan s':>8} {'+rules s':>8} {'x':>5}   {'planning s':>10} {'+rules s':>8} {'x':>5}")
    missed = 0
    for n, p, r, sp, sr in rows:
        ok = r <= 1.1 * p or sr <= 1.1 * sp
        missed += not ok
        print(f"{n:>10,} {p:>8.2f} {r:>8.2f} {r / p:>5.2f}   {sp:>10.3f} {sr:>8.3f} {sr / sp:>5.2f}   "
              f"target within 10 %: {'met' if ok else 'NOT met'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(with_rules([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]))
