"""The one way in: the CLI and the UI call these functions and nothing deeper.

Each function gathers its inputs (config, sources, LMS, ledger), calls the
engine and returns plain results; none of them prints.

Most imports sit inside the functions that need them (each marked "deferred for start-up"), so
that a command or the UI loads only what it uses: importing the LMS clients, applying, the run
history, exports and the config writer up front roughly doubles this module's import time
(about 0.2 s more at start-up).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .config import STATE_DIR_NAME, Config, EntityConfig, LmsConfig, SourceConfig, load_config
from .engine.mapping import MappingReport, review_mapping
from .engine.policy import BLANKS, NO_BLANK, UPDATES, FieldPolicy  # noqa: F401  (the UI's C3 words)
from .errors import ConfigError, SyncError, UsageError
from .lms.base import Snapshot
from .lms.open import embedded_path as _embedded_path
from .lms.open import open_lms  # noqa: F401  (fronted as it is: the CLI, the UI and tests open the LMS here)
from .model import Plan, Resolution, RunStatus
from .planning import (  # noqa: F401  (fronted as they are: the CLI and the UI plan through `service`)
    PlanResult, Sources, lms_identity, make_plan, plan_seal, read_source, read_sources, snapshot,
)
from .sources.table import Table
from .state.ledger import Ledger

if TYPE_CHECKING:  # types only: these modules load when their function is first called
    from .applying import ApplyReport
    from .engine.protect import ProtectedObject
    from .engine.resolve import Blockers, MoveTarget
    from .engine.scope import Scoped
    from .export import Exported
    from .lms.embedded import EmbeddedLMS
    from .model import Change
    from .state.history import HeldSummary
    from .sources.fetch import SourceReport
    from .state.runs import Run

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


def read_saved_plan(cfg: Config, path: Path) -> Plan:
    """A plan saved for this configuration (`apply --plan`): refused (exit 2, nothing written) when
    made for another folder or LMS, or edited anywhere but its decisions (A4)."""
    from .plan_io import read_plan  # (deferred for start-up)

    return read_plan(path, plan_seal(cfg, create=False))


@dataclass
class SourceCheck:
    entity: str
    report: SourceReport  # reachable, bytes, format, sheets, header, rows, client_email
    mapping: MappingReport | None = None

    @property
    def table(self) -> Table | None:
        return self.report.table

    @property
    def error(self) -> SyncError | None:
        return self.report.failure


@dataclass
class CheckReport:
    config: Config
    sources: list[SourceCheck] = field(default_factory=list)
    lms_error: SyncError | None = None
    lms_counts: tuple[int, int] | None = None  # departments, users
    lms_facts: dict[str, Any] = field(default_factory=dict)  # iSpring: auth style, fields

    @property
    def ok(self) -> bool:
        return self.lms_error is None and all(
            s.error is None and s.mapping is not None and s.mapping.ok for s in self.sources)


async def check(cfg: Config, *, progress=None) -> CheckReport:
    """Validate sources and mapping and reach the LMS, without planning (DESIGN §2 `check`)."""
    from .sources.fetch import FetchCache, describe_source, read_together  # (deferred for start-up)

    report = CheckReport(cfg)
    snap: Snapshot | None = None
    lms = open_lms(cfg)
    try:
        snap = await lms.snapshot()
        report.lms_counts = (snap.departments.height, snap.users.height)
        report.lms_facts = await lms.describe()
    except SyncError as e:
        report.lms_error = e
    finally:
        await lms.close()
    cache = FetchCache()
    read_together([cfg.departments.source, cfg.users.source], cfg.state, cache)
    for name, ent in (("departments", "department"), ("users", "user")):
        entity: EntityConfig = getattr(cfg, name)
        sc = SourceCheck(name, describe_source(entity.source, cfg.state, cache=cache, progress=progress))
        if sc.table is not None:
            sc.mapping = review_entity_mapping(ent, entity.mapping, sc.table.headers, snap, sc.table.encoding)
        report.sources.append(sc)
    return report


# --- embedded LMS ------------------------------------------------------------

def _embedded(cfg: Config) -> EmbeddedLMS:
    if cfg.lms.kind != "local":
        raise UsageError("`lms load` and `lms dump` act on the embedded LMS only",
                         where=f"{cfg.path}: [lms] kind = {cfg.lms.kind!r}", hint='they need [lms] kind = "local"')
    from .lms.embedded import EmbeddedLMS  # (deferred for start-up)

    return EmbeddedLMS(_embedded_path(cfg))


async def lms_load(cfg: Config, departments: Path, users: Path) -> tuple[int, int]:
    from .lms.embedded_load import LoadRefused  # (deferred for start-up)
    from .lms.sheets import read_departments, read_users_frame

    deps, (us, custom) = read_departments(departments), read_users_frame(users)
    lms = _embedded(cfg)
    try:
        await lms.load(deps, us, custom)
    except LoadRefused as e:  # problems of rows ("departments rows 2, 3: …"): name the files they are in
        e.where = f"{departments} (departments) and {users} (users)"
        raise
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

DEMO_MARK = ".tui-sync-demo"


def _refuse_a_real_folder(target: Path) -> None:
    """A demo replaces its folder's configuration, embedded LMS and state folder: only in a new or
    empty folder, or in one a demo made (its mark, or the sample configuration unchanged)."""
    if not target.exists() or (target / DEMO_MARK).exists():
        return
    if not target.is_dir():
        raise UsageError("the demo needs a folder, and this is a file", where=str(target),
                         hint="pass --dir with a new folder, e.g. --dir ./tui-sync-demo")
    config = target / "tui-sync.toml"
    if config.is_file() and config.read_bytes() == (SAMPLE_DATA / "tui-sync.toml").read_bytes():
        return  # a demo made before the mark
    if any(target.iterdir()):
        raise UsageError("the folder is not empty and no demo was made in it: the demo would replace its "
                         "tui-sync.toml, lms.sqlite, sheets and state folder", where=str(target),
                         hint="pass --dir with a new or empty folder, e.g. --dir ./tui-sync-demo")


async def prepare_demo(target: Path) -> Config:
    """Copy sample_data to `target`, fill its embedded LMS and ledger with the prior state."""
    from .lms.embedded import EmbeddedLMS  # (deferred for start-up)
    from .lms.sheets import read_load_files  # (these three too: only the demo needs them)
    from .sources.local import read_file
    from .sources.table import SheetOptions

    if not (SAMPLE_DATA / "tui-sync.toml").exists():
        raise UsageError("sample_data/ is missing from this installation", where=str(SAMPLE_DATA))
    _refuse_a_real_folder(target)
    target.mkdir(parents=True, exist_ok=True)
    (target / DEMO_MARK).write_text("made by `tui-sync demo`: it may be made again here\n")
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



# --- apply, run, runs (A1-A4) -------------------------------------------------

async def apply(cfg: Config, *, plan: Plan | None = None, approve: str | None = None,
                resolutions: list[Resolution] | None = None, trigger: str = "apply",
                progress=None, cancel=None, download=None) -> ApplyReport:
    """`apply`: the approved changes of `plan`, or of a fresh plan (which needs `approve`)."""
    from .applying import apply_plan  # (deferred for start-up)
    from .applying import approve as approve_plan

    if plan is None:
        if approve is None:
            raise UsageError("apply without --plan plans afresh and needs --approve all|safe|none",
                             hint="or save a plan with `tui-sync plan --out plan.json`, review it, then "
                                  "`tui-sync apply --plan plan.json`")
        plan = (await make_plan(cfg, resolutions, progress=download)).plan
    else:  # C2: a saved plan may predate the protection; what it names now is not written
        from .applying import refuse_protected_now  # (deferred for start-up)

        await refuse_protected_now(cfg, plan)
    if approve:
        approve_plan(plan, approve)
    return await apply_plan(cfg, plan, trigger=trigger, progress=progress, cancel=cancel)


async def resume(cfg: Config, *, progress=None, cancel=None) -> Run | None:
    from .applying import resume as resume_run  # (deferred for start-up)

    return await resume_run(cfg, progress=progress, cancel=cancel)


def abandon(cfg: Config) -> list[Run]:
    """`apply --abandon`: close interrupted applies without writing; the runs closed (A4)."""
    from .applying import abandon as abandon_runs  # (deferred for start-up)

    return abandon_runs(cfg)


async def run(cfg: Config, *, trigger: str = "run", progress=None, cancel=None,
              download=None) -> ApplyReport:
    from .applying import run_unattended  # (deferred for start-up)

    return await run_unattended(cfg, trigger=trigger, progress=progress, cancel=cancel, download=download)


def runs(cfg: Config, limit: int = 200) -> list[Run]:
    """The run history, newest first; an interrupted run shows what it applied (`settle_stopped`)."""
    from .applying import settle_stopped  # (deferred for start-up, as the run store below)
    from .state.runs import RunStore

    settle_stopped(cfg)
    return RunStore(cfg.state).list(limit)


def run_details(cfg: Config, run_id: int) -> Run:
    from .applying import settle_stopped  # (deferred for start-up, as the run store below)
    from .state.runs import RunStore

    settle_stopped(cfg)
    run = RunStore(cfg.state).get(run_id)
    if run is None:
        raise UsageError(f"there is no run {run_id}", where=str(cfg.state),
                         hint="`tui-sync runs` lists the runs")
    return run


def latest_run_id(cfg: Config) -> int | None:
    """The newest run's id; None when there is none or the history cannot be read."""
    from .state.runs import RunStore  # (deferred for start-up)

    try:
        runs = RunStore(cfg.state).list(1)
    except SyncError:
        return None
    return runs[0].id if runs else None


