"""Summaries of the run history: what unattended runs hold for review now (P3).

The runs themselves, their changes and outcomes are kept by `runs.RunStore`; this reads them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..model import Outcome, RunStatus
from .runs import Run, RunStore

UNATTENDED_TRIGGERS = ("run", "schedule")
UNDECIDED = (Outcome.SKIPPED, Outcome.HELD)  # outcomes that leave a held change waiting for a person


@dataclass(frozen=True)
class HeldSummary:
    """Changes that unattended runs hold for review (P3), for the UI's banner.

    Each unattended run plans afresh, so only the latest one's held plan is current (earlier
    held plans are superseded by it). A held change stops counting once a person decides it in a
    later apply: applies it (`apply --plan <held plan> --approve all`, or from the UI), rejects it,
    or applies a fresh plan that settles it; an unattended run that no longer holds it ends it too."""

    count: int
    since: datetime  # when the oldest of them was first held (that run's start)
    run_id: int  # the latest run that held them
    path: Path | None  # its held plan (None only if that run was interrupted and resumed)
    paths: tuple[Path, ...] = ()  # held plans of every run in the chain, latest first
    by_kind: dict[str, int] = field(default_factory=dict)
    change_ids: frozenset[str] = frozenset()  # P1 ids are stable: the same changes in a fresh plan

    def describe(self) -> str:
        return f"{self.count} change{'s' if self.count != 1 else ''} held for review since " \
               f"{self.since:%H:%M, %Y-%m-%d}"


def held_summary(state: Path, *, history: int = 200) -> HeldSummary | None:
    """What is held for review now in the state folder `state`, or None. Reads the run history only."""
    store = RunStore(state)
    runs = store.list(history)  # newest first

    def planned(r: Run) -> bool:
        return r.status not in (RunStatus.SKIPPED, RunStatus.FAILED, RunStatus.RUNNING, RunStatus.INTERRUPTED)

    def unattended(r: Run) -> bool:
        return r.trigger in UNATTENDED_TRIGGERS or any(
            isinstance(per, dict) and per.get("held") for per in r.counts.values())

    latest = next((i for i, r in enumerate(runs) if planned(r) and unattended(r)), None)
    if latest is None:
        return None
    run = store.get(runs[latest].id)
    assert run is not None
    kinds = {c.change_id: c.kind for c in run.changes if c.outcome == Outcome.HELD}
    alive = set(kinds)
    for r in runs[:latest]:  # later applies by a person
        if r.status in (RunStatus.SKIPPED, RunStatus.FAILED):
            continue
        alive -= {cid for cid, (o, _) in store.outcomes(r.id).items() if cid in alive and o not in UNDECIDED}
    if not alive:
        return None
    since = dict.fromkeys(alive, run.started)
    chain = [runs[latest]]
    open_ = set(alive)  # still held, without a break, further back
    for r in runs[latest + 1:]:
        if not open_:
            break
        if not planned(r):
            continue
        outs = store.outcomes(r.id)
        if unattended(r):
            still = {cid for cid in open_ if outs.get(cid, ("", None))[0] == Outcome.HELD}
            for cid in still:
                since[cid] = r.started
            if still:
                chain.append(r)
            open_ = still
        else:
            open_ -= {cid for cid in open_ if cid in outs and outs[cid][0] not in UNDECIDED}
    plans = [state / "held" / f"run-{r.id}.plan.json" for r in chain]
    paths = tuple(p for p in plans if p.exists())
    by_kind: dict[str, int] = {}
    for cid in alive:
        by_kind[kinds[cid]] = by_kind.get(kinds[cid], 0) + 1
    return HeldSummary(
        count=len(alive), since=min(datetime.fromisoformat(s) for s in since.values()), run_id=run.id,
        path=plans[0] if plans[0].exists() else None, paths=paths, by_kind=dict(sorted(by_kind.items())),
        change_ids=frozenset(alive))
