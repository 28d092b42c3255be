"""The domain words everyone uses: Problem, Change, Plan (DESIGN P1, P2).

Values are plain dataclasses; the plan's JSON form lives in `plan_io`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    CREATE_DEPARTMENT = "create_department"
    UPDATE_DEPARTMENT = "update_department"
    DELETE_DEPARTMENT = "delete_department"
    CREATE_USER = "create_user"
    UPDATE_USER = "update_user"
    INACTIVATE_USER = "inactivate_user"
    REACTIVATE_USER = "reactivate_user"

    @property
    def entity(self) -> str:
        # (asked of every change, often: a membership test, not `.value`, which is slow on an enum)
        return "department" if self in (Kind.CREATE_DEPARTMENT, Kind.UPDATE_DEPARTMENT, Kind.DELETE_DEPARTMENT) \
            else "user"

    @property
    def destructive(self) -> bool:
        """Kinds P3 holds over threshold and `--approve safe` leaves pending."""
        return self in (Kind.INACTIVATE_USER, Kind.DELETE_DEPARTMENT)


KIND_ORDER: tuple[Kind, ...] = tuple(Kind)

# A1, the one definition of the apply order: department creates and updates, user creates and
# updates, reactivations, inactivations, department deletes. The kinds of one phase are applied
# together, a wave at a time as their dependencies allow (a department moved under one created by
# the same plan; a user created in a renamed department). Apply adds the supervisor links as a
# phase of their own right after the users' (`engine/apply.PHASES`).
A1_PHASES: tuple[tuple[str, tuple[Kind, ...]], ...] = (
    ("departments", (Kind.CREATE_DEPARTMENT, Kind.UPDATE_DEPARTMENT)),
    ("users", (Kind.CREATE_USER, Kind.UPDATE_USER)),
    ("reactivations", (Kind.REACTIVATE_USER,)),
    ("inactivations", (Kind.INACTIVATE_USER,)),
    ("deletes", (Kind.DELETE_DEPARTMENT,)),
)
A1_ORDER: tuple[Kind, ...] = tuple(k for _, kinds in A1_PHASES for k in kinds)
A1_PHASE: dict[Kind, int] = {k: i for i, k in enumerate(A1_ORDER)}  # a kind's place in A1, for sorting


class Outcome(StrEnum):
    """What became of one change of a run (A2, A3), as the run history stores it."""

    PENDING = "pending"  # to apply, not started yet
    STARTED = "started"  # being written; a resume checks it first (A2)
    LINKING = "linking"  # written, its supervisor links not yet
    APPLIED = "applied"
    STALE = "stale"  # the LMS object changed since planning (A4)
    FAILED = "failed"
    BLOCKED = "blocked"  # an error problem kept it out (P1)
    REJECTED = "rejected"
    SKIPPED = "skipped"  # not approved
    HELD = "held"  # over a P3 threshold: waits for a person
    ABANDONED = "abandoned"  # its run was closed without writing (A4)


# the outcomes of a change that was meant to be applied and was not: they make a run fail its exit code
NOT_APPLIED: frozenset[Outcome] = frozenset({Outcome.FAILED, Outcome.STALE, Outcome.BLOCKED})


class RunStatus(StrEnum):
    """Where a run of the history stands (A3)."""

    RUNNING = "running"  # or interrupted, when the lock is free: `apply --resume` finishes it
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    HELD = "held"  # P3: some changes wait for a person
    FAILED = "failed"  # a scheduled run that could not plan
    SKIPPED = "skipped"  # a scheduled run that found another sync holding the lock
    ABANDONED = "abandoned"


class Decision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Status(StrEnum):
    """U5: iSpring 1, 3, 5."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    TERMINATED = "terminated"


