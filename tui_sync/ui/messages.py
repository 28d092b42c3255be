"""Messages that workers send back to the UI thread.

A worker posts its reply to the app, screen or widget that started it (`post_message` is
safe from a thread), which handles it in an `on_...` method on the UI thread. The replies
of the wizard, scope report and export workers are for that one node: they do not bubble.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from ..config import Config
from ..model import Plan
from ..service import CheckReport, PlanResult

if TYPE_CHECKING:  # types only: the run history and applying load when first used
    from pathlib import Path

    from ..applying import ApplyReport
    from ..service import Table
    from ..state.runs import Run
    from .widgets.lines_view import Cell


class PlanReady(Message):
    """A plan was made (or re-made) in the `plan` worker."""

    def __init__(self, result: PlanResult, *, kept: bool, inputs: dict[str, str] | None = None,
                 cfg: Config | None = None) -> None:
        super().__init__()
        self.result = result
        self.kept = kept  # decisions were carried over from the previous plan
        self.inputs = inputs  # service.plan_inputs: what the plan was made from
        self.cfg = cfg  # the configuration it was made with
        self.time_made = time.perf_counter()  # when the worker handed it over (bench/tui_scale.py)


class PlanChanged(Message):
    """The session's plan was replaced (or cleared): panes showing it redraw."""


@dataclass
class ApplyTick:
    done: int
    total: int
    counts: Counter
    errors: list[str] = field(default_factory=list)


class ApplyProgressed(Message):
    def __init__(self, tick: ApplyTick) -> None:
        super().__init__()
        self.tick = tick


class ApplyEnded(Message):
    """The apply worker finished: `report` (an ApplyReport or a Run), or `cancelled`."""

    def __init__(self, report: ApplyReport | Run | None, cancelled: bool = False) -> None:
        super().__init__()
        self.report = report
        self.cancelled = cancelled


class SourcesRead(Message):
    """The sources pane's reading worker: per entity, a Table or an error text."""

    def __init__(self, tables: dict, errors: dict[str, str], cfg: Config | None = None) -> None:
        super().__init__()
        self.tables = tables
        self.errors = errors
        self.cfg = cfg  # the configuration they were read with


class CheckDone(Message):
    def __init__(self, report: CheckReport) -> None:
        super().__init__()
        self.report = report


class RunsLoaded(Message):
    def __init__(self, runs: list[Run], run: Run | None, plan: Plan | None = None) -> None:
        super().__init__()
        self.runs = runs
        self.run = run
        self.plan = plan  # the plan the run applied, for its details (None: gone)


class SourceProgress(Message):
    """A download in the sources pane's reading worker: bytes so far (and in all, when known)."""

    def __init__(self, entity: str, done: int, total: int | None) -> None:
        super().__init__()
        self.entity = entity
        self.done = done
        self.total = total


class PreviewRead(Message):
    """The wizard's `preview` worker read a sheet: the Table, or why it could not be read."""

    bubble = False

    def __init__(self, table: Table | None, error: str | None) -> None:
        super().__init__()
        self.table = table
        self.error = error


class SuggestionsFound(Message):
    """The wizard's `protect suggestions` worker: LMS logins no row matches, or why there are none."""

    bubble = False

    def __init__(self, logins: list[str], error: str | None) -> None:
        super().__init__()
        self.logins = logins
        self.error = error


class DryRunPlanned(Message):
    """The wizard's `dry run` worker: the plan, or why nothing could be planned."""

    bubble = False

    def __init__(self, result: PlanResult | None, error: str | None) -> None:
        super().__init__()
        self.result = result
        self.error = error


class ScopeReportBuilt(Message):
    """The `scope report` worker's lines (out of scope rows, protected objects)."""

    bubble = False

    def __init__(self, lines: list[list[Cell]]) -> None:
        super().__init__()
        self.lines = lines


class RunExported(Message):
    """The `export` worker wrote run `run_id`'s log as `fmt` to `path`."""

    bubble = False

    def __init__(self, run_id: int, fmt: str, path: Path) -> None:
        super().__init__()
        self.run_id = run_id
        self.fmt = fmt
        self.path = path
