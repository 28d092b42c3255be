"""`tui-sync schedule --print systemd|cron`: the schedule as the OS's own scheduler runs it.

Instead of `tui-sync daemon`, a systemd timer or a crontab can run
`tui-sync run --config <file>` at the configured times; the lock still keeps
a run from overlapping a sync started by hand. Times are given in the
configured zone, so the OS scheduler handles daylight saving itself.
"""
from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

from .config import Config
from .errors import UsageError

FORMATS = ("systemd", "cron")


def executable(argv0: str | None = None) -> list[str]:
    """How to start this tui-sync again, by absolute path: the running `tui-sync` script, the one
    beside this Python, the one on PATH, or else `python -m tui_sync.cli`."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if argv0 and Path(argv0).name.startswith("tui-sync"):
        found = argv0 if "/" in argv0 else shutil.which(argv0)
        if found and Path(found).exists():
            return [str(Path(found).absolute())]
    beside = Path(sys.executable).absolute().parent / "tui-sync"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("tui-sync")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "tui_sync.cli"]


def _times(cfg: Config) -> tuple[tuple[str, ...], str | None]:
    if cfg.schedule is None or not cfg.schedule.times:
        raise UsageError("this configuration has no schedule to print", where=f"{cfg.path}: [schedule] times",
                         hint='add [schedule] with times = ["07:00", "13:00", "19:00"] and timezone = "…"')
    return cfg.schedule.times, cfg.schedule.timezone


def unit_name(cfg: Config) -> str:
    """`tui-sync-<folder>`: one timer per configuration folder."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", cfg.base_dir.name).strip("-.") or "config"
    return f"tui-sync-{slug}"


def _systemd_quote(word: str) -> str:
    word = word.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[A-Za-z0-9_./:=@+,-]+", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd(cfg: Config, exe: list[str] | None = None) -> str:
    times, tz = _times(cfg)
    exe = exe or executable()
    name = unit_name(cfg)
    command = " ".join(_systemd_quote(w) for w in [*exe, "run", "--config", str(cfg.path)])
    zone = f" {tz}" if tz else ""
    calendars = "\n".join(f"OnCalendar=*-*-* {t}:00{zone}" for t in times)
    where = "~/.config/systemd/user/"
    return f"""\
# --- {name}.service ---
# Save both units to {where} (or /etc/systemd/system/ and drop --user), then:
#   systemctl --user daemon-reload && systemctl --user enable --now {name}.timer
#   loginctl enable-linger $USER     # to run while you are logged out
# Exit codes: 1 row errors or failed changes, 3 a source, the LMS or the state folder unreadable,
# 4 changes held.
[Unit]
Description=tui-sync: one unattended sync of {cfg.path}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory={_systemd_quote(str(cfg.base_dir))}
ExecStart={command}
# Uncomment to not count "changes held for review" (exit 4) as a failed unit:
# SuccessExitStatus=4

# --- {name}.timer ---
[Unit]
Description=tui-sync schedule for {cfg.path}

[Timer]
{calendars}
# a slot missed while the machine was off runs once at the next boot
Persistent=true

[Install]
WantedBy=timers.target
"""


def cron(cfg: Config, exe: list[str] | None = None) -> str:
    times, tz = _times(cfg)
    exe = exe or executable()
    command = " ".join(shlex.quote(w) for w in [*exe, "run", "--config", str(cfg.path)])
    log = shlex.quote(str(cfg.state / "cron.log"))
    # umask 077: the state folder and cron.log in it are private like everything tui-sync keeps there (O2)
    line = (f"umask 077 && mkdir -p {shlex.quote(str(cfg.state))} && cd {shlex.quote(str(cfg.base_dir))} && "
            f"{command} >> {log} 2>&1").replace("%", "\\%")
    entries = "\n".join(f"{int(t[3:])} {int(t[:2])} * * * {line}" for t in times)
    zone = (f"# CRON_TZ needs cronie (Fedora, RHEL, Arch) or a cron that knows it; elsewhere the\n"
            f"# times below are in the machine's zone.\nCRON_TZ={tz}\n") if tz else \
        "# times in the machine's time zone\n"
    return f"""\
# tui-sync: unattended syncs of {cfg.path} at {", ".join(times)}{f" {tz}" if tz else ""}
# add with `crontab -e`
{zone}{entries}
"""


def render(cfg: Config, fmt: str, exe: list[str] | None = None) -> str:
    if fmt == "systemd":
        return systemd(cfg, exe)
    if fmt == "cron":
        return cron(cfg, exe)
    raise UsageError(f"--print {fmt}: expected one of {', '.join(FORMATS)}")
