"""Sources: where each sheet comes from, what was read, its first rows, and every reading problem."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from ... import service
from ...errors import SyncError
from ..literal import literal, visible
from ..messages import CheckDone, ScopeCounted, SourceProgress
from ..plan_rows import TONE_STYLE
from ..widgets.keys_footer import KeysFooter
from ..widgets.pane_bar import PaneBar
from ..widgets.sheet_preview import SheetPreview
from .notice import NoticeScreen
from .pane import Pane
from .scope_report import ScopeCounts, scope_text

if TYPE_CHECKING:
    from ...service import CheckReport
    from ..session import Session

ENTITIES = (("departments", "Departments"), ("users", "Users"))


def size_text(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def source_info(session, name: str, table) -> Text:
    cfg = session.cfg
    src = getattr(cfg, name).source
    location = session.display_path(src.path) if src.kind == "file" else src.describe()
    t = Text()
    t.append(f"{src.kind}: ", style="bold")
    t.append(visible(location))
    opts = src.options
    if opts.sheet:
        t.append(visible(f"  sheet {opts.sheet!r}"), style="dim")
    if opts.header_row != 1:
        t.append(f"  header row {opts.header_row}", style="dim")
    if table is not None:
        t.append("\n")
        fmt = table.format + (f", sheet {table.sheet!r}" if table.sheet else "")
        if table.format == "csv":
            delim = {"\t": "tab"}.get(table.delimiter or "", table.delimiter or "?")
            fmt += f", {table.encoding_label}, delimiter {delim!r}"
        t.append(f"{table.rows} rows × {len(table.headers)} columns", style="bold")
        t.append(visible(f"  ({fmt}, {size_text(table.size_bytes)})"), style="dim")
        if table.sheet_names and len(table.sheet_names) > 1:
            t.append("\nsheets: " + visible(", ".join(table.sheet_names)), style="dim")
    return t


def problems_text(session, name: str, table, error: str | None) -> Group | str:
    parts: list = []
    if error:
        parts.append(literal(error, TONE_STYLE["error"], lines=True))
    if table is not None:
        for note in table.notes:
            parts.append(literal(f"⚠ {note}", TONE_STYLE["warning"], lines=True))
        if table.rows == 0:
            parts.append(Text(f"✖ the {name} sheet has no data rows: nothing can be planned", style=TONE_STYLE["error"]))
        cfg = session.cfg
        if cfg is not None:
            mapping = getattr(cfg, name).mapping
            present = {h.casefold() for h in table.headers}
            for f, col in mapping.items():
                if col.casefold() not in present:
                    parts.append(literal(f'✖ mapped column "{col}" (for {f}) is not in the sheet', TONE_STYLE["error"]))
    view = session.view if not session.plan_error else None  # (not the last plan's, when planning failed)
    if view is not None:
        entity = name[:-1]
        mine = [p for p in view.row_problems if p.entity == entity]
        if mine:
            errors = sum(1 for p in mine if p.is_error)
            parts.append(Text(f"{len(mine)} row problem(s) in the plan ({errors} errors): see Problems (4)",
                              style=TONE_STYLE["warning"]))
    if not parts:
        parts.append(Text("✓ read without problems", style=TONE_STYLE["approved"]))
    return Group(*parts)


def check_text(report: CheckReport, session: Session) -> Group:
    parts: list = []
    cfg = report.config
    if report.lms_error:
        parts.append(literal(f"✖ LMS ({cfg.lms.kind}): {report.lms_error}", TONE_STYLE["error"], lines=True))
    else:
        d, u = report.lms_counts or (0, 0)
        parts.append(Text(f"✓ LMS ({cfg.lms.kind}): reachable, {d} departments, {u} users", style=TONE_STYLE["approved"]))
        for key, value in report.lms_facts.items():
            parts.append(literal(f"  {key}: {value}", "dim", lines=True))
    for sc in report.sources:
        parts.append(Text(""))
        ok = sc.error is None and sc.table is not None
        mark, style = ("✓", TONE_STYLE["approved"]) if ok else ("✖", TONE_STYLE["error"])
        lines = sc.report.lines()
        parts.append(literal(f"{mark} {sc.entity} — {lines[0]}", style, lines=True))
        for line in lines[1:]:
            parts.append(literal(line, "" if ok else TONE_STYLE["error"] if "NOT" in line else "", lines=True))
        if sc.mapping:
            for bad, text in sc.mapping.findings():
                parts.append(literal(f"  ✖ {text}", TONE_STYLE["error"], lines=True) if bad
                             else literal(f"  {text}", lines=True))
    parts.append(Text("\nAll good." if report.ok else "\nFix the problems above (Sources: 1, Mapping: 2).",
                      style="bold"))
    return Group(*parts)


def _same(a: dict[str, tuple], b: dict[str, tuple]) -> bool:
    """The same sheets (the very tables read) with equal scopes."""
    return a.keys() == b.keys() and all(a[n][0] is b[n][0] and a[n][1] == b[n][1] for n in a)


class SourcePanel(Vertical):
    def __init__(self, name: str) -> None:
        super().__init__(id=f"source-{name}", classes="source-panel")
        self.entity = name

    def compose(self) -> ComposeResult:
        yield Static(classes="source-info")
        yield Static(classes="source-problems")
        yield SheetPreview(classes="source-preview")


class SourcesScreen(Pane):
    PANE = "sources"
    KEY_PREFIX = "sources"
    BINDINGS = [
        Binding("l", "reload", "Reload", id="sources.reload"),
        Binding("t", "check", "Test connection", id="sources.check"),
        Binding("d", "tab('departments')", "Departments", show=False, id="sources.departments"),
        Binding("u", "tab('users')", "Users", show=False, id="sources.users"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._scope_counts: dict[str, tuple] = {}  # sheet name -> (table, scope, counts): one pass per sheet read
        self._counting: dict[str, tuple] = {}  # sheet name -> (table, scope) the `scope counts` worker counts
        self._was_reading = False  # the sheets were being read when the pane last redrew

    def compose(self) -> ComposeResult:
        yield PaneBar(self.PANE)
        with TabbedContent(id="source-tabs"):
            for name, title in ENTITIES:
                with TabPane(title, id=f"tab-{name}"):
                    yield SourcePanel(name)
        yield KeysFooter()

    def session_changed(self) -> None:
        s = self.session
        for panel in self.query(SourcePanel):
            panel.loading = s.reading or (s.planning and (not s.tables or s.stale(panel.entity)))
        if s.cfg is None:
            for name, _ in ENTITIES:
                panel = self.query_one(f"#source-{name}", SourcePanel)
                panel.query_one(".source-info", Static).update(literal(s.config_error or "No configuration.",
                                                                       TONE_STYLE["error"], lines=True))
            return
        nothing = not s.tables and not s.table_errors
        if (nothing or any(s.stale(n) for n, _ in ENTITIES)) and not s.planning and not s.reading:
            self.action_reload()  # never the rows of another file under this one's name
            return
        self.show_tables()
        if not s.reading and self._was_reading:
            errors = bool(s.table_errors)
            self.notify("Some sheets could not be read: see the pane." if errors else
                        "Sheets read. Press F5 to plan with them.", severity="warning" if errors else "information",
                        timeout=4)
        self._was_reading = s.reading

    def show_tables(self) -> None:
        s = self.session
        waiting: dict[str, tuple] = {}
        for name, _ in ENTITIES:
            panel = self.query_one(f"#source-{name}", SourcePanel)
            table = s.table(name)
            panel.query_one(".source-info", Static).update(source_info(s, name, table))
            problems = problems_text(s, name, table, s.table_errors.get(name))
            scope = getattr(s.cfg, name).scope
            if table is not None and scope:  # C1: each rule, with what it keeps and drops
                counts = self.scope_counts(name, table, scope)
                if counts is None:
                    waiting[name] = (table, scope)
                problems = Group(problems, scope_text(s.cfg, name, counts))
            panel.query_one(".source-problems", Static).update(problems)
            preview = panel.query_one(SheetPreview)
            if preview.shown is not table:
                preview.show_table(table)
        if waiting and not _same(waiting, self._counting):
            self._counting = waiting
            self.count_worker(s.cfg, waiting)

    def scope_counts(self, name: str, table, scope) -> ScopeCounts | str | None:
        """What the scope does to the sheet: as the plan made from this very sheet recorded it, or as
        counted once per sheet read by the `scope counts` worker (None: not counted yet)."""
        hit = self._scope_counts.get(name)
        if hit is not None and hit[0] is table and hit[1] == scope:
            return hit[2]
        s = self.session
        if s.sources is not None and s.result is not None and getattr(s.sources, name) is table:
            return ScopeCounts.planned(s.result.plan.sources.get(name, {}), scope, table.rows)
        return None

    @work(thread=True, name="scope counts", group="scope-counts", exclusive=True, exit_on_error=False,
          description="Counting the rows each scope rule keeps and drops")
    def count_worker(self, cfg, waiting: dict[str, tuple]) -> None:
        """A pass over each sheet (a million rows: too long for the UI thread)."""
        for name, (table, scope) in waiting.items():
            try:
                counts: ScopeCounts | str = ScopeCounts.counted(service.scope_counts(cfg, name, table))
            except SyncError as e:
                counts = str(e)
            if get_current_worker().is_cancelled:
                return
            self.post_message(ScopeCounted(name, table, scope, counts))

    def on_scope_counted(self, message: ScopeCounted) -> None:
        name = message.entity
        self._scope_counts[name] = (message.table, message.scope, message.counts)
        pending = self._counting.get(name)
        if pending is not None and pending[0] is message.table and pending[1] == message.scope:
            del self._counting[name]  # (counted: no longer in flight)
        if self.session.cfg is not None:
            self.show_tables()

    def worker_failed(self, name: str, text: str) -> None:
        if name == "scope counts":  # (a bug, reported by the app): shown in place of the counts
            for entity, (table, scope) in self._counting.items():
                self._scope_counts[entity] = (table, scope, text)
            self._counting = {}
            if self.session.cfg is not None:
                self.show_tables()

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{name}"

    def action_reload(self) -> None:
        self.sync_app.read_sheets()

    def on_source_progress(self, message: SourceProgress) -> None:
        panel = self.query_one(f"#source-{message.entity}", SourcePanel)
        total = f" of {size_text(message.total)}" if message.total else ""
        panel.query_one(".source-problems", Static).update(f"Downloading… {size_text(message.done)}{total}")

    def action_check(self) -> None:
        cfg = self.session.cfg
        if cfg is None:
            return
        self.notify("Testing the connection to the LMS and the sheets…", timeout=3)
        self.check_worker(cfg)

    @work(thread=True, name="check", group="check", exclusive=True, exit_on_error=False,
          description="Testing the connection")
    def check_worker(self, cfg) -> None:
        report = asyncio.run(service.check(cfg))
        self.post_message(CheckDone(report))

    def on_check_done(self, message: CheckDone) -> None:
        self.app.push_screen(NoticeScreen("Connection test", check_text(message.report, self.session)))
