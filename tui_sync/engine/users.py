"""Users: validate (U1, U3, U5, U9), identify (U2), resolve departments and
supervisors (U4, U7, U10), diff fields (U8) and plan removals (U6).

All matching is polars joins; Python only walks the rows that change. The joins by
login, email and unique key yield LMS users as positions in the snapshot (`IX`), so
everything after them (the ledger's keys, the fields now, who is still pointed to) is
a gather by position rather than another join on ids. Rules mark rows with boolean
columns (`RowProblems.mark`); their problems are collected in one pass.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from ..beside import Beside
from ..lms.base import CUSTOM_PREFIX, NO_SUPERVISOR
from ..model import USER_REQUIRED, USER_STANDARD_FIELDS, Change, Kind, Problem, Severity, Status
from ..sources.table import ROW
from .departments import NEW, DepartmentStep, change_id
from .frames import (CONTROL_CHARACTERS, CONTROL_CLASS, ERR, RowProblems, compared, duplicated, has_duplicates,
                     invalid_characters, neq, norm, not_normal, placed, position_pairs, positions, zeros_dropped)
from .policy import FieldPolicy, gate
from .protect import PROTECTED_ROW, Protect, forgive_protected_rows, mark_protected_users

STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(["active", "1", "yes", "y", "true", "enabled", "aktiv", "активен", "активный", "активна", "да"],
                    Status.ACTIVE.value),
    **dict.fromkeys(["inactive", "3", "no", "n", "false", "blocked", "disabled", "deactivated", "suspended",
                     "inaktiv", "gesperrt", "неактивен", "неактивный", "заблокирован", "нет"], Status.INACTIVE.value),
    **dict.fromkeys(["terminated", "5", "employment ended", "employment_ended", "fired", "dismissed", "left",
                     "ausgeschieden", "уволен", "уволена"], Status.TERMINATED.value),
}
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
# U9 and F4 at once: an email that matches this is well formed and holds no control character
CLEAN_EMAIL_RE = EMAIL_RE.replace("\\s", "\\s" + CONTROL_CLASS)
PLAIN_FIELDS = ("login", "email", "firstName", "lastName", "phone", "jobTitle")
NO_SUPERVISOR_TEXT = "(no supervisor)"
# F4: values that identify a user or point at another object (department code, supervisor logins)
IDENTITY_FIELDS = ("login", "email", "userUniqueKey", "departmentId", "subordination", "coSubordination")


IX = "__ix"  # an LMS user's position in the snapshot: stands for its id in every lookup after the joins
PROTECTED_USER = "__protected_user"  # an LMS user is protected (C2)
COMPARED = {"login": "login_n", "userUniqueKey": "key_n", "subordination": "sup_n", "coSubordination": "cosup_n"}
NOT_NORMAL = "__not_normal_"  # + a field of COMPARED: its value is not its own normal form (only such a value
# can hold a control character, F4)


def _at(values: pl.Series, index: str) -> pl.Expr:
    """`values[index]` for each row (null where the index is null): a gather, not a join."""
    return pl.lit(values).gather(pl.col(index))


@dataclass
class UserStep:
    changes: list[Change]
    problems: list[Problem]
    matched: dict[str, str | None]  # L1: LMS id -> unique key, rows without errors
    final_department: dict[str, str | None]  # LMS user id -> department ref after the plan (moved users only)
    pointer_ix: pl.DataFrame  # by_key, by_login, by_email (positions in lms_ids), ROW: what each row points to (U6)
    lms_ids: pl.Series  # the snapshot's user ids, by position
    vanished: list[str] = field(default_factory=list)  # L1: ledger entries whose LMS user disappeared
    protected: set[str] = field(default_factory=set)  # C2: LMS ids of protected users

    @property
    def pointers(self) -> pl.DataFrame:
        """by_key, by_login, by_email, ROW: the LMS users (ids) each row points to, errors or not (U6)."""
        return self.pointer_ix.with_columns(
            _at(self.lms_ids, c).alias(c) for c in ("by_key", "by_login", "by_email"))

    def row_of(self, user_id: str) -> int | None:
        hit = self.pointers.filter(pl.any_horizontal(pl.col("by_key", "by_login", "by_email") == user_id))
        return hit[ROW][0] if hit.height else None


def plan_users(
    df: pl.DataFrame,
    mapping: dict[str, str],
    lms: pl.DataFrame,
    ledger: pl.DataFrame,
    departments: Callable[[], DepartmentStep],
    *,
    extra_required: tuple[str, ...] = (),
    protect: Protect = Protect(),
    policy: dict[str, FieldPolicy] | None = None,
) -> UserStep:
    """U1-U10 and C2 on the users sheet: each rule marks rows, then the changes of the rows without
    errors (creates, updates, status changes) and the removals (U6). `departments()` is the departments'
    step, asked for once the rows' users are found."""
    rules = _Rules(mapping, RowProblems("user"), "userUniqueKey" in df.columns)
    custom = [f for f in df.columns if f != ROW and f not in USER_STANDARD_FIELDS]
    lms_custom = {c[len(CUSTOM_PREFIX):].casefold(): c for c in lms.columns if c.startswith(CUSTOM_PREFIX)}

    # (a snapshot read in batches is in chunks: one chunk makes each gather by position several times cheaper)
    lms, ledger = lms.rechunk(), ledger.rechunk()
    # the sheet's keys, the LMS's users, where the ledger's entries are among them and whether every
    # email is clean (U9, F4) are computed at the same time (each query is mostly serial)
    users, pairs = _lms_queries(lms, ledger, protect)
    keys, users, pairs, clean = pl.collect_all([_compared_keys(df), users, pairs, _clean_emails(df)],
                                               engine="in-memory")
    known = _known_users(users, _entries(ledger, users, pairs), protect)
    del users, pairs
    lookups = _lookups(keys, known, rules.use_key)
    rows = _check_uniqueness(_check_fields(keys, rules, extra_required, clean.item()), rules, keys, lookups)
    del keys
    # these problems are collected before the lookups' results are set beside the rows: a row may find
    # several LMS users (an LMS with two users of one email, a ledger with one key twice: `_many_users`)
    checked = rows.collect(engine="in-memory")
    found, many = _find_users(rules.problems.collect(checked), known, lookups)
    del checked  # (what is not needed any more is freed as the plan goes: a million rows each)

    depts = departments()  # (planned meanwhile: see `planner`)
    rows = _mark_taken(_identify(_find_departments(found, depts), rules, known, many=many is not None), rules)
    del found
    rows = mark_protected_users(rows, rules.problems, protect, known.protected, known.users["login"],
                                mapping.get("login"))  # C2
    df = _mark_unknown_departments(rows, rules).collect(engine="in-memory")
    del rows
    df = rules.problems.collect(_resolve_supervisors(df, rules, known))
    forgive_protected_rows(rules.problems, df)  # C2: a protected user's row is not checked further
    problems = rules.problems.problems()
    warn_by_row: dict[int, list[Problem]] = {}
    for p in problems:
        if not p.is_error:
            warn_by_row.setdefault(p.row, []).append(p)

    pointer_ix = df.select("by_key", "by_login", "by_email", ROW)  # U6: what rows point to, errors or not
    if many is not None:  # (and the rows that match several users, to each of them)
        pointer_ix = pl.concat([pointer_ix, many.select(pointer_ix.columns)])
    keep = _planned_columns(df, custom, policy or {})
    good = df.select(*keep, ERR, PROTECTED_ROW).lazy().filter(~pl.col(ERR))
    del df
    # (lazy: only the rows that change are gathered); C2: a protected user's row changes nothing
    old = good.filter(pl.col("target").is_not_null() & ~pl.col(PROTECTED_ROW))
    # the rows to create, the users matched (L1) and those no row points to any more (U6), at once
    new, matched, gone = pl.collect_all([good.filter(pl.col("target").is_null()).select(keep),
                                         _matched(old, known, rules.use_key), _gone(known, pointer_ix)],
                                        engine="in-memory")
    # the creates are made (Python) while the updates' rows are found (polars, outside the GIL)
    creating = Beside(_creates, new, custom, warn_by_row, depts, known.users)
    upd, final_department = _updates(old.select(keep), known.users, custom, lms_custom, warn_by_row, depts,
                                     policy or {})
    changes = creating.result() + upd
    matched = dict(zip(known.ids.gather(matched["target"]).to_list(), matched["key"].to_list()))
    del good, old
    changes += _removals(gone)
    return UserStep(changes, problems, matched, final_department, pointer_ix, known.ids, known.vanished,
                    set(known.ids.filter(known.protected).to_list()) if known.protected is not None else set())


