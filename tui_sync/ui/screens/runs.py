"""Runs: past runs with their outcomes and per-change results; export a run's log."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, RadioSet, Static
from textual.worker import get_current_worker

from ... import service
from ...errors import UsageError
from ...model import NOT_APPLIED, Outcome, RunStatus
from ...report import run_csv, run_text, why_not_applied
from ...run_log import details, resolutions, row_problems, run_json_text
from ..literal import literal, readable, visible
from ..messages import RunExported, RunsLoaded
from ..plan_rows import TONE_STYLE
from ..widgets.keys_footer import KeysFooter
from ..widgets.lines_view import LinesView
from ..widgets.pane_bar import PaneBar
from ..widgets.toggles import Choice
from .pane import Pane

OUTCOME_STYLE = {Outcome.APPLIED: TONE_STYLE["approved"], Outcome.FAILED: TONE_STYLE["error"],
                 Outcome.STALE: TONE_STYLE["warning"], Outcome.BLOCKED: TONE_STYLE["warning"], Outcome.REJECTED: "dim",
                 Outcome.SKIPPED: "dim", Outcome.HELD: TONE_STYLE["warning"]}
STATUS_STYLE = {RunStatus.COMPLETED: "", RunStatus.HELD: TONE_STYLE["warning"], RunStatus.INTERRUPTED: TONE_STYLE["error"],
                RunStatus.ABANDONED: TONE_STYLE["warning"], RunStatus.RUNNING: "bold", RunStatus.FAILED: TONE_STYLE["error"]}
FORMATS = {"txt": "text", "csv": "CSV", "json": "JSON"}


_LOOK_FIRST = {**dict.fromkeys(NOT_APPLIED, 0), Outcome.HELD: 1, Outcome.APPLIED: 2, Outcome.SKIPPED: 3}


def outcomes(run) -> str:
    t = service.run_outcomes(run)
    return ", ".join(f"{n} {o}" for o, n in sorted(t.items()) if n) or "no changes"


def when(stamp: str | None) -> str:
    """An ISO time as people read it: date and time, no offset."""
    return stamp[:19].replace("T", " ") if stamp else "—"


def run_log(run, fmt: str, plan=None) -> str:
    if fmt == "csv":
        return run_csv(run, plan)
    if fmt == "json":
        return run_json_text(run, plan)
    return run_text(run, plan) + "\n"


class ExportScreen(ModalScreen[tuple[str, str] | None]):
    """Pick a format (arrows in the list) and a file name (tab to it), enter saves."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def __init__(self, run_id: int, folder: Path, fmt: str = "txt") -> None:
        super().__init__()
        self.run_id = run_id
        self.folder = folder
        self.fmt = fmt

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Export the log of run {self.run_id}", id="dialog-title")
            with RadioSet(id="export-format"):
                for key, name in FORMATS.items():
                    yield Choice(name, value=key == self.fmt, name=key)
            yield Input(f"run-{self.run_id}.{self.fmt}", id="export-path")
            yield Static("A .txt, .csv or .json name picks the format (or shift+tab, arrows, space). "
                         "enter saves; a relative name is in the config's folder.",
                         classes="dialog-label dim")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        fmt = event.pressed.name or "txt"
        path = self.query_one(Input)
        if path.value in (f"run-{self.run_id}.{f}" for f in FORMATS):
            path.value = f"run-{self.run_id}.{fmt}"
        self.fmt = fmt

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        if name:
            ext = Path(name).suffix.lstrip(".").lower()
            self.dismiss((ext if ext in FORMATS else self.fmt, name))  # the extension decides when it names a format

    def action_cancel(self) -> None:
        self.dismiss(None)