def failed_run(cfg: Config, before: int | None, error: BaseException, trigger: str = "run") -> Run | None:
    """The run an unattended sync that failed with `error` left in the history: the apply it
    started (interrupted by the error), the failed run it recorded, or — when it recorded none —
    a `failed` run recorded now. None when the history cannot be written (a full disk)."""
    from .safe_text import safe_message  # (deferred for start-up)
    from .state.runs import RunStore

    store = RunStore(cfg.state)
    try:
        newest = latest_run_id(cfg)
        if newest is not None and newest != before:
            return store.get(newest)
        return store.record_event(trigger, RunStatus.FAILED, str(cfg.path), safe_message(error))
    except SyncError:
        return None


def run_plan(cfg: Config, run_id: int) -> Plan | None:
    """The plan a run applied (kept with it), for the run log's details; None when it is gone."""
    from .state.runs import RunStore  # (deferred for start-up)

    try:
        return RunStore(cfg.state).load_plan(run_id)
    except (OSError, SyncError, ValueError):
        return None


def unfinished_run(cfg: Config) -> Run | None:
    """The apply left unfinished, if any, with what it applied (`settle_stopped`)."""
    from .applying import settle_stopped  # (deferred for start-up, as the run store below)
    from .state.runs import RunStore

    settle_stopped(cfg)
    return RunStore(cfg.state).unfinished()


