"""The Mapping pane's field policies (C3): how a field's policy reads, and picking a new one."""
from __future__ import annotations

from rich.text import Text

from ...service import BLANKS, NO_BLANK, UPDATES, FieldPolicy


def policy_suffix(policy: FieldPolicy | None) -> str:
    """What the Mapping pane adds to a field's name: nothing for the default (always, clear)."""
    return "" if policy is None or policy.default else f" · {policy.describe()}"


def policy_choices(field: str) -> list[tuple[str, str]]:
    """(value "update/blank", label) for PickScreen; identities and supervisors take no blank."""
    blanks = ("clear",) if field in NO_BLANK else tuple(BLANKS)
    out = []
    for update, what in UPDATES.items():
        for blank in blanks:
            label = f"update = {update}" + (f", blank = {blank}" if field not in NO_BLANK else "")
            note = what + ("" if field in NO_BLANK else f"; {BLANKS[blank]}")
            out.append((f"{update}/{blank}", f"{label}   — {note}"))
    return out


def chosen_policy(value: str) -> FieldPolicy:
    update, blank = value.split("/")
    return FieldPolicy(update=update, blank=blank)


def save_question(section: str, field: str, before: FieldPolicy | None, after: FieldPolicy, path: str) -> Text:
    body = Text()
    body.append(f"[{section}.fields] {field}\n", style="bold")
    body.append(f"  {(before or FieldPolicy()).describe()} → {after.describe()}\n")
    body.append(f"\n{path} is rewritten with every other setting kept; its comments are not kept "
                "(the old file is saved as a .bak). Then the plan is made again.", style="dim")
    return body
