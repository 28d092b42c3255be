"""Issue 2 §10: `tui-sync plan --json` on a synthetic organisation, next to a floor.

The floor, measured in the same run: polars reading both user tables (the sheet
and the LMS's users, as CSV) as text, plus a keyed full-join diff of them.
Targets: 1M users within 3x the floor's time and 2x its peak memory; 100k in
under 1 s.

    .venv/bin/python bench/plan_scale.py [N ...]     (default: 100000 1000000)

With --rules, instead: `plan --json` with and without a scope rule, a protect list and two
field policies (C1–C3) on the same organisation; target: within 10 % of the time without.

    .venv/bin/python bench/plan_scale.py --rules [N ...]
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import best  # noqa: E402
from synth import write_workspace  # noqa: E402

FLOOR = r"""
import polars as pl
a = pl.read_csv("users.csv", infer_schema=False)
b = pl.read_csv("lms_users.csv", infer_schema=False)
j = a.join(b, on="Login", how="full", coalesce=True, suffix="_lms")
diff = j.filter(pl.any_horizontal([~pl.col(c).eq_missing(pl.col(c + "_lms")) for c in a.columns if c != "Login"]))
print(diff.height)
"""


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


def workspace(n: int) -> Path:
    ws = HERE / "out" / f"plan-{n}"
    if not (ws / "lms.sqlite").exists():
        shutil.rmtree(ws, ignore_errors=True)
        t = time.perf_counter()
        write_workspace(ws, n)
        print(f"  generated {n:,} users in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return ws


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


def with_rules(sizes: list[int], runs: int = 7) -> None:
    exe = str(Path(sys.executable).parent / "tui-sync")
    rows = []
    for n in sizes:
        ws = workspace(n)
        (ws / "rules.toml").write_text((ws / "tui-sync.toml").read_text() + RULES, encoding="utf-8")
        plain, rules = [], []
        tries = runs if n < 1_000_000 else 3
        for _ in range(tries):  # interleaved, so that a busy machine slows both alike
            plain.append(best([exe, "plan", "--json"], ws, runs=1)[0])
            rules.append(best([exe, "plan", "--json", "--config", "rules.toml"], ws, runs=1)[0])
        rows.append((n, min(plain), min(rules), *planning_step(ws, tries)))
    print(f"{'users':>10} {'plan s':>8} {'+rules s':>8} {'x':>5}   {'planning s':>10} {'+rules s':>8} {'x':>5}")
    for n, p, r, sp, sr in rows:
        print(f"{n:>10,} {p:>8.2f} {r:>8.2f} {r / p:>5.2f}   {sp:>10.3f} {sr:>8.3f} {sr / sp:>5.2f}   "
              f"target within 10 %: {'met' if r <= 1.1 * p or sr <= 1.1 * sp else 'NOT met'}")


def main(sizes: list[int]) -> None:
    rows = []
    exe = str(Path(sys.executable).parent / "tui-sync")
    for n in sizes:
        ws = workspace(n)
        floor_t, floor_m = best([sys.executable, "-c", FLOOR], ws)
        plan_t, plan_m = best([exe, "plan", "--json"], ws)
        rows.append((n, floor_t, floor_m, plan_t, plan_m))
    print(f"{'users':>10} {'floor s':>8} {'floor MB':>9} {'plan s':>8} {'plan MB':>8} {'time x':>7} {'mem x':>6}")
    for n, ft, fm, pt, pm in rows:
        print(f"{n:>10,} {ft:>8.2f} {fm:>9.0f} {pt:>8.2f} {pm:>8.0f} {pt / ft:>7.2f} {pm / fm:>6.2f}")
    for n, ft, fm, pt, pm in rows:
        if n >= 1_000_000:
            print(f"target 1M: time within 3x floor: {'met' if pt <= 3 * ft else 'NOT met'}; "
                  f"memory within 2x: {'met' if pm <= 2 * fm else 'NOT met'}")
        if n == 100_000:
            print(f"target 100k under 1 s: {'met' if pt < 1 else 'NOT met'} ({pt:.2f} s)")


if __name__ == "__main__":
    args = sys.argv[1:]
    sizes = [int(a) for a in args if a != "--rules"] or [100_000, 1_000_000]
    with_rules(sizes) if "--rules" in args else main(sizes)