def refuse_own_files(cfg: Config, path: Path, what: str, *, sources: bool = True) -> None:
    """O2: an output never replaces what tui-sync works from — its configuration, the embedded LMS's
    database, a file of its state folder, or (`sources`) a sheet it reads (`plan --out lms.sqlite`
    would wipe the LMS). A UsageError (exit 2) before anything is written."""
    from .files import same_regular_file  # (deferred for start-up)

    own = [(cfg.path, "over the configuration file")]
    if cfg.lms.kind == "local":
        own.append((_embedded_path(cfg), "over the embedded LMS's database"))
    if sources:
        own += [(e.source.path, f"over the {name} sheet it reads") for name, e in (("departments", cfg.departments),
                                                                    ("users", cfg.users))
                if e.source.kind == "file" and e.source.path is not None]
    target = os.path.realpath(path)
    for file, name in own:
        if same_regular_file(path, file):
            break
    else:
        state = os.path.realpath(cfg.state)
        if os.path.commonpath([target, state]) != state:
            return
        name = "into the state folder (tui-sync's own files)"
    raise UsageError(f"cannot write {what} {name}", where=str(path), hint="name another file")


async def export(cfg: Config, departments: Path, users: Path, *, guard_formulas: bool = False) -> Exported:
    """Write the LMS's departments and users as sheets (F3)."""
    from .export import export_lms  # (deferred for start-up)
    from .files import same_regular_file

    for path, what in ((departments, "the departments sheet"), (users, "the users sheet")):
        refuse_own_files(cfg, path, what, sources=False)  # (re-starting a sheet from the LMS is an export's job)
    if same_regular_file(departments, users):  # the users sheet would silently replace the departments
        raise UsageError(f"the departments and the users sheets would both be written to {departments}: "
                         "the second would replace the first", where=str(users),
                         hint="name two different files, e.g. departments.csv and users.csv")
    snap = await snapshot(cfg)
    return export_lms(snap, cfg, departments, users, guard_formulas=guard_formulas)


# --- UI support ---------------------------------------------------------------
# Thin wrappers the terminal UI needs; the work is in engine/resolve.py and config_write.py.