@dataclass
class _Rules:
    """What every rule of the users sheet shares: the mapping (to name columns in problems) and the
    problems marked so far."""

    mapping: dict[str, str]
    problems: RowProblems
    use_key: bool  # userUniqueKey is mapped (U2)

    def mark(self, rows: pl.LazyFrame | pl.DataFrame, mask: pl.Expr, code: str, message: pl.Expr, *,
             field: str | None, **kw) -> pl.LazyFrame | pl.DataFrame:
        """`RowProblems.mark` keyed by login, at the column `field` is mapped to."""
        return self.problems.mark(rows, mask, code, message, key="login",
                                  column=self.mapping.get(field) if field else None, **kw)


@dataclass
class _KnownUsers:
    """The LMS's users as the rules look them up, by position in the snapshot (IX), with what the
    ledger knows of them (L1) and which ones are protected (C2)."""

    users: pl.DataFrame  # the snapshot's users, with login_n, email_n and IX
    ledger: pl.DataFrame  # the ledger's entries whose LMS user still exists: lms_id, key, key_n, IX
    managed: pl.Series  # by position: the ledger holds this user
    ledger_key: pl.Series  # by position: the unique key the ledger holds for it
    protected: pl.Series | None  # by position (None: nothing is protected)
    vanished: list[str]  # L1: ledger entries whose LMS user disappeared

    @property
    def ids(self) -> pl.Series:
        return self.users["id"]


def _compared_keys(df: pl.DataFrame) -> pl.LazyFrame:
    """The sheet with its keys as they are compared (trimmed, case-folded: COMPARED, and NOT_NORMAL
    of each) and its status read (U5). (Emails are compared where they are looked up: most rows'
    email is found as it is written, `_email_positions`.)"""
    present = [f for f in COMPARED if f in df.columns]
    return df.lazy().with_columns(not_normal(f).alias(NOT_NORMAL + f) for f in present).with_columns(
        *(norm(f, not_normal_column=NOT_NORMAL + f).alias(COMPARED[f]) for f in present),
        *(pl.lit(None, pl.String).alias(n) for f, n in COMPARED.items() if f not in present),
        (pl.lit(_statuses(df["status"])) if "status" in df.columns else pl.lit(None, pl.String)).alias("status_v"),
        pl.lit(False).alias(ERR),
    )


def _statuses(status: pl.Series) -> pl.Series:
    """U5: each status as a status word reads (null: blank, or no status word), worked out once for
    each distinct value (a sheet holds a few) rather than for each row."""
    distinct = status.drop_nulls().unique()
    read = distinct.str.strip_chars().str.to_lowercase().replace_strict(STATUS_WORDS, default=None)
    if distinct.len() == 1:  # (one word wherever a status is given: often, everyone is active)
        return status.to_frame("s").select(pl.when(pl.col("s").is_not_null()).then(pl.lit(read[0], pl.String)))\
            .to_series()
    return status.replace_strict(distinct, read, default=None, return_dtype=pl.String)


def _clean_emails(df: pl.DataFrame) -> pl.LazyFrame:
    """Whether every email (nulls aside) matches U9's pattern with control characters left out: then
    none breaks U9 or F4."""
    return df.lazy().select(pl.col("email").str.contains(CLEAN_EMAIL_RE).all())


