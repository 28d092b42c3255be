"""A1, A2 at scale: apply 100,000 user creates plus 50,000 updates to the embedded LMS.

Target: under 20 s on the 2-core machine, and a re-plan after it that plans
nothing. Times `tui-sync apply --plan` as a whole process (planning is timed
separately). Exits 1 when a target is missed.

    .venv/bin/python bench/apply_scale.py
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from measure import measure, run
from synth import Mix, write_workspace

HERE = Path(__file__).resolve().parent


def main() -> int:
    ws = HERE / "out" / "apply-150k"
    shutil.rmtree(ws, ignore_errors=True)
    t = time.perf_counter()
    # 50,000 LMS users, every one updated, plus 100,000 new hires
    write_workspace(ws, 50_000, Mix(removed=0.0, new=2.0, updated=1.0, moved=0.0, new_departments=0.0,
                                       renamed_departments=0.0, closed_departments=0.0), n_departments=500)
    print(f"generated in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    exe = str(Path(sys.executable).parent / "tui-sync")
    plan_t, plan_m = measure([exe, "plan", "--out", "plan.json"], ws)
    summary = json.loads((ws / "plan.json").read_text())["summary"]
    applied = run([exe, "apply", "--plan", "plan.json", "--approve", "all"], ws)
    apply_t, apply_m = applied.seconds, applied.mb
    again_t, _ = measure([exe, "plan", "--out", "again.json"], ws)
    left = len(json.loads((ws / "again.json").read_text())["changes"])
    print(f"plan:  {summary['create_user']:,} creates, {summary['update_user']:,} updates "
          f"in {plan_t:.2f} s ({plan_m:.0f} MB)")
    print(f"apply: {apply_t:.2f} s ({apply_m:.0f} MB; {applied.cpu:.2f} s CPU: on a busy machine the wall time "
          f"waits for the CPU), {(summary['create_user'] + summary['update_user']) / apply_t:,.0f} changes/s")
    print(f"re-plan after apply: {left} changes left ({again_t:.2f} s)")
    print(f"target under 20 s: {'met' if apply_t < 20 else 'NOT met'}")
    print(f"target nothing left to plan after the apply: {'met' if left == 0 else 'NOT met'}")
    return 0 if apply_t < 20 and left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