async def replan(cfg: Config, previous: PlanResult, resolutions: list[Resolution], *,
                 reread: bool = False) -> PlanResult:
    """Plan again with `resolutions`, keeping every decision by change id; from the same
    sheets, or (`reread`) from the sheets as they are now."""
    from .engine.resolve import carry_decisions  # (deferred for start-up)

    result = await make_plan(cfg, resolutions, sources=None if reread else previous.sources)
    carry_decisions(previous.plan, result.plan)
    return result


def is_safe(change: Change) -> bool:
    """`--approve safe` judged by effect (A4): nothing that inactivates, terminates or deletes
    (`Change.destructive`), and nothing with an error (it cannot be approved)."""
    return not (change.destructive or change.blocked)


# the config sections a plan is made from (the schedule, notify and keys are not)
_PLAN_SECTIONS = ("lms", "departments", "users", "protect")


def plan_inputs(cfg: Config, result: PlanResult) -> dict[str, str]:
    """Fingerprints of what `result` was made from: each sheet (its bytes' sha256), the LMS's
    state (its departments and users as the snapshot read them) and the config sections that
    shape a plan. Equal fingerprints: a new plan from the same inputs is the same plan (P1 ids),
    so decisions made on one hold for the other."""
    def frame(df: pl.DataFrame) -> bytes:
        names = "|".join(df.columns).encode()
        if df.height == 0 or not df.columns:
            return names
        out = io.BytesIO()  # a hash per row, in id order (a million rows: a few tens of milliseconds)
        df.sort(df.columns[0]).hash_rows(seed=0).to_frame().write_ipc(out, compression="uncompressed")
        return names + out.getvalue()

    snap = result.snapshot
    lms = hashlib.sha256()
    for part in (snap.root_id.encode(), frame(snap.departments), frame(snap.users),
                 "|".join(snap.custom_fields).encode(), "|".join(snap.required_fields).encode()):
        lms.update(hashlib.sha256(part).digest())
    config = json.dumps({k: cfg.raw.get(k) for k in _PLAN_SECTIONS}, sort_keys=True, default=str)
    return {"departments": result.sources.departments.fingerprint, "users": result.sources.users.fingerprint,
            "lms": lms.hexdigest(), "config": hashlib.sha256(config.encode()).hexdigest()}


def department_blockers(result: PlanResult, change: Change) -> Blockers:
    """D5 as data: the users and child departments that keep `change` (a delete) blocked."""
    from .engine.resolve import blockers  # (deferred for start-up)

    return blockers(result.plan, result.snapshot, change)


def move_targets(result: PlanResult) -> list[MoveTarget]:
    """Departments that stay after the plan (where a deleted department's users may go)."""
    from .engine.resolve import move_targets as targets  # (deferred for start-up)

    return targets(result.plan, result.snapshot)


def save_config(path: Path, raw: dict[str, Any]) -> Config:
    """Validate and write a whole config (tomli-w); the previous file is kept as .bak."""
    from .config_write import save_config as save  # (deferred for start-up)

    return save(path, raw)


def save_mapping(cfg: Config, entity: str, mapping: dict[str, str]) -> Config:
    """Write `[<entity>.mapping]` into the config file, keeping every other setting."""
    from .config_write import save_config as save  # (deferred for start-up)
    from .config_write import with_mapping

    return save(cfg.path, with_mapping(cfg.raw, entity, mapping))


def check_source_settings(raw_source: dict[str, Any], config_path: Path, entity: str) -> SourceConfig:
    from .config_write import check_source  # (deferred for start-up)

    return check_source(raw_source, config_path, entity)


def check_lms_settings(raw_lms: dict[str, Any], config_path: Path) -> LmsConfig:
    from .config_write import check_lms  # (deferred for start-up)

    return check_lms(raw_lms, config_path)


def read_source_settings(raw_source: dict[str, Any], config_path: Path, entity: str) -> Table:
    """Read a sheet from source settings that are not saved yet (the wizard's preview)."""
    from .config_write import check_source  # (deferred for start-up)
    from .sources.fetch import fetch_source

    return fetch_source(check_source(raw_source, config_path, entity), config_path.parent / STATE_DIR_NAME)


def review_entity_mapping(entity: str, mapping: dict[str, str], headers: tuple[str, ...],
                          snap: Snapshot | None = None, encoding: str | None = None) -> MappingReport:
    """`check`'s mapping review for one entity ("department" or "user") against a sheet's headers
    (read in `encoding`, for a CSV)."""
    user = entity == "user" and snap is not None
    return review_mapping(entity, mapping, headers,
                          extra_required=snap.required_fields if user else (),
                          known_custom=snap.known_custom_fields if user else None, encoding=encoding)


