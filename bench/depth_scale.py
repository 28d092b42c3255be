"""Deep structures: a department chain N deep and a supervisor chain of N users,
planned and applied into an empty embedded LMS, then planned again.

Department k's parent is department k-1; user k reports to user k-1 and works
in department k. The sheets list the rows shuffled, as an export may.
Target (N = 20,000): plan plus apply under 30 s, and the second plan has no
changes. Exits 1 when a target is missed.

With --protect, the config sets `[protect] departments` (C2) to a code no department
has, so every change's department is checked all the way up its chain; after the
apply, the chain's middle department is protected and planned once more (its
subtree, half the chain, as the LMS holds it): still no changes.

    .venv/bin/python bench/depth_scale.py [N] [--protect]     (default: 20000)
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import polars as pl

from measure import run
from synth import CONFIG

HERE = Path(__file__).resolve().parent

TARGET_SECONDS = 30.0
EXE = str(Path(sys.executable).parent / "tui-sync")


def config(protect: str | None) -> str:
    text = CONFIG + 'subordination = "Supervisor"\n'
    return text + (f'\n[protect]\ndepartments = ["{protect}"]\n' if protect else "")


def write_chains(root: Path, n: int, protect: str | None = None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tui-sync.toml").write_text(config(protect), encoding="utf-8")
    k = pl.col("k")
    code = "C" + k.cast(pl.String).str.zfill(6)
    login = "chain" + k.cast(pl.String).str.zfill(6)
    frame = pl.DataFrame({"k": pl.int_range(0, n, eager=True)})
    frame.select(
        code.alias("Code"), ("Level " + k.cast(pl.String)).alias("Name"),
        pl.when(k > 0).then("C" + (k - 1).cast(pl.String).str.zfill(6)).alias("Parent"),
    ).sample(fraction=1.0, shuffle=True, seed=1).write_csv(root / "departments.csv")
    frame.select(
        login.alias("Login"), (login + "@example.com").alias("Email"), pl.lit("Chain").alias("First"),
        ("User " + k.cast(pl.String)).alias("Last"), code.alias("Dept"), pl.lit("Link").alias("Title"),
        ("+49 30 " + k.cast(pl.String).str.zfill(7)).alias("Phone"),
        pl.when(k > 0).then("chain" + (k - 1).cast(pl.String).str.zfill(6)).alias("Supervisor"),
    ).sample(fraction=1.0, shuffle=True, seed=2).write_csv(root / "users.csv")


def main(n: int, protect: bool = False) -> int:
    ws = HERE / "out" / f"depth-{n}{'-protect' if protect else ''}"
    shutil.rmtree(ws, ignore_errors=True)
    write_chains(ws, n, "EXT-*" if protect else None)
    plan = run([EXE, "plan", "--out", "plan.json"], ws)
    summary = json.loads((ws / "plan.json").read_text())["summary"]
    applied = run([EXE, "apply", "--plan", "plan.json", "--approve", "all"], ws)
    again_run = run([EXE, "plan", "--out", "again.json"], ws)
    again = json.loads((ws / "again.json").read_text())
    left = len(again["changes"])
    total = plan.seconds + applied.seconds
    print(f"chains {n:,} deep: {summary['create_department']:,} department and {summary['create_user']:,} user "
          f"creates, {summary['errors']} errors (wall seconds, CPU seconds, peak MB)")
    print(f"plan:  {plan.seconds:6.2f} s ({plan.cpu:.2f} s CPU, {plan.mb:.0f} MB)")
    print(f"apply: {applied.seconds:6.2f} s ({applied.cpu:.2f} s CPU, {applied.mb:.0f} MB)")
    print(f"plan again: {again_run.seconds:6.2f} s, {left} changes, {again['summary']['errors']} errors")
    if protect:  # C2: half the chain protected, as the LMS holds it
        (ws / "tui-sync.toml").write_text(config(f"C{n // 2:06d}"), encoding="utf-8")
        sub_run = run([EXE, "plan", "--out", "protected.json"], ws)
        sub = json.loads((ws / "protected.json").read_text())
        left += len(sub["changes"])
        print(f"plan with C{n // 2:06d} protected: {sub_run.seconds:6.2f} s ({sub_run.cpu:.2f} s CPU), "
              f"{len(sub['changes'])} changes, {sub['summary']['errors']} errors")
    ok_time = total < TARGET_SECONDS
    ok_left = left == 0 and summary["create_department"] == n and summary["create_user"] == n
    print(f"target plan + apply under {TARGET_SECONDS:.0f} s ({total:.1f} s): {'met' if ok_time else 'NOT met'}")
    print(f"target every link created, nothing left to plan: {'met' if ok_left else 'NOT met'}")
    return 0 if ok_time and ok_left else 1


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--protect"]
    sys.exit(main(int(args[0]) if args else 20_000, "--protect" in sys.argv[1:]))
