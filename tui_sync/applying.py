"""Applying plans for real: the lock, the journal, resume, the ledger (L1),
the run log (A3) and the unattended policy (P3). Reached through `service`; below it, it plans
with `planning` and opens the LMS with `lms.open`, and imports nothing above itself.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import polars as pl

from .config import Config, PolicyConfig
from .engine.apply import Applier, Progress, selected
from .engine.protect import refuse_protected
from .errors import Exit, SyncError, UsageError
from .gcpause import gc_paused
from .lms.base import LMS, Snapshot
from .lms.open import open_lms
from .model import NOT_APPLIED, Change, Decision, Kind, Outcome, Plan, RunStatus
from .plan_io import write_plan
from .planning import make_plan, plan_seal
from .safe_text import safe_message
from .state.ledger import Ledger
from .state.lock import SyncLock
from .state.runs import Run, RunStore


def approve(plan: Plan, how: str) -> None:
    """`--approve all|safe|none`: pending decisions become approvals; a rejection is never overridden.
    `safe` leaves pending every change that inactivates, terminates or deletes, judged by effect (A4)."""
    if how not in ("all", "safe", "none"):
        raise UsageError(f"--approve {how}: expected all, safe or none")
    for c in plan.changes:
        if c.decision is Decision.PENDING and not c.blocked and how != "none":
            if how == "all" or not c.destructive:
                c.decision = Decision.APPROVED


@dataclass
class ApplyReport:
    run: Run
    resumed: Run | None = None  # an interrupted run finished first
    held: list[Change] = field(default_factory=list)
    held_path: Path | None = None
    held_reasons: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        # a run can hold a million outcomes: whatever formats the report (asyncio, as the result of
        # the task that made it; a log) gets the gist, not seconds of text
        return f"<ApplyReport: run {self.run.id}, {len(self.held)} held>"

    @property
    def exit_code(self) -> Exit:
        code = Exit.OK
        for r in (self.resumed, self.run):
            if r is None:
                continue
            if r.status not in (RunStatus.COMPLETED, RunStatus.HELD):
                code = max(code, Exit.ROW_ERRORS)
            if any(c.outcome in NOT_APPLIED for c in r.changes):
                code = max(code, Exit.ROW_ERRORS)
        if self.held:
            code = max(code, Exit.HELD)
        return code


async def _execute(cfg: Config, store: RunStore, run_id: int, plan: Plan, *,
                   progress: Callable[[Progress], None] | None, cancel: asyncio.Event | None) -> Run:
    ledger = Ledger(cfg.state)
    lms = open_lms(cfg)
    # A2: an LMS that keeps apply's journal in its own transactions records each chunk's outcomes with
    # its writes; the run history takes them in before a resume reads it and when the run stops
    key: str | None = None

    def created(items: list[tuple[Change, str]]) -> None:
        ledger.record({i: c.unique_key for c, i in items if c.kind is Kind.CREATE_DEPARTMENT},
                      {i: c.unique_key for c, i in items if c.kind is Kind.CREATE_USER})

    # An LMS that answers at once makes apply CPU-bound, and the collector would rescan the plan's
    # objects again and again: paused for the run. (A network LMS's run waits on requests, and may
    # last long enough for the cycles of a UI to pile up meanwhile.)
    with gc_paused() if not lms.abilities.concurrent else nullcontext():
        try:
            if lms.abilities.journal:
                key = store.journal_key(run_id)
                await _take_journal(lms, store, run_id, key)
            applier = Applier(lms, plan, journal=lambda rows: store.record(run_id, rows), done=store.begun(run_id),
                              concurrency=cfg.apply.concurrency, progress=progress, cancel=cancel,
                              on_created=created, keys=_ledger_keys(ledger, plan), lms_journal=key)
            results = await applier.run()
            if key is not None:
                await _take_journal(lms, store, run_id, key)
            await lms.warm()  # (the embedded LMS keeps a columnar snapshot for the next plan)
        except asyncio.CancelledError:
            await _take_journal_if_possible(lms, store, run_id, key)
            store.finish(run_id, RunStatus.INTERRUPTED, "cancelled by the operator; `tui-sync apply --resume` finishes it")
            raise
        except Exception as e:
            await _take_journal_if_possible(lms, store, run_id, key)
            try:
                store.finish(run_id, RunStatus.INTERRUPTED, f"stopped by an error: {safe_message(e)}; "
                                                    "`tui-sync apply --resume` finishes it")
            except SyncError:  # (a full disk: the run stays `running`, which the next apply resumes too)
                pass
            raise
        finally:
            await lms.close()
        # L1: a completed apply records what the plan matched (whatever the decisions) and drops what vanished
        ledger.record(plan.matched_departments, plan.matched_users)
        deleted = [o.change.target for o in results
                   if o.change.kind is Kind.DELETE_DEPARTMENT and o.outcome == Outcome.APPLIED and o.change.target]
        ledger.drop([*plan.vanished_departments, *deleted], plan.vanished_users)
        ledger.warm()  # (like the embedded LMS's snapshot: the next plan reads a large ledger from its cache)
        failed = sum(1 for o in results if o.outcome in NOT_APPLIED)
        return store.finish(run_id, RunStatus.COMPLETED, f"{failed} change(s) not applied" if failed else None)


async def _take_journal(lms: LMS, store: RunStore, run_id: int, key: str) -> None:
    """A2: the outcomes the LMS journaled for this run, into the run history; then dropped from the
    LMS (taken again after a crash in between, they change nothing)."""
    rows = await lms.journaled(key)
    if rows:  # (a run that has just begun has none: the LMS is not written to for nothing)
        store.take(run_id, rows)
        await lms.forget_journal(key)


async def _take_journal_if_possible(lms: LMS, store: RunStore, run_id: int, key: str | None) -> None:
    """As `_take_journal` for a run that stopped: what cannot be read now stays in the LMS for the
    resume (or `--abandon`) to take."""
    if key is None:
        return
    try:
        await _take_journal(lms, store, run_id, key)
    except SyncError:
        pass


def _ledger_keys(ledger: Ledger, plan: Plan) -> dict[str, dict[str, str | None]]:
    """A4: the unique keys the ledger holds now for the targets whose identity names one."""
    out: dict[str, dict[str, str | None]] = {}
    for entity, read in (("user", ledger.users), ("department", ledger.departments)):
        targets = list({c.target for c in plan.changes
                        if c.target and c.entity == entity and c.identity and c.identity.get("key")})
        if targets:
            hit = read().filter(pl.col("lms_id").is_in(targets) & pl.col("key").is_not_null())
            out[entity] = dict(zip(hit["lms_id"].to_list(), hit["key"].to_list()))
    return out


async def resume(cfg: Config, *, progress=None, cancel=None, lock: bool = True) -> Run | None:
    """Finish the latest interrupted apply, if there is one."""
    async def go() -> Run | None:
        store = RunStore(cfg.state)
        store.mark_interrupted()
        run_id = store.unfinished_id()
        if run_id is None:
            return None
        try:
            plan = store.load_plan(run_id)
        except SyncError as e:
            raise UsageError(f"the interrupted apply (run {run_id}) cannot be resumed: {e.message}", where=e.where,
                             hint="`tui-sync apply --abandon` closes it without writing anything more; "
                                  "then plan afresh") from None
        # C2: protection added since the run began holds for what is left of it
        store.block(run_id, await refuse_protected_now(cfg, plan))
        store.reopen(run_id)
        return await _execute(cfg, store, run_id, plan, progress=progress, cancel=cancel)

    if not lock:
        return await go()
    with SyncLock(cfg.state, "apply --resume"):
        return await go()


def abandon(cfg: Config) -> list[Run]:
    """A4 `apply --abandon`: close every interrupted apply without writing (history: abandoned)."""
    closed: list[Run] = []
    with SyncLock(cfg.state, "apply --abandon"):
        store = RunStore(cfg.state)
        store.mark_interrupted()
        while (run_id := store.unfinished_id()) is not None:
            _take_stopped_journal_now(cfg, store, run_id)  # what it applied is recorded as applied
            closed.append(store.abandon(run_id))
    return closed


async def refuse_protected_now(cfg: Config, plan: Plan) -> list[Change]:
    """C2 at apply for a plan made earlier (saved, or an interrupted run's): what `[protect]` covers
    now is not written — a change naming a protected login or code, or a department change inside a
    protected subtree as the LMS holds it now (read only when department protection and department
    changes are both there)."""
    departments = await _departments_now(cfg) if cfg.protect.departments and any(
        c.entity == "department" for c in plan.changes) else None
    return refuse_protected(plan, cfg.protect, departments)


async def _departments_now(cfg: Config) -> pl.DataFrame:
    """The LMS's departments as they are now (id, code, parent_id), in one read where the LMS can."""
    lms = open_lms(cfg)
    try:
        if not lms.abilities.read_departments:
            return (await lms.snapshot()).departments
        records = await lms.read_departments()
        return pl.DataFrame([(d.id, d.code, d.parent_id) for d in records], orient="row",
                            schema={"id": pl.String, "code": pl.String, "parent_id": pl.String})
    finally:
        await lms.close()


def settle_stopped(cfg: Config) -> None:
    """Before the history is shown (A3): a run whose process is gone is marked interrupted, and what
    it applied is taken in from the LMS's journal (as a resume or `--abandon` would first), so it
    shows as applied. Nothing is done while a sync holds the lock (its run is live) or when no run
    was left unfinished. Best effort: where the state folder cannot be written (read-only, full),
    the history is shown as it stands."""
    store = RunStore(cfg.state)
    if store.unfinished_id() is None:
        return
    lock = SyncLock(cfg.state, "runs")
    try:
        lock.acquire()
    except SyncError:  # (a sync is running: its run is live; or the folder is read-only)
        return
    try:
        store.mark_interrupted()
        if (run_id := store.unfinished_id()) is not None:
            _take_stopped_journal_now(cfg, store, run_id)
    except SyncError:
        pass
    finally:
        lock.release()


def _take_stopped_journal_now(cfg: Config, store: RunStore, run_id: int) -> None:
    """`_take_stopped_journal` from synchronous code, on a thread of its own (the caller may be
    running an event loop: the UI, the daemon)."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, _take_stopped_journal(cfg, store, run_id)).result()


async def _take_stopped_journal(cfg: Config, store: RunStore, run_id: int) -> None:
    try:
        lms = open_lms(cfg)
    except SyncError:  # (an LMS that cannot be opened now: its runs are abandoned as the history has them)
        return
    try:
        if lms.abilities.journal:
            await _take_journal_if_possible(lms, store, run_id, store.journal_key(run_id))
    finally:
        await lms.close()


async def apply_plan(cfg: Config, plan: Plan, *, trigger: str = "apply", progress=None, cancel=None,
                     resume_first: bool = True) -> ApplyReport:
    """Apply exactly the approved changes of `plan` (A1, A2), resuming an interrupted apply first."""
    with SyncLock(cfg.state, trigger):
        resumed = await resume(cfg, progress=progress, cancel=cancel, lock=False) if resume_first else None
        store = RunStore(cfg.state)
        _, start = selected(plan)
        run_id = store.start(trigger, plan, str(cfg.path), start)
        run = await _execute(cfg, store, run_id, plan, progress=progress, cancel=cancel)
        return ApplyReport(run, resumed)


# --- P3: unattended runs ----------------------------------------------------------

def hold(plan: Plan, policy: PolicyConfig, snapshot: Snapshot, ledger: Ledger,
         last: Run | None) -> tuple[set[str], list[str]]:
    """Which changes an unattended run leaves for a person, and why (P3)."""
    held: set[str] = set()
    reasons: list[str] = []
    by_kind: dict[Kind, list[Change]] = {}
    for c in plan.changes:
        by_kind.setdefault(c.kind, []).append(c)
    for k in policy.review:
        if by_kind.get(k):
            held.update(c.id for c in by_kind[k])
            reasons.append(f"{len(by_kind[k])} {k.value} change(s): [policy] review lists {k.value}")
    managed_users = ledger.users().join(snapshot.users.select(lms_id="id"), on="lms_id", how="semi").height
    managed_depts = ledger.departments().join(snapshot.departments.select(lms_id="id"), on="lms_id", how="semi").height
    for kind, limit, base, what in (
        (Kind.INACTIVATE_USER, policy.max_inactivations, managed_users, "managed users"),
        (Kind.DELETE_DEPARTMENT, policy.max_department_deletes, managed_depts, "managed departments"),
    ):
        n = len(by_kind.get(kind, []))
        if n and n > limit.limit(base):
            held.update(c.id for c in by_kind[kind])
            reasons.append(f"{n} {kind.value} change(s) exceed the threshold {limit} of {base} {what}")
    if last is not None:
        for name, info in plan.sources.items():
            before = (last.sources.get(name) or {}).get("rows")
            now = info.get("rows")
            if before and now is not None and before - now > policy.max_row_drop.limit(before):
                destructive = [c for c in plan.changes if c.destructive]  # by effect (A4)
                held.update(c.id for c in destructive)
                reasons.append(f"the {name} source has {now} rows, {before} in the last completed run "
                               f"(more than {policy.max_row_drop} fewer): every destructive change is held")
    return held, reasons


async def run_unattended(cfg: Config, *, trigger: str = "run", progress=None, cancel=None,
                         download=None) -> ApplyReport:
    """One unattended sync (P3): apply what the policy allows, hold the rest as a saved pending plan."""
    with SyncLock(cfg.state, trigger):
        resumed = await resume(cfg, progress=progress, cancel=cancel, lock=False)
        store = RunStore(cfg.state)
        try:
            result = await make_plan(cfg, progress=download)  # unreadable or empty: nothing changes (exit 3)
        except SyncError as e:  # A3: a run that could not plan is still a run in the history
            store.record_event(trigger, RunStatus.FAILED, str(cfg.path), safe_message(e))
            raise
        plan = result.plan
        held, reasons = hold(plan, cfg.policy, result.snapshot, Ledger(cfg.state), store.last_completed())
        for c in plan.changes:
            if c.id not in held and c.decision is Decision.PENDING and not c.blocked:
                c.decision = Decision.APPROVED
        # a change that depends on a held one waits with it
        changed = True
        while changed:
            changed = False
            for c in plan.changes:
                if c.id not in held and any(d in held for d in c.depends_on):
                    held.add(c.id)
                    c.decision = Decision.PENDING
                    changed = True
        _, start = selected(plan)
        start.update({cid: Outcome.HELD for cid in held})
        run_id = store.start(trigger, plan, str(cfg.path), start)
        held_path: Path | None = None
        if held:  # saved before anything is applied, so an interrupted run still leaves it
            held_path = cfg.state / "held" / f"run-{run_id}.plan.json"
            # A4: applied later with `apply --plan`, like a saved plan; it names only what it holds (what a
            # held change depends on and this run applies is checked against the LMS when it is released)
            waiting = [replace(c, depends_on=[d for d in c.depends_on if d in held])
                       for c in plan.changes if c.id in held]
            write_plan(Plan(changes=waiting, problems=[], resolutions=plan.resolutions, sources=plan.sources,
                            created_at=plan.created_at), held_path, plan_seal(cfg))
            store.note(run_id, f"{len(held)} change(s) held for review: {held_path}")
        run = await _execute(cfg, store, run_id, plan, progress=progress, cancel=cancel)
        report = ApplyReport(run, resumed, held_reasons=reasons)
        if held:
            report.held = [c for c in plan.changes if c.id in held]
            report.held_path = held_path
            store.set_status(run_id, RunStatus.HELD)
            report.run = store.get(run_id)  # type: ignore[assignment]
        return report
