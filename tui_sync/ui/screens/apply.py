"""Apply: the question first (what will happen, destructive kinds in red, No by
default), then live progress in a worker, cancellable, ending on the run's summary."""
from __future__ import annotations

import asyncio
import time
from collections import Counter

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static
from textual.worker import get_current_worker

from ... import service
from ...config import Config
from ...model import KIND_ORDER, NOT_APPLIED, Decision, Outcome, Plan
from ...report import why_not_applied
from ..failures import ReportsWorkerErrors
from ..literal import literal, visible
from ..messages import ApplyEnded, ApplyProgressed, ApplyTick
from ..plan_rows import TONE_STYLE, glyph
from ..widgets.keys_footer import KeysFooter

TICK_SECONDS = 0.05  # at most 20 progress messages a second, however fast the LMS is
SHOWN_ERRORS = 200


def lms_name(cfg: Config) -> str:
    if cfg.lms.kind == "local":
        path = cfg.lms.path or cfg.base_dir / "lms.sqlite"
        try:
            path = path.relative_to(cfg.base_dir)
        except ValueError:
            pass
        return f"the embedded LMS ({path})"
    return f"iSpring Learn ({cfg.lms.account_url or cfg.lms.base_url})"


def apply_question(plan: Plan, cfg: Config) -> tuple[str, Text, bool]:
    todo = service.changes_to_apply(plan)
    per = Counter(c.kind for c in todo)
    body = Text()
    if todo:
        body.append(f"These approved changes will be written to {visible(lms_name(cfg))}:\n\n")
        for k in KIND_ORDER:
            if per.get(k):
                style = "bold " + TONE_STYLE["delete"] if k.destructive else ""
                body.append(f"  {glyph(k)} {k.value:<18} {per[k]:>7}\n", style=style)
    else:
        body.append("No change is approved: nothing will be written to the LMS. The apply only records "
                    "which objects this sync manages (L1).\n")
    ids = {c.id for c in todo}
    by_id = plan.by_id()
    waiting = [c for c in todo if any(d not in ids and d in by_id for d in c.depends_on)]
    if waiting:
        body.append(f"\n{len(waiting)} approved change(s) depend on changes that are not approved "
                    "and will be blocked.\n", style=TONE_STYLE["warning"])
    d = Counter(c.decision for c in plan.changes)
    blocked = sum(1 for c in plan.changes if c.decision is Decision.APPROVED and c.blocked)
    body.append(f"\nNot applied: {d.get(Decision.PENDING, 0)} pending, {d.get(Decision.REJECTED, 0)} rejected"
                + (f", {blocked} blocked" if blocked else "") + ".\n", style="dim")
    body.append("An interrupted apply can be resumed; nothing is applied twice.", style="dim")
    danger = any(c.destructive for c in todo)  # A4: by effect (an update that terminates, too)
    return f"Apply {len(todo)} change(s)?", body, danger


_COUNTED = (Outcome.APPLIED, Outcome.FAILED, Outcome.STALE, Outcome.BLOCKED)  # the outcomes the counts line shows


