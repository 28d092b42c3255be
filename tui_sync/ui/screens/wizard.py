"""The first-sync wizard: LMS → departments sheet → preview → mapping → users sheet
→ preview → mapping → schedule and safety → scope and protection (optional) → dry-run plan;
then the review pane.

Back and forward keep what was typed. The config is written (tomli-w, secrets
only as {env}/{file}/{stored}) when the operator finishes after the dry run.
"""
from __future__ import annotations

import asyncio
import copy
import inspect
import os
import shutil
import tempfile
from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, ContentSwitcher, Input, Static
from textual.worker import get_current_worker

from ... import service
from ...config import Config, parse_config
from ...errors import SyncError
from ...model import KIND_ORDER
from ...report import problem_groups, rows_of
from ...run_log import printable, where
from ..failures import ReportsWorkerErrors
from ..literal import literal, visible
from ..messages import DryRunPlanned
from ..plan_rows import KIND_TONE, TONE_STYLE, glyph
from ..widgets.keys_footer import KeysFooter
from .confirm import ConfirmScreen
from .wizard_scope import ScopeStep
from .wizard_steps import LmsStep, MappingStep, PreviewStep, ScheduleStep, SourceStep, Step


class DryRunStep(Step):
    title = "Dry run"
    help = "The plan this configuration gives, without changing anything. Finish writes the config and opens the review."

    def compose(self) -> ComposeResult:
        yield Static(id="dryrun-body")

    def entered(self) -> None:
        self.wizard.result = None
        self.query_one("#dryrun-body", Static).update("Planning…")
        self.loading = True
        self.wizard.dry_run()


DETAILED = 3  # problems shown in full per code in the dry run


