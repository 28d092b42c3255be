"""Review: the plan as a table, filters, the highlighted change's detail, decisions, resolve, apply."""
from __future__ import annotations

import gc
from collections import Counter
from dataclasses import replace

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from ... import service
from ...model import KIND_ORDER, Decision, Kind, Resolution
from ..literal import literal, visible
from ..plan_rows import ANY_PROBLEM, BLOCKED, KIND_TONE, TONE_STYLE, PlanView, glyph, sheet_row
from ..widgets.change_detail import ChangeDetail, render_change
from ..widgets.keys_footer import KeysFooter
from ..widgets.pane_bar import PaneBar
from ..widgets.plan_table import PlanHeader, PlanTable
from ..widgets.rows_view import RowsView
from .apply import ApplyScreen, apply_question
from .confirm import ConfirmScreen
from .pane import Pane
from .pick import PickScreen
from .resolve import ResolveScreen
from .scope_report import ScopeReportScreen

SHOWN_NAMES = 5


class SearchBox(Input):
    """Focusable only after `/`: focus that falls to it by default (the table hidden by a failed plan,
    a closed palette) would type every key into it."""

    def on_mount(self) -> None:
        self.can_focus = False

    def on_blur(self) -> None:
        self.can_focus = False

WIDE = 150  # from this width the detail sits beside the table


def counts_text(view: PlanView, narrow: bool = False) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    for entity, kinds in (("dept", KIND_ORDER[:3]), ("user", KIND_ORDER[3:])):
        if narrow and entity == "user":
            t.append("· ", style="dim")  # (80 columns: the table's kind column names them)
        elif not narrow:
            t.append(f"{entity} ", style="dim")
        for k in kinds:
            n = view.kind_counts.get(k, 0)
            t.append(f"{glyph(k)}{n} ", style=TONE_STYLE[KIND_TONE[k]] if n else "dim")
    d = view.decision_counts
    t.append("│ ", style="dim")
    t.append(f"{d.get(Decision.PENDING, 0)} pending ")
    if narrow:
        t.append(f"✓{d.get(Decision.APPROVED, 0)} ", style=TONE_STYLE["approved"])
        t.append(f"✗{d.get(Decision.REJECTED, 0)} ", style=TONE_STYLE["rejected"])
    else:
        t.append(f"{d.get(Decision.APPROVED, 0)} approved ", style=TONE_STYLE["approved"])
        t.append(f"{d.get(Decision.REJECTED, 0)} rejected ", style=TONE_STYLE["rejected"])
    t.append("│ ", style="dim")
    if view.blocked:
        t.append(f"{view.blocked} blocked ", style=TONE_STYLE["error"])
    row_problems = view.row_problems
    if row_problems:
        errors = sum(1 for p in row_problems if p.is_error)
        t.append(f"{len(row_problems)} row problems" + (f" ({errors} errors)" if errors and not narrow else ""),
                 style=TONE_STYLE["warning"])
    out = view.plan.summary().get("out_of_scope", 0)  # C1
    if out:
        t.append(f" │ {out} out of scope (o)", style="dim")
    return t


def names(changes, n: int = SHOWN_NAMES) -> str:
    shown = ", ".join(f"{c.kind.value} {c.key}" for c in changes[:n])
    return shown + (f" and {len(changes) - n} more" if len(changes) > n else "")


