"""The setup wizard's optional step: scope and protection (C1, C2).

A rule that leaves users' rows out, LMS users and departments that no sync may touch, with the
LMS accounts that no row of the sheet matches offered for protection (admins, service accounts).
Rules already in the config are kept as they are."""
from __future__ import annotations

import asyncio
import copy
from typing import Any

from rich.text import Text
from textual import work
from textual.widgets import Input, Label, Select, SelectionList, Static
from textual.worker import get_current_worker

from ... import service
from ...config import parse_config
from ...errors import ConfigError, SyncError
from ..literal import literal, readable
from ..messages import SuggestionsFound
from ..plan_rows import TONE_STYLE
from ..widgets.toggles import Ticks
from .wizard_steps import SheetStep, row


def split(text: str) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in text.replace(";", ",").split(",") if v.strip()))


def rule_of(column: str, text: str) -> dict[str, Any]:
    """One exclude rule: a pattern when the text has a wildcard, else a list of values."""
    if "*" in text or "?" in text:
        return {"column": column, "pattern": text.strip()}
    return {"column": column, "values": split(text)}


class ScopeStep(SheetStep):
    title = "Scope and protection"
    help = ("Optional: leave rows out of the sync (contractors, test accounts) and protect LMS accounts no "
            "sync may change (admins, service accounts). Leave everything empty to sync every row.")

    def __init__(self, wizard, **kw) -> None:
        super().__init__(wizard, **kw)
        self.added: dict[str, Any] | None = None  # the exclude rule this step put into the config

    async def entered(self) -> None:
        if not await self.stale():
            return
        headers, raw = self.built_for, self.wizard.raw
        kept = [r for r in raw.get("users", {}).get("scope", {}).get("exclude", []) if r != self.added]
        protect = raw.get("protect", {})
        column = Select([(literal(h), h) for h in headers], prompt="(no rule)", compact=True, id="scope-column") if headers \
            else Input(placeholder="a column of the users sheet", compact=True, id="scope-column")
        widgets: list = [
            Label("Leave users' rows out of the sync when", classes="field-title"),
            row("column", column),
            row("is one of", Input(placeholder="e.g. Contractor, Intern — or a pattern such as test-*",
                                   compact=True, id="scope-values")),
        ]
        if kept or raw.get("users", {}).get("scope", {}).get("include"):
            widgets.append(Static(Text("Scope rules already in the config are kept as they are.", style="dim")))
        widgets += [
            Label("Protect (never changed, inactivated, reactivated or deleted)", classes="field-title"),
            row("user logins", Input(", ".join(protect.get("users", [])), placeholder="e.g. admin, svc-*",
                                     compact=True, id="protect-users")),
            row("department codes", Input(", ".join(protect.get("departments", [])), placeholder="e.g. EXT",
                                          compact=True, id="protect-departments")),
            Label("LMS accounts that no row of the users sheet matches (space protects):", classes="field-title"),
            Static(Text("Looking them up…", style="dim"), id="protect-note"),
            Ticks(id="protect-suggestions"),  # protected shows by shape, not colour alone
        ]
        await self.mount_all(widgets)
        self.suggest(copy.deepcopy(raw))

    @work(thread=True, name="protect suggestions", group="wizard-suggest", exclusive=True, exit_on_error=False,
          description="Looking up LMS accounts no row matches")
    def suggest(self, raw: dict) -> None:
        table = self.wizard.tables.get("users")
        try:
            if table is None:
                raise SyncError("the users sheet was not read")
            cfg = parse_config(raw, self.wizard.config_path)
            found, error = service.protect_suggestions(cfg, asyncio.run(service.snapshot(cfg)), table), None
        except SyncError as e:
            found, error = [], str(e)
        if not get_current_worker().is_cancelled:
            self.post_message(SuggestionsFound(found, error))

    def on_suggestions_found(self, message: SuggestionsFound) -> None:
        found, error = message.logins, message.error
        note = self.query_one("#protect-note", Static)
        chosen = set(split(self.val("#protect-users")))
        options = self.query_one("#protect-suggestions", SelectionList)
        options.clear_options()
        options.add_options([(literal(login), login, login in chosen) for login in found])
        if error:
            note.update(Text("No suggestions: " + readable(error), style=TONE_STYLE["warning"]))
        else:
            note.update(Text("None: every active LMS account has a row." if not found else
                             "Protecting them keeps this sync off them even when it manages them later.",
                             style="dim"))

    def collect(self) -> None:
        raw = copy.deepcopy(self.wizard.raw)
        users = raw.setdefault("users", {})
        scope = users.setdefault("scope", {})
        exclude = [r for r in scope.get("exclude", []) if r != self.added]
        w = self.query_one("#scope-column")
        column = w.value if isinstance(w, Select) else w.value.strip()
        column = "" if column is Select.NULL or not column else str(column)
        text = self.val("#scope-values")
        added = None
        if column and text:
            added = rule_of(column, text)
            exclude.append(added)
        elif column or text:
            raise ConfigError("[users.scope] exclude: found " + ("a column without values" if column else
                                                                  "values without a column"),
                              hint="pick a column and type values or a pattern, or leave both empty")
        scope["exclude"] = exclude
        for key in [k for k, v in scope.items() if not v]:
            del scope[key]
        if not scope:
            del users["scope"]
        logins = split(self.val("#protect-users"))
        logins += [s for s in self.query_one("#protect-suggestions", SelectionList).selected if s not in logins]
        protect = {k: v for k, v in (("users", logins), ("departments", split(self.val("#protect-departments"))))
                   if v}
        if protect:
            raw["protect"] = protect
        else:
            raw.pop("protect", None)
        parse_config(raw, self.wizard.config_path)  # the whole config, checked before the dry run
        self.wizard.raw, self.added = raw, added