def _check_fields(keys: pl.DataFrame, rules: _Rules, extra_required: tuple[str, ...], clean: bool) -> pl.LazyFrame:
    """U1 required fields (and the LMS's own required fields), F4 control characters, U9 email, U5
    status, on the rows with their compared `keys`. Each rule only marks its rows (a boolean column);
    the problems are collected from all marks at once, later. (A column none of whose values can
    break F4 or U9, found at a fraction of their cost, is not marked; `clean`: `_clean_emails`.)"""
    columns = keys.columns
    rows = keys.lazy()
    for f in (*USER_REQUIRED, *(f for f in extra_required if f in columns and f not in USER_REQUIRED)):
        rows = rules.mark(rows, pl.col(f).is_null(), "missing_value",
                          pl.format("{} is blank: every user needs one", pl.lit(rules.mapping.get(f))), field=f)
    # F4: only a value that is not its own normal form may hold a control character (most are)
    plain = [f for f in COMPARED if NOT_NORMAL + f in columns
             and not keys[f].filter(keys[NOT_NORMAL + f]).str.contains_any(CONTROL_CHARACTERS).any()]
    rows = invalid_characters(rules.problems, rows, IDENTITY_FIELDS, rules.mapping, key="login",
                              plain=[*plain, *(("email",) if clean else ())])
    if not clean:
        rows = rules.mark(rows, pl.col("email").is_not_null() & ~pl.col("email").str.contains(EMAIL_RE),
                          "invalid_email", pl.format("{} does not look like an email address", pl.col("email")),
                          field="email")
    if "status" in columns:
        rows = rules.mark(rows, pl.col("status").is_not_null() & pl.col("status_v").is_null(), "invalid_status",
                          pl.format("status {} is not one of active, inactive, terminated", pl.col("status")),
                          field="status")
    return rows.drop(NOT_NORMAL + f for f in COMPARED if NOT_NORMAL + f in columns).with_columns(
        pl.col("status_v").fill_null(Status.ACTIVE.value))  # U5: blank = active


def _check_uniqueness(rows: pl.LazyFrame, rules: _Rules, keys: pl.DataFrame,
                      lookups: dict[str, pl.Series | None]) -> pl.LazyFrame:
    """U3: two rows with the same login, email or unique key are an error on each of them. (`keys`:
    the rows with their compared keys, and `lookups` what they found, to tell at once the columns
    that hold no value twice.)"""
    columns = rows.collect_schema().names()
    for f, value, code, by in (("login", pl.col("login_n"), "duplicate_login", "by_login"),
                               ("email", norm("email"), "duplicate_email", "by_email"),
                               ("userUniqueKey", pl.col("key_n"), "duplicate_user_key", "by_key")):
        if f in columns and _held_twice(keys, value, lookups.get(by)):
            rows = rules.mark(rows, duplicated(value), code,
                              pl.format("{} {} appears on more than one row; none of them is applied",
                                        pl.lit(f), pl.col(f)), field=f)
    return rows


def _held_twice(keys: pl.DataFrame, value: pl.Expr, found: pl.Series | None) -> bool:
    """U3: whether some value (`value`, as compared, of the rows' `keys`) is on two rows. Rows whose value found
    one LMS user (`found`: where, by `positions`) hold the same value exactly when they found the same
    user: only the values of the other rows are compared and hashed."""
    if found is None:  # (not looked up, or a value found several users)
        return has_duplicates(keys.select(value).to_series())
    return (has_duplicates(found, below=(found.max() or 0) + 1)
            or has_duplicates(keys.lazy().filter(found.is_null()).select(value).collect(engine="in-memory")
                              .to_series()))


def _lms_queries(lms: pl.DataFrame, ledger: pl.DataFrame, protect: Protect) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The LMS's users with their compared login and email, their position (IX) and whether they are
    protected (PROTECTED_USER, C2), and the join that places the ledger's entries on those positions
    (`position_pairs`: `_entries` finishes it)."""
    users = lms.lazy().with_columns(
        norm("login").alias("login_n"), norm("email").alias("email_n"),
        (protect.user_mask(pl.col("login")) if protect.users else pl.lit(False)).alias(PROTECTED_USER),
    ).with_row_index(IX)
    return users, position_pairs(ledger["lms_id"], lms["id"])


def _entries(ledger: pl.DataFrame, users: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """The ledger's entries (lms_id, key) placed on the LMS users' positions (IX; null: the user
    vanished), from the join's `pairs`. Ids are unique in both, so each entry finds at most one user."""
    at = placed(pairs, ledger["lms_id"], users["id"])
    if at is None:  # (an LMS that holds an id twice: each entry is placed on each of them)
        entries = (ledger.lazy().with_row_index("__entry")
                   .join(users.lazy().select(pl.col("id").alias("lms_id"), IX), on="lms_id", how="left")
                   .sort("__entry").drop("__entry"))
    else:
        entries = ledger.lazy().with_columns(at.alias(IX))
    return entries.with_columns(norm("key").alias("key_n")).collect(engine="in-memory")


def _known_users(users: pl.DataFrame, entries: pl.DataFrame, protect: Protect) -> _KnownUsers:
    """The LMS's users by position, the ledger's entries placed on them (L1), the protected ones (C2)."""
    protected = users[PROTECTED_USER] if protect.users else None
    vanished = []
    if entries[IX].null_count():  # (most often, none has)
        vanished = entries.filter(pl.col(IX).is_null())["lms_id"].to_list()
        entries = entries.filter(pl.col(IX).is_not_null())
    return _KnownUsers(users, entries, _by_position(entries, True, users.height, pl.Boolean, False),
                       _by_position(entries, entries["key"], users.height, pl.String), protected, vanished)


def _by_position(entries: pl.DataFrame, values: pl.Series | bool, n: int, dtype: type[pl.DataType],
                 default: bool | None = None) -> pl.Series:
    """A value for each of the n LMS users, by position: the ledger entry's value where an entry is
    placed on it (`entries[IX]`), else `default`."""
    out = pl.repeat(default, n, dtype=dtype, eager=True)
    out.scatter(entries[IX], values)
    return out


def _lookups(keys: pl.DataFrame, known: _KnownUsers, use_key: bool) -> dict[str, pl.Series | None]:
    """U2's lookups (`positions`, each of one key column): `by_login` and `by_email`, the positions of
    the LMS users that hold each row's login and email, and `by_key`, of the ledger's entry that holds
    its unique key (when mapped); None where a row finds several."""
    by_login = positions(keys["login_n"], known.users["login_n"])
    found = {"by_login": by_login, "by_email": _email_positions(keys["email"], known.users, by_login)}
    if use_key:
        found["by_key"] = positions(keys["key_n"], known.ledger["key_n"])
    return found


