"""The real app in a pseudo-terminal (80×24, as over SSH): it draws the review pane and quits cleanly on q."""
from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def _read_until(fd: int, needles: tuple[bytes, ...], timeout: float) -> bytes:
    seen = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if all(n in seen for n in needles):
                return seen
    return seen


def test_the_app_runs_in_a_terminal_and_quits_cleanly(demo: Path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "", "TEXTUAL": ""}
    proc = subprocess.Popen([sys.executable, "-m", "tui_sync.cli", "--config", str(demo)],
                            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
                            cwd=demo.parent)
    os.close(slave)
    try:
        screen = _read_until(master, (b"Review", b"pending", b"BER-ESG"), timeout=30)
        assert b"BER-ESG" in screen, screen[-2000:]
        os.write(master, b"q")
        code = proc.wait(timeout=15)
        assert code == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        os.close(master)