# Fields of the LMS vocabulary (DESIGN §2 `lms load` / `lms dump`).
DEPARTMENT_FIELDS: tuple[str, ...] = ("code", "name", "parentCode", "departmentUniqueKey")
DEPARTMENT_REQUIRED: tuple[str, ...] = ("code", "name")
USER_STANDARD_FIELDS: tuple[str, ...] = (
    "login", "email", "firstName", "lastName", "departmentId", "status",
    "subordination", "coSubordination", "userUniqueKey", "phone", "jobTitle",
)
USER_REQUIRED: tuple[str, ...] = ("login", "email", "firstName", "lastName", "departmentId")


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with a row or a change (P2). Rows are numbered as a spreadsheet shows them."""

    # (fields in the order the plan JSON lists them, DESIGN §2: `plan_io` writes them as declared)
    severity: Severity
    code: str
    entity: str  # "department" | "user" | "source"
    row: int | None = field(default=None, kw_only=True)
    column: str | None = field(default=None, kw_only=True)
    key: str | None = field(default=None, kw_only=True)
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value, "code": self.code, "entity": self.entity,
            "row": self.row, "column": self.column, "key": self.key, "message": self.message,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Problem:
        return cls(
            severity=Severity(d["severity"]), code=d["code"], entity=d.get("entity", "user"),
            message=d.get("message", ""), row=d.get("row"), column=d.get("column"), key=d.get("key"),
        )


def error(code: str, entity: str, message: str, **kw: Any) -> Problem:
    return Problem(Severity.ERROR, code, entity, message, **kw)


def warning(code: str, entity: str, message: str, **kw: Any) -> Problem:
    return Problem(Severity.WARNING, code, entity, message, **kw)


@dataclass(slots=True)
class Change:
    """One planned write (P1). `fields` maps an LMS field to (before, after).

    `target` is the LMS id of the object for updates, status changes and
    deletes (None for creates); it lets apply check the object right before
    writing (A2) even when the key itself changes.
    """

    # (fields in the order the plan JSON lists them, DESIGN §2: `plan_io` writes them as declared)
    id: str
    kind: Kind
    key: str
    row: int | None = field(default=None, kw_only=True)
    rule: str | None = field(default=None, kw_only=True)
    fields: dict[str, tuple[Any, Any]]
    decision: Decision = Decision.PENDING
    depends_on: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    target: str | None = None
    unique_key: str | None = None  # creates: the row's unique key, for the ledger (L1)
    # A4: what the target was when planned (users: login, email, key; departments: code, key);
    # right before a write the LMS object must still carry it, or the change is stale
    identity: dict[str, str | None] | None = None

    @property
    def blocked(self) -> bool:
        """A change with an error problem cannot be approved until resolved (P1, D5)."""
        if not self.problems:  # most changes: answered without a generator (a million-row plan asks often)
            return False
        return any(p.is_error for p in self.problems)

    @property
    def entity(self) -> str:
        return self.kind.entity

    @property
    def destructive(self) -> bool:
        """A4: judged by effect, whatever the kind: it deletes, or sets an inactive or terminated status."""
        status = self.fields.get("status")
        return self.kind.destructive or (
            status is not None and len(status) == 2 and status[1] in (Status.INACTIVE.value, Status.TERMINATED.value))


@dataclass(slots=True)
class Resolution:
    """D5: move the users of a department that is to be deleted."""

    move_users_of: str
    to: str


@dataclass(slots=True)
class Plan:
    changes: list[Change]
    problems: list[Problem]
    resolutions: list[Resolution] = field(default_factory=list)
    # L1: every LMS object the plan matched to a row, id -> unique key (or None),
    # recorded as managed by a completed apply whatever the decisions.
    matched_departments: dict[str, str | None] = field(default_factory=dict)
    matched_users: dict[str, str | None] = field(default_factory=dict)
    # L1: ledger entries whose LMS object disappeared, dropped by a completed apply
    vanished_departments: list[str] = field(default_factory=list)
    vanished_users: list[str] = field(default_factory=list)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    lms_users: int | None = None  # the users the LMS held when planned (apply's cost of a re-read)
    created_at: str | None = None
    # D5 as data, for resolving: delete change id -> the logins and child codes that keep it blocked,
    # and its parent's code when the users can move there ("users", "children", "parent")
    blocked_by: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def __repr__(self) -> str:
        # a plan can hold a million changes: whatever formats it (asyncio on exit, a log, a
        # debugger) gets the gist, not seconds of text
        return f"<Plan: {len(self.changes)} changes, {len(self.problems)} problems>"

    def summary(self) -> dict[str, int]:
        counts = Counter(c.kind for c in self.changes)
        out = {k.value: counts.get(k, 0) for k in KIND_ORDER}
        sev = Counter(p.severity for p in self.problems)
        out["errors"] = sev.get(Severity.ERROR, 0)
        out["warnings"] = sev.get(Severity.WARNING, 0)
        out["out_of_scope"] = sum(int(s.get("out_of_scope") or 0) for s in self.sources.values())  # C1
        return out

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)

    def by_id(self) -> dict[str, Change]:
        return {c.id: c for c in self.changes}

    def dependents(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for c in self.changes:
            for d in c.depends_on:
                out.setdefault(d, []).append(c.id)
        return out
