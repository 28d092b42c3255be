"""`tui-sync daemon`: run the configuration's schedule until stopped (S1, P3).

Each slot runs one unattended sync (`service.run`, trigger "schedule"), which
takes the configuration's sync lock like every other sync. A slot that finds
another sync running waits for it (polling, up to `lock_wait`) and then runs,
or gives up and records a `skipped` run. After a sleep or downtime that let
slots pass, the latest of them runs once: the last slot handled is kept in
`<state>/daemon.json`. Outcomes go to stderr and to `<state>/daemon.log`
(size-capped, rotated).

Edits of the configuration file are picked up between slots, like cron picks up
a crontab: new times count from the moment they are read (slots that the new
schedule would have had in the past are not run after the fact). An edit that
makes the file invalid, or moves the state folder, is logged and makes every
slot fail, recorded and notified, until the file is fixed (or the daemon
restarted): a scheduled sync never runs a configuration other than the file's.

SIGTERM or SIGINT stops it: a sync in progress is interrupted safely at the
next journal checkpoint (journaled as interrupted; the next run or
`tui-sync apply --resume` finishes it), and such a slot is not marked as
handled, so a restarted daemon runs it again. A second signal stops at once
(the journal still makes that safe to resume).

The clock and the sleep function are parameters, so tests drive the loop
without waiting.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import logging.handlers
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import notify, service
from .config import Config, load_config
from .errors import Exit, SyncError, UsageError
from .files import open_private, private_dir
from .model import RunStatus
from .safe_text import escape_output, redact_text
from .schedule import UTC, Slot, due, next_slot, next_slots, zone, zone_name
from .state.lock import SyncLock, SyncRunning
from .state.runs import RunStore

TRIGGER = "schedule"
LOCK_WAIT = 15 * 60.0  # seconds a slot waits for another sync before it is skipped
LOCK_POLL = 30.0
MAX_NAP = 60.0  # re-read the clock at least this often: a suspended machine's timers do not run
LATE = dt.timedelta(minutes=2)  # later than this, a slot counts as missed (in the log)
LOG_NAME = "daemon.log"
LOG_BYTES = 1_000_000
LOG_BACKUPS = 3
STATE_NAME = "daemon.json"

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


@dataclass(frozen=True)
class SlotResult:
    slot: Slot
    status: str  # a RunStatus: completed | held | interrupted | failed | skipped
    run_id: int | None
    exit_code: int
    waited: float = 0.0  # seconds spent waiting for another sync of this configuration
    message: str = ""


class DaemonRunning(SyncError):
    exit_code = Exit.USAGE


def daemon_lock(state_dir: Path) -> SyncLock:
    """One daemon per configuration: a second one would run every slot twice."""
    return SyncLock(state_dir, "daemon", name="daemon.lock", error=DaemonRunning,
                    busy=("a daemon for this configuration is already running",
                          "stop that one first (it runs every scheduled slot already)"))


class DaemonState:
    """`<state>/daemon.json`: the last slot handled, so a missed slot runs once and none runs twice."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / STATE_NAME

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def last_slot(self) -> dt.datetime | None:
        value = self.read().get("last_slot")
        try:
            at = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
        return at.astimezone(UTC) if at and at.tzinfo else None

    def save(self, last_slot: dt.datetime, **info: Any) -> None:
        data = {"last_slot": last_slot.astimezone(UTC).isoformat(), **info}
        private_dir(self.path.parent)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".daemon.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, self.path)


class _SafeFormatter(logging.Formatter):
    """Every line as it may be read by anyone who reads the log: addresses redacted (O1) and control
    characters escaped (F4), tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_output(redact_text(super().format(record)))


class _PrivateLog(logging.handlers.RotatingFileHandler):
    """The daemon's log file, created 0600 (it names logins; O2), and so is each new one after a rotation."""

    def _open(self):  # type: ignore[override]
        return open(open_private(Path(self.baseFilename)), "a", encoding=self.encoding, errors=self.errors)


