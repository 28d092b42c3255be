#!/usr/bin/env python3
"""Set up the project's own environment (./.venv) when missing, then run a task.

    python3 dev.py demo           # the UI on sample_data/ with the embedded LMS (./tui-sync-demo)
    python3 dev.py demo --reset   # start the demo over (its LMS, runs and review are kept otherwise)
    python3 dev.py test           # the whole test suite
    python3 dev.py walkthrough    # the demo driven in tmux at 80×24 and 120×40 (approve … apply … runs)
    python3 dev.py -- ARGS        # tui-sync ARGS inside the environment, in the current folder

Only the standard library is used here: this is what runs on a fresh machine.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".tui-sync-installed"


def _wanted() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"tui_sync needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PY.exists():
        print("setting up .venv (first run only) …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != _wanted():
        # quiet: setuptools' deprecation warnings about editable installs say nothing to act on here
        quiet = {**os.environ, "PYTHONWARNINGS": "ignore"}
        subprocess.check_call([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], env=quiet)
        subprocess.check_call([str(PY), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"], env=quiet)
        STAMP.write_text(_wanted())


DEMO = ROOT / "tui-sync-demo"
RESET_HINT = "python3 dev.py demo --reset"


def task_command(argv: list[str], cwd: Path) -> tuple[list[str], Path, str | None]:
    """What a task runs: (command, folder to run it in, a line to say first). No side effects."""
    task, args = (argv[0], argv[1:]) if argv else ("demo", [])
    if task == "demo":
        reset = "--reset" in args
        args = [a for a in args if a != "--reset"]
        config = DEMO / "tui-sync.toml"
        if config.exists() and not reset and "--dir" not in args:
            # an earlier demo, perhaps applied: its LMS, runs and saved review stay
            cmd = [str(BIN / "tui-sync"), *(["plan"] if "--no-ui" in args else []), "--config", str(config)]
            return cmd, DEMO, (f"Opening the demo in {DEMO} as it was left (its LMS, runs and review are "
                               f"kept). To start it over from the sample data: {RESET_HINT}")
        return [str(BIN / "tui-sync"), "demo", *args], ROOT, None
    if task == "test":
        return [str(PY), "-m", "pytest", *args], ROOT, None
    if task == "walkthrough":
        return [str(PY), str(ROOT / "tests" / "tmux_walkthrough.py"), *args], ROOT, None
    if task == "--":
        return [str(BIN / "tui-sync"), *args], cwd, None  # in the caller's folder: `-- lms dump` in a demo
    raise ValueError(task)


def main(argv: list[str]) -> int:
    if argv and argv[0] not in ("demo", "test", "walkthrough", "--"):
        print(__doc__, file=sys.stderr)
        return 2
    ensure_env()
    cmd, where, say = task_command(argv, Path.cwd())
    if say:
        print(say, file=sys.stderr)
    return subprocess.call(cmd, cwd=where)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
