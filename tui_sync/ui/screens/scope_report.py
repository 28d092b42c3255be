"""Out of scope and protected (C1, C2), on request from the review: the sheet rows the scope
leaves out and the LMS objects the protection covers, each with the rule that applied."""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import get_current_worker

from ... import service
from ...errors import SyncError
from ..literal import visible
from ..messages import ScopeReportBuilt
from ..plan_rows import TONE_STYLE
from ..widgets.keys_footer import KeysFooter
from ..widgets.lines_view import Cell, LinesView

SHOWN = 20_000  # rows listed per sheet; the count above them is always whole


def report_lines(cfg, sources, snapshot, plan) -> list[list[Cell]]:
    """The lines of the report (values are plain text cells: never markup)."""
    lines: list[list[Cell]] = []
    for name in ("departments", "users"):
        table = getattr(sources, name, None) if sources is not None else None
        scope = getattr(cfg, name).scope
        if table is None or not scope:
            lines.append([(f"{name}: no scope, every row counts", 0, "dim")])
            continue
        rows = service.out_of_scope_rows(cfg, name, table)
        lines.append([(f"{name}: {rows.height} of {table.rows} rows out of scope", 0, "bold")])
        for r, key, rule in rows.head(SHOWN).iter_rows():
            lines.append([("  ", 2, ""), (f"{name} row {r}", 22, "dim"), (key or "", 28, "bold"), (rule or "", 0, "")])
        if rows.height > SHOWN:
            lines.append([(f"  … and {rows.height - SHOWN} more", 0, "dim")])
    lines.append([("", 0, "")])
    covered = service.protected_objects(cfg, snapshot) if snapshot is not None else []
    if not cfg.protect:
        lines.append([("[protect]: nothing is protected", 0, "dim")])
    else:
        lines.append([(f"protected LMS objects: {len(covered)}", 0, "bold")])
        for o in covered:
            lines.append([("  ", 2, ""), (o.entity, 12, "dim"), (o.key, 28, "bold"), (o.why, 0, "")])
    probs = [p for p in (plan.problems if plan is not None else []) if p.code == "protected"]
    if probs:
        lines.append([("", 0, "")])
        lines.append([(f"rows that name protected objects: {len(probs)}", 0, "bold")])
        for p in probs:
            style = TONE_STYLE["error"] if p.is_error else TONE_STYLE["warning"]
            lines.append([("  ", 2, ""), (f"{p.entity}s row {p.row}", 22, "dim"), (p.key or "", 28, "bold"),
                          (p.message, 0, style)])
    return lines


class ScopeReportScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,o", "close", "Close", id="scope_report.close")]

    def __init__(self, cfg, result) -> None:
        super().__init__()
        self.cfg = cfg
        self.result = result

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="wide tall"):
            yield Static("Out of scope and protected", id="dialog-title")
            yield LinesView(id="dialog-body")
        yield KeysFooter()

    def on_mount(self) -> None:
        view = self.query_one(LinesView)
        view.empty_text = "Reading…"
        view.loading = True
        view.focus()
        self.build()

    @work(thread=True, name="scope report", group="scope-report", exclusive=True, exit_on_error=False,
          description="Listing rows out of scope and protected objects")
    def build(self) -> None:
        r = self.result
        try:
            lines = report_lines(self.cfg, r.sources if r else None, r.snapshot if r else None, r.plan if r else None)
        except SyncError as e:
            lines = [[(str(e), 0, TONE_STYLE["error"])]]
        if not get_current_worker().is_cancelled:
            self.post_message(ScopeReportBuilt(lines))

    def on_scope_report_built(self, message: ScopeReportBuilt) -> None:
        view = self.query_one(LinesView)
        view.loading = False
        view.set_lines(message.lines)

    def action_close(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class ScopeCounts:
    """What `[<name>.scope]` does to a sheet, as the Sources pane shows it (C1): rows out of scope
    of the rows read, and each rule's (keeps, drops)."""

    rows: int
    out_of_scope: int
    rules: tuple[tuple[int, int], ...]

    @classmethod
    def counted(cls, scoped) -> ScopeCounts:
        """From an engine `Scoped` (service.scope_counts: a pass over the sheet)."""
        return cls(scoped.table.rows + scoped.out_of_scope, scoped.out_of_scope,
                   tuple((c.keeps, c.drops) for c in scoped.counts))

    @classmethod
    def planned(cls, source: dict, scope, rows: int) -> ScopeCounts | None:
        """From a plan's `sources[<name>]`, which records each rule's keeps and drops as the plan
        scoped its sheet; None when it recorded none or other rules than `scope`'s."""
        rules = source.get("scope")
        if not rules or "out_of_scope" not in source or \
                [r.get("rule") for r in rules] != [scope.describe(i) for i in range(len(scope.rules))]:
            return None
        return cls(rows, source["out_of_scope"], tuple((r["keeps"], r["drops"]) for r in rules))


def scope_text(cfg, name: str, counts: ScopeCounts | SyncError | str | None) -> Text:
    """The Sources pane's lines for `[<name>.scope]`: each rule with the rows it keeps and drops
    (`counts`: a SyncError or failure text when a rule does not fit the sheet; None: still counting)."""
    scope = getattr(cfg, name).scope
    t = Text()
    if counts is None:
        t.append("scope: counting…", style="dim")
        return t
    if isinstance(counts, (SyncError, str)):
        t.append(f"✖ {counts}", style=TONE_STYLE["error"])
        return t
    t.append(f"scope: {counts.out_of_scope} of {counts.rows} rows out of scope "
             "(review: o lists them)", style="bold")
    for i, (keeps, drops) in enumerate(counts.rules):
        t.append("\n  ")
        t.append(visible(scope.describe(i)))
        t.append(f" — keeps {keeps}, drops {drops}", style="dim")
    return t
