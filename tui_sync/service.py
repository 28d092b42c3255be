"""The one way in: the CLI and the UI call these functions and nothing deeper.

Each function gathers its inputs (config, sources, LMS, ledger), calls the
engine and returns plain results; none of them prints.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, EntityConfig, load_config
from .engine.mapping import MappingReport, mapped_frame, review_mapping
from .engine.planner import Inputs, build_plan
from .errors import SourceError, SyncError, UsageError
from .lms.base import LMS, Snapshot
from .model import Plan, Resolution
from .sources.table import Table
from .state.ledger import Ledger

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


def open_lms(cfg: Config) -> LMS:
    if cfg.lms.kind == "local":
        from .lms.embedded import EmbeddedLMS

        return EmbeddedLMS(cfg.lms.path or cfg.base_dir / "lms.sqlite")
    raise UsageError(f"[lms] kind = {cfg.lms.kind!r} is not available in this version of tui_sync",
                     where=str(cfg.path), hint='use kind = "local" (the embedded LMS) for now')


def read_source(entity: EntityConfig, name: str) -> Table:
    src = entity.source
    if src.kind == "file":
        from .sources.local import read_file

        assert src.path is not None
        return read_file(src.path, src.options, max_bytes=src.max_bytes)
    raise SourceError(f"source kind {src.kind!r} is not available in this version of tui_sync",
                      where=f"[{name}.source]", hint='use kind = "file" with a local path for now')


@dataclass
class Sources:
    departments: Table
    users: Table


def read_sources(cfg: Config) -> Sources:
    return Sources(read_source(cfg.departments, "departments"), read_source(cfg.users, "users"))


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
                    sources: Sources | None = None) -> PlanResult:
    """Read everything and plan. Writes nothing (L1)."""
    sources = sources or read_sources(cfg)
    snap = await snapshot(cfg)
    ledger = Ledger(cfg.state)
    plan = build_plan(Inputs(
        sources.departments, sources.users, cfg.departments.mapping, cfg.users.mapping, snap,
        ledger.departments(), ledger.users(),
    ), resolutions)
    return PlanResult(plan, sources, snap)


@dataclass
class SourceCheck:
    entity: str
    table: Table | None = None
    error: SyncError | None = None
    mapping: MappingReport | None = None


@dataclass
class CheckReport:
    config: Config
    sources: list[SourceCheck] = field(default_factory=list)
    lms_error: SyncError | None = None
    lms_counts: tuple[int, int] | None = None  # departments, users

    @property
    def ok(self) -> bool:
        return self.lms_error is None and all(
            s.error is None and s.mapping is not None and not s.mapping.missing_columns
            and not s.mapping.unmapped_required for s in self.sources)


async def check(cfg: Config) -> CheckReport:
    """Validate sources and mapping and reach the LMS, without planning (DESIGN §2 `check`)."""
    report = CheckReport(cfg)
    snap: Snapshot | None = None
    try:
        snap = await snapshot(cfg)
        report.lms_counts = (snap.departments.height, snap.users.height)
    except SyncError as e:
        report.lms_error = e
    for name, entity, ent in (("departments", cfg.departments, "department"), ("users", cfg.users, "user")):
        sc = SourceCheck(name)
        try:
            sc.table = read_source(entity, name)
            if sc.table.rows == 0:
                raise SourceError(f"the {name} sheet has no data rows", where=sc.table.source)
        except SyncError as e:
            sc.error = e
        if sc.table is not None:
            sc.mapping = review_mapping(
                ent, entity.mapping, sc.table.headers,
                extra_required=snap.required_fields if (snap and ent == "user") else (),
                known_custom=snap.known_custom_fields if (snap and ent == "user") else None,
            )
        report.sources.append(sc)
    return report


# --- embedded LMS ------------------------------------------------------------

def _embedded(cfg: Config):
    if cfg.lms.kind != "local":
        raise UsageError("`lms load` and `lms dump` act on the embedded LMS only",
                         where=f"{cfg.path}: [lms] kind = {cfg.lms.kind!r}", hint='they need [lms] kind = "local"')
    from .lms.embedded import EmbeddedLMS

    return EmbeddedLMS(cfg.lms.path or cfg.base_dir / "lms.sqlite")


async def lms_load(cfg: Config, departments: Path, users: Path) -> tuple[int, int]:
    from .lms.sheets import read_load_files

    deps, us = read_load_files(departments, users)
    lms = _embedded(cfg)
    try:
        await lms.load(deps, us)
    finally:
        await lms.close()
    return len(deps), len(us)


async def lms_dump(cfg: Config) -> dict[str, Any]:
    lms = _embedded(cfg)
    try:
        return await lms.dump()
    finally:
        await lms.close()


# --- demo ----------------------------------------------------------------------

async def prepare_demo(target: Path) -> Config:
    """Copy sample_data to `target`, fill its embedded LMS and ledger with the prior state."""
    from .lms.embedded import EmbeddedLMS
    from .lms.sheets import read_load_files
    from .sources.local import read_file
    from .sources.table import SheetOptions

    if not (SAMPLE_DATA / "tui-sync.toml").exists():
        raise UsageError("sample_data/ is missing from this installation", where=str(SAMPLE_DATA))
    target.mkdir(parents=True, exist_ok=True)
    for item in SAMPLE_DATA.iterdir():
        if item.is_file() and item.suffix in (".csv", ".xlsx", ".toml", ".md"):
            shutil.copy2(item, target / item.name)
    cfg = load_config(target / "tui-sync.toml")
    shutil.rmtree(cfg.state, ignore_errors=True)
    db = cfg.lms.path or target / "lms.sqlite"
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    prior = SAMPLE_DATA / "prior"
    deps, users = read_load_files(prior / "lms_departments.csv", prior / "lms_users.csv")
    lms = EmbeddedLMS(db)
    try:
        await lms.load(deps, users)
        snap = await lms.snapshot()
    finally:
        await lms.close()
    managed = read_file(prior / "managed.csv", SheetOptions()).df
    want = {(e.casefold(), k.casefold()) for e, k in managed.select("entity", "key").iter_rows()}
    Ledger(cfg.state).record(
        {i: None for i, c in snap.departments.select("id", "code").iter_rows() if ("department", (c or "").casefold()) in want},
        {i: None for i, lg in snap.users.select("id", "login").iter_rows() if ("user", lg.casefold()) in want},
    )
    return cfg


def load(path: Path) -> Config:
    return load_config(path)


__all__ = ["load", "make_plan", "check", "lms_load", "lms_dump", "prepare_demo", "mapped_frame"]


# --- apply, run, runs (issue 3) ------------------------------------------------

async def apply(cfg: Config, *, plan: Plan | None = None, approve: str | None = None,
                resolutions: list[Resolution] | None = None, trigger: str = "apply",
                progress=None, cancel=None):
    """`apply`: the approved changes of `plan`, or of a fresh plan (which needs `approve`)."""
    from .sync import apply_plan
    from .sync import approve as approve_plan

    if plan is None:
        if approve is None:
            raise UsageError("apply without --plan plans afresh and needs --approve all|safe|none",
                             hint="or save a plan with `tui-sync plan --out plan.json`, review it, then "
                                  "`tui-sync apply --plan plan.json`")
        plan = (await make_plan(cfg, resolutions)).plan
    if approve:
        approve_plan(plan, approve)
    return await apply_plan(cfg, plan, trigger=trigger, progress=progress, cancel=cancel)


async def resume(cfg: Config, *, progress=None, cancel=None):
    from .sync import resume as resume_run

    return await resume_run(cfg, progress=progress, cancel=cancel)


async def run(cfg: Config, *, trigger: str = "run", progress=None, cancel=None):
    from .sync import run_unattended

    return await run_unattended(cfg, trigger=trigger, progress=progress, cancel=cancel)


def runs(cfg: Config, limit: int = 200):
    from .state.runs import RunStore

    return RunStore(cfg.state).list(limit)


def run_details(cfg: Config, run_id: int):
    from .state.runs import RunStore

    run = RunStore(cfg.state).get(run_id)
    if run is None:
        raise UsageError(f"there is no run {run_id}", where=str(cfg.state),
                         hint="`tui-sync runs` lists the runs")
    return run


def unfinished_run(cfg: Config):
    from .state.runs import RunStore

    return RunStore(cfg.state).unfinished()


async def export(cfg: Config, departments: Path, users: Path) -> tuple[int, int]:
    from .export import export_lms

    snap = await snapshot(cfg)
    return export_lms(snap, cfg, departments, users)