def _find_users(rows: pl.DataFrame, known: _KnownUsers,
                lookups: dict[str, pl.Series | None]) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """U2's lookups set beside the rows: `by_login` and `by_email`, the positions of the LMS users that
    hold the row's login and email, and `by_key`, of the user the ledger holds under the row's unique
    key. When the LMS holds a login or an email twice (in another case: iSpring allows it), or the
    ledger a key, a row may find two users: `_many_users` then keeps one row each and returns what
    the rows that found several point to (U6); else None."""
    use_key = "by_key" in lookups
    sides = [("login_n", known.users, "by_login"), ("email_n", known.users, "by_email")]
    if use_key:
        sides.append(("key_n", known.ledger, "by_key"))

    def lookup(frame: pl.LazyFrame, key: str, side: pl.DataFrame, name: str) -> pl.LazyFrame:
        return frame.join(side.lazy().select(key, pl.col(IX).alias(name)), on=key, how="left", maintain_order="left")

    many = None
    if any(lookups[name] is None for _, _, name in sides):
        whole = rows.lazy().with_columns(norm("email").alias("email_n")).select(ROW, *(k for k, _, _ in sides))
        for k, side, name in sides:
            whole = lookup(whole, k, side, name)
        rows, many = _many_users(rows, whole.collect(engine="in-memory"), known, [n for _, _, n in sides])
    else:
        rows = rows.hstack([side[IX].gather(lookups[name]).alias(name) for _, side, name in sides])
    if not use_key:
        rows = rows.with_columns(pl.lit(None, known.users.schema[IX]).alias("by_key"))
        if many is not None:
            many = many.with_columns(pl.lit(None, known.users.schema[IX]).alias("by_key"))
    return rows, many


def _email_positions(emails: pl.Series, users: pl.DataFrame, by_login: pl.Series | None) -> pl.Series | None:
    """`positions` of the rows' emails (as written) among the LMS users' (`email_n`, as compared)
    (U2). Most rows' email is, as written, the email of the user their login found: when the LMS
    holds no email twice, that user is the only one that holds it, and only the other rows' emails
    are compared (trimmed, case-folded) and looked up."""
    lms_emails = users["email_n"]
    if by_login is None or has_duplicates(lms_emails):
        return positions(compared(emails), lms_emails)
    same = (users["email"].gather(by_login) == emails).fill_null(False)
    found = pl.select(pl.when(same).then(by_login)).to_series()
    others = (~same).arg_true()
    if others.len():
        found.scatter(others, positions(compared(emails.gather(others)), lms_emails))
    return found


MANY = "__many"  # U2: why the row matches more than one LMS user (null: it does not)
MANY_FIELD = "__many_field"  # the first field that matches several: where the problem is shown
_MANY_SAYS = {
    "by_login": ("login", "the LMS holds {n} users with login {value}: ids {ids}; merge or rename one in the LMS"),
    "by_email": ("email", "the LMS holds {n} users with email {value}: ids {ids}; "
                          "merge them or change the email of one in the LMS"),
    "by_key": ("userUniqueKey", "the ledger records unique key {value} for {n} LMS users: ids {ids}; "
                                "delete or merge the wrong one in the LMS (its ledger entry goes with it)"),
}


