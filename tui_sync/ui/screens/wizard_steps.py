"""The setup wizard's steps. Each collects its part of the config (raw TOML data)
and checks it with the config parser, so a mistake is named at its own step."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, Input, Label, RadioSet, Select, SelectionList, Static
from textual.worker import get_current_worker

from ... import service
from ...config import LmsConfig, PolicyConfig, parse_config
from ...errors import ConfigError, SyncError
from ...model import KIND_ORDER
from ..literal import literal, readable, visible
from ..messages import PreviewRead
from ..plan_rows import TONE_STYLE, glyph
from ..widgets.secret_field import SecretField
from ..widgets.sheet_preview import SheetPreview
from ..widgets.toggles import Choice, Tick, Ticks
from .mapping import samples
from .sources import size_text

if TYPE_CHECKING:
    from .wizard import WizardScreen

SOURCE_KINDS = (("file", "local file"), ("url", "file at an https:// address"), ("google_sheets", "Google Sheet"))


def row(label: str, widget, *, classes: str = "") -> Horizontal:
    return Horizontal(Label(label, classes="field-label"), widget, classes=f"field-row {classes}".strip())


def radio(options: tuple[tuple[str, str], ...], current: str, id: str) -> RadioSet:
    return RadioSet(*(Choice(label, value=key == current, name=key) for key, label in options), id=id)


def chosen(rs: RadioSet, default: str) -> str:
    b = rs.pressed_button
    return (b.name if b is not None else None) or default


class Step(VerticalScroll):
    title = ""
    help = ""

    def __init__(self, wizard: WizardScreen, **kw) -> None:
        super().__init__(**kw)
        self.wizard = wizard

    def entered(self) -> None:
        """Shown (again)."""

    def collect(self) -> None:
        """Check what was entered and put it into `wizard.raw`; raise SyncError to stay."""

    def val(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()


# --- 1. LMS ----------------------------------------------------------------------------------

class LmsStep(Step):
    title = "LMS"
    help = "Which LMS tui-sync keeps in step. The embedded one (a SQLite file) is for trials and rehearsals."

    def compose(self) -> ComposeResult:
        old = self.wizard.raw.get("lms", {})
        kind = old.get("kind", "local")
        legacy = "account_url" in old
        yield Label("LMS", classes="field-title")
        yield radio((("local", "embedded LMS (SQLite file)"), ("ispring", "iSpring Learn (REST API)")), kind, "lms-kind")
        yield row("database file", Input(old.get("path", "lms.sqlite") if kind == "local" else "lms.sqlite",
                                         compact=True, id="lms-path"), classes="lms-local")
        yield row("API address", Input(old.get("base_url", LmsConfig.base_url), compact=True, id="lms-base-url"),
                  classes="lms-ispring")
        yield Label("sign-in", classes="field-title lms-ispring")
        yield radio((("client", "API client: client id and secret"),
                     ("legacy", "legacy: account address, login and password")),
                    "legacy" if legacy else "client", "lms-auth").set_classes("lms-ispring")
        yield row("client id", Input(old.get("client_id", ""), compact=True, id="lms-client-id"),
                  classes="lms-ispring lms-client")
        yield SecretField("client secret", initial=old.get("client_secret"), env_default="ISPRING_CLIENT_SECRET",
                          stored_name="ispring_client_secret", id="lms-client-secret").set_classes("lms-ispring lms-client")
        yield row("account address", Input(old.get("account_url", ""), placeholder="https://myco.ispringlearn.com",
                                           compact=True, id="lms-account-url"), classes="lms-ispring lms-legacy")
        yield row("login", Input(old.get("login", ""), compact=True, id="lms-login"), classes="lms-ispring lms-legacy")
        yield SecretField("password", initial=old.get("password"), env_default="ISPRING_PASSWORD",
                          stored_name="ispring_password", id="lms-password").set_classes("lms-ispring lms-legacy")

    def on_mount(self) -> None:
        self.show_kind()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id in ("lms-kind", "lms-auth"):
            self.show_kind()

    def show_kind(self) -> None:
        kind = chosen(self.query_one("#lms-kind", RadioSet), "local")
        auth = chosen(self.query_one("#lms-auth", RadioSet), "client")
        for w in self.query(".lms-local"):
            w.display = kind == "local"
        for w in self.query(".lms-ispring"):
            w.display = kind == "ispring"
        if kind == "ispring":
            for w in self.query(".lms-client"):
                w.display = auth == "client"
            for w in self.query(".lms-legacy"):
                w.display = auth == "legacy"

    def collect(self) -> None:
        kind = chosen(self.query_one("#lms-kind", RadioSet), "local")
        old = self.wizard.raw.get("lms", {})
        if kind == "local":
            lms: dict[str, Any] = {"kind": "local", "path": self.val("#lms-path") or "lms.sqlite"}
        else:
            lms = {"kind": "ispring", **{k: old[k] for k in ("requests_per_second", "timeout", "ca_file") if k in old}}
            base = self.val("#lms-base-url")
            if base and base != LmsConfig.base_url:
                lms["base_url"] = base
            if chosen(self.query_one("#lms-auth", RadioSet), "client") == "client":
                lms["client_id"] = self.val("#lms-client-id")
                lms["client_secret"] = self.wizard.secret(self.query_one("#lms-client-secret", SecretField))
            else:
                lms["account_url"] = self.val("#lms-account-url")
                lms["login"] = self.val("#lms-login")
                lms["password"] = self.wizard.secret(self.query_one("#lms-password", SecretField))
            for k in ("client_id", "account_url", "login"):
                if k in lms and not lms[k]:
                    raise ConfigError(f"[lms] {k}: missing", hint="fill it in")
        service.check_lms_settings(lms, self.wizard.config_path)
        self.wizard.raw["lms"] = lms


# --- 2. a source -----------------------------------------------------------------------------

class SourceStep(Step):
    def __init__(self, wizard: WizardScreen, entity: str, **kw) -> None:
        super().__init__(wizard, **kw)
        self.entity = entity  # "departments" | "users"
        self.title = f"{entity.title()} sheet"
        self.help = (f"Where HR's {entity} sheet comes from: a local file, a file at an address (with a user "
                     "name and password if it needs them), or a Google Sheet shared with a service account. "
                     "The next step reads it.")

    def compose(self) -> ComposeResult:
        e = self.entity
        old = self.wizard.raw.get(e, {}).get("source", {})
        kind = old.get("kind", "file")
        yield Label(f"{e.title()} sheet", classes="field-title")
        yield radio(SOURCE_KINDS, kind, f"{e}-kind")
        yield row("path", Input(old.get("path", f"{e}.csv" if e == "departments" else f"{e}.xlsx"),
                                compact=True, id=f"{e}-path"), classes="src-file")
        yield row("address", Input(old.get("url", ""), placeholder="https://…", compact=True, id=f"{e}-url"),
                  classes="src-url src-google")
        yield row("sheet / tab", Input(old.get("sheet", ""), placeholder="first visible sheet", compact=True,
                                       id=f"{e}-sheet"))
        yield row("header row", Input(str(old.get("header_row", 1)), compact=True, id=f"{e}-header-row", type="integer"))
        yield row("encoding", Input(old.get("encoding", "auto"), compact=True, id=f"{e}-encoding"),
                  classes="src-file src-url")
        yield row("delimiter", Input(old.get("delimiter", "auto"), compact=True, id=f"{e}-delimiter"),
                  classes="src-file src-url")
        yield row("user name", Input(old.get("username", ""), placeholder="none", compact=True, id=f"{e}-username"),
                  classes="src-url")
        yield SecretField("download password", initial=old.get("password"), env_default="HR_FILE_PASSWORD",
                          stored_name=f"{e}_password", id=f"{e}-password").set_classes("src-url")
        yield Tick("allow plain http://", old.get("allow_insecure_http", False), id=f"{e}-insecure",
                       classes="src-url")
        yield SecretField("service account key", initial=old.get("service_account"), prefer="file",
                          stored_name="google_service_account", id=f"{e}-service-account").set_classes("src-google")

    def on_mount(self) -> None:
        self.show_kind()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id == f"{self.entity}-kind":
            self.show_kind()

    def kind(self) -> str:
        return chosen(self.query_one(f"#{self.entity}-kind", RadioSet), "file")

    def show_kind(self) -> None:
        kind = self.kind()
        cls = {"file": "src-file", "url": "src-url", "google_sheets": "src-google"}[kind]
        for w in self.query(".src-file, .src-url, .src-google"):
            w.display = w.has_class(cls)

    def collect(self) -> None:
        e = self.entity
        kind = self.kind()
        src: dict[str, Any] = {"kind": kind}
        old = self.wizard.raw.get(e, {}).get("source", {})
        if kind == "file":
            src["path"] = self.val(f"#{e}-path")
        else:
            src["url"] = self.val(f"#{e}-url")
        if self.val(f"#{e}-sheet"):
            src["sheet"] = self.val(f"#{e}-sheet")
        header = self.val(f"#{e}-header-row") or "1"
        if not header.isdigit() or int(header) < 1:
            raise ConfigError(f"[{e}.source] header_row: expected a whole number, at least 1")
        if int(header) != 1:
            src["header_row"] = int(header)
        if kind != "google_sheets":
            for key in ("encoding", "delimiter"):
                v = self.val(f"#{e}-{key}")
                if v and v.lower() != "auto":
                    src[key] = v
        if kind == "url":
            if self.val(f"#{e}-username"):
                src["username"] = self.val(f"#{e}-username")
                src["password"] = self.wizard.secret(self.query_one(f"#{e}-password", SecretField))
            if self.query_one(f"#{e}-insecure", Checkbox).value:
                src["allow_insecure_http"] = True
            src.update({k: old[k] for k in ("timeout", "ca_file") if k in old and old.get("kind") == "url"})
        if kind in ("file", "url") and "max_bytes" in old and old.get("kind") == kind:
            src["max_bytes"] = old["max_bytes"]
        if kind == "google_sheets":
            src["service_account"] = self.wizard.secret(self.query_one(f"#{e}-service-account", SecretField))
            src.update({k: old[k] for k in ("timeout", "ca_file") if k in old and old.get("kind") == kind})
        for required in ("path", "url"):
            if required in src and not src[required]:
                raise ConfigError(f"[{e}.source] {required}: missing", hint="fill it in")
        service.check_source_settings(src, self.wizard.config_path, e)
        section = self.wizard.raw.setdefault(e, {})
        if section.get("source") != src:
            self.wizard.tables.pop(e, None)  # read it again
        section["source"] = src


# --- 3. preview ------------------------------------------------------------------------------

class PreviewStep(Step):
    def __init__(self, wizard: WizardScreen, entity: str, **kw) -> None:
        super().__init__(wizard, **kw)
        self.entity = entity
        self.title = f"{entity.title()} preview"
        self.help = "What tui-sync reads from the sheet: check the columns and the first rows."

    def compose(self) -> ComposeResult:
        yield Static(classes="preview-info")
        yield SheetPreview(classes="preview-table")

    def entered(self) -> None:
        if self.entity in self.wizard.tables:
            self.show()
            return
        self.query_one(".preview-info", Static).update("Reading…")
        self.loading = True
        self.read(copy.deepcopy(self.wizard.raw[self.entity]["source"]))

    @work(thread=True, name="preview", group="wizard-preview", exclusive=True, exit_on_error=False,
          description="Reading the sheet")
    def read(self, src: dict) -> None:
        try:
            table, error = service.read_source_settings(src, self.wizard.config_path, self.entity), None
        except SyncError as e:
            table, error = None, str(e)
        if not get_current_worker().is_cancelled:
            self.post_message(PreviewRead(table, error))

    def on_preview_read(self, message: PreviewRead) -> None:
        self.loading = False
        self.wizard.tables[self.entity] = message.table
        self.wizard.read_errors[self.entity] = message.error
        self.show()

    def show(self) -> None:
        table = self.wizard.tables.get(self.entity)
        error = self.wizard.read_errors.get(self.entity)
        info = self.query_one(".preview-info", Static)
        if table is None:
            info.update(Group(literal(error or "The sheet could not be read.", TONE_STYLE["error"], lines=True),
                              Text("You can go on and type the column names in the mapping step, "
                                   "or go back (escape) and fix the source.", style="dim")))
        else:
            t = Text()
            t.append(f"{table.rows} rows × {len(table.headers)} columns", style="bold")
            t.append(visible(f"  ({table.format}{', sheet ' + repr(table.sheet) if table.sheet else ''}, "
                             f"{size_text(table.size_bytes)})") + "\n", style="dim")
            t.append("columns: " + visible(", ".join(table.headers)))
            for n in table.notes:
                t.append("\n⚠ " + readable(n), style=TONE_STYLE["warning"])
            if table.rows == 0:
                t.append("\n✖ no data rows: nothing could be planned from it", style=TONE_STYLE["error"])
            info.update(t)
        self.query_one(SheetPreview).show_table(table, rows=50)


# --- 4. mapping ------------------------------------------------------------------------------

class SheetStep(Step):
    """A step built from a sheet's headers, and built again when they change."""

    entity = "users"
    built_for: tuple | None = None

    def headers(self) -> tuple[str, ...]:
        table = self.wizard.tables.get(self.entity)
        return tuple(table.headers) if table is not None else ()

    async def stale(self) -> bool:
        """True (the old widgets removed) when the step is to be built for new headers."""
        headers = self.headers()
        if self.built_for == headers:
            return False
        self.built_for = headers
        await self.remove_children()
        return True