class WizardScreen(ReportsWorkerErrors, ModalScreen[tuple | None]):
    """Full-screen, and modal so that the panes' keys wait until it is done."""

    KEY_PREFIX = "wizard"
    BINDINGS = [
        Binding("ctrl+n", "next", "Next", id="wizard.next", priority=True),
        Binding("escape", "back", "Back", id="wizard.back"),
        Binding("f1", "app.keys", "Keys", id="wizard.keys"),
        Binding("question_mark", "app.keys", "Keys", show=False, id="wizard.help"),  # (typed as ? in a field)
    ]

    def __init__(self, config_path: Path, raw: dict, *, first: bool) -> None:
        super().__init__(name="setup wizard")
        self.config_path = Path(config_path).absolute()
        self.raw = copy.deepcopy(raw)
        self.first = first
        self.tables: dict = {}
        self.read_errors: dict = {}
        self.secrets: dict[str, str] = {}
        self.typed_dir: Path | None = None  # the dry run's private copies of typed secrets
        self.result: service.PlanResult | None = None  # the dry run's plan
        self.cfg: Config | None = None  # the dry run's configuration
        self.index = 0
        self.steps: list[Step] = [
            LmsStep(self, id="step-lms"),
            SourceStep(self, "departments", id="step-dsource"),
            PreviewStep(self, "departments", id="step-dpreview"),
            MappingStep(self, "departments", id="step-dmapping"),
            SourceStep(self, "users", id="step-usource"),
            PreviewStep(self, "users", id="step-upreview"),
            MappingStep(self, "users", id="step-umapping"),
            ScheduleStep(self, id="step-schedule"),
            ScopeStep(self, id="step-scope"),
            DryRunStep(self, id="step-dryrun"),
        ]

    def compose(self) -> ComposeResult:
        yield Static(id="wizard-title")
        yield Static(id="wizard-help")
        with ContentSwitcher(id="wizard-steps", initial=self.steps[0].id):
            yield from self.steps
        yield Static(id="wizard-error")
        with Horizontal(id="wizard-buttons"):
            yield Button("Back (esc)", id="wizard-back", compact=True)
            yield Button("Next (ctrl+n)", id="wizard-next", variant="primary", compact=True)
        yield KeysFooter()

    async def on_mount(self) -> None:
        await self.goto(0)

    async def goto(self, index: int) -> None:
        self.index = index
        step = self.steps[index]
        self.query_one(ContentSwitcher).current = step.id
        total = len(self.steps)
        where = self.config_path.name
        self.query_one("#wizard-title", Static).update(
            Text.assemble((" tui-sync setup ", "bold reverse"), f"  step {index + 1} of {total}: ",
                          (step.title, "bold"), (f"   → {visible(where)}", "dim")))
        self.query_one("#wizard-help", Static).update(Text(step.help, style="dim"))
        self.show_error(None)
        last = index == total - 1
        self.query_one("#wizard-next", Button).label = "Finish (ctrl+n)" if last else "Next (ctrl+n)"
        self.query_one("#wizard-back", Button).label = "Leave (esc)" if index == 0 else "Back (esc)"
        done = step.entered()
        if inspect.isawaitable(done):
            await done
        self.focus_first(step)

    def focus_first(self, step: Step) -> None:
        for w in step.query("*"):
            if w.focusable:
                w.focus()
                return
        self.query_one("#wizard-next", Button).focus()

    def show_error(self, text: str | None) -> None:
        err = self.query_one("#wizard-error", Static)
        err.update(literal(text or "", TONE_STYLE["error"], lines=True))
        err.display = bool(text)

    def secret(self, field) -> dict:
        """A secret field's TOML form; a value typed to be stored is kept until the config is written."""
        form, value = field.value()
        if value is not None:
            self.secrets[form["stored"]] = value
        return form

    # --- navigation ----------------------------------------------------------------------
    async def action_next(self) -> None:
        step = self.steps[self.index]
        try:
            step.collect()
        except SyncError as e:
            self.show_error(str(e))
            return
        if self.index == len(self.steps) - 1:
            self.finish()
            return
        await self.goto(self.index + 1)

    async def action_back(self) -> None:
        if self.index > 0:
            await self.goto(self.index - 1)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        note = "Nothing has been written." if self.first else "The configuration stays as it was."
        self.app.push_screen(ConfirmScreen("Leave the setup?", note, yes="Leave"), answered)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "wizard-next":
            await self.action_next()
        elif event.button.id == "wizard-back":
            await self.action_back()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: the next field; on the step's last field, Next."""
        event.stop()
        step = self.steps[self.index]
        fields = [w for w in step.query("*") if w.focusable and w.display and all(
            a.display for a in w.ancestors_with_self if a is not step and hasattr(a, "display"))]
        if fields and event.input is fields[-1]:
            await self.action_next()
        else:
            self.focus_next()

    # --- dry run and finish -------------------------------------------------------------------
    def dry_run(self) -> None:
        """Plan with the settings as they are; a secret typed to be stored is read from a private
        temporary file meanwhile: nothing reaches the state folder before Finish."""
        self.forget_typed_secrets()
        try:
            self.cfg = parse_config(self.with_typed_secrets(copy.deepcopy(self.raw)), self.config_path)
        except SyncError as e:
            self.dry_run_done(None, str(e))
            return
        self.plan_worker(self.cfg)

    def with_typed_secrets(self, raw):
        """`raw` with each `{ stored = name }` typed in this wizard as `{ file = <private temp file> }`."""
        if isinstance(raw, dict):
            name = raw.get("stored") if set(raw) == {"stored"} else None
            if name in self.secrets:
                if self.typed_dir is None:
                    self.typed_dir = Path(tempfile.mkdtemp(prefix="tui-sync-wizard-"))  # 0700
                path = self.typed_dir / f"secret-{len(list(self.typed_dir.iterdir()))}"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(self.secrets[name])
                return {"file": str(path)}
            return {k: self.with_typed_secrets(v) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self.with_typed_secrets(v) for v in raw]
        return raw

    def forget_typed_secrets(self) -> None:
        if self.typed_dir is not None:
            shutil.rmtree(self.typed_dir, ignore_errors=True)
            self.typed_dir = None

    def on_unmount(self) -> None:
        self.forget_typed_secrets()

    def store_secrets(self) -> None:
        state = parse_config(copy.deepcopy(self.raw), self.config_path).state
        for name, value in list(self.secrets.items()):
            service.store_secret(state, name, value)
            del self.secrets[name]

    @work(thread=True, name="dry run", group="wizard-plan", exclusive=True, exit_on_error=False,
          description="Dry run")
    def plan_worker(self, cfg) -> None:
        try:
            result, error = asyncio.run(service.make_plan(cfg)), None
        except SyncError as e:
            result, error = None, str(e)
        if not get_current_worker().is_cancelled:
            self.post_message(DryRunPlanned(result, error))

    def on_dry_run_planned(self, message: DryRunPlanned) -> None:
        self.dry_run_done(message.result, message.error)

    def dry_run_done(self, result: service.PlanResult | None, error: str | None) -> None:
        step = self.steps[-1]
        step.loading = False
        self.result = result
        body = step.query_one("#dryrun-body", Static)
        if result is None:
            body.update(Group(Text("Nothing could be planned:", style="bold"),
                              literal(error or "", TONE_STYLE["error"], lines=True),
                              Text("\nGo back (escape) to fix it, or finish anyway: the config is written and the "
                                   "review pane shows this problem until it is fixed.", style="dim")))
            return
        s = result.plan.summary()
        t = Text()
        t.append("Read ", style="dim")
        t.append(visible("; ".join(f"{n}: {info.get('rows')} rows" for n, info in result.plan.sources.items())) + "\n\n")
        for k in KIND_ORDER:
            t.append(f"  {glyph(k)} {k.value:<18} {s[k.value]:>7}\n", style=TONE_STYLE[KIND_TONE[k]] if s[k.value] else "dim")
        t.append(f"\nProblems: {s['errors']} error(s), {s['warnings']} warning(s)\n")
        for sev, code, probs in problem_groups(result.plan.problems):
            t.append(visible(f"  {'✖' if sev == 'error' else '⚠'} {code} — {len(probs)}: {rows_of(probs)}") + "\n",
                     style=TONE_STYLE["error" if sev == "error" else "warning"])
            for p in probs[:DETAILED]:  # which column and which person, and what is wrong
                t.append(f"      {where(p)}: {printable(p.message)}\n", style="dim")
            if len(probs) > DETAILED:
                t.append(f"      … and {len(probs) - DETAILED} more (the Problems pane lists them all)\n", style="dim")
        t.append("\nNothing has been changed. Finish writes the configuration to "
                 f"{visible(self.config_path.name)} and opens the review, where you approve changes and apply them.",
                 style="dim")
        body.update(t)

    def finish(self) -> None:
        exists = self.config_path.exists()

        def write(yes: bool | None = True) -> None:
            if not yes:
                return
            try:
                self.store_secrets()
                cfg = service.save_config(self.config_path, self.raw)
            except (SyncError, OSError) as e:
                self.show_error(str(e))
                return
            self.dismiss((cfg, self.result))

        if exists:
            self.app.push_screen(ConfirmScreen(
                "Overwrite the configuration?",
                f"{self.config_path.name} is rewritten with these settings (the old file is kept as "
                f"{self.config_path.name}.bak).", yes="Overwrite"), write)
        else:
            write()

    def worker_failed(self, name: str, text: str) -> None:
        if name == "dry run":
            self.dry_run_done(None, text)
        elif name == "preview":
            for step in self.steps:
                step.loading = False
            self.show_error(text)
