"""Time, CPU time and peak memory of a whole process (what an operator waits for).

The CPU time (user + system, of every thread) is reported beside the wall time: on a
machine that other work keeps busy, it shows what the process itself costs."""
from __future__ import annotations

import compileall
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The tool as an operator runs it: pip compiles an installed package's modules to bytecode, where an
# editable install under PYTHONDONTWRITEBYTECODE (as some sandboxes and CI set) compiles them again at
# every start (~0.05 s of each command). Written beside the sources, as Python itself would.
compileall.compile_dir(Path(__file__).resolve().parent.parent / "tui_sync", quiet=1)

RUNNER = r"""
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.perf_counter() - t
if p.returncode not in (0, 1, 4):
    sys.stderr.write(p.stderr.decode()); sys.exit(p.returncode)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(dt, r.ru_maxrss, r.ru_utime + r.ru_stime)
"""


@dataclass(frozen=True)
class Run:
    seconds: float  # wall
    cpu: float  # user + system seconds
    mb: float  # peak resident MB


def run(cmd: list[str], cwd: Path) -> Run:
    out = subprocess.run([sys.executable, "-c", RUNNER, *cmd], cwd=cwd, capture_output=True, text=True, check=True)
    seconds, kb, cpu = out.stdout.split()
    return Run(float(seconds), float(cpu), int(kb) / 1024)


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak resident MB) of `cmd` run as its own process."""
    r = run(cmd, cwd)
    return r.seconds, r.mb


def best(cmd: list[str], cwd: Path, runs: int = 3) -> Run:
    """The least wall and CPU time and the most memory of `runs` runs."""
    results = [run(cmd, cwd) for _ in range(runs)]
    return Run(min(r.seconds for r in results), min(r.cpu for r in results), max(r.mb for r in results))
