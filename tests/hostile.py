"""A config folder whose sheets and LMS are full of values that look like markup or terminal
control (F4): Rich/Textual markup, an ANSI erase-line sequence, a printf placeholder, emoji,
right-to-left text and a 5,000-character name, in names, job titles, department names and codes,
a custom field and its column, and the values that problems quote."""
from __future__ import annotations

import asyncio
from pathlib import Path

from tui_sync.state.ledger import Ledger
from workspace import DEPT_HEADERS, USER_HEADERS, Workspace, lms_dept, lms_user, write_csv

CLOSE = "Team [/] Lead"
BOLD = "[bold]Bold[/bold]"
LINK = "[link=https://x]x[/link]"
RED = "[red]Red"
ESC = "Wipe\x1b[2Kline"
FORMAT = "100%s done"
EMOJI = "Emoji 🎉👩‍💻"
RTL = "مدير المبيعات"
LONG = "N" * 5000
CONTRACT = "Engineer [contract]"
CODE = "[red]R&D"  # a department code: the key of its changes and run log entries
GRADE = "Grade [x]"  # a sheet column (a custom field)
BIDI = "Evil\u202eLIVE"  # a right-to-left override: the terminal would show "EvilEVIL"
VALUES = (CLOSE, BOLD, LINK, RED, ESC, FORMAT, EMOJI, RTL, LONG, CONTRACT, CODE, GRADE, BIDI)


def shown(value: str) -> str:
    """How the UI shows a value: control characters escaped."""
    return value.replace("\x1b", "\\x1b").replace("\u202e", "\\u202e")


def _user(login: str, **kw: str) -> dict[str, str]:
    row = {"Login": login, "Email": f"{login}@example.com", "First": "Ann", "Last": "Lee", "Dept": "HQ"}
    row.update(kw)
    return row


def hostile_workspace(root: Path) -> Path:
    """The folder at `root`; returns its config path. The plan creates OPS, LNG and CODE, updates HQ,
    creates four users, updates old.one (whose job title in the LMS is CLOSE), holds the delete of OLD
    (stay.here, not managed, stays in it: D5), and has row problems quoting RED and LINK."""
    ws = Workspace(root, extra_config=f'Grade = "{GRADE}"\n')
    write_csv(root / "departments.csv", DEPT_HEADERS, [
        {"Code": "HQ", "Name": f"Head {RED}", "Parent": ""},
        {"Code": "OPS", "Name": RTL, "Parent": "HQ"},
        {"Code": "LNG", "Name": LONG, "Parent": "HQ"},
        {"Code": CODE, "Name": EMOJI, "Parent": "HQ"},
    ])
    headers = ["Login", GRADE, "Title", "First", "Last", "Dept", "Email", "Status", "Supervisor"]  # all on screen
    assert set(headers) == {*USER_HEADERS, GRADE}
    write_csv(root / "users.csv", headers, [
        _user("team.lead", Title=CLOSE, First=BOLD, Last=RTL, **{GRADE: LINK}),
        _user("eng.one", Title=CONTRACT, First=ESC, Last=FORMAT, Dept="OPS", **{GRADE: EMOJI}),
        _user("long.name", First=LONG, Dept="LNG"),
        _user("rd.one", Dept=CODE, Title=FORMAT, **{GRADE: BIDI}),
        _user("bad.mail", Email=f"{RED}@nowhere"),
        _user("no.dept", Dept=LINK),
        _user("old.one", Title=f"New {ESC}"),
    ])

    async def fill() -> None:
        lms = ws.lms()
        try:
            await lms.load([lms_dept("HQ", "HQ"), lms_dept("OLD", f"{BOLD} old")],
                           [lms_user("old.one", jobTitle=f"Old {CLOSE}"),
                            lms_user("stay.here", "OLD", firstName=RED, lastName=ESC)])
            snap = await lms.snapshot()
        finally:
            await lms.close()
        ids = dict(zip(snap.users["login"].to_list(), snap.users["id"].to_list()))
        Ledger(root / ".tui-sync").record(dict.fromkeys(snap.departments["id"].to_list()), {ids["old.one"]: None})

    asyncio.run(fill())
    return root / "tui-sync.toml"