SAMPLE_WIDTH = 28  # characters of sample values beside a column's name


class MappingStep(SheetStep):
    def __init__(self, wizard: WizardScreen, entity: str, **kw) -> None:
        super().__init__(wizard, **kw)
        self.entity = entity
        self.lms_entity = entity[:-1]
        self.title = f"{entity.title()} mapping"
        self.help = "Which column holds each LMS field (* required). Suggestions are filled in; check them."

    def option(self, header: str) -> Text:
        """A column as the dropdown lists it: its header and a few of its values (as the Mapping pane's
        picker does), as plain text: sheet values are data, never markup (F4)."""
        t = literal(header)
        t.no_wrap, t.overflow = True, "ellipsis"
        values = visible(samples(self.wizard.tables.get(self.entity), header))
        if len(values) > SAMPLE_WIDTH:  # one line per column, even in an 80-column terminal
            values = values[:SAMPLE_WIDTH - 1] + "…"
        if values:
            t.append(f"   {values}", style="dim")
        return t

    async def entered(self) -> None:
        if not await self.stale():
            return
        headers = self.built_for
        standard, required = service.mapping_fields(self.lms_entity)
        old = dict(self.wizard.raw.get(self.entity, {}).get("mapping", {}))
        taken = set(old.values())
        used: set[str] = set()  # columns given to standard fields
        widgets: list = [Label(self.title, classes="field-title")]
        for f in standard:
            current = old.get(f)
            if current is None and headers:
                current = service.suggest_column(f, headers, taken)
                if current:
                    taken.add(current)
            if current:
                used.add(current)
            label = f + ("*" if f in required else "")
            if headers:
                options = [(self.option(h), h) for h in headers]
                value = current if current in headers else Select.NULL
                widget = Select(options, prompt="(not mapped)", value=value, compact=True, id=f"map-{self.entity}-{f}")
            else:
                widget = Input(current or "", placeholder="(not mapped)", compact=True, id=f"map-{self.entity}-{f}")
            widgets.append(row(label, widget))
        if self.lms_entity == "user":
            customs = {f: c for f, c in old.items() if f not in standard}
            rest = [h for h in headers if h not in used]
            if rest:
                widgets.append(Label("Other columns to sync as custom fields (space toggles):", classes="field-title"))
                widgets.append(Ticks(*((self.option(h), h, customs.get(h) == h) for h in rest),
                                             id="custom-fields"))
            kept = {f: c for f, c in customs.items() if f != c}
            if kept:
                widgets.append(Static(literal("Custom fields kept as they are: "
                                              + ", ".join(f'{f} = "{c}"' for f, c in kept.items()), "dim")))
            widgets.append(Static(Text("Without userUniqueKey, a user's login and email cannot both change in one "
                                       "sync: such a row becomes a new user.", style=TONE_STYLE["warning"]),
                                  id="unique-key-note"))
        await self.mount_all(widgets)
        self.show_unique_key_note()

    def show_unique_key_note(self) -> None:
        """The note on U2 only while userUniqueKey is not mapped."""
        for note in self.query("#unique-key-note"):
            w = self.query_one(f"#map-{self.entity}-userUniqueKey")
            value = w.value if isinstance(w, Select) else w.value.strip()
            note.display = not value or value is Select.NULL

    def mapped_columns(self) -> dict[str, str]:
        """column -> the standard field it is chosen for now."""
        standard, _ = service.mapping_fields(self.lms_entity)
        out: dict[str, str] = {}
        for f in standard:
            for w in self.query(f"#map-{self.entity}-{f}"):
                value = w.value if isinstance(w, Select) else w.value.strip()
                if value and value is not Select.NULL:
                    out[str(value)] = f
        return out

    def refresh_customs(self) -> None:
        """The custom-field list offers only the columns no standard field takes."""
        for sl in self.query("#custom-fields").results(SelectionList):
            mapped = self.mapped_columns()
            ticked = set(sl.selected)
            wanted = [h for h in self.headers() if h not in mapped]
            shown = [sl.get_option_at_index(i).value for i in range(sl.option_count)]
            if wanted == shown:
                return
            for h in sorted(ticked & set(mapped)):
                self.notify(f'"{h}" is now the column of {mapped[h]}: it is no longer a custom field.', timeout=5)
            sl.clear_options()
            sl.add_options([(self.option(h), h, h in ticked) for h in wanted])

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == f"map-{self.entity}-userUniqueKey":
            self.show_unique_key_note()
        self.wizard.show_error(None)  # what Next said was about the mapping as it was
        self.refresh_customs()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == f"map-{self.entity}-userUniqueKey":
            self.show_unique_key_note()
        if (event.input.id or "").startswith(f"map-{self.entity}-"):
            self.wizard.show_error(None)

    def collect(self) -> None:
        standard, _ = service.mapping_fields(self.lms_entity)
        mapping: dict[str, str] = {}
        for f in standard:
            w = self.query_one(f"#map-{self.entity}-{f}")
            value = w.value if isinstance(w, Select) else w.value.strip()
            if value and value is not Select.NULL:
                mapping[f] = str(value)
        if self.lms_entity == "user":
            old = dict(self.wizard.raw.get(self.entity, {}).get("mapping", {}))
            mapping.update({f: c for f, c in old.items() if f not in standard and f != c})
            mapped = set(mapping.values())
            for sl in self.query("#custom-fields").results(SelectionList):
                mapping.update({h: h for h in sl.selected if h not in mapped})  # a column feeds one field
        report = service.review_entity_mapping(self.lms_entity, mapping, self.headers() or tuple(mapping.values()))
        if report.unmapped_required:
            raise ConfigError(f"[{self.entity}.mapping] required field(s) not mapped: "
                              + ", ".join(report.unmapped_required), hint="pick a column for each field marked *")
        seen: dict[str, str] = {}
        for f, c in mapping.items():
            if c in seen:
                raise ConfigError(f'[{self.entity}.mapping] column "{c}" is mapped to both {seen[c]} and {f}',
                                  hint="each LMS field needs a column of its own")
            seen[c] = f
        self.wizard.raw.setdefault(self.entity, {})["mapping"] = mapping


