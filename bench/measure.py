"""Time and peak memory of a whole process (what an operator waits for)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUNNER = r"""
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.perf_counter() - t
if p.returncode not in (0, 1, 4):
    sys.stderr.write(p.stderr.decode()); sys.exit(p.returncode)
print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak resident MB) of `cmd` run as its own process."""
    out = subprocess.run([sys.executable, "-c", RUNNER, *cmd], cwd=cwd, capture_output=True, text=True, check=True)
    seconds, kb = out.stdout.split()
    return float(seconds), int(kb) / 1024


def best(cmd: list[str], cwd: Path, runs: int = 3) -> tuple[float, float]:
    results = [measure(cmd, cwd) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)