def _many_users(rows: pl.DataFrame, whole: pl.DataFrame, known: _KnownUsers,
                names: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """U2 where a lookup found several LMS users for a row (`whole`: the lookups joined, a row repeated
    for each user found). A row that found one user by each lookup keeps it; a row that found more
    finds nobody (`by_*` null: no target, no other identification problem) and carries in MANY the
    users it matches, for one `identity_conflict`. Also returns the repeated lookups of those rows:
    a row with errors still points to every user it matches (U6)."""
    found = (whole.group_by(ROW, maintain_order=True)  # (in the rows' order: the joins kept it)
             .agg(pl.col(n).drop_nulls().unique().sort() for n in names)
             .with_columns(pl.any_horizontal(pl.col(n).list.len() > 1 for n in names).alias("several")))
    rows = rows.hstack(found.select(pl.when(~pl.col("several")).then(pl.col(n).list.first()).alias(n) for n in names))
    at = found["several"].arg_true()
    ids, logins = known.ids.to_list(), known.users["login"].to_list()
    value_of = {"by_login": "login", "by_email": "email", "by_key": "userUniqueKey"}
    why: list[str | None] = [None] * rows.height
    where: list[str | None] = [None] * rows.height
    for i, row in zip(at.to_list(), found.select(names).gather(at).iter_rows(named=True)):
        parts = []
        for n in names:
            if len(row[n]) > 1:
                where[i] = where[i] or _MANY_SAYS[n][0]
                listed = ", ".join(f"{ids[x]} ({logins[x]})" for x in row[n])
                parts.append(_MANY_SAYS[n][1].format(n=len(row[n]), value=rows[value_of[n]][i], ids=listed))
        why[i] = "; ".join(parts) + "; the row is not applied"
    rows = rows.with_columns(pl.Series(MANY, why, pl.String), pl.Series(MANY_FIELD, where, pl.String))
    return rows, whole.filter(pl.col(ROW).is_in(found[ROW].gather(at).implode())).select(*names, ROW)


def _identify(found: pl.DataFrame, rules: _Rules, known: _KnownUsers, *, many: bool) -> pl.LazyFrame:
    """U2: `target` is the LMS user a row identifies (by key, else by login and email, found by
    `_find_users`), `rule` how. Conflicting answers are `identity_conflict`, and so is a row that
    matches several LMS users (`many`: some row does; `_many_users`)."""
    # a row's target is the first user its lookups found, or none: two rows can only identify one
    # user if two rows found one first (most often no two rows do, and that rule is not checked)
    shared = has_duplicates(found.select(pl.coalesce("by_key", "by_login", "by_email")).to_series(),
                            below=known.users.height)
    rows = found.lazy()
    if many:
        for f in ("login", "email", "userUniqueKey"):
            rows = rules.mark(rows, pl.col(MANY_FIELD) == f, "identity_conflict", pl.col(MANY), field=f)
    split = pl.col("by_login").is_not_null() & pl.col("by_email").is_not_null() & (pl.col("by_login") != pl.col("by_email"))
    rows = rows.with_columns(pl.when(split).then(None).otherwise(pl.coalesce("by_login", "by_email")).alias("by_le"))
    rows = rows.with_columns(
        pl.coalesce("by_key", "by_le").alias("target"),
        pl.when(pl.col("by_key").is_not_null()).then(pl.lit("userUniqueKey"))
        .when(pl.col("by_login").is_not_null() & pl.col("by_email").is_not_null()).then(pl.lit("login+email"))
        .when(pl.col("by_login").is_not_null()).then(pl.lit("login"))
        .when(pl.col("by_email").is_not_null()).then(pl.lit("email")).alias("rule"),
    )
    if rules.use_key:  # the key the ledger holds for the user that login/email point to
        key_n = _by_position(known.ledger, known.ledger["key_n"], known.users.height, pl.String)
        rows = rows.with_columns(_at(key_n, "target").alias("target_key"))
    return _mark_conflicts(rows, rules, known.users["login"], split, shared=shared)


def _mark_conflicts(rows: pl.LazyFrame, rules: _Rules, logins: pl.Series, split: pl.Expr, *,
                    shared: bool) -> pl.LazyFrame:
    """U2: login and email that find two users, a key and login/email that find two users, an LMS
    user known under another key, two rows that identify one user (`shared`: two rows found one
    user first): `identity_conflict`."""
    def names(hit: pl.DataFrame) -> pl.DataFrame:
        """LMS logins of the users a problem row points to (only for the rows with problems)."""
        return hit.with_columns(_at(logins, src).alias(dst) for src, dst in (
            ("by_login", "l1"), ("by_email", "l2"), ("by_key", "l3"), ("by_le", "l4")))

    rows = rules.mark(rows, split, "identity_conflict",
                      pl.format("login {} belongs to LMS user {} but email {} to LMS user {}",
                                pl.col("login"), pl.col("l1"), pl.col("email"), pl.col("l2")),
                      field="login", enrich=names)
    rows = rules.mark(rows, pl.col("by_key").is_not_null() & pl.col("by_le").is_not_null()
                      & (pl.col("by_key") != pl.col("by_le")), "identity_conflict",
                      pl.format("unique key {} belongs to LMS user {} but login/email point to LMS user {}",
                                pl.col("userUniqueKey") if rules.use_key else pl.lit(""), pl.col("l3"), pl.col("l4")),
                      field="userUniqueKey", enrich=names)
    if rules.use_key:
        rows = rules.mark(rows, pl.col("by_key").is_null() & pl.col("key_n").is_not_null()
                          & pl.col("target_key").is_not_null() & neq(pl.col("target_key"), pl.col("key_n")),
                          "identity_conflict",
                          pl.format("LMS user {} is known under another unique key ({})", pl.col("l4"),
                                    pl.col("target_key")),
                          field="userUniqueKey", enrich=names)
    if not shared:
        return rows
    good_target = pl.when(~pl.col(ERR)).then(pl.col("target"))  # (one key for the window, not two)
    return rules.mark(rows, good_target.is_not_null() & (pl.len().over(good_target) > 1), "identity_conflict",
                      pl.format("another row identifies the same LMS user ({})", pl.col("l4")),
                      field="login", enrich=names)


def _mark_taken(rows: pl.LazyFrame, rules: _Rules) -> pl.LazyFrame:
    """U3: the plan may not give a login or email to one user while another LMS user holds it."""
    rows = rules.mark(rows, ~pl.col(ERR) & pl.col("by_login").is_not_null() & neq(pl.col("by_login"), pl.col("target")),
                      "login_taken", pl.format("login {} is held by another LMS user", pl.col("login")),
                      field="login")
    return rules.mark(rows, ~pl.col(ERR) & pl.col("by_email").is_not_null() & neq(pl.col("by_email"), pl.col("target")),
                      "email_taken", pl.format("email {} is held by another LMS user", pl.col("email")),
                      field="email")


def _find_departments(rows: pl.DataFrame, depts: DepartmentStep) -> pl.DataFrame:
    """U4's lookup: what `departmentId` names after the plan: `dref` (U10: an LMS id or a department
    the plan creates), `dept_ok` whether a user may be placed there, `dept_unusable` why not, and
    `zero_code`, the code it would be with its leading zeros (D1). Each code the sheet spells is
    compared (trimmed, case-folded) and looked up once (a sheet spells a few, on many rows); the rows
    then find their code's answer by its position among them, and it is set beside them."""
    targets = depts.by_code.values()
    departments = pl.DataFrame(
        {"dept_n": list(depts.by_code), "dref": [t.ref for t in targets],
         "dept_ok": [t.ok for t in targets], "dept_unusable": [t.reason for t in targets]},
        schema={"dept_n": pl.String, "dref": pl.String, "dept_ok": pl.Boolean, "dept_unusable": pl.String},
    )
    spelled = (rows.lazy().select(pl.col("departmentId").drop_nulls().unique())
               .with_columns(norm("departmentId").alias("dept_n"))
               .join(departments.lazy(), on="dept_n", how="left")  # (codes are unique on the right)
               .join(zeros_dropped(list(depts.by_code)).lazy(), on="dept_n", how="left")
               .drop("dept_n").collect(engine="in-memory"))
    # (the codes spelled as an enum's categories: a row's code is then its position among them)
    at = rows["departmentId"].cast(pl.Enum(spelled["departmentId"]), strict=False).to_physical()
    return rows.hstack(spelled.drop("departmentId").select(pl.all().gather(at)).get_columns())


def _mark_unknown_departments(rows: pl.LazyFrame, rules: _Rules) -> pl.LazyFrame:
    """U4: `departmentId` must name a department of the file or the LMS that stays after the plan;
    a department whose own row has an error counts as unknown, and the message says why."""
    why = pl.col("dept_unusable")
    return rules.mark(rows, pl.col("departmentId").is_not_null() & ~pl.col("dept_ok").fill_null(False),
                      "unknown_department",
                      pl.when(why.is_not_null() & (why != ""))
                      .then(pl.format("department {}: {}", pl.col("departmentId"), why))
                      .when(pl.col("zero_code").is_not_null())
                      .then(pl.format("department {}: no department has this code in the file or the LMS; {} does: "
                                      "did a spreadsheet drop its leading zeros? Keep the column as text",
                                      pl.col("departmentId"), pl.col("zero_code")))
                      .otherwise(pl.format("department {}: no department has this code in the file or the LMS",
                                           pl.col("departmentId"))),
                      field="departmentId")


def _resolve_supervisors(df: pl.DataFrame, rules: _Rules, known: _KnownUsers) -> pl.DataFrame:
    """U7: a supervisor is a user in the file (row without error) or in the LMS, by the logins after
    the plan; `<field>_ref` is that user (U10: an LMS id, or "new:" + login). Unknown and self
    links are warnings, and the link is set to inherited; so is a login the LMS holds for several
    users (in other cases), which names none of them."""
    linked = [(f, n) for f, n in (("subordination", "sup_n"), ("coSubordination", "cosup_n")) if f in df.columns]
    if not linked:
        return df
    df = df.with_columns(_refs(df, known.ids))
    by_login, several = _users_by_login(df, known.users)
    # looked up among the users some row names (far fewer than all: the join's table is small), found
    # by their logins' hashes (a hash shared by chance only keeps one user more: the joins compare logins)
    asked = pl.concat([df[n].drop_nulls() for _, n in linked]).hash()
    # (in one chunk: the two parts of `by_login` otherwise make each join several times dearer)
    named = by_login.filter(pl.col("login_n").hash().is_in(asked.implode())).rechunk()
    df = df.with_columns(_supervisor_refs(df[n], named).alias(f + "_ref") for f, n in linked)
    for f, n in linked:
        ref = f + "_ref"
        unknown = pl.col(n).is_not_null() & pl.col(ref).is_null()
        ambiguous = pl.col(n).is_in(several["login_n"].implode()) if several is not None else None
        df = rules.mark(df, unknown if ambiguous is None else unknown & ~ambiguous, "unknown_supervisor",
                        pl.format("{} {} is not a user in the file or the LMS; the link is set to inherited",
                                  pl.lit(rules.mapping.get(f)), pl.col(f)),
                        field=f, severity=Severity.WARNING)
        if ambiguous is not None:
            df = rules.mark(df, ambiguous, "unknown_supervisor",
                            pl.format("{} {} names {} LMS users: ids {}; merge or rename one in the LMS; "
                                      "the link is set to inherited",
                                      pl.lit(rules.mapping.get(f)), pl.col(f), pl.col("__n"), pl.col("__ids")),
                            field=f, severity=Severity.WARNING,
                            enrich=lambda hit, n=n: hit.join(several.rename({"login_n": n}), on=n, how="left"))
        df = rules.mark(df, pl.col(ref).is_not_null() & (pl.col(ref) == pl.col("ref")), "self_supervision",
                        pl.format("{} cannot supervise themself; the link is set to inherited", pl.col("login")),
                        field=f, severity=Severity.WARNING)
        df = df.with_columns(pl.when(pl.col(ref) == pl.col("ref")).then(None).otherwise(pl.col(ref)).alias(ref))
    return df


def _refs(df: pl.DataFrame, ids: pl.Series) -> pl.Series:
    """`ref`: each row's user after the plan (U10): its target's LMS id, else "new:" + its login
    (made only for the rows without a target, a few)."""
    refs = ids.gather(df["target"]).alias("ref")
    new = refs.is_null().arg_true()
    if new.len():
        refs.scatter(new, "new:" + df["login_n"].gather(new))
    return refs


def _supervisor_refs(logins: pl.Series, named: pl.DataFrame) -> pl.Series:
    """U7: the `sref` of the user each login names (login_n is unique in `named`: a join keeps the
    rows); a column mostly blank (functional managers) is looked up on its values only."""
    present = logins.is_not_null()
    if present.sum() > logins.len() // 2:
        return logins.to_frame("login_n").join(named, on="login_n", how="left", maintain_order="left")["sref"]
    at = present.arg_true()
    found = logins.gather(at).to_frame("login_n").join(named, on="login_n", how="left", maintain_order="left")
    refs = pl.repeat(None, logins.len(), dtype=pl.String, eager=True)
    if at.len():
        refs.scatter(at, found["sref"])
    return refs


def _users_by_login(df: pl.DataFrame, users: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """login_n -> sref: every user by the login it has after the plan (U7, U10): the rows without
    error, and the LMS's users no row names. (A login in both cannot be: a row without error that
    holds an LMS user's login has that user as its target, U2.) A login the LMS holds for several
    of those users (in other cases) names none of them (sref null); they are also returned (login_n,
    __n, __ids), else None."""
    good = df.lazy().filter(~pl.col(ERR)).select("target", "login_n", "ref").collect(engine="in-memory")
    sheet = good.select("login_n", pl.col("ref").alias("sref"))  # (logins unique: duplicates are errors)
    targeted = pl.repeat(False, users.height, eager=True)  # by position: a row without error names it
    at = good["target"].drop_nulls()
    if at.len():
        targeted.scatter(at, True)
    unnamed = users.filter(~pl.lit(targeted)).select("login_n", pl.col("id").alias("sref"))
    lms = unnamed.unique("login_n", keep="last")
    several = None
    if lms.height != unnamed.height:  # (a login held twice, or blank logins)
        several = (users.filter(~pl.lit(targeted) & duplicated("login_n"))
                   .group_by("login_n").agg(pl.len().alias("__n"), pl.format("{} ({})", "id", "login").alias("__ids"))
                   .with_columns(pl.col("__ids").list.join(", ")))
        if several.height:
            lms = lms.with_columns(pl.when(pl.col("login_n").is_in(several["login_n"].implode()))
                                   .then(None).otherwise(pl.col("sref")).alias("sref"))
        else:
            several = None
    return pl.concat([lms, sheet]), several


def _planned_columns(df: pl.DataFrame, custom: list[str], policy: dict[str, FieldPolicy]) -> list[str]:
    """The columns the changes are made of."""
    keep = [c for c in (ROW, "login", "rule", "target", "status_v", *(("status",) if "status" in policy else ()),
                        "dref", "userUniqueKey", *PLAIN_FIELDS,
                        "departmentId", "subordination", "coSubordination", "subordination_ref",
                        "coSubordination_ref", *custom) if c in df.columns]
    return list(dict.fromkeys(keep))


def _matched(old: pl.LazyFrame, known: _KnownUsers, use_key: bool) -> pl.LazyFrame:
    """L1: the LMS users the plan matched to rows without errors (`target`, a position), with the
    row's unique key; what the ledger already holds with the same key needs no recording."""
    return old.select("target", (pl.col("userUniqueKey") if use_key else pl.lit(None, pl.String)).alias("key")) \
        .filter(~(_at(known.managed, "target") & _at(known.ledger_key, "target").eq_missing(pl.col("key"))))


def _gone(known: _KnownUsers, pointer_ix: pl.DataFrame) -> pl.LazyFrame:
    """U6: managed active users no row points to any more (a row with errors still points); C2:
    protected users never are. In the order they are inactivated (`_removals`)."""
    pointed = pl.repeat(False, known.users.height, eager=True)
    for c in ("by_key", "by_login", "by_email"):
        at = pointer_ix[c].drop_nulls()
        if at.len():
            pointed.scatter(at, True)
    unprotected = ~pl.lit(known.protected) if known.protected is not None else pl.lit(True)
    return (known.users.lazy().select("id", "login", "email", "login_n", "status", known.ledger_key.alias("key"))
            .filter(pl.lit(known.managed) & ~pl.lit(pointed) & (pl.col("status") == Status.ACTIVE.value) & unprotected)
            .sort("login_n", maintain_order=True))


def _removals(gone: pl.DataFrame) -> list[Change]:
    """U6: the users `_gone` found are inactivated."""
    inactivate, status = Kind.INACTIVATE_USER, (Status.ACTIVE.value, Status.INACTIVE.value)
    prefix = inactivate.value + ":"  # (as change_id makes it, once)
    # A4: the user as it is now, and the unique key the ledger holds for it
    return [Change(prefix + login.casefold(), inactivate, login, {"status": status}, target=uid,
                   identity=_identity(login, email, key))
            for uid, login, email, key in gone.select("id", "login", "email", "key").iter_rows()]


def _identity(login: str, email: str, key: str | None) -> dict[str, str | None]:
    """A4: what a change to an LMS user checks right before it writes: the user's login and email
    now, and the unique key it carries after the plan (as `planner._identify` records for the rest)."""
    return {"login": login, "email": email, "key": key}


def _depends_on(rows: pl.DataFrame, depts: DepartmentStep) -> list[list[str]]:
    """Each row's change depends on the creates of the department and the supervisors it names that
    the plan creates; only the rows that name one are walked (most name none)."""
    refs = [pl.col(c) if c in rows.columns else pl.lit(None, pl.String).alias(c)
            for c in ("dref", "subordination_ref", "coSubordination_ref")]
    depends_on: list[list[str]] = [[] for _ in range(rows.height)]
    at = rows.select(pl.any_horizontal(r.str.starts_with(NEW) for r in refs).fill_null(False)).to_series().arg_true()
    for i, (dref, sup, cosup) in zip(at.to_list(), rows.select(refs).gather(at).iter_rows()):
        depends_on[i] = _deps(dref, sup, cosup, depts)
    return depends_on


def _deps(dref: str | None, sup: str | None, cosup: str | None, depts: DepartmentStep) -> list[str]:
    out = []
    if dref and dref.startswith(NEW) and dref in depts.create_id:
        out.append(depts.create_id[dref])
    for s in (sup, cosup):
        if s and s.startswith("new:"):
            cid = change_id(Kind.CREATE_USER, s[4:])
            if cid not in out:
                out.append(cid)
    return out


def _supervisor_text(ref: str | None, sheet_value: str | None, lms_login: dict[str, str]) -> str | None:
    if ref is None:
        return None
    if ref == NO_SUPERVISOR:
        return NO_SUPERVISOR_TEXT
    return sheet_value if ref.startswith("new:") else lms_login.get(ref, sheet_value)


def _logins_of(rows: pl.DataFrame, columns: list[str], lmsu: pl.DataFrame) -> dict[str, str]:
    """id -> login for the LMS users these columns name (a few, not the whole LMS)."""
    cols = [c for c in columns if c in rows.columns]
    if not cols or rows.height == 0:
        return {}
    ids = pl.concat([rows[c] for c in cols]).drop_nulls().unique()
    # (a filter by a set of a few ids, not a join: the LMS side is not hashed)
    return dict(lmsu.lazy().select("id", "login").filter(pl.col("id").is_in(ids.implode())).collect(
        engine="in-memory").iter_rows())


def _creates(rows: pl.DataFrame, custom: list[str], warn_by_row, depts: DepartmentStep, lmsu) -> list[Change]:
    lms_login = _logins_of(rows, ["subordination_ref", "coSubordination_ref"], lmsu)
    cols = {c: rows[c].to_list() for c in rows.columns}
    none = [None] * rows.height
    # fields, one column at a time (in the order a change lists them)
    fields_of: list[dict] = [{} for _ in range(rows.height)]
    for f in (*PLAIN_FIELDS, "departmentId"):
        if f in cols:
            for fields, value in zip(fields_of, cols[f]):
                if value is not None:
                    fields[f] = (None, value)
    for fields, status in zip(fields_of, cols["status_v"]):
        fields["status"] = (None, status)
    for f in ("subordination", "coSubordination"):
        if f in cols:
            for fields, value, ref in zip(fields_of, cols[f], cols[f + "_ref"]):
                if ref is not None:
                    fields[f] = (None, _supervisor_text(ref, value, lms_login))
    for f in custom:
        for fields, value in zip(fields_of, cols[f]):
            if value is not None:
                fields[f] = (None, value)
    out = []
    prefix = Kind.CREATE_USER.value + ":"
    for fields, row, login, key, depends_on in zip(fields_of, cols[ROW], cols["login"], cols.get("userUniqueKey", none),
                                                   _depends_on(rows, depts)):
        out.append(Change(prefix + login.casefold(), Kind.CREATE_USER, login, fields, row=row, depends_on=depends_on,
                          problems=list(warn_by_row[row]) if row in warn_by_row else [], unique_key=key))
    return out


def _updates(matched: pl.LazyFrame, lmsu: pl.DataFrame, custom: list[str], lms_custom: dict[str, str],
             warn_by_row: dict[int, list[Problem]], depts: DepartmentStep,
             policy: dict[str, FieldPolicy]) -> tuple[list[Change], dict[str, str | None]]:
    """update_user / inactivate_user / reactivate_user for matched rows (U5, U8, U10), each field
    as its policy allows (C3). Also returns, for each user the plan moves, its department after the
    plan (D5)."""
    compare, now = _compared_fields(matched.collect_schema().names(), lmsu, custom, lms_custom)
    rows, compare = _rows_that_change(matched, compare, now, policy)
    targets = lmsu["id"].gather(rows["target"]).to_list()
    lms_login = _logins_of(rows, ["now_subordination", "now_coSubordination", "subordination_ref",
                                  "coSubordination_ref"], lmsu)
    fields_of, final_department = _changed_fields(rows, compare, targets, lms_login, depts)
    return _update_changes(rows, fields_of, targets, warn_by_row, depts), final_department


def _compared_fields(columns: list[str], lmsu: pl.DataFrame, custom: list[str],
                     lms_custom: dict[str, str]) -> tuple[dict[str, tuple[str, str]], dict[str, pl.Expr]]:
    """Each compared field -> (the column of the LMS's value now, the column of the value after the
    plan), and the LMS's values now, gathered by position. Departments and supervisors compare as
    LMS objects (U10); a custom field the LMS does not hold yet is blank now."""
    compare: dict[str, tuple[str, str]] = {f: (f"now_{f}", f) for f in PLAIN_FIELDS if f in columns}
    compare["departmentId"] = ("now_department_id", "dref")
    for f in ("subordination", "coSubordination"):
        if f in columns:
            compare[f] = (f"now_{f}", f + "_ref")
    now: dict[str, pl.Expr] = {b: _at(lmsu[b[4:]], "target") for b, _ in compare.values()}
    for f in custom:
        lc = lms_custom.get(f.casefold())
        if lc is None:
            now[f"now_{CUSTOM_PREFIX}{f}"] = pl.lit(None, pl.String)
            compare[f] = (f"now_{CUSTOM_PREFIX}{f}", f)
        else:
            now[f"now_{lc}"] = _at(lmsu[lc], "target")
            compare[f] = (f"now_{lc}", f)
    now["now_status"] = _at(lmsu["status"], "target")
    return compare, now


def _rows_that_change(matched: pl.LazyFrame, compare: dict[str, tuple[str, str]], now: dict[str, pl.Expr],
                      policy: dict[str, FieldPolicy]) -> tuple[pl.DataFrame, dict[str, tuple[str, str]]]:
    """The matched rows where some field differs and its policy lets it be written (C3, U8), with a
    `chg_<field>` flag per compared field and `chg_status` (U5); and the fields compared (a field
    written only on create is never compared)."""
    columns = matched.collect_schema().names()
    gated = {f: gate(policy.get(f), neq(pl.col(b), pl.col(a)), pl.col(b), pl.col(f)) for f, (b, a) in compare.items()}
    compare = {f: ba for f, ba in compare.items() if gated[f] is not None}
    flags = [gated[f].alias(f"chg_{f}") for f in compare]
    status_change = gate(policy.get("status"), neq(pl.col("now_status"), pl.col("status_v")), pl.col("now_status"),
                         pl.col("status") if "status" in columns else pl.lit(None, pl.String))
    status_change = pl.lit(False) if status_change is None else status_change
    rows = (matched.with_columns(**now).with_columns(*flags, status_change.alias("chg_status"))
            .filter(pl.any_horizontal(pl.col("^chg_.*$"))).collect(engine="in-memory"))
    return rows, compare


def _changed_fields(rows: pl.DataFrame, compare: dict[str, tuple[str, str]], targets: list[str],
                    lms_login: dict[str, str], depts: DepartmentStep) -> tuple[list[dict], dict[str, str | None]]:
    """Each row's changed fields as {field: (before, after)}, one compared field at a time over the
    rows where it changed; departments named by code, supervisors by login (U10)."""
    fields_of: list[dict] = [{} for _ in range(rows.height)]
    final_department: dict[str, str | None] = {}
    dept_code = depts.lms_code_of
    for f, (b, a) in compare.items():
        at = rows[f"chg_{f}"].arg_true()
        if not at.len():
            continue
        sheet = f if f in ("departmentId", "subordination", "coSubordination") else None
        part = rows.select(b, a, pl.col(sheet) if sheet else pl.lit(None)).gather(at)
        values = zip(at.to_list(), *(part.to_series(k).to_list() for k in range(3)))
        if f == "departmentId":
            for i, before, after, code in values:
                fields_of[i][f] = (dept_code.get(before) if before else None, code)
                final_department[targets[i]] = after
        elif sheet:
            for i, before, after, login in values:
                fields_of[i][f] = (_supervisor_text(before, None, lms_login), _supervisor_text(after, login, lms_login))
        else:
            for i, before, after, _ in values:
                fields_of[i][f] = (before, after)
    return fields_of, final_department


def _update_changes(rows: pl.DataFrame, fields_of: list[dict], targets: list[str],
                    warn_by_row: dict[int, list[Problem]], depts: DepartmentStep) -> list[Change]:
    """An update_user for each row with changed fields, and its status change: active -> inactive or
    terminated is inactivate_user, back to active reactivate_user, inactive <-> terminated an update
    (U5). Login and email changed together under a unique key is a warning (U2)."""
    out: list[Change] = []
    none = [None] * rows.height
    cols = {c: rows[c].to_list() for c in (ROW, "login", "rule", "now_status", "status_v", "chg_status",
                                           "userUniqueKey", "now_login", "now_email") if c in rows.columns}
    update, active = Kind.UPDATE_USER.value + ":", Status.ACTIVE.value
    updating, append = Kind.UPDATE_USER, out.append  # (looked up once: a plan makes many)
    for fields, row, login, rule, target, before, after, status_changed, key, depends_on, now_login, now_email in \
            zip(fields_of, cols[ROW], cols["login"], cols["rule"], targets, cols["now_status"], cols["status_v"],
                cols["chg_status"], cols.get("userUniqueKey", none), _depends_on(rows, depts),
                cols["now_login"], cols["now_email"]):
        # A4: the user as it is now, and the unique key it carries after this plan (the row's: L1)
        identity = _identity(now_login, now_email, key)
        warns = list(warn_by_row[row]) if row in warn_by_row else []
        if rule == "userUniqueKey" and "login" in fields and "email" in fields:
            warns.append(Problem(Severity.WARNING, "login_and_email_changed", "user",
                                 f"login and email both change (matched by unique key {key})",
                                 row=row, key=login))
        status_kind = None
        if status_changed:
            if before == active:
                status_kind = Kind.INACTIVATE_USER
            elif after == active:
                status_kind = Kind.REACTIVATE_USER
            else:
                fields["status"] = (before, after)  # inactive <-> terminated is an update (U5)
        if fields:
            append(Change(update + login.casefold(), updating, login, fields, row=row, rule=rule, target=target,
                          depends_on=depends_on, problems=warns, identity=identity))
            warns = []
        if status_kind:
            append(Change(change_id(status_kind, login), status_kind, login, {"status": (before, after)},
                          row=row, rule=rule, target=target, problems=warns, identity=identity))
    return out