class RunsScreen(Pane):
    PANE = "runs"
    KEY_PREFIX = "runs"
    BINDINGS = [
        Binding("e", "export('txt')", "Export…", id="runs.export"),
        Binding("l", "reload", "Reload", id="runs.reload"),
    ]

    def compose(self) -> ComposeResult:
        yield PaneBar(self.PANE)
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="run-info")
        yield LinesView(id="run-changes")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.runs: list = []
        self.run = None
        self.plan = None
        self.export_when_loaded: str | None = None
        table = self.query_one("#runs-table", DataTable)
        table.add_columns("run", "started", "trigger", "status", "outcomes")
        super().on_mount()
        table.focus()

    def session_changed(self) -> None:
        self.action_reload()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.action_reload()

    def action_reload(self) -> None:
        cfg = self.session.cfg
        if cfg is None:
            self.query_one("#run-info", Static).update(literal(self.session.config_error or "No configuration.",
                                                               lines=True))
            return
        self.load_runs(cfg, self.session.focus_run or (self.run.id if self.run else None))

    @work(thread=True, name="runs", group="runs", exclusive=True, exit_on_error=False, description="Reading runs")
    def load_runs(self, cfg, run_id: int | None) -> None:
        runs = service.runs(cfg)
        if run_id is None and runs:
            run_id = runs[0].id
        run = service.run_details(cfg, run_id) if run_id is not None and any(r.id == run_id for r in runs) else None
        plan = service.run_plan(cfg, run.id) if run is not None else None
        if not get_current_worker().is_cancelled:
            self.post_message(RunsLoaded(runs, run, plan))

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        self.session.run_focused()
        self.runs = message.runs
        table = self.query_one("#runs-table", DataTable)
        table.clear()
        for r in self.runs:
            style = STATUS_STYLE.get(r.status, "")
            table.add_row(literal(r.id), literal(when(r.started)), literal(r.trigger), literal(r.status, style),
                          literal(outcomes(r)), key=str(r.id))
        self.show_run(message.run, message.plan)
        fmt, self.export_when_loaded = self.export_when_loaded, None
        if fmt:
            self.action_export(fmt)
        if message.run is not None:
            index = next((i for i, r in enumerate(self.runs) if r.id == message.run.id), 0)
            with table.prevent(DataTable.RowHighlighted):
                table.move_cursor(row=index)

    def show_run(self, run, plan=None) -> None:
        self.run, self.plan = run, plan
        info = self.query_one("#run-info", Static)
        lv = self.query_one("#run-changes", LinesView)
        if run is None:
            info.update("No runs yet: apply a plan from the review pane (3), or run `tui-sync run`.")
            lv.set_lines([])
            return
        t = Text()
        t.append(visible(f"Run {run.id}: {run.status}"), style="bold")
        t.append(visible(f" · {run.trigger} by {run.actor} · {when(run.started)} → {when(run.ended)}") + "\n",
                 style="dim")
        for name, src in (run.sources or {}).items():
            t.append(visible(f"{name}: {self.session.display_path(src.get('source'))} ({src.get('rows')} rows)  "),
                     style="dim")
        t.append("\nOutcomes: " + visible(outcomes(run)))
        if run.message:
            t.append("\n" + readable(run.message), style=TONE_STYLE["warning"])
        for r in resolutions(plan):
            t.append("\nResolution: " + visible(r) + " (their department is deleted)", style="dim")
        problems = row_problems(plan)
        if problems:
            t.append(f"\n{len(problems)} sheet row(s) yielded no change: " + visible(problems[0])
                     + (" … (e exports them all)" if len(problems) > 1 else ""), style=TONE_STYLE["warning"])
        info.update(t)
        lv.empty_text = "This run had no changes."
        # what needs a look first (failed, stale, blocked), then held, applied and skipped, each in journal order
        # (after each change: why it was not applied, or its values before → after and where it came from)
        more = details(plan)
        shown = sorted(run.changes, key=lambda c: _LOOK_FIRST.get(c.outcome, 1))
        lv.set_lines([[(c.outcome, 10, OUTCOME_STYLE.get(c.outcome, "")), (c.kind, 19, ""), (c.key, 26, "bold"),
                       self.what(c, more.get(c.change_id, {}))] for c in shown])

    @staticmethod
    def what(c, more: dict) -> tuple[str, int, str]:
        why = why_not_applied(c)
        if why:
            return why, 0, TONE_STYLE["error"] if c.error else "dim"
        text = "; ".join(more.get("fields", []))
        if more.get("note"):
            text = f"{text} ({more['note']})" if text else more["note"]
        return text, 0, "dim"

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is None or event.row_key.value is None:
            return
        run_id = int(event.row_key.value)
        if self.run is None or self.run.id != run_id:
            self.load_runs(self.session.cfg, run_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.query_one("#run-changes", LinesView).focus()

    # --- export --------------------------------------------------------------------------
    def action_export(self, fmt: str) -> None:
        cfg = self.session.cfg
        if self.run is None and any(w.group == "runs" and w.is_running for w in self.workers):
            self.export_when_loaded = fmt  # (asked from another pane's palette: the runs are being read)
            return
        if self.run is None or cfg is None:
            self.notify("No run to export.", timeout=3)
            return
        run, plan = self.run, self.plan

        def chosen(answer) -> None:
            if answer:
                f, name = answer
                path = Path(name).expanduser()
                if not path.is_absolute():
                    path = cfg.base_dir / path
                self.export_worker(run, f, path, plan)

        self.app.push_screen(ExportScreen(run.id, cfg.base_dir, fmt), chosen)

    @work(thread=True, name="export", group="export", exclusive=True, exit_on_error=False, description="Exporting")
    def export_worker(self, run, fmt: str, path: Path, plan=None) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(run_log(run, fmt, plan), encoding="utf-8")
        except OSError as e:
            raise UsageError(f"the run log cannot be written ({e.strerror})", where=str(path),
                             hint="pick another folder or file name") from None
        self.post_message(RunExported(run.id, fmt, path))

    def on_run_exported(self, message: RunExported) -> None:
        self.notify(f"Run {message.run_id} saved as {FORMATS[message.fmt]} to "
                    f"{self.session.display_path(message.path)}", title="Exported", timeout=6)
