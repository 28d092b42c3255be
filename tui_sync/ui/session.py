"""What the open UI holds: the config, the current plan and the undo history.

Plain data, shared by the panes through the app; no Textual here. The app and the
panes read the fields and change them only through the transitions below, each a
whole change of state that bumps `version`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config, SourceConfig
from ..model import Decision
from ..service import PlanResult, Sources
from .plan_rows import Filter, PlanView

if TYPE_CHECKING:
    from ..service import HeldSummary, Table
    from .saved_review import SavedReview

SHEETS = ("departments", "users")


@dataclass
class Session:
    config_path: Path
    cfg: Config | None = None
    config_error: str | None = None
    result: PlanResult | None = None
    view: PlanView | None = None
    planning: bool = False
    reading: bool = False  # the sheets are being read for the sources and mapping panes
    plan_error: str | None = None
    sources: Sources | None = None  # the sheets the current plan was made from
    tables: dict[str, Table] = field(default_factory=dict)  # "departments"/"users" -> as last read (plan or sources pane)
    table_errors: dict[str, str] = field(default_factory=dict)  # "departments"/"users" -> why it could not be read
    history: list[list[tuple[str, Decision]]] = field(default_factory=list)  # undo, by change id
    version: int = 0  # bumped by each transition below: a pane redraws when it changed since it last looked
    focus_run: int | None = None  # the Runs pane selects this run when it opens next
    held: HeldSummary | None = None  # what unattended runs hold for review
    inputs: dict[str, str] | None = None  # service.plan_inputs of the current plan
    table_sources: dict[str, SourceConfig] = field(default_factory=dict)  # "departments"/"users" -> the source config read
    saved: SavedReview | None = None  # waiting for the first plan, to restore or discard
    cursor_id: str | None = None  # the change under the review cursor (kept across quitting)
    dirty: bool = False  # the review changed since it was last saved
    applied: bool = False  # the plan shown was applied: its decisions are used (a new plan is on its way)

    def stale(self, name: str) -> bool:
        """The sheet shown for `name` was read from another source than the config names now."""
        return (self.cfg is not None and name in self.tables
                and self.table_sources.get(name) != getattr(self.cfg, name).source)

    def table(self, name: str):
        """The sheet `name` as last read from the source the config names now, or None."""
        return None if self.stale(name) else self.tables.get(name)

    def unapplied(self) -> int:
        """Decisions and resolutions that quitting would leave unapplied."""
        if self.view is None or self.applied:
            return 0
        d = self.view.decision_counts
        return d.get(Decision.APPROVED, 0) + d.get(Decision.REJECTED, 0) + len(self.view.plan.resolutions)

    # --- transitions: each makes its whole change and bumps `version` (the panes redraw on it) ---------
    def set_config(self, cfg: Config) -> None:
        """A configuration was loaded, saved or written by the wizard: it is the one in use now."""
        self.cfg, self.config_error = cfg, None
        self._bump()

    def config_unusable(self, why: str) -> None:
        """There is no configuration to work with (it cannot be read, or none was written yet)."""
        self.cfg, self.config_error = None, why
        self._bump()

    def wizard_finished(self, cfg: Config, result: PlanResult | None) -> None:
        """The wizard wrote `cfg`; its dry run's plan is shown when it made one."""
        self.cfg, self.config_error, self.planning, self.plan_error = cfg, None, False, None
        if result is not None:
            self._show(result, keep_history=False, made_with=cfg)
        self._bump()

    def start_planning(self) -> None:
        self.planning, self.plan_error = True, None
        self._bump()

    def plan_made(self, result: PlanResult, *, kept: bool, inputs: dict[str, str] | None,
                  made_with: Config | None) -> None:
        """A new plan is shown; `kept`: the decisions (and their undo history) came along from the last."""
        self.planning = False
        self._show(result, keep_history=kept, made_with=made_with)
        self.inputs = inputs
        self.dirty = True
        self._bump()

    def plan_restored(self, result: PlanResult, *, inputs: dict[str, str] | None, made_with: Config | None,
                      filter: Filter, cursor: str | None) -> None:
        """The first plan after opening, with the saved review's decisions put back into it."""
        self.planning = False
        self._show(result, keep_history=False, made_with=made_with)
        self.inputs = inputs
        assert self.view is not None
        self.view.set_filter(filter)
        self.cursor_id = cursor
        self.dirty = True
        self._bump()

    def plan_failed(self, why: str) -> None:
        self.planning, self.plan_error = False, why
        self._bump()

    def plan_applied(self) -> None:
        """The plan shown was applied: its decisions are used, nothing is left to save (a new plan follows)."""
        self.dirty, self.applied = False, True
        self._bump()

    def start_reading(self) -> None:
        self.reading = True
        self._bump()

    def sheets_read(self, tables: dict[str, Table], errors: dict[str, str], made_with: Config | None) -> None:
        """The sheets as they are now (for the Sources and Mapping panes), and why any could not be read."""
        self.reading = False
        self.tables, self.table_errors = dict(tables), dict(errors)
        self.table_sources = {n: getattr(made_with, n).source for n in SHEETS} if made_with else {}
        self._bump()

    def sheets_failed(self, why: str) -> None:
        self.reading = False
        self.tables, self.table_errors = {}, dict.fromkeys(SHEETS, why)
        self._bump()

    def set_held(self, held: HeldSummary | None) -> None:
        self.held = held
        self._bump()

    def found_saved(self, saved: SavedReview | None) -> None:
        """Opening: the review saved last time (if any) waits for the first plan."""
        self.saved = saved

    def take_saved(self) -> SavedReview | None:
        """The saved review waiting for the first plan, handed over once."""
        saved, self.saved = self.saved, None
        return saved

    # --- the review: decisions change the plan in place (no new version) --------------------------------
    def decided(self, batch: list[tuple[str, Decision]]) -> None:
        """Decisions were made: `batch` (the earlier decision of each change) is what undo restores."""
        self.history.append(batch)
        self.dirty = True

    def undo(self) -> list[tuple[str, Decision]] | None:
        """The last batch of decisions to restore (None: nothing to undo)."""
        if not self.history:
            return None
        self.dirty = True
        return self.history.pop()

    def cursor_moved(self, change_id: str) -> None:
        if change_id != self.cursor_id:
            self.cursor_id, self.dirty = change_id, True

    def review_changed(self) -> None:
        """The review changed (its filter, say) or is to be saved anyway: the autosave writes it."""
        self.dirty = True

    def review_saving(self) -> None:
        """The autosave took the review as it is now."""
        self.dirty = False

    # --- the Runs pane --------------------------------------------------------------------------------
    def focus_run_next(self, run_id: int | None) -> None:
        """The Runs pane selects run `run_id` when it opens next."""
        self.focus_run = run_id

    def run_focused(self) -> None:
        self.focus_run = None

    def _show(self, result: PlanResult, *, keep_history: bool, made_with: Config | None) -> None:
        self.result = result
        self.view = PlanView(result.plan)
        self.applied = False
        self.sources = result.sources
        self.tables = {"departments": result.sources.departments, "users": result.sources.users}
        self.table_errors = {}
        self.table_sources = {n: getattr(made_with, n).source for n in self.tables} if made_with else {}
        if not keep_history:
            self.history.clear()

    def _bump(self) -> None:
        self.version += 1

    def display_path(self, path: str | Path | None) -> str:
        """A path as short as it can be: relative to the config's folder when inside it."""
        if path is None:
            return "—"
        p = Path(path)
        try:
            return str(p.relative_to(self.config_path.absolute().parent))
        except ValueError:
            return str(p)
