"""Planning: reading the sources, the LMS and the ledger, and making the plan from them (P1-P3),
and the seal a saved plan carries (A4). Below the service layer: the service fronts these for
the CLI and the UI, and applying (`applying.run_unattended`) plans with them too.

Nothing here writes to the LMS or the ledger (L1). The source readers and the plan seal are
imported where they are first used: they pull in httpx, openpyxl and the key store, which a
command that only opens the UI or lists runs does not need at start-up. The planner is imported
by the first plan, while its sources are read.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from .beside import Beside
from .config import Config, EntityConfig
from .errors import ConfigError
from .lms.base import Snapshot
from .lms.open import embedded_path, open_lms
from .model import Plan, Resolution
from .sources.table import Table
from .state.ledger import Ledger

if TYPE_CHECKING:  # types only
    from .plan_seal import Seal

T = TypeVar("T")


# --- A4: plans bound to their configuration and LMS ------------------------------

def lms_identity(cfg: Config) -> str:
    """Which LMS the configuration names, as a fingerprint (no secret goes into it)."""
    lms = cfg.lms
    if lms.kind == "ispring":
        parts = ("ispring", lms.base_url, lms.account_url or "", lms.client_id or "", lms.login or "")
    else:
        parts = ("local", str(embedded_path(cfg).resolve()))
    return f"{lms.kind}:{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:16]}"


def plan_seal(cfg: Config, *, create: bool = True) -> Seal:
    """What seals the plans this configuration saves (`plan --out`, `plan --json`, held plans);
    the state folder's plan key is made on first use (without `create`, a missing key is empty:
    it seals nothing and verifies nothing)."""
    from .plan_seal import Seal  # (see the module's docstring: loaded on first use)
    from .state.plan_key import plan_key

    key = plan_key(cfg.state, create=create)
    return Seal(key or b"", str(cfg.base_dir.resolve()), lms_identity(cfg))


def read_source(cfg: Config, name: str, *, cache=None, progress=None) -> Table:
    """One source (`departments` or `users`), from a file, a URL or a Google Sheet."""
    from .sources.fetch import fetch_source  # (see the module's docstring: loaded on first use)

    entity: EntityConfig = getattr(cfg, name)
    return fetch_source(entity.source, cfg.state, cache=cache, progress=progress)


@dataclass
class Sources:
    departments: Table
    users: Table


def read_sources(cfg: Config, *, progress=None) -> Sources:
    """Both sources; two tabs of one workbook or spreadsheet are fetched once (one download, one Sheets quota).

    Two local files are read at the same time: the departments on a thread of their own while
    this one reads the users (parsing and hashing run outside the GIL). Downloads go one after
    the other, so that `progress` follows one at a time. When both fail, the departments'
    failure is the one reported, as when they are read in turn."""
    from .sources.fetch import FetchCache, read_together  # (see the module's docstring: loaded on first use)

    cache = FetchCache()
    read_together([cfg.departments.source, cfg.users.source], cfg.state, cache)
    if (cfg.departments.source.kind, cfg.users.source.kind) != ("file", "file"):
        return Sources(read_source(cfg, "departments", cache=cache, progress=progress),
                       read_source(cfg, "users", cache=cache, progress=progress))
    departments = Beside(read_source, cfg, "departments", cache=cache, progress=progress)
    try:
        users = read_source(cfg, "users", cache=cache, progress=progress)
    except BaseException:
        departments.result()  # (the departments' failure, when both fail, is the one to fix first)
        raise
    return Sources(departments.result(), users)


async def snapshot(cfg: Config) -> Snapshot:
    lms = open_lms(cfg)
    try:
        return await lms.snapshot()
    finally:
        await lms.close()


@dataclass
class PlanResult:
    plan: Plan
    sources: Sources
    snapshot: Snapshot


async def make_plan(cfg: Config, resolutions: list[Resolution] | None = None,
                    sources: Sources | None = None, *, progress=None) -> PlanResult:
    """Read everything and plan. Changes nothing in the LMS or the ledger (L1); a large LMS or ledger
    may leave a cache file of what was read. `progress(done, total)` follows downloads.

    The sources, the ledger and the LMS are read at the same time (sources and ledger on
    threads; the readers spend their time in polars, SQLite, hashing or the network, all
    outside the GIL). Failures are reported in the order an operator fixes them: the sources
    first, then the LMS, then the state folder.
    """
    def ledger() -> tuple[pl.DataFrame, pl.DataFrame]:
        led = Ledger(cfg.state)
        return led.departments(), led.users()

    # (the threads first: an embedded LMS reads its snapshot without yielding to the loop)
    read_sheets, managed, engine, snap = await asyncio.gather(
        _reading(read_sources, cfg, progress=progress) if sources is None else _given(sources),
        _reading(ledger), _reading(_planner), snapshot(cfg), return_exceptions=True)
    for outcome in (read_sheets, snap, managed, engine):
        if isinstance(outcome, BaseException):
            raise outcome
    try:
        plan = engine.build_plan(engine.Inputs(
            read_sheets.departments, read_sheets.users, cfg.departments.mapping, cfg.users.mapping, snap,
            *managed, department_scope=cfg.departments.scope, user_scope=cfg.users.scope,
            protect=cfg.protect, department_fields=cfg.departments.fields, user_fields=cfg.users.fields,
        ), resolutions)
    except ConfigError as e:  # C1: a scope that does not fit its sheet; the engine does not know the file
        e.where = f"{cfg.path}: {e.where}" if e.where else str(cfg.path)
        raise
    for name in ("departments", "users"):  # (P3: what was read)
        plan.sources[name]["fingerprint"] = getattr(read_sheets, name).fingerprint
    return PlanResult(plan, read_sheets, snap)


def _planner() -> ModuleType:
    """The engine's planner, imported on a thread while the sources are read (its import is
    the largest part of tui_sync's own start-up)."""
    from .engine import planner

    return planner


async def _given(value):
    return value


async def _reading(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`asyncio.to_thread` on a daemon thread, for work that only reads: Ctrl-C during a slow
    download stops at once, where a pool thread would keep the process until the download
    ends (the interpreter waits for pool threads on exit, not for daemon threads)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(value: Any, failed: bool) -> None:
        if not done.done():  # (not cancelled meanwhile)
            done.set_exception(value) if failed else done.set_result(value)

    def work() -> None:
        try:
            value, failed = fn(*args, **kwargs), False
        except BaseException as e:  # handed to the awaiting task as it is
            value, failed = e, True
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, value, failed)

    thread = threading.Thread(target=work, name=f"tui-sync: {getattr(fn, '__name__', 'reading')}", daemon=True)
    thread.start()
    try:
        return await done
    finally:
        if done.done() and not done.cancelled():  # (it has handed over its outcome: it ends at once)
            thread.join()
