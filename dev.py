#!/usr/bin/env python3
"""Set up the project's own environment (./.venv) when missing, then run a task.

    python3 dev.py demo     # the UI on sample_data/ with the embedded LMS
    python3 dev.py test     # the whole test suite
    python3 dev.py -- ARGS  # tui-sync ARGS inside the environment

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
        subprocess.check_call([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"])
        subprocess.check_call([str(PY), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"])
        STAMP.write_text(_wanted())


def main(argv: list[str]) -> int:
    task = argv[0] if argv else "demo"
    ensure_env()
    if task == "demo":
        cmd = [str(BIN / "tui-sync"), "demo", *argv[1:]]
    elif task == "test":
        cmd = [str(PY), "-m", "pytest", *argv[1:]]
    elif task == "--":
        cmd = [str(BIN / "tui-sync"), *argv[1:]]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
