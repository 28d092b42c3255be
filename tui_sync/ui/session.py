"""What the open UI holds: the config, the current plan and the undo history.

Plain data, shared by the panes through the app; no Textual here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..model import Decision
from ..service import PlanResult, Sources
from .plan_rows import PlanView

if TYPE_CHECKING:
    from ..service import HeldSummary
    from .saved_review import SavedReview


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
    tables: dict = field(default_factory=dict)  # "departments"/"users" -> Table as last read (plan or sources pane)
    table_errors: dict = field(default_factory=dict)  # "departments"/"users" -> why it could not be read
    history: list[list[tuple[str, Decision]]] = field(default_factory=list)  # undo, by change id
    version: int = 0  # bumped whenever the plan is replaced
    focus_run: int | None = None  # the Runs pane selects this run when it opens next
    held: HeldSummary | None = None  # what unattended runs hold for review
    inputs: dict[str, str] | None = None  # service.plan_inputs of the current plan
    table_sources: dict = field(default_factory=dict)  # "departments"/"users" -> the source config read
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

    def set_result(self, result: PlanResult | None, *, keep_history: bool) -> None:
        self.result = result
        self.view = PlanView(result.plan) if result else None
        self.applied = False
        if result is not None:
            self.sources = result.sources
            self.tables = {"departments": result.sources.departments, "users": result.sources.users}
            self.table_errors = {}
            if self.cfg is not None:
                self.table_sources = {n: getattr(self.cfg, n).source for n in self.tables}
        if not keep_history:
            self.history.clear()
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