class ReviewScreen(Pane):
    PANE = "review"
    KEY_PREFIX = "review"
    # the footer shows the shown ones in this order, the most wanted first (all of them fit at 80 columns);
    # ? lists every key
    BINDINGS = [
        Binding("a", "decide('approved')", "Approve", id="review.approve"),
        Binding("r", "decide('rejected')", "Reject", id="review.reject"),
        Binding("m", "resolve", "Resolve", id="review.resolve"),
        Binding("f", "pick_filter", "Filter", id="review.filter"),
        Binding("u", "undo", "Undo", id="review.undo"),
        Binding("g", "apply", "Apply", id="review.apply"),
        Binding("space", "toggle", "Toggle", show=False, id="review.toggle"),
        Binding("v", "select", "Select range", show=False, id="review.select"),
        Binding("s", "approve_safe", "Approve safe…", show=False, id="review.approve_safe"),
        Binding("A", "decide_all('approved')", "Approve filtered", show=False, id="review.approve_all"),
        Binding("R", "decide_all('rejected')", "Reject filtered", show=False, id="review.reject_all"),
        Binding("slash", "search", "Search", show=False, id="review.search"),
        Binding("k", "cycle('kind')", "Kind filter", show=False, id="review.filter_kind"),
        Binding("d", "cycle('decision')", "Decision filter", show=False, id="review.filter_decision"),
        Binding("p", "cycle('problem')", "Problem filter", show=False, id="review.filter_problem"),
        Binding("c", "clear_filter", "Clear filters", show=False, id="review.clear_filter"),
        Binding("escape", "escape", "Clear selection", show=False, id="review.escape"),
        Binding("H", "held", "Held changes", show=False, id="review.held"),
        Binding("o", "scope_report", "Out of scope & protected", show=False, id="review.scope_report"),
    ]

    def compose(self) -> ComposeResult:
        yield PaneBar(self.PANE)
        yield Static(id="counts")
        yield Static(id="held-banner")
        yield Static(id="read-as")
        with Horizontal(id="filter-bar"):
            yield Static(id="filter-text")
            yield SearchBox(placeholder="/ search", id="search")
        with Horizontal(id="review-body"):
            with Vertical(id="table-box"):
                yield PlanHeader(id="plan-header")
                yield PlanTable(id="plan-table")
                yield Static(id="plan-status")
            yield ChangeDetail(id="detail")
        yield KeysFooter()

    @property
    def table(self) -> PlanTable:
        return self.query_one(PlanTable)

    @property
    def view(self) -> PlanView | None:
        return self.session.view

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "wide")
        self.redraw_counts()

    # --- redraw from the session ---------------------------------------------------------
    def session_changed(self) -> None:
        s = self.session
        table = self.table
        status = self.query_one("#plan-status", Static)
        same = table.view is s.view and s.view is not None
        table.loading = s.planning
        message = ""
        if s.config_error:
            message = s.config_error
        elif s.plan_error:
            message = "Nothing could be planned:\n" + s.plan_error + "\n\nFix it and press F5 to plan again."
            unsaved = self.sync_app.unsaved_mapping()
            if unsaved:
                message += (f"\nThis plan used the saved mapping: the {' and '.join(unsaved)} mapping has unsaved "
                            "edits in the Mapping pane (2, then w to save them).")
        elif s.view is None and not s.planning:
            message = "No plan yet. Press F5 to plan."
        status.update(literal(message, TONE_STYLE["error"] if (s.config_error or s.plan_error) else "", lines=True))
        status.display = bool(message)
        table.display = not message or s.planning
        self.query_one(PlanHeader).display = table.display
        if table.display and self.focused is None:
            table.focus()
        if not same:
            old = table.view
            here = table.current()
            table.show_view(s.view)
            if s.view is not None:
                # the plan was made again: same filter, same change under the cursor
                # (on opening: the filter and cursor of the saved review)
                s.view.set_filter(old.filter if old is not None else s.view.filter)
                table.reset_rows(keep_cursor=False)
                i = s.view.index.get(here.id if here is not None else s.cursor_id or "")
                if i is not None and i not in s.view.rows and s.view.filter.problem:
                    # resolved from a problem filter: the change no longer has that problem; keep it in view
                    code = s.view.filter.problem
                    s.view.set_filter(replace(s.view.filter, problem=None))
                    table.reset_rows(keep_cursor=False)
                    self.notify(f"{s.view.changes[i].key} no longer has the problem {code}: "
                                "that filter is cleared.", timeout=6)
                if i is not None and i in s.view.rows:
                    table.set_cursor(s.view.rows.index(i))
                self.show_search_text()
                self.prepare_search()
        self.redraw_counts()
        self.show_detail()

    def redraw_held(self) -> None:
        held = self.session.held
        banner = self.query_one("#held-banner", Static)
        banner.display = held is not None
        if held is not None:
            banner.update(Text(f" ⚑ press H: {held.describe()} by unattended runs ",  # (the key first: 80 columns cut the end)
                               style=TONE_STYLE["warning"]))

    def action_scope_report(self) -> None:
        """C1, C2 on request: the rows the scope leaves out, the objects the protection covers."""
        if self.session.cfg is not None:
            self.app.push_screen(ScopeReportScreen(self.session.cfg, self.session.result))

    def action_held(self) -> None:
        """Show the changes unattended runs hold (P3): the same ids in this fresh plan,
        which re-checks them against the LMS as it is now (A2)."""
        view, held = self.view, self.session.held
        if view is None:
            return
        if held is None:
            self.notify("No changes are held for review.")
            return
        self.set_filter(type(view.filter)(held=held.change_ids))

    def redraw_read_as(self) -> None:
        """F1: the sheets not read as UTF-8, with their code page; a guessed one with what it reads."""
        line = self.query_one("#read-as", Static)
        sources = self.session.sources
        t = Text(no_wrap=True, overflow="ellipsis")
        guessed = False
        for name in ("departments", "users"):
            table = getattr(sources, name, None) if sources is not None else None
            if table is None or not table.encoding or table.encoding.lower().startswith("utf"):
                continue
            t.append(f" {name} read as {table.encoding_label}")
            if table.encoding_guessed:
                guessed = True
                t.append(': "' + visible(table.encoding_guessed) + '"')
        line.display = bool(t.plain)
        line.update(Text("⚠", style=TONE_STYLE["warning"]) + t if guessed else t)

    def redraw_counts(self) -> None:
        self.redraw_held()
        self.redraw_read_as()
        view = self.view
        stale = self.session.plan_error is not None  # the counts of a plan that could not be made again
        self.query_one("#counts", Static).update(
            counts_text(view, self.size.width < 110) if view and not stale else "")
        ft = Text(no_wrap=True, overflow="ellipsis")
        if view and not stale:
            ft.append(f"{len(view.rows)} of {len(view.changes)} shown: ", style="bold")
            ft.append(visible(view.filter.describe()), style="dim")
        self.query_one("#filter-text", Static).update(ft)

    def show_detail(self) -> None:
        detail = self.query_one(ChangeDetail)
        c = self.table.current()
        if c is None or self.view is None or self.session.plan_error is not None:  # (an old plan's change)
            detail.show_parts([])
            return
        row = None
        if c.row and self.session.sources is not None:
            row = sheet_row(self.session.sources, c.entity, c.row)
        detail.show_parts(render_change(c, self.view, row))

    def on_rows_view_highlighted(self, event: RowsView.Highlighted) -> None:
        if event.view is self.table:
            c = self.table.current()
            if c is not None:
                self.session.cursor_moved(c.id)
            self.show_detail()

    def on_rows_view_chosen(self, event: RowsView.Chosen) -> None:
        if event.view is self.table:
            c = self.table.current()
            if c is not None and c.kind is Kind.DELETE_DEPARTMENT and c.blocked:
                self.action_resolve()
            else:
                self.query_one(ChangeDetail).focus()

    # --- search in the background ---------------------------------------------------------
    @work(thread=True, name="search-index", group="search-index", exclusive=True, exit_on_error=False)
    def prepare_search(self) -> None:
        view = self.session.view
        if view is not None:
            view.haystack()
            # a full collection now, while the plan settles in, rather than on a key the operator
            # presses: the plan's objects and the index (hundreds of thousands) are then long-lived,
            # and the next full collection is far away (a keypress otherwise paid ~100 ms for it)
            gc.collect()

    # --- decisions ------------------------------------------------------------------------
    def editable(self) -> bool:
        if self.view is None:
            return False
        if self.session.planning:
            self.notify("Planning is running: decisions wait until it is done.", severity="warning", timeout=3)
            return False
        return True

    def decide(self, rows: list[int], decision: Decision, *, bulk: bool = False) -> None:
        view = self.view
        assert view is not None
        done, refused = view.decide(rows, decision)
        if done:
            self.session.decided(done)
        self.table.refresh()
        self.redraw_counts()
        self.show_detail()
        if refused and not bulk:  # a bulk action said so in its question
            first = refused[0]
            why = next((p for p in first.problems if p.is_error), None)
            how = "press enter on it to resolve" if first.kind is Kind.DELETE_DEPARTMENT else \
                "fix the sheet and plan again (F5)"
            self.notify(f"{len(refused)} change(s) cannot be approved: they have errors. "
                        f"{first.kind.value} {first.key}: {why.code if why else ''} — {how}.",
                        title="Not approved", severity="warning", timeout=8)
        if decision is Decision.REJECTED and done:
            blocked = view.blocked_by(cid for cid, _ in done)
            if blocked:
                self.notify(f"Rejecting this blocks {len(blocked)} other change(s) at apply: {names(blocked)}.",
                            title="Rejected", severity="warning", timeout=8)
        elif done and len(rows) > 1 and not bulk:  # a bulk action's question said what it does
            self.notify(f"{len(done)} change(s) {decision.value}.", timeout=2)

    def action_decide(self, decision: str) -> None:
        if not self.editable():
            return
        one = self.table.anchor is None
        self.decide(self.table.selected_rows(), Decision(decision))
        if one:  # on to the next change: one key per decision
            self.table.set_cursor(self.table.cursor + 1)

    def action_approve_safe(self) -> None:
        """`--approve safe` in the UI: every pending change of the plan that does not inactivate,
        terminate or delete (judged by effect, A4), whatever the filter shows."""
        if not self.editable():
            return
        view = self.view
        targets = [i for i, c in enumerate(view.changes)
                   if c.decision is Decision.PENDING and service.is_safe(c)]
        if not targets:
            self.notify("No pending change is safe to approve in bulk.", timeout=4)
            return
        left = sum(1 for c in view.changes if c.decision is Decision.PENDING) - len(targets)
        kinds = Counter(view.changes[i].kind for i in targets)
        body = Text()
        body.append(f"Approve {len(targets)} pending change(s) of the plan: "
                    + ", ".join(f"{n} {k.value}" for k, n in sorted(kinds.items(), key=lambda kn: kn[0].value))
                    + ".\n")
        body.append("Safe means nothing that inactivates, terminates or deletes, as `tui-sync apply "
                    "--approve safe`; changes with errors and rejected changes stay as they are.\n", style="dim")
        if left:
            body.append(f"{left} pending change(s) stay pending: inactivations, terminations, department "
                        "deletes and changes with errors (review them one by one).\n", style="dim")

        def answered(yes: bool | None) -> None:
            if yes:
                self.decide(targets, Decision.APPROVED, bulk=True)
                self.notify(f"{len(targets)} safe change(s) approved.", timeout=3)

        self.app.push_screen(ConfirmScreen(f"Approve {len(targets)} safe change(s)?", body, yes="Approve"),
                             answered)

    def action_toggle(self) -> None:
        if not self.editable():
            return
        rows = self.table.selected_rows()
        if not rows:
            return
        first = self.view.changes[rows[0]]
        self.decide(rows, Decision.REJECTED if first.decision is Decision.APPROVED else Decision.APPROVED)

    def action_select(self) -> None:
        self.table.toggle_selection()
        if self.table.anchor is not None:
            self.notify("Selecting: move to extend, then a / r / space; v again to stop.", timeout=3)

    def action_escape(self) -> None:
        if not self.table.clear_selection() and self.view and self.view.filter.active:
            self.action_clear_filter()

    def action_decide_all(self, decision: str) -> None:
        if not self.editable():
            return
        view = self.view
        d = Decision(decision)
        rows = list(view.rows)
        if not rows:
            self.notify("No change is shown.", timeout=3)
            return
        approve = d is Decision.APPROVED
        todo = skipped = kept = 0
        targets: list[int] = []
        kinds: Counter = Counter()
        ch = view.changes
        for i in rows:
            c = ch[i]
            if approve and c.blocked:
                skipped += 1
            elif approve and c.decision is Decision.REJECTED:
                kept += 1  # as `--approve all`: a rejection is never overridden in bulk
            elif c.decision is not d:
                todo += 1
                targets.append(i)
                kinds[c.kind] += 1
        if not todo:
            self.notify(f"No change shown can be {d.value} in bulk.", timeout=4)
            return
        verb = "Approve" if approve else "Reject"
        body = Text()
        shown = f"the filter shows ({view.filter.short()})" if view.filter.active else "the plan has"
        what = "pending" if approve else f"not {d.value} yet"
        body.append(visible(f"{verb} {todo} change(s): every change {shown} that is {what}.") + "\n")
        destructive = {k: n for k, n in kinds.items() if k.destructive}
        if approve and destructive:
            body.append("This includes " + ", ".join(f"{n} {k.value}" for k, n in destructive.items()) + ".\n",
                        style=TONE_STYLE["error"])
        if skipped:
            body.append(f"{skipped} blocked change(s) stay as they are: they have errors.\n", style="dim")
        if kept:
            body.append(f"{kept} rejected change(s) stay rejected (approve them one by one).\n", style="dim")

        def answered(yes: bool | None) -> None:
            if yes:
                self.decide(targets, d, bulk=True)

        self.app.push_screen(ConfirmScreen(f"{verb} {todo} change(s)?", body, yes=verb,
                                           danger=approve and bool(destructive)), answered)

    def action_undo(self) -> None:
        if not self.editable():
            return
        batch = self.session.undo()
        if batch is None:
            self.notify("Nothing to undo.", timeout=3)
            return
        n = self.view.restore(batch)
        self.table.refresh()
        self.redraw_counts()
        self.show_detail()
        self.notify(f"Undone: {n} decision(s) restored.", timeout=3)

    # --- filters ----------------------------------------------------------------------------
    def set_filter(self, f) -> None:
        view = self.view
        if view is None:
            return
        view.set_filter(f)
        self.session.review_changed()
        self.table.reset_rows(keep_cursor=False)
        self.redraw_counts()
        self.show_detail()

    def action_cycle(self, what: str) -> None:
        view = self.view
        if view is None:
            return
        self.set_filter({"kind": view.cycle_kind, "decision": view.cycle_decision,
                         "problem": view.cycle_problem}[what]())

    def action_pick_filter(self) -> None:
        """Every filter with how many changes it shows, to pick one by typing."""
        view = self.view
        if view is None:
            return
        kinds = view.kind_counts
        decisions = view.decision_counts
        codes: Counter = Counter(p.code for c in view.changes if c.problems for p in c.problems)
        items = [("clear", "(no filter: show every change)")]
        items += [(f"kind:{k.value}", f"kind {k.value}  ({kinds[k]})") for k in KIND_ORDER if kinds.get(k)]
        items += [(f"decision:{d.value}", f"decision {d.value}  ({decisions.get(d, 0)})") for d in Decision]
        items += [(f"problem:{ANY_PROBLEM}", f"problem: any  ({sum(1 for c in view.changes if c.problems)})"),
                  (f"problem:{BLOCKED}", f"problem: blocked by errors  ({view.blocked})")]
        items += [(f"problem:{code}", f"problem {code}  ({n})") for code, n in sorted(codes.items())]

        def picked(value: str | None) -> None:
            if not value:
                return
            if value == "clear":
                self.action_clear_filter()
                return
            what, _, arg = value.partition(":")
            f = view.filter
            if what == "kind":
                f = replace(f, kind=Kind(arg))
            elif what == "decision":
                f = replace(f, decision=Decision(arg))
            else:
                f = replace(f, problem=arg)
            self.set_filter(f)

        self.app.push_screen(PickScreen("Filter the plan by…", items,
                                        note="Filters add up; c clears them all."), picked)

    def action_clear_filter(self) -> None:
        view = self.view
        if view is None:
            return
        search = self.query_one("#search", Input)
        with search.prevent(Input.Changed):
            search.value = ""
        self.set_filter(type(view.filter)())

    def show_search_text(self) -> None:
        search = self.query_one("#search", Input)
        text = self.view.filter.text if self.view else ""
        if search.value.strip() != text:
            with search.prevent(Input.Changed):
                search.value = text

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.can_focus = True
        search.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search" and self.view is not None:
            self.set_filter(replace(self.view.filter, text=event.value.strip()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            self.table.focus()

    def on_key(self, event) -> None:
        if event.key == "escape" and self.focused is self.query_one("#search", Input):
            event.stop()
            self.table.focus()

    # --- resolve ---------------------------------------------------------------------------
    def action_resolve(self) -> None:
        s = self.session
        c = self.table.current()
        if c is None or s.result is None or not self.editable():
            return
        if c.kind is not Kind.DELETE_DEPARTMENT or not c.blocked:
            self.notify("Only a department delete blocked by its users or child departments needs resolving.", timeout=4)
            return
        blockers = service.department_blockers(s.result, c)
        targets = service.move_targets(s.result)

        def resolved(answer) -> None:
            if not answer:
                return
            how, code = answer
            if how == "keep":
                self.decide([s.view.index[c.id]], Decision.REJECTED)
                self.notify(f"Department {c.key} is kept: its delete is rejected.", timeout=5)
            else:
                resolutions = [r for r in s.result.plan.resolutions if r.move_users_of.casefold() != c.key.casefold()]
                resolutions.append(Resolution(c.key, code))
                self.sync_app.start_plan(resolutions, keep=True, reread=False)
                self.notify(f"The users of {c.key} move to {code}; planning again (decisions are kept).", timeout=5)

        self.app.push_screen(ResolveScreen(c, blockers, targets), resolved)

    # --- apply --------------------------------------------------------------------------------
    def action_apply(self) -> None:
        s = self.session
        if not self.editable() or s.result is None or s.cfg is None:
            return
        title, body, danger = apply_question(s.result.plan, s.cfg)

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(ApplyScreen(plan=s.result.plan), self.sync_app.apply_closed)

        self.app.push_screen(ConfirmScreen(title, body, yes="Apply", danger=danger), answered)