def mapping_fields(entity: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The standard LMS fields of "department" or "user", and the required ones."""
    from .engine.mapping import fields_of  # (deferred for start-up)

    return fields_of(entity)


def suggest_column(field_name: str, headers: tuple[str, ...], taken: set[str], *,
                   mapped: str | None = None) -> str | None:
    """A header for an unmapped field, or for one `mapped` to a column the sheet lacks."""
    from .engine.mapping import suggest, suggest_instead  # (deferred for start-up)

    return suggest(field_name, headers, taken) if mapped is None else \
        suggest_instead(field_name, mapped, headers, taken)


def store_secret(state_dir: Path, name: str, value: str) -> None:
    from .secrets import store_secret as store  # (deferred for start-up)

    store(state_dir, name, value)


# --- held for review (P3) ---

def held_summary(cfg: Config, *, history: int = 200) -> HeldSummary | None:
    """What unattended runs hold for review now, or None; reads the run history only."""
    from .state.history import held_summary as summary  # (the run history loads on first use)

    return summary(cfg.state, history=history)


def changes_to_apply(plan: Plan) -> list[Change]:
    """The changes an apply of `plan` would write: approved and not blocked (A1 order)."""
    from .engine.apply import selected  # (deferred for start-up)

    return selected(plan)[0]


def run_outcomes(run: Run) -> dict[str, int]:
    """How many changes of a run ended how (applied, failed, stale, blocked, skipped …)."""
    from .state.runs import totals  # (deferred for start-up)

    return dict(totals(run))


# --- scope and protection (C1, C2), for the UI -----------------------------------------------

def scope_counts(cfg: Config, name: str, table: Table) -> Scoped:
    """What `[<name>.scope]` does to a sheet: rows out of scope, and each rule's keeps and drops
    (an `engine.scope.Scoped`). A rule naming a column the sheet lacks raises ConfigError."""
    from .engine.scope import apply_scope  # (deferred for start-up)

    try:
        return apply_scope(table, getattr(cfg, name).scope, name[:-1])[0]
    except ConfigError as e:
        e.where = f"{cfg.path}: {e.where}"
        raise


def out_of_scope_rows(cfg: Config, name: str, table: Table) -> pl.DataFrame:
    """The rows `[<name>.scope]` leaves out: row (as the sheet numbers it), key (login or code, as
    mapped) and rule (the first rule that left the row out)."""
    from .engine.scope import RULE, ROW, apply_scope  # (deferred for start-up)

    scope = getattr(cfg, name).scope
    _, dropped = apply_scope(table, scope, name[:-1], with_rows=True)
    mapped = getattr(cfg, name).mapping.get("login" if name == "users" else "code")
    by_fold = {h.casefold(): h for h in table.headers}
    key = by_fold.get(mapped.casefold()) if mapped else None
    labels = {i: scope.describe(i) for i in range(len(scope.rules))}
    return dropped.select(
        pl.col(ROW).alias("row"),
        (pl.col(key) if key else pl.lit(None, pl.String)).alias("key"),
        pl.col(RULE).replace_strict(labels, return_dtype=pl.String).alias("rule"))


def protected_objects(cfg: Config, snap: Snapshot) -> list[ProtectedObject]:
    """Every LMS user and department `[protect]` covers, each with the rule that applied."""
    from .engine.protect import protected_objects as covered  # (deferred for start-up)

    return covered(snap.users, snap.departments, cfg.protect)


def protect_suggestions(cfg: Config, snap: Snapshot, users: Table, limit: int = 50) -> list[str]:
    """Active LMS users no row of the users sheet matches (by login or email): likely admins and
    service accounts, to offer for `[protect] users`."""
    from .engine.protect import protect_suggestions as suggest  # (deferred for start-up)

    def column(f: str) -> pl.Series:
        mapped = cfg.users.mapping.get(f, "")
        col = {h.casefold(): h for h in users.headers}.get(mapped.casefold())
        return users.df[col] if col else pl.Series([], dtype=pl.String)

    return suggest(snap.users, column("login"), column("email"), limit)


def save_field_policies(cfg: Config, entity: str, policies: dict[str, Any]) -> Config:
    """Write `[<entity>.fields]` (LMS field -> FieldPolicy), keeping every other setting."""
    from .config_write import save_config as save  # (deferred for start-up)
    from .config_write import with_fields

    return save(cfg.path, with_fields(cfg.raw, entity, policies))
