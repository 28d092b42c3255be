"""Mapping: every LMS field, the sheet column mapped to it, sample values,
suggestions, custom fields; edited as a draft and saved into the TOML."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from ... import service
from ...errors import SyncError
from ..literal import literal, readable, visible
from ..plan_rows import TONE_STYLE
from ..widgets.keys_footer import KeysFooter
from ..widgets.pane_bar import PaneBar
from .confirm import ConfirmScreen
from .field_policy import chosen_policy, policy_choices, policy_suffix, save_question
from .pick import PickScreen
from .prompt import PromptScreen

from .pane import Pane

ENTITIES = (("departments", "department", "Departments"), ("users", "user", "Users"))
NOT_MAPPED = "\x00none"
SAMPLES = 3


def samples(table, column: str | None) -> str:
    if table is None or not column:
        return ""
    by_fold = {h.casefold(): h for h in table.headers}
    col = column if column in table.headers else by_fold.get(column.casefold())
    if col is None:
        return ""
    values = table.df.get_column(col).drop_nulls().unique(maintain_order=True).head(SAMPLES).to_list()
    text = ", ".join(str(v) for v in values)
    return text if len(text) <= 48 else text[:47] + "…"


class MappingPanel(Vertical):
    def __init__(self, name: str) -> None:
        super().__init__(id=f"mapping-{name}", classes="mapping-panel")

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True, classes="mapping-table")
        yield Static(classes="mapping-note")


class MappingScreen(Pane):
    PANE = "mapping"
    KEY_PREFIX = "mapping"
    BINDINGS = [
        Binding("enter", "choose", "Choose column", id="mapping.choose"),
        Binding("s", "suggest", "Use suggestion", id="mapping.suggest"),
        Binding("x", "unmap", "Unmap", id="mapping.unmap"),
        Binding("n", "add_custom", "Add custom field", id="mapping.add_custom"),
        Binding("w", "save", "Save", id="mapping.save"),
        Binding("z", "revert", "Revert", show=False, id="mapping.revert"),
        Binding("p", "policy", "Field policy", show=False, id="mapping.policy"),
        Binding("d", "tab('departments')", "Departments", show=False, id="mapping.departments"),
        Binding("u", "tab('users')", "Users", show=False, id="mapping.users"),
    ]

    def compose(self) -> ComposeResult:
        yield PaneBar(self.PANE)
        with TabbedContent(id="mapping-tabs"):
            for name, _, title in ENTITIES:
                with TabPane(title, id=f"mtab-{name}"):
                    yield MappingPanel(name)
        yield KeysFooter()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_choose()

    def on_mount(self) -> None:
        self.drafts: dict[str, dict[str, str]] = {}
        self.keys: dict[str, list[str]] = {}
        for panel in self.query(MappingPanel):
            panel.query_one(DataTable).add_columns("LMS field", "column", "note", "sample values")
        super().on_mount()
        self.query_one("#mapping-departments DataTable", DataTable).focus()

    # --- state ------------------------------------------------------------------------
    def saved(self, name: str) -> dict[str, str]:
        cfg = self.session.cfg
        return dict(getattr(cfg, name).mapping) if cfg else {}

    def draft(self, name: str) -> dict[str, str]:
        if name not in self.drafts:
            self.drafts[name] = self.saved(name)
        return self.drafts[name]

    def modified(self, name: str) -> bool:
        return name in self.drafts and self.drafts[name] != self.saved(name)

    def current(self) -> str:
        active = self.query_one(TabbedContent).active or "mtab-departments"
        return active.removeprefix("mtab-")

    def session_changed(self) -> None:
        s = self.session
        nothing = not s.tables and not s.table_errors
        if s.cfg is not None and (nothing or any(s.stale(n) for n, _, _ in ENTITIES)) \
                and not s.planning and not s.reading:
            self.sync_app.read_sheets()  # read them for the headers: the plan failed, or the source changed
        for panel in self.query(MappingPanel):
            panel.loading = s.reading
        for name, _, _ in ENTITIES:
            if not self.modified(name):
                self.drafts.pop(name, None)
            self.redraw(name)

    # --- drawing -----------------------------------------------------------------------
    def redraw(self, name: str) -> None:
        s = self.session
        panel = self.query_one(f"#mapping-{name}", MappingPanel)
        table = panel.query_one(DataTable)
        note_box = panel.query_one(".mapping-note", Static)
        if s.cfg is None:
            table.clear()
            note_box.update(literal(s.config_error or "No configuration.", TONE_STYLE["error"], lines=True))
            return
        entity = dict((n, e) for n, e, _ in ENTITIES)[name]
        draft = self.draft(name)
        saved = self.saved(name)
        sheet = s.table(name)
        headers = tuple(sheet.headers) if sheet is not None else ()
        snap = s.result.snapshot if s.result else None
        report = (service.review_entity_mapping(entity, draft, headers, snap, sheet.encoding)
                  if sheet is not None else None)
        standard, required = service.mapping_fields(entity)
        extra_required = tuple(snap.required_fields) if (snap and entity == "user") else ()
        required_all = (*required, *(f for f in extra_required if f not in required))
        rows: list[tuple[str, str, str, str, Text]] = []
        policies = getattr(s.cfg, name).fields  # C3: shown beside the field when not the default
        for f in (*standard, *(f for f in extra_required if f not in standard)):
            col = draft.get(f)
            rows.append((f, f + ("*" if f in required_all else "") + policy_suffix(policies.get(f)),
                         col or "—", samples(sheet, col),
                         self.field_note(f, col, saved.get(f), report, f in required_all)))
        customs = [f for f in draft if f not in standard and f not in extra_required]
        for f in customs:
            note = Text("custom field", style="dim")
            if f not in saved:
                note = Text("custom field, added (unsaved)", style=TONE_STYLE["create"])
            elif report and f in report.unknown_custom:
                note = Text("custom field, new to the LMS", style=TONE_STYLE["create"])
            if report and draft[f] in report.missing_columns:
                note = self.missing_note(f, report)
            rows.append((f, f + policy_suffix(policies.get(f)), draft[f], samples(sheet, draft[f]), note))
        for f in saved:
            if f not in draft and f not in standard:
                rows.append((f, f, "—", "", Text("custom field, removed (unsaved)", style=TONE_STYLE["delete"])))
        if entity == "user" and snap is not None:
            for f in snap.custom_fields:
                if f not in draft and f not in saved:
                    rows.append((f, f, "—", "", Text("custom field in the LMS, not mapped: left as it is",
                                                     style="dim")))
        cursor = table.cursor_row
        table.clear()
        self.keys[name] = []
        for key, label, col, sample, nt in rows:
            table.add_row(literal(label), literal(col), nt, literal(sample), key=key)
            self.keys[name].append(key)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        note_box.update(self.panel_note(name, entity, draft, sheet, report))

    @staticmethod
    def missing_note(f: str, report) -> Text:
        if report.code_page:  # F1: the headers are this column read in another code page
            return Text(f'✖ not in the sheet as read in {report.read_as}: set encoding = "{report.code_page}"',
                        style=TONE_STYLE["error"])
        hint = report.instead.get(f)
        return Text("✖ column not in the sheet" + (f' — suggestion "{visible(hint)}" (s)' if hint else ""),
                    style=TONE_STYLE["error"])

    def field_note(self, f: str, col: str | None, was: str | None, report, required: bool) -> Text:
        if report is not None and col and col in report.missing_columns:
            return self.missing_note(f, report)
        if col is None:
            hint = report.suggestions.get(f) if report else None
            if required:
                return Text("✖ required, not mapped" + (f' — suggestion "{visible(hint)}" (s)' if hint else ""),
                            style=TONE_STYLE["error"])
            if hint:
                return Text(f'suggestion: "{visible(hint)}" (s)', style=TONE_STYLE["reactivate"])
            return Text("not mapped", style="dim")
        if col != was:
            return Text("changed (unsaved)", style=TONE_STYLE["update"])
        return Text("")

    def panel_note(self, name: str, entity: str, draft: dict, sheet, report) -> Text:
        t = Text()
        err = self.session.table_errors.get(name)
        if sheet is None:
            t.append("The sheet has not been read" + (f": {readable(err)}" if err else "") + " — sample values and "
                     "suggestions appear once it is (Sources: 1).\n", style=TONE_STYLE["warning"])
        if entity == "user" and "userUniqueKey" not in draft:
            t.append("Note: userUniqueKey is not mapped, so login and email cannot both change in one sync: "
                     "a row whose login and email both changed is planned as a new user.\n",
                     style=TONE_STYLE["warning"])
        if self.modified(name):
            t.append("Unsaved changes: w saves them to the config, z reverts.", style="bold")
        else:
            t.append("* required. enter: choose a column · s: use the suggestion · x: unmap"
                     + (" · n: add a custom field" if entity == "user" else ""), style="dim")
        return t

    # --- editing ------------------------------------------------------------------------
    def field(self) -> tuple[str, str | None]:
        name = self.current()
        table = self.query_one(f"#mapping-{name} DataTable", DataTable)
        keys = self.keys.get(name, [])
        if not keys or self.session.cfg is None:
            return name, None
        return name, keys[min(table.cursor_row, len(keys) - 1)]

    def set_column(self, name: str, f: str, column: str | None) -> None:
        draft = self.draft(name)
        if column is None:
            draft.pop(f, None)
        else:
            for other, col in list(draft.items()):  # a column maps one field
                if col == column and other != f:
                    draft.pop(other)
                    self.notify(f'"{column}" was mapped to {other}; now it is mapped to {f}.', timeout=5)
            draft[f] = column
        self.redraw(name)

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = f"mtab-{name}"
        self.query_one(f"#mapping-{name} DataTable", DataTable).focus()

    def action_choose(self) -> None:
        name, f = self.field()
        if f is None:
            return
        sheet = self.session.table(name)
        if sheet is None:
            self.app.push_screen(PromptScreen(f"Column for {f}", "The sheet is not read: type the column name.",
                                              self.draft(name).get(f, "")),
                                 lambda col: col and self.set_column(name, f, col))
            return
        items = [(NOT_MAPPED, "(not mapped)")] + [(h, f"{h}   {samples(sheet, h)}") for h in sheet.headers]

        def picked(col: str | None) -> None:
            if col is not None:
                self.set_column(name, f, None if col == NOT_MAPPED else col)

        self.app.push_screen(PickScreen(f"Column for {f}", items), picked)

    def action_suggest(self) -> None:
        name, f = self.field()
        sheet = self.session.table(name)
        if f is None or sheet is None:
            return
        draft = self.draft(name)
        headers = tuple(sheet.headers)
        if f in draft and draft[f] in headers:
            self.notify(f"{f} is mapped already.", timeout=3)
            return
        taken = {c for g, c in draft.items() if g != f}
        col = service.suggest_column(f, headers, taken, mapped=draft.get(f))
        if col is None:
            self.notify(f"No column of the sheet looks like {f}.", timeout=3)
            return
        self.set_column(name, f, col)

    def action_unmap(self) -> None:
        name, f = self.field()
        if f is not None and f in self.draft(name):
            self.set_column(name, f, None)

    def action_add_custom(self) -> None:
        name = self.current()
        if name != "users" or self.session.cfg is None:
            self.notify("Custom fields are for users only.", timeout=3)
            return
        standard, _ = service.mapping_fields("user")

        def named(field_name: str | None) -> None:
            if not field_name:
                return
            if field_name in standard:
                self.notify(f"{field_name} is a standard field: pick its column in the list.", timeout=4)
                return
            self.keys[name].append(field_name)
            sheet = self.session.table(name)
            if sheet is None:
                self.app.push_screen(PromptScreen(f"Column for {field_name}", "Type the column name."),
                                     lambda col: col and self.set_column(name, field_name, col))
            else:
                items = [(h, f"{h}   {samples(sheet, h)}") for h in sheet.headers]
                self.app.push_screen(PickScreen(f"Column for {field_name}", items),
                                     lambda col: col and self.set_column(name, field_name, col))

        self.app.push_screen(PromptScreen("Add a custom field", "The LMS field name (e.g. Grade):"), named)

    def action_policy(self) -> None:
        """C3: when the sheet's value of the field under the cursor is written (saved at once)."""
        name, f = self.field()
        cfg = self.session.cfg
        if f is None or cfg is None:
            return
        if f not in getattr(cfg, name).mapping:
            self.notify(f"{f} is not mapped in the saved config: map it and save (w) first.", timeout=5)
            return
        if f in ("userUniqueKey", "departmentUniqueKey"):
            self.notify(f"{f} is never written to the LMS: it takes no policy.", timeout=4)
            return
        before = getattr(cfg, name).fields.get(f)

        def picked(value: str | None) -> None:
            if value is None or chosen_policy(value) == (before or service.FieldPolicy()):
                return
            after = chosen_policy(value)

            def answered(yes: bool | None) -> None:
                if not yes:
                    return
                try:
                    new = service.save_field_policies(cfg, name, {**getattr(cfg, name).fields, f: after})
                except (SyncError, OSError) as e:
                    self.notify(str(e), title="Not saved", severity="error", timeout=12)
                    return
                self.sync_app.use_config(new)
                self.notify(f"Saved to {self.session.display_path(new.path)}.", timeout=4)
                self.sync_app.start_plan(keep=True, reread=False)

            self.app.push_screen(ConfirmScreen("Save the field policy?", save_question(
                name, f, before, after, self.session.display_path(cfg.path)), yes="Save"), answered)

        self.app.push_screen(PickScreen(f"When is {f} written? (now: {(before or service.FieldPolicy()).describe()})",
                                        policy_choices(f)), picked)

    def action_revert(self) -> None:
        name = self.current()
        self.drafts.pop(name, None)
        self.redraw(name)

    def action_save(self) -> None:
        cfg = self.session.cfg
        changed = [n for n, _, _ in ENTITIES if self.modified(n)]
        if cfg is None or not changed:
            self.notify("Nothing to save.", timeout=3)
            return
        body = Text()
        for n in changed:
            before, after = self.saved(n), self.drafts[n]
            body.append(f"[{n}.mapping]\n", style="bold")
            for f in sorted(set(before) | set(after)):
                if before.get(f) != after.get(f):
                    body.append(visible(f"  {f}: {before.get(f) or '—'} → {after.get(f) or '—'}") + "\n")
        body.append(f"\n{visible(self.session.display_path(cfg.path))} is rewritten with every other setting kept; "
                    "its comments are not kept (the old file is saved as "
                    f"{cfg.path.name}.bak). Then the plan is made again.", style="dim")

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                new = cfg
                for n in changed:
                    new = service.save_mapping(new, n, self.drafts[n])
            except (SyncError, OSError) as e:
                self.notify(str(e), title="Not saved", severity="error", timeout=12)
                return
            self.sync_app.use_config(new)
            self.drafts.clear()
            self.notify(f"Saved to {self.session.display_path(new.path)}.", timeout=4)
            self.sync_app.start_plan(keep=True, reread=True)

        self.app.push_screen(ConfirmScreen("Save the mapping?", body, yes="Save"), answered)
