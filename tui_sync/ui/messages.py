"""Messages that workers send back to the UI thread.

A worker posts its reply to the app, screen or widget that started it (`post_message` is
safe from a thread), which handles it in an `on_...` method on the UI thread. The replies
of the wizard, scope report, scope counts and export workers are for that one node: they do not bubble.
Dataclasses, as Textual's own messages are.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from ..config import Config
from ..model import Plan
from ..service import CheckReport, PlanResult

if TYPE_CHECKING:  # types only: the run history and applying load when first used
    from pathlib import Path

    from ..rule_settings import Scope
    from ..service import Table
    from ..state.runs import Run
    from .screens.scope_report import ScopeCounts
    from .widgets.lines_view import Cell


@dataclass
class PlanReady(Message):
    """A plan was made (or re-made) in the `plan` worker."""

    result: PlanResult
    _: KW_ONLY
    kept: bool  # decisions were carried over from the previous plan
    inputs: dict[str, str] | None = None  # service.plan_inputs: what the plan was made from
    cfg: Config | None = None  # the configuration it was made with
    time_made: float = field(default_factory=time.perf_counter)  # when the worker handed it over (bench/tui_scale.py)


class PlanChanged(Message):
    """The session's plan was replaced (or cleared): panes showing it redraw."""


@dataclass
class ApplyTick:
    done: int
    total: int
    counts: Counter
    errors: list[str] = field(default_factory=list)


@dataclass
class ApplyProgressed(Message):
    tick: ApplyTick


@dataclass
class ApplyEnded(Message):
    """The apply worker finished: the `run` recorded (None: nothing to resume) and the interrupted run
    it `resumed` first, or `cancelled`."""

    run: Run | None
    resumed: Run | None = None
    cancelled: bool = False


@dataclass
class SourcesRead(Message):
    """The sources pane's reading worker: per entity, a Table or an error text."""

    tables: dict[str, Table]
    errors: dict[str, str]
    cfg: Config | None = None  # the configuration they were read with


@dataclass
class CheckDone(Message):
    report: CheckReport


@dataclass
class RunsLoaded(Message):
    runs: list[Run]
    run: Run | None
    plan: Plan | None = None  # the plan the run applied, for its details (None: gone)


@dataclass
class SourceProgress(Message):
    """A download in the sources pane's reading worker: bytes so far (and in all, when known)."""

    entity: str
    done: int
    total: int | None


@dataclass
class PreviewRead(Message):
    """The wizard's `preview` worker read a sheet: the Table, or why it could not be read."""

    bubble = False
    table: Table | None
    error: str | None


@dataclass
class SuggestionsFound(Message):
    """The wizard's `protect suggestions` worker: LMS logins no row matches, or why there are none."""

    bubble = False
    logins: list[str]
    error: str | None


@dataclass
class DryRunPlanned(Message):
    """The wizard's `dry run` worker: the plan, or why nothing could be planned."""

    bubble = False
    result: PlanResult | None
    error: str | None


@dataclass
class ScopeReportBuilt(Message):
    """The `scope report` worker's lines (out of scope rows, protected objects)."""

    bubble = False
    lines: list[list[Cell]]


@dataclass
class ScopeCounted(Message):
    """The Sources pane's `scope counts` worker counted `[<entity>.scope]` over `table` (C1): the
    counts, or why the scope does not fit the sheet."""

    bubble = False
    entity: str  # "departments" or "users"
    table: Table
    scope: Scope
    counts: ScopeCounts | str


@dataclass
class RunExported(Message):
    """The `export` worker wrote run `run_id`'s log as `fmt` to `path`."""

    bubble = False
    run_id: int
    fmt: str
    path: Path