@contextlib.contextmanager
def logging_to(cfg: Config, *, stderr: bool = True) -> Iterator[logging.Logger]:
    """The daemon's log: `<state>/daemon.log` (rotated at 1 MB, 3 kept) and, by default, stderr."""
    logger = logging.getLogger("tui_sync.daemon")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    private_dir(cfg.state)
    fmt = _SafeFormatter("%(asctime)s %(levelname)-7s %(message)s")
    handlers: list[logging.Handler] = [_PrivateLog(
        cfg.state / LOG_NAME, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")]
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    try:
        yield logger
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()


@dataclass
class Daemon:
    cfg: Config
    clock: Clock = utc_now
    sleep: Sleep | None = None  # default: wait, waking early when stopped
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("tui_sync.daemon"))
    lock_wait: float = LOCK_WAIT
    lock_poll: float = LOCK_POLL
    max_nap: float = MAX_NAP
    notify_retry_pause: float | None = None  # default notify.RETRY_PAUSE
    results: list[SlotResult] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    cancel: asyncio.Event = field(default_factory=asyncio.Event)  # handed to the apply engine

    def __post_init__(self) -> None:
        schedule = self.cfg.schedule
        if schedule is None or not schedule.times:
            raise UsageError("the daemon needs a schedule, and this configuration has none",
                             where=f"{self.cfg.path}: [schedule] times",
                             hint='add [schedule] with times = ["07:00", "13:00", "19:00"] '
                                  '(and timezone = "Europe/Berlin"; default: this machine\'s zone)')
        self.times = schedule.times
        self.tz = zone(schedule.timezone)
        self.state = DaemonState(self.cfg.state)
        self.config_error: SyncError | None = None  # the file as edited since start cannot be used
        self._stamp = _stamp(self.cfg.path)

    def reload(self, last: dt.datetime, now: dt.datetime) -> dt.datetime:
        """Take up an edited configuration file; returns the last slot handled, which moves up to
        just before now when the times change (no slot is run after the fact)."""
        stamp = _stamp(self.cfg.path)
        if stamp == self._stamp:
            return last
        self._stamp = stamp
        try:
            cfg = load_config(self.cfg.path)
            if cfg.schedule is None or not cfg.schedule.times:
                raise UsageError("the configuration no longer has a schedule", where=f"{cfg.path}: [schedule] times",
                                 hint="put [schedule] times back, or stop the daemon")
            if cfg.state.resolve() != self.cfg.state.resolve():
                raise UsageError(f"the state folder changed (from {self.cfg.state} to {cfg.state})",
                                 where=str(cfg.path), hint="restart the daemon to use the new state folder")
            tz = zone(cfg.schedule.timezone)
        except SyncError as e:
            self.config_error = e
            self.log.error("the configuration was edited and cannot be used: %s; scheduled runs fail until "
                           "it is fixed", notify.redact(str(e).replace("\n", " ")))
            return last
        if self.config_error is not None:
            self.log.info("the configuration is usable again")
        self.config_error = None
        changed = (cfg.schedule.times, zone_name(tz)) != (self.times, zone_name(self.tz))
        self.cfg, self.times, self.tz = cfg, cfg.schedule.times, tz
        if not changed:
            self.log.info("configuration reloaded (%s)", cfg.path)
            return last
        # slots at most one nap old still run: the loop may not have seen them yet
        last = max(last, now - dt.timedelta(seconds=self.max_nap))
        upcoming = ", ".join(self._when(s) for s in next_slots(self.times, self.tz, max(now, last), 3))
        self.log.info("configuration reloaded: daily at %s (%s); next runs: %s",
                      ", ".join(self.times), zone_name(self.tz), upcoming)
        return last

    def stop(self) -> None:
        """Stop after the current step; a running sync is interrupted at its next checkpoint."""
        self.stopping.set()
        self.cancel.set()

    async def _sleep(self, seconds: float) -> None:
        if self.sleep is not None:
            await self.sleep(seconds)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), max(seconds, 0.0))

    def _when(self, slot: Slot) -> str:
        return slot.label(self.tz)

    # --- the loop --------------------------------------------------------------

    async def serve(self) -> None:
        """Run slots until `stop()`."""
        with daemon_lock(self.cfg.state):
            now = self.clock()
            last = self.state.last_slot()
            if last is None:  # first start: slots from now on (and ones missed from now on, after downtime)
                last = now
                self.state.save(last, slot=None, note="daemon first started")
            upcoming = ", ".join(self._when(s) for s in next_slots(self.times, self.tz, max(now, last), 3))
            self.log.info("daemon started for %s: daily at %s (%s); next runs: %s; log %s",
                          self.cfg.path, ", ".join(self.times), zone_name(self.tz), upcoming,
                          self.cfg.state / LOG_NAME)
            while not self.stopping.is_set():
                now = self.clock()
                last = self.reload(last, now)
                d = due(self.times, self.tz, last, now)
                if d is None:
                    nxt = next_slot(self.times, self.tz, max(now, last))
                    await self._sleep(min(max((nxt.at - now).total_seconds(), 0.0), self.max_nap))
                    continue
                if d.missed > 1 or now - d.slot.at > LATE:
                    self.log.warning("missed %d slot(s) while the machine slept or the daemon was down; "
                                     "running %s once now", d.missed, self._when(d.slot))
                result = await self.run_slot(d.slot)
                self.results.append(result)
                if result.status == RunStatus.INTERRUPTED and self.stopping.is_set():
                    break  # not handled: a restarted daemon runs it again and finishes the apply
                last = d.slot.at
                self.state.save(last, slot=self._when(d.slot), status=result.status, run_id=result.run_id,
                                saved=self.clock().isoformat())
                if not self.stopping.is_set():
                    nxt = next_slot(self.times, self.tz, max(self.clock(), last))
                    self.log.info("next run: %s", self._when(nxt))
            self.log.info("daemon stopped")

    async def run_slot(self, slot: Slot) -> SlotResult:
        """One scheduled sync; waits for (or skips) a sync already running. Never raises a sync error."""
        store = RunStore(self.cfg.state)
        started = self.clock()
        waiting = False
        self.log.info("running the %s slot", self._when(slot))
        if self.config_error is not None:
            e = self.config_error
            text = notify.redact(f"not run: the configuration cannot be used: {e}".replace("\n", " "))
            run = store.record_event(TRIGGER, RunStatus.FAILED, str(self.cfg.path), text)
            return await self._done(SlotResult(slot, RunStatus.FAILED, run.id, int(e.exit_code), 0.0, text), run=run, error=e)
        while True:
            before = _latest_run_id(store)
            try:
                report = await service.run(self.cfg, trigger=TRIGGER, cancel=self.cancel)
            except SyncRunning:
                waited = (self.clock() - started).total_seconds()
                holder = SyncLock(self.cfg.state).holder() or {}
                who = f"pid {holder.get('pid', '?')}, {holder.get('what', 'sync')}, since {holder.get('since', '?')}"
                if waited >= self.lock_wait or self.stopping.is_set():
                    why = "the daemon was stopped" if self.stopping.is_set() else f"waited {_minutes(waited)}"
                    message = f"skipped the {self._when(slot)} slot: another sync of this configuration " \
                              f"was running ({who}); {why}"
                    run = store.record_event(TRIGGER, RunStatus.SKIPPED, str(self.cfg.path), message)
                    return await self._done(SlotResult(slot, RunStatus.SKIPPED, run.id, Exit.OK, waited, message), run=run)
                if not waiting:
                    self.log.info("another sync of this configuration is running (%s); waiting up to %s",
                                  who, _minutes(self.lock_wait))
                    waiting = True
                await self._sleep(min(self.lock_poll, max(self.lock_wait - waited, 0.0)))
                continue
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # a second signal: stop at once
                run = store.unfinished()
                message = "interrupted by the daemon's stop; the next run (or `tui-sync apply --resume`) finishes it"
                return await self._done(SlotResult(slot, RunStatus.INTERRUPTED, run.id if run else None, Exit.ROW_ERRORS,
                                                   0.0, message), run=run)
            except Exception as e:  # a sync error, or a bug: logged and recorded, the daemon goes on
                if not isinstance(e, SyncError):
                    self.log.exception("internal error in the %s slot (a bug in tui_sync)", self._when(slot))
                newest = _latest_run_id(store)
                text = notify.redact(str(e).replace("\n", " ")) or type(e).__name__
                if newest is not None and newest != before:  # the apply started and was stopped by the error
                    run = store.get(newest)
                else:
                    run = store.record_event(TRIGGER, RunStatus.FAILED, str(self.cfg.path), text)
                code = e.exit_code if isinstance(e, SyncError) else Exit.ROW_ERRORS
                return await self._done(SlotResult(slot, RunStatus.FAILED, run.id if run else None, int(code), 0.0, text),
                                        run=run, error=e)
            waited = (self.clock() - started).total_seconds() if waiting else 0.0
            if waiting:
                store.note(report.run.id, f"scheduled run waited {_minutes(waited)} for another sync "
                                          "of this configuration")
                report.run = store.get(report.run.id) or report.run
            data = notify.summary(self.cfg, report=report)
            result = SlotResult(slot, report.run.status, report.run.id, data["exit_code"], waited,
                                report.run.message or "")
            return await self._done(result, data=data)

    async def _done(self, result: SlotResult, *, data: dict[str, Any] | None = None, run=None,
                    error: BaseException | None = None) -> SlotResult:
        if data is None:
            data = notify.summary(self.cfg, run=run, error=error, trigger=TRIGGER, status=result.status,
                                  message=result.message, exit_code=result.exit_code)
        data["slot"] = self._when(result.slot)
        data["waited_seconds"] = round(result.waited)
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(data["counts"].items()) if n) or "no changes"
        level = logging.INFO if result.status in (RunStatus.COMPLETED, RunStatus.SKIPPED) and result.exit_code == 0 \
            else logging.WARNING
        self.log.log(level, "slot %s: run %s %s (%s; exit %d)%s", self._when(result.slot), result.run_id or "-",
                     result.status, outcomes, result.exit_code, f" — {result.message}" if result.message else "")
        await notify.send(self.cfg, data, logger=self.log, retry_pause=self.notify_retry_pause)
        return result