class ApplyScreen(ReportsWorkerErrors, ModalScreen[bool]):
    BINDINGS = [
        Binding("c", "cancel", "Cancel the apply", id="apply.cancel"),
        Binding("escape", "close", "Close", id="apply.close"),
        Binding("enter", "runs", "Show in Runs", id="apply.runs"),
    ]

    def __init__(self, plan: Plan | None = None, *, resume: bool = False) -> None:
        super().__init__()
        self.plan = plan
        self.resume = resume
        self.running = True
        self.cancelling = False
        self.run_id: int | None = None
        self.errors: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cancel: asyncio.Event | None = None
        # touched only by the worker thread:
        self._progress_obj = None
        self._failed_seen = 0
        self._pending_errors: list[str] = []
        self._last_tick = 0.0

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="wide tall"):
            yield Static("Resuming the interrupted apply" if self.resume else "Applying", id="dialog-title")
            yield ProgressBar(total=None, show_eta=False, id="apply-bar")
            yield Static("Starting…", id="apply-counts")
            with VerticalScroll(id="dialog-body"):
                yield Static(id="apply-errors")
            yield Static(id="apply-summary")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.apply_worker()

    # --- the worker (its own thread and event loop) ---------------------------------------
    @work(thread=True, name="apply", group="apply", exclusive=True, exit_on_error=False, description="Applying")
    def apply_worker(self) -> None:
        cfg = self.sync_app.session.cfg
        loop = asyncio.new_event_loop()

        async def go() -> ApplyEnded:
            self._cancel = asyncio.Event()
            self._loop = loop
            if self.resume:
                return ApplyEnded(await service.resume(cfg, progress=self._on_progress, cancel=self._cancel))
            report = await service.apply(cfg, plan=self.plan, progress=self._on_progress, cancel=self._cancel)
            return ApplyEnded(report.run, resumed=report.resumed)

        try:
            ended = loop.run_until_complete(go())
        except asyncio.CancelledError:
            self.post_message(ApplyEnded(None, cancelled=True))
            return
        finally:
            self._loop = None
            loop.close()
        if not get_current_worker().is_cancelled:
            self.post_message(ended)

    def _on_progress(self, p) -> None:
        """Called by the applier, in the worker thread: collect, and send at most every TICK_SECONDS."""
        if p is not self._progress_obj:  # a resumed run first, then the new one
            self._progress_obj, self._failed_seen = p, 0
        failed = sum(n for o, n in p.counts.items() if o != Outcome.APPLIED)
        if failed > self._failed_seen:
            self._failed_seen = failed
            if p.last_error:
                self._pending_errors.append(p.last_error)
        now = time.monotonic()
        if now - self._last_tick >= TICK_SECONDS or p.done >= p.total:
            self._last_tick = now
            errors, self._pending_errors = self._pending_errors, []
            self.post_message(ApplyProgressed(ApplyTick(p.done, p.total, Counter(p.counts), errors)))

    # --- back on the UI thread -------------------------------------------------------------
    def on_apply_progressed(self, message: ApplyProgressed) -> None:
        t = message.tick
        self.query_one(ProgressBar).update(total=max(t.total, 1), progress=t.done)
        self.query_one("#apply-counts", Static).update(self.counts_line(t.done, t.total, t.counts))
        if t.errors:
            self.errors.extend(t.errors)
            self.show_errors()

    def counts_line(self, done: int, total: int, counts: Counter) -> Text:
        text = Text(f"{done} of {total} done   ")
        for outcome, style in zip(_COUNTED, (TONE_STYLE["approved"], TONE_STYLE["error"], TONE_STYLE["warning"],
                                             TONE_STYLE["warning"])):
            text.append(f"{counts.get(outcome, 0)} {outcome}  ", style=style if counts.get(outcome) else "dim")
        if self.cancelling and self.running:
            text.append("cancelling after the current batch…", style="bold")
        return text

    def show_errors(self) -> None:
        shown = self.errors[-SHOWN_ERRORS:]
        lines = [Text("Not applied:", style="bold")] + [literal(f"  ✖ {e}", TONE_STYLE["error"], lines=True) for e in shown]
        if len(self.errors) > SHOWN_ERRORS:
            lines.insert(1, Text(f"  … {len(self.errors) - SHOWN_ERRORS} earlier ones in the run log", style="dim"))
        self.query_one("#apply-errors", Static).update(Group(*lines))
        self.query_one("#dialog-body", VerticalScroll).scroll_end(animate=False)

    def on_apply_ended(self, message: ApplyEnded) -> None:
        self.running = False
        self.refresh_bindings()
        title = self.query_one("#dialog-title", Static)
        summary = self.query_one("#apply-summary", Static)
        if message.cancelled:
            title.update("Apply cancelled")
            summary.update(Text("Cancelled. What was applied stays applied; the rest is recorded as an interrupted "
                                "run: it is offered for resuming when the UI opens again "
                                "(or run `tui-sync apply --resume`).", style=TONE_STYLE["warning"]))
            return
        run = message.run
        if run is None:
            title.update("Nothing to resume")
            summary.update("No apply was interrupted.")
            return
        self.run_id = run.id
        t = service.run_outcomes(run)
        bar = self.query_one(ProgressBar)
        bar.update(total=max(bar.total or 1, 1), progress=bar.total or 1)
        recorded = sum(t.get(o, 0) for o in _COUNTED)  # (with the pending changes the run recorded as blocked)
        self.query_one("#apply-counts", Static).update(self.counts_line(recorded, recorded, Counter(t)))
        title.update(literal(f"Run {run.id}: {run.status}"))
        lines = [Text("Outcomes: " + (", ".join(f"{n} {o}" for o, n in sorted(t.items()) if n) or "none"),
                      style="bold")]
        resumed = message.resumed
        if resumed is not None:
            lines.append(Text(f"Interrupted run {resumed.id} was finished first.", style="dim"))
        if run.message:
            lines.append(literal(run.message, TONE_STYLE["warning"], lines=True))
        failed = [c for c in run.changes if c.outcome in NOT_APPLIED]
        if failed and not self.errors:
            self.errors = [f"{c.kind} {c.key}: [{c.outcome}] {why_not_applied(c)}" for c in failed]
            self.show_errors()
        lines.append(Text("enter: show this run in Runs · escape: back to the review (the plan is made again)",
                          style="dim"))
        summary.update(Group(*lines))

    def worker_failed(self, name: str, text: str) -> None:
        self.running = False
        self.refresh_bindings()
        self.query_one("#dialog-title", Static).update("The apply could not run")
        self.query_one("#apply-summary", Static).update(literal(text, TONE_STYLE["error"], lines=True))

    # --- keys ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        if action == "cancel":
            return self.running and not self.cancelling
        if action in ("close", "runs"):
            return not self.running
        return True

    def action_cancel(self) -> None:
        if not self.running or self._loop is None or self._cancel is None:
            return
        self.cancelling = True
        try:
            self._loop.call_soon_threadsafe(self._cancel.set)
        except RuntimeError:  # the loop just finished
            return
        self.refresh_bindings()
        self.query_one("#apply-counts", Static).update(Text("Cancelling after the current batch…", style="bold"))

    def action_close(self) -> None:
        if not self.running:
            self.dismiss(True)

    def action_runs(self) -> None:
        if self.running:
            return
        self.sync_app.session.focus_run_next(self.run_id)
        self.dismiss(True)
        self.app.switch_mode("runs")
