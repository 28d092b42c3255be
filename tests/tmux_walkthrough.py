"""An operator's walk through the demo in a real terminal (tmux), keyboard only.

    python3 dev.py walkthrough            # at 80×24 and at 120×40
    python3 dev.py walkthrough 100x30     # at one size

Approve → quit (the question, then yes) → open again (the decision is back) → resolve
"department has users" by moving them to the parent → approve the delete → apply → the
run in the Runs pane → quit. It fails, with the screen as it was, on a traceback, an
"internal error" or "stopped unexpectedly" message, a lost decision, or a screen that
never shows what the step waits for. Needs tmux and the project's .venv; the demo is
made in a temporary folder. Only the standard library is used.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TUI = ROOT / ".venv" / "bin" / "tui-sync"
BAD = ("Traceback", "internal error", "stopped unexpectedly", "This is a bug")
WAIT = 40.0  # seconds a step may take on a slow, shared machine


class Failed(Exception):
    pass


class Terminal:
    def __init__(self, name: str, width: int, height: int, folder: Path) -> None:
        self.name, self.folder = name, folder
        self.width, self.height = width, height
        self.shown = ""

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout

    def open(self) -> None:
        """tui-sync in the demo folder; the shell prints its exit code when it ends."""
        command = f"cd {self.folder} && {TUI}; echo EXIT=$?; sleep 3600"
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(self.width), "-y", str(self.height), command)

    def reopen(self) -> None:
        self.tmux("respawn-pane", "-k", "-t", self.name, f"cd {self.folder} && {TUI}; echo EXIT=$?; sleep 3600")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)

    def screen(self) -> str:
        self.shown = self.tmux("capture-pane", "-p", "-t", self.name)
        for bad in BAD:
            if bad in self.shown:
                raise Failed(f"the screen shows {bad!r}")
        return self.shown

    def keys(self, *keys: str) -> None:
        for k in keys:
            self.tmux("send-keys", "-t", self.name, k)
            time.sleep(0.3)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)
        time.sleep(0.3)

    def wait(self, *texts: str, step: str) -> str:
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            shown = self.screen()
            if all(t in shown for t in texts):
                return shown
            time.sleep(0.3)
        raise Failed(f"{step}: waited for {texts}")


def lms_dump(folder: Path) -> dict:
    out = subprocess.run([str(TUI), "lms", "dump", "--json"], cwd=folder, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def walk(width: int, height: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="tui-sync-walk-"))
    folder = work / "demo"
    subprocess.run([str(TUI), "demo", "--dir", str(folder), "--no-ui"], check=True, capture_output=True)
    term = Terminal(f"tui-sync-walk-{width}x{height}", width, height, folder)
    term.close()
    term.open()
    try:
        term.wait("54 pending", step="the review pane opens on the demo's plan")
        term.keys("a")  # the first change: create department BER-ESG; the cursor moves on
        term.wait("53 pending", step="approve")
        term.keys("q")
        term.wait("Quit with 1 unapplied", step="quitting with a decision asks first")
        term.keys("y")
        term.wait("EXIT=0", step="quit")
        term.reopen()
        term.wait("53 pending", step="open again: the approval is back")
        term.keys("f")
        term.type("department_has_users")
        term.keys("Enter")
        term.wait("1 of 54 shown", "MOW-CUS", step="filter to the department that still has users")
        term.keys("m")
        term.wait("Move its users", step="the resolve dialog")
        term.keys("m")
        term.wait("its parent department", step="the parent comes first")
        term.keys("Enter")
        term.wait("no longer has the problem", step="the users move; the plan is made again")
        term.wait("approved" if width >= 110 else "✓1", step="the approval survives the new plan")
        term.keys("/")
        term.type("MOW-CUS")
        term.keys("Enter")
        term.wait("3 of ", step="search: the moves and the delete")
        term.keys("A")
        term.wait("Approve 3 change(s)?", step="approve what the search shows")
        term.keys("y")
        term.keys("g")
        term.wait("Apply 4 change(s)?", step="the apply question")
        term.keys("y")
        term.wait("completed", "enter: show this run", step="the apply")
        term.keys("Enter")
        term.wait("5 Runs", "completed", step="the run in the Runs pane")
        term.keys("q")
        term.wait("EXIT=0", step="quit after applying (nothing left undecided to ask about)")
    except Failed as e:
        raise Failed(f"{width}×{height}: {e}\n--- the screen ---\n{term.shown}") from None
    finally:
        term.close()
    lms = lms_dump(folder)
    codes = {d["code"] for d in lms["departments"]}
    if "BER-ESG" not in codes or "MOW-CUS" in codes:
        raise Failed(f"{width}×{height}: the LMS does not show the approved changes: {sorted(codes)}")
    moved = {u["login"]: u["departmentId"] for u in lms["users"] if u["login"] in ("pavel.egorov", "ext.d.fedorov")}
    if set(moved.values()) != {"MOW"}:
        raise Failed(f"{width}×{height}: the users of MOW-CUS did not move to MOW: {moved}")
    shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    if shutil.which("tmux") is None:
        print("the walkthrough needs tmux (apt-get install tmux)", file=sys.stderr)
        return 2
    sizes = [tuple(int(n) for n in a.split("x")) for a in argv] or [(80, 24), (120, 40)]
    for width, height in sizes:
        try:
            walk(width, height)
        except Failed as e:
            print(f"walkthrough FAILED — {e}", file=sys.stderr)
            return 1
        print(f"walkthrough at {width}×{height}: approve, quit, reopen, resolve, apply, runs — all well")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