def _stamp(path: Path) -> tuple[int, int] | None:
    """What tells an edited file: its modification time and size."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _latest_run_id(store: RunStore) -> int | None:
    runs = store.list(1)
    return runs[0].id if runs else None


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def main(cfg: Config) -> int:
    """`tui-sync daemon`: serve until SIGTERM or SIGINT; a second signal stops at once."""
    with logging_to(cfg) as log:
        daemon = Daemon(cfg, log=log)

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            task = asyncio.current_task()
            signals = (signal.SIGTERM, signal.SIGINT)

            def on_signal(signum: int) -> None:
                if daemon.stopping.is_set():
                    log.warning("second %s: stopping now", signal.Signals(signum).name)
                    if task is not None:
                        task.cancel()
                    return
                log.info("%s: stopping (a sync in progress is interrupted safely; it resumes on the next run)",
                         signal.Signals(signum).name)
                daemon.stop()

            for s in signals:
                loop.add_signal_handler(s, on_signal, s)
            try:
                await daemon.serve()
            finally:
                for s in signals:
                    loop.remove_signal_handler(s)

        try:
            asyncio.run(serve())
        except asyncio.CancelledError:
            log.info("daemon stopped")
        return int(Exit.OK)


__all__ = ["Daemon", "DaemonState", "SlotResult", "logging_to", "main"]
