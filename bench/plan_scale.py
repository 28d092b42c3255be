"""`tui-sync plan --json` on the synthetic organisation of bench/synth.py (wide: 15
user columns with supervisors, ~n/100 departments up to 8 levels), next to a floor;
and `tui-sync lms load` of its LMS state.

The floor, measured in the same run: polars reading both user tables (the sheet
and the LMS's users, as CSV) as text, plus a keyed full-join diff of them.
Targets: 1M users within 2x the floor's time and 1.5x its peak memory, and
`lms load` of them under 60 s; 100k users planned in under 0.5 s. Exits 1 when
a target is missed.

    .venv/bin/python bench/plan_scale.py [N ...]     (default: 100000 1000000)

A workspace (bench/out/plan-N) is built once and reused; its `lms load` figures
are those of the build (delete the folder to measure them again).
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from measure import best, run
from synth import LOAD_HEADERS, write_workspace

HERE = Path(__file__).resolve().parent

FLOOR = r"""
import polars as pl
a = pl.read_csv("users.csv", infer_schema=False)
b = pl.read_csv("lms_users.csv", infer_schema=False).rename({v: k for k, v in %r.items()}, strict=False)
j = a.join(b, on="Login", how="full", coalesce=True, suffix="_lms")
diff = j.filter(pl.any_horizontal([~pl.col(c).eq_missing(pl.col(c + "_lms")) for c in a.columns if c != "Login"]))
print(diff.height)
""" % (LOAD_HEADERS,)
VERSION = "wide-1"  # of the workspace layout: a workspace of another version is rebuilt
EXE = str(Path(sys.executable).parent / "tui-sync")


def timed_load(figures: Path):
    def load(config: Path, departments: Path, users: Path) -> None:
        r = run([EXE, "--config", str(config), "lms", "load", "--departments", str(departments), "--users", str(users)],
                config.parent)
        if not config.parent.joinpath("lms.sqlite").exists():
            raise SystemExit(f"lms load wrote no database in {config.parent}")
        figures.write_text(json.dumps({"seconds": r.seconds, "cpu": r.cpu, "mb": r.mb}))
    return load


def workspace(n: int) -> Path:
    """The workspace of n users (bench/out/plan-N), built once and reused while its layout holds."""
    ws = HERE / "out" / f"plan-{n}"
    figures, version = ws / "lms-load.json", ws / "version"
    if not figures.exists() or not version.exists() or version.read_text() != VERSION:
        shutil.rmtree(ws, ignore_errors=True)
        t = time.perf_counter()
        write_workspace(ws, n, wide=True, loader=timed_load(figures))
        version.write_text(VERSION)
        print(f"  generated {n:,} users in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return ws


def main(sizes: list[int]) -> int:
    rows = []
    for n in sizes:
        ws = workspace(n)
        load = json.loads((ws / "lms-load.json").read_text())
        rows.append((n, best([sys.executable, "-c", FLOOR], ws), best([EXE, "plan", "--json"], ws), load))
    print("wall seconds (CPU seconds) and peak MB; the targets are on wall time")
    print(f"{'users':>10} {'floor s':>14} {'floor MB':>9} {'plan s':>14} {'plan MB':>8} {'time x':>7} {'cpu x':>6}"
          f" {'mem x':>6} {'load s':>14} {'load MB':>8}")
    for n, f, p, load in rows:
        print(f"{n:>10,} {f.seconds:>6.2f} ({f.cpu:>5.2f}) {f.mb:>9.0f} {p.seconds:>6.2f} ({p.cpu:>5.2f}) {p.mb:>8.0f}"
              f" {p.seconds / f.seconds:>7.2f} {p.cpu / f.cpu:>6.2f} {p.mb / f.mb:>6.2f}"
              f" {load['seconds']:>6.1f} ({load.get('cpu', 0):>5.1f}) {load['mb']:>8.0f}")
    missed = 0
    for n, f, p, load in rows:
        if n >= 1_000_000:
            for what, ok in ((f"plan time within 2x the floor ({p.seconds / f.seconds:.2f}x)", p.seconds <= 2 * f.seconds),
                             (f"plan memory within 1.5x the floor ({p.mb / f.mb:.2f}x)", p.mb <= 1.5 * f.mb),
                             (f"lms load under 60 s ({load['seconds']:.1f} s)", load["seconds"] < 60)):
                print(f"target {n:,}: {what}: {'met' if ok else 'NOT met'}")
                missed += not ok
        if n == 100_000:
            print(f"target 100,000: plan under 0.5 s ({p.seconds:.2f} s): {'met' if p.seconds < 0.5 else 'NOT met'}")
            missed += p.seconds >= 0.5
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]))