# --- 5. schedule and safety --------------------------------------------------------------------

class ScheduleStep(Step):
    title = "Schedule and safety"
    help = ("When `tui-sync daemon` runs unattended syncs, and what those runs leave for a person. "
            "Leave the times empty for no schedule.")

    def compose(self) -> ComposeResult:
        raw = self.wizard.raw
        sched = raw.get("schedule", {})
        policy = raw.get("policy", {})
        times = ", ".join(str(t)[:5] for t in sched.get("times", []))
        review = policy.get("review", [k.value for k in PolicyConfig.review])
        yield Label("Schedule", classes="field-title")
        yield row("daily times", Input(times, placeholder="e.g. 07:00, 13:00, 19:00 (up to three)", compact=True,
                                       id="sched-times"))
        yield row("time zone", Input(sched.get("timezone", ""), placeholder="the machine's, or e.g. Europe/Berlin",
                                     compact=True, id="sched-tz"))
        yield Label("Unattended runs leave these kinds for a person (space toggles):", classes="field-title")
        yield Ticks(*((f"{glyph(k)} {k.value}", k.value, k.value in review) for k in KIND_ORDER),
                            id="policy-review")
        yield Label("Hold destructive changes when there are more than:", classes="field-title")
        yield row("inactivations", Input(str(policy.get("max_inactivations", "10%")), compact=True, id="policy-inact"))
        yield row("department deletes", Input(str(policy.get("max_department_deletes", "10%")), compact=True,
                                              id="policy-deletes"))
        yield row("row drop", Input(str(policy.get("max_row_drop", "20%")), compact=True, id="policy-drop"))
        yield row("parallel writes", Input(str(raw.get("apply", {}).get("concurrency", 8)), compact=True,
                                           type="integer", id="apply-concurrency"))

    def collect(self) -> None:
        raw = copy.deepcopy(self.wizard.raw)
        times = [t.strip() for t in self.val("#sched-times").replace(";", ",").split(",") if t.strip()]
        if times:
            raw["schedule"] = {"times": times, **({"timezone": self.val("#sched-tz")} if self.val("#sched-tz") else {})}
        else:
            raw.pop("schedule", None)
        policy = dict(raw.get("policy", {}))
        policy["review"] = list(self.query_one("#policy-review", SelectionList).selected)
        for key, sel in (("max_inactivations", "#policy-inact"), ("max_department_deletes", "#policy-deletes"),
                         ("max_row_drop", "#policy-drop")):
            v = self.val(sel)
            policy[key] = float(v) if v.replace(".", "", 1).isdigit() and "%" not in v else v
            if isinstance(policy[key], float) and policy[key].is_integer():
                policy[key] = int(policy[key])
        raw["policy"] = policy
        conc = self.val("#apply-concurrency") or "8"
        raw["apply"] = {**raw.get("apply", {}), "concurrency": int(conc) if conc.isdigit() else conc}
        parse_config(raw, self.wizard.config_path)  # the whole config, checked before the dry run
        self.wizard.raw = raw
