"""Issue 2 §10: `tui-sync plan --json` on a synthetic organisation, next to a floor.

The floor, measured in the same run: polars reading both user tables (the sheet
and the LMS's users, as CSV) as text, plus a keyed full-join diff of them.
Targets: 1M users within 3x the floor's time and 2x its peak memory; 100k in
under 1 s.

    .venv/bin/python bench/plan_scale.py [N ...]     (default: 100000 1000000)
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


def main(sizes: list[int]) -> None:
    out = HERE / "out"
    exe = str(Path(sys.executable).parent / "tui-sync")
    rows = []
    for n in sizes:
        ws = out / f"plan-{n}"
        if not (ws / "lms.sqlite").exists():
            shutil.rmtree(ws, ignore_errors=True)
            t = time.perf_counter()
            write_workspace(ws, n)
            print(f"  generated {n:,} users in {time.perf_counter() - t:.1f} s", file=sys.stderr)
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
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
