"""The app: panes as modes, the session, planning, and the one place failures are shown.

`run_app(config_path)` is what `tui-sync` and `tui-sync demo` call. Without a
config file it starts the setup wizard.
"""
from __future__ import annotations

import asyncio
import gc
import time
from functools import partial
from pathlib import Path
from typing import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

from .. import service
from ..config import Config
from ..errors import SyncError
from ..model import Decision, Kind, Outcome, Resolution
from . import saved_review
from .failures import ReportsWorkerErrors, failure_text, log_traceback
from .keys import active_keys, known_ids, ours
from .literal import readable, visible
from .messages import PlanChanged, PlanReady, SourceProgress, SourcesRead
from .plan_rows import Filter
from .screens.apply import ApplyScreen
from .screens.confirm import ConfirmScreen
from .screens.keys_help import KeysScreen
from .screens.mapping import MappingScreen
from .screens.notice import NoticeScreen
from .screens.pane import Pane
from .screens.pick import PickScreen
from .screens.problems import ProblemsScreen
from .screens.prompt import PromptScreen
from .screens.resolve import ResolveScreen
from .screens.review import ReviewScreen
from .screens.runs import ExportScreen, RunsScreen
from .screens.sources import SourcesScreen
from .screens.wizard import WizardScreen
from .session import Session
from .widgets.plan_table import PlanTable

PANE_SCREENS: dict[str, type[Pane]] = {
    "sources": SourcesScreen, "mapping": MappingScreen, "review": ReviewScreen,
    "problems": ProblemsScreen, "runs": RunsScreen,
}


