"""The review in progress, kept in the state folder so that quitting loses nothing.

`review-session.json` (0600, in the 0700 state folder) holds the decisions made,
the D5 resolutions chosen, the review filter and the change under the cursor,
with the fingerprints of what the plan was made from (`service.plan_inputs`).
Opening the UI again restores it when a fresh plan has the same fingerprints;
otherwise it is discarded and the operator is told what changed.

Plain Python (no Textual).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILE = "review-session.json"
VERSION = 1
WHAT = {"departments": "the departments sheet", "users": "the users sheet", "lms": "the LMS",
        "config": "the configuration"}


@dataclass(frozen=True)
class SavedReview:
    inputs: dict[str, str]  # service.plan_inputs of the plan reviewed
    decisions: dict[str, str] = field(default_factory=dict)  # change id -> "approved" / "rejected"
    resolutions: list[tuple[str, str]] = field(default_factory=list)  # (move users of, to)
    filter: dict[str, str] = field(default_factory=dict)  # kind, decision, problem, text
    cursor: str | None = None  # the change id under the cursor

    def changed(self, inputs: dict[str, str]) -> list[str]:
        """What differs from `inputs`, as the operator names it ("the users sheet", "the LMS")."""
        keys = [*WHAT, *sorted(set(self.inputs) | set(inputs) - set(WHAT))]
        return [WHAT.get(k, k) for k in keys if self.inputs.get(k) != inputs.get(k)]


def path(state: Path) -> Path:
    return Path(state) / FILE


def load(state: Path) -> SavedReview | None:
    """The saved review, or None (none saved, or a file this version cannot read: it is ignored)."""
    try:
        data = json.loads(path(state).read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            return None
        return SavedReview(
            inputs={str(k): str(v) for k, v in data["inputs"].items()},
            decisions={str(k): str(v) for k, v in data.get("decisions", {}).items()
                       if v in ("approved", "rejected")},
            resolutions=[(str(a), str(b)) for a, b in data.get("resolutions", [])],
            filter={str(k): str(v) for k, v in data.get("filter", {}).items()},
            cursor=data.get("cursor") if isinstance(data.get("cursor"), str) else None)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def save(state: Path, review: SavedReview) -> None:
    """Write atomically, 0600 in a 0700 folder (O2). Raises OSError when the folder is unwritable."""
    state = Path(state)
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    body: dict[str, Any] = {"version": VERSION, **asdict(review)}
    fd, tmp = tempfile.mkstemp(prefix=".review-", suffix=".tmp", dir=state)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out, ensure_ascii=False)
        os.replace(tmp, path(state))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def discard(state: Path) -> None:
    try:
        path(state).unlink(missing_ok=True)
    except OSError:
        pass