class SyncApp(ReportsWorkerErrors, App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it too
    TITLE = "tui-sync"
    MODES = dict(PANE_SCREENS)  # (a copy, typed as Textual's: any screen factory by name)
    DEFAULT_MODE = "review"
    BINDINGS = [
        Binding("1", "pane('sources')", "Sources", show=False, id="pane.sources"),
        Binding("2", "pane('mapping')", "Mapping", show=False, id="pane.mapping"),
        Binding("3", "pane('review')", "Review", show=False, id="pane.review"),
        Binding("4", "pane('problems')", "Problems", show=False, id="pane.problems"),
        Binding("5", "pane('runs')", "Runs", show=False, id="pane.runs"),
        Binding("f5,ctrl+r", "replan", "Plan again", id="app.plan"),
        Binding("question_mark", "keys", "Keys", id="app.keys"),
        Binding("W", "wizard", "Setup wizard", show=False, id="app.wizard"),
        Binding("q", "quit_app", "Quit", id="app.quit"),
    ]

    def __init__(self, config_path: Path) -> None:
        super().__init__()
        self.session = Session(Path(config_path))
        self.panes: dict[str, Pane] = {}
        self.autosave_failed = False  # said once: the state folder cannot take the review

    # --- start ---------------------------------------------------------------------
    def on_mount(self) -> None:
        if not self.is_headless and self.console.color_system in ("standard", "windows"):
            self.theme = "ansi-dark"  # 16 colours: the terminal's own, not true colours squeezed into 16
        if not self.session.config_path.exists():
            self.open_wizard(first=True)
            return
        self.set_interval(1.0, self.autosave, name="autosave")
        cfg = self.load_config()
        if cfg is not None:
            self.refresh_held(announce=True)
            self.offer_resume()
            saved = saved_review.load(cfg.state)
            self.session.found_saved(saved)
            resolutions = [Resolution(a, b) for a, b in saved.resolutions] if saved else None
            self.start_plan(resolutions, keep=False)

    def load_config(self) -> Config | None:
        """The config file, read and in use; None when it cannot be used (the panes say why)."""
        try:
            cfg = service.load(self.session.config_path)
        except SyncError as e:
            self.session.config_unusable(str(e))
            self.notify(str(e), title="The configuration cannot be used", severity="error", timeout=15)
            self.broadcast()
            return None
        self.use_config(cfg)
        return cfg

    def use_config(self, cfg: Config) -> None:
        """`cfg` was loaded or saved: the session and the keymap follow it (the caller plans or redraws)."""
        before = self.session.cfg
        self.session.set_config(cfg)
        if before is None or before.keys != cfg.keys:
            self.apply_keymap()

    def apply_keymap(self) -> None:
        cfg = self.session.cfg
        keys = dict(cfg.keys) if cfg else {}
        known = known_ids([type(self), *PANE_SCREENS.values(), *_modal_classes()])
        unknown = sorted(k for k in keys if k not in known)
        if unknown:
            self.notify(f"[keys] names unknown binding ids: {', '.join(unknown)} (press ? to see the ids)",
                        severity="warning", timeout=10)
        self.set_keymap({k: v for k, v in keys.items() if k in known})

    def offer_resume(self) -> None:
        cfg = self.session.cfg
        run = service.unfinished_run(cfg) if cfg else None
        if run is None:
            return
        done = sum(1 for c in run.changes if c.outcome == Outcome.APPLIED)
        todo = sum(1 for c in run.changes if c.outcome in (Outcome.PENDING, Outcome.STARTED))
        body = (f"Apply run {run.id} (started {run.started} by {run.actor}) did not finish: "
                f"{done} change(s) were applied, {todo} approved change(s) are still to do.\n\n"
                "Resume it now? Nothing is applied twice. (A new apply also resumes it first.)")

        def answered(yes: bool | None) -> None:
            if yes:
                self.push_screen(ApplyScreen(resume=True), self.apply_closed)

        self.push_screen(ConfirmScreen("Resume an interrupted apply?", body, yes="Resume", no="Not now"), answered)

    # --- planning --------------------------------------------------------------------
    def start_plan(self, resolutions: list[Resolution] | None = None, *, keep: bool = True,
                   reread: bool = True) -> None:
        s = self.session
        if s.cfg is None:
            return
        previous = s.result if keep else None
        if resolutions is None:
            resolutions = list(previous.plan.resolutions) if previous else []
        s.start_planning()
        self.broadcast()
        self.plan_worker(s.cfg, previous, resolutions, reread)

    @work(thread=True, name="plan", group="plan", exclusive=True, exit_on_error=False)
    def plan_worker(self, cfg, previous, resolutions: list[Resolution], reread: bool) -> None:
        if previous is not None:
            result = asyncio.run(service.replan(cfg, previous, resolutions, reread=reread))
        else:
            result = asyncio.run(service.make_plan(cfg, resolutions))
        inputs = service.plan_inputs(cfg, result)
        gc.collect()  # (see ReviewScreen.prepare_search: a full collection while the operator waits anyway)
        if not get_current_worker().is_cancelled:
            self.post_message(PlanReady(result, kept=previous is not None, inputs=inputs, cfg=cfg))

    def on_plan_ready(self, message: PlanReady) -> None:
        saved = self.session.take_saved()
        if saved is not None and self.restore_review(saved, message):
            return
        self.session.plan_made(message.result, kept=message.kept, inputs=message.inputs, made_with=message.cfg)
        self.refresh_held()  # (broadcasts) what unattended runs hold may have changed since the last plan

    # --- the saved review: restored on open, kept while the UI runs ---------------------------
    def restore_review(self, saved: saved_review.SavedReview, message: PlanReady) -> bool:
        """The first plan after opening: restore the saved review when the plan was made from the
        same inputs, else discard it and say why. False when `message` is still to be shown as it is."""
        s = self.session
        changed = saved.changed(message.inputs or {})
        if changed:
            if s.cfg is not None:
                saved_review.discard(s.cfg.state)
            self.notify(f"Your saved review ({len(saved.decisions)} decision(s)) was discarded: "
                        f"{', '.join(changed)} changed since. The plan is new; review it again.",
                        title="Saved review discarded", severity="warning", timeout=12)
            if saved.resolutions:  # it was made with the discarded resolutions: plan without them
                self.start_plan([], keep=False)
                return True
            return False
        plan = message.result.plan
        restored = refused = 0
        for c in plan.changes:
            d = saved.decisions.get(c.id)
            if d is None:
                continue
            if d == Decision.APPROVED and c.blocked:
                refused += 1
                continue
            c.decision = Decision(d)
            restored += 1
        s.plan_restored(message.result, inputs=message.inputs, made_with=message.cfg, filter=_filter(saved.filter),
                        cursor=saved.cursor)
        if restored or refused or saved.resolutions:
            self.notify(f"Your review was restored: {restored} decision(s)"
                        + (f", {len(saved.resolutions)} resolution(s)" if saved.resolutions else "")
                        + (f"; {refused} approval(s) of changes that now have errors were dropped" if refused else "")
                        + ". The sheets and the LMS are as they were.", title="Review restored", timeout=8)
        self.refresh_held()
        return True

    def review_state(self) -> saved_review.SavedReview | None:
        s = self.session
        if s.view is None or s.inputs is None or s.plan_error is not None or s.applied:
            return None
        f = s.view.filter
        return saved_review.SavedReview(
            inputs=dict(s.inputs),
            decisions={c.id: c.decision.value for c in s.view.changes if c.decision is not Decision.PENDING},
            resolutions=[(r.move_users_of, r.to) for r in s.view.plan.resolutions],
            filter={k: v for k, v in (("kind", f.kind and f.kind.value), ("decision", f.decision and f.decision.value),
                                      ("problem", f.problem), ("text", f.text)) if v},
            cursor=s.cursor_id)

    def autosave(self, *, now: bool = False) -> None:
        """Keep the review in the state folder (each second at most, when it changed), on a thread:
        a plan of 100,000 changes takes a while to write. `now`: here and at once (quitting)."""
        s = self.session
        if not s.dirty or s.cfg is None or s.planning or s.view is None:
            return
        s.review_saving()
        if now:
            self.write_review(s.cfg.state)
        else:
            self.autosave_worker(s.cfg.state)

    @work(thread=True, name="autosave", group="autosave", exclusive=True, exit_on_error=False)
    def autosave_worker(self, state) -> None:
        self.write_review(state)

    def write_review(self, state) -> None:
        review = self.review_state()
        if review is None:
            return
        try:
            saved_review.save(state, review)
        except OSError as e:
            if not self.autosave_failed:
                self.autosave_failed = True
                self.notify(f"The review cannot be saved in {state}: {e.strerror or e}. "
                            "Decisions are lost if tui-sync is closed before they are applied.",
                            title="Review not saved", severity="warning", timeout=12)

    # --- reading the sheets (sources and mapping panes) ----------------------------------
    def read_sheets(self) -> None:
        s = self.session
        if s.cfg is None:
            return
        s.start_reading()
        self.broadcast()
        self.read_worker(s.cfg)

    @work(thread=True, name="read sources", group="sources", exclusive=True, exit_on_error=False,
          description="Reading the sheets")
    def read_worker(self, cfg) -> None:
        tables, errors = {}, {}
        for name in ("departments", "users"):
            last = [0.0]

            def progress(done: int, total: int | None, name: str = name, last: list = last) -> None:
                now = time.monotonic()
                if now - last[0] >= 0.1:  # a download reports often: at most ten updates a second
                    last[0] = now
                    self.post_message(SourceProgress(name, done, total))

            try:
                tables[name] = service.read_source(cfg, name, progress=progress)
            except SyncError as e:
                errors[name] = str(e)
        if not get_current_worker().is_cancelled:
            self.post_message(SourcesRead(tables, errors, cfg))

    def on_source_progress(self, message: SourceProgress) -> None:
        pane = self.panes.get("sources")
        if pane is not None:
            pane.post_message(SourceProgress(message.entity, message.done, message.total))

    def on_sources_read(self, message: SourcesRead) -> None:
        self.session.sheets_read(message.tables, message.errors, made_with=message.cfg)
        self.broadcast()

    def worker_failed(self, name: str, text: str) -> None:
        if name == "read sources":
            self.session.sheets_failed(text)
            self.broadcast()
        if name == "plan":
            self.session.plan_failed(text)
            self.refresh_held()  # (broadcasts)
            # the sheets as they are now, for the Sources and Mapping panes: what the plan could not
            # read is shown there, not the rows of the last plan that could be made
            self.read_sheets()

    def broadcast(self) -> None:
        for pane in self.panes.values():
            pane.post_message(PlanChanged())

    # --- failures: the one place ---------------------------------------------------------
    def report_failure(self, worker: Worker) -> str:
        error = worker.error
        what = (worker.description or worker.name or "a task").split("(")[0]
        log = self.log_path()
        logged = False
        if not isinstance(error, SyncError) and error is not None:
            logged = log_traceback(error, log)
        text = failure_text(error, what, log if logged else None)
        self.notify(text, title=f"{worker.name or 'Work'} failed", severity="error", timeout=15)
        return text

    def log_path(self) -> Path:
        cfg = self.session.cfg
        state = cfg.state if cfg else self.session.config_path.absolute().parent / ".tui-sync"
        return state / "ui.log"

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast is literal text (F4): its messages quote sheet values, names and paths."""
        super().notify(readable(message), title=visible(title), severity=severity, timeout=timeout, markup=False)

    # --- actions ----------------------------------------------------------------------
    def action_pane(self, name: str) -> None:
        if self.current_mode != name:
            self.switch_mode(name)

    def action_replan(self) -> None:
        if self.session.cfg is None and self.load_config() is None:
            return
        unsaved = self.unsaved_mapping()
        if not unsaved:
            self.replan()
            return

        def answered(save: bool | None) -> None:
            if save:
                self.switch_mode("mapping")
                mapping = self.mapping_pane()
                if mapping is not None:  # (it is: it holds the edits)
                    mapping.action_save()  # shows what changes, saves, plans
            else:
                self.replan()
                self.notify("Planned with the saved mapping; the edits in the Mapping pane are still unsaved.",
                            severity="warning", timeout=6)

        self.push_screen(ConfirmScreen(
            "The mapping has unsaved edits",
            f"The Mapping pane has edits of the {' and '.join(unsaved)} mapping that are not saved. "
            "F5 plans with the saved mapping.\n\nSave the edits first (you see them before they are written)?",
            yes="Save them", no="Plan without them"), answered)

    def replan(self) -> None:
        self.start_plan(keep=True, reread=True)
        self.notify("Reading the sheets and planning again; decisions are kept.", timeout=3)

    def unsaved_mapping(self) -> list[str]:
        """The sheets whose mapping the Mapping pane holds unsaved edits of."""
        pane = self.mapping_pane()
        return [n for n in ("departments", "users") if pane is not None and pane.modified(n)]

    def mapping_pane(self) -> MappingScreen | None:
        """The Mapping pane, once it was opened."""
        pane = self.panes.get("mapping")
        return pane if isinstance(pane, MappingScreen) else None

    def action_keys(self) -> None:
        screen = self.screen
        self.push_screen(KeysScreen(screen.name or type(screen).__name__, active_keys(screen)))

    def action_wizard(self) -> None:
        self.open_wizard(first=False)

    def open_wizard(self, *, first: bool) -> None:
        raw = self.session.cfg.raw if self.session.cfg else {}
        self.push_screen(WizardScreen(self.session.config_path, raw, first=first), self.wizard_closed)

    def wizard_closed(self, outcome) -> None:
        if outcome is None:
            if self.session.cfg is None and not self.session.config_path.exists():
                self.session.config_unusable("There is no configuration yet: press W (shift+w) for the setup "
                                             "wizard, or q to quit.")
                self.broadcast()
            return
        cfg, result = outcome
        self.session.wizard_finished(cfg, result)
        self.apply_keymap()
        if result is None:
            self.start_plan(keep=False)
        else:
            self.broadcast()
        self.switch_mode("review")

    def apply_closed(self, applied: bool | None) -> None:
        """After an apply (or resume) the LMS moved on: plan afresh; the decisions were used."""
        if applied:
            s = self.session
            s.plan_applied()
            if s.cfg is not None:
                saved_review.discard(s.cfg.state)
            self.refresh_held()
            self.start_plan(keep=False)

    def refresh_held(self, *, announce: bool = False) -> None:
        """What unattended runs hold for review (P3): a banner in the review pane, `H` shows them."""
        cfg = self.session.cfg
        try:
            held = service.held_summary(cfg) if cfg else None
        except SyncError:
            held = None
        self.session.set_held(held)
        if announce and self.session.held is not None:
            self.notify(f"{self.session.held.describe()}. In the review pane, press H to show them.",
                        title="Held by unattended runs", severity="warning", timeout=12)
        self.broadcast()

    async def action_quit(self) -> None:
        """ctrl+q too: ask first while an apply runs."""
        self.action_quit_app()

    def action_quit_app(self) -> None:
        busy = [w for w in self.workers if w.name == "apply" and w.is_running]
        if not busy:
            self.quit_keeping_review()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        self.push_screen(ConfirmScreen("Quit while applying?",
                                       "An apply is running. Quitting stops it; `tui-sync apply --resume` "
                                       "(or opening the UI again) finishes it later.", yes="Quit", danger=True),
                         answered)

    def quit_keeping_review(self) -> None:
        """Quit; the review is saved first. Unapplied decisions: ask, the default answer stays."""
        s = self.session
        s.review_changed()  # saved whether or not it changed since the last autosave
        self.autosave(now=True)
        n = s.unapplied()
        if not n:
            self.exit(0)
            return
        where = s.display_path(saved_review.path(s.cfg.state)) if s.cfg else "the state folder"
        body = (f"{n} decision(s) and resolution(s) are not applied yet. They are saved in {where} "
                "and come back when you open tui-sync here again, as long as the sheets, the LMS and the "
                "configuration are unchanged.\n\nTo apply them now, stay and press g.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        self.push_screen(ConfirmScreen(f"Quit with {n} unapplied decision(s)?", body, yes="Quit", no="Stay"),
                         answered)

    # --- command palette: every key's action ------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for row in active_keys(screen):
            if row.id in ("app.keys",):
                continue
            yield SystemCommand(row.description, f"key {row.key} · {row.id}",
                                partial(self.run_action, row.action, row.node))
        # the other panes' actions too: "export" finds the Runs pane's export from the review
        for name, cls in PANE_SCREENS.items():
            if isinstance(screen, cls) or self.session.cfg is None:
                continue
            pane_key = next((b.key for b in self.BINDINGS if isinstance(b, Binding) and b.id == f"pane.{name}"), "")
            for b in cls.BINDINGS:
                if isinstance(b, Binding) and ours(b) and b.key != "escape":
                    yield SystemCommand(f"{name.title()}: {b.description}",
                                        f"in the {name.title()} pane ({pane_key}), key {self.get_key_display(b)}"
                                        f" · {b.id}", partial(self.run_in_pane, name, b.action))

    async def run_in_pane(self, name: str, action: str) -> None:
        await self.switch_mode(name)
        await self.screen.run_action(action)


def _filter(saved: dict[str, str]) -> Filter:
    """A saved filter; a value this version does not know is left out."""
    kinds = {k.value: k for k in Kind}
    decisions = {d.value: d for d in Decision}
    return Filter(kind=kinds.get(saved.get("kind", "")), decision=decisions.get(saved.get("decision", "")),
                  problem=saved.get("problem") or None, text=saved.get("text", ""))


def _modal_classes() -> list[type]:
    return [ApplyScreen, ConfirmScreen, KeysScreen, WizardScreen, NoticeScreen, PickScreen, PromptScreen,
            ResolveScreen, ExportScreen, PlanTable]


def run_app(config_path: Path) -> int:
    """Open the UI on `config_path` (the setup wizard when the file does not exist)."""
    app = SyncApp(Path(config_path))
    code = app.run()
    return int(code or 0)
