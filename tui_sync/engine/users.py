"""Users: validate (U1, U3, U5, U9), identify (U2), resolve departments and
supervisors (U4, U7, U10), diff fields (U8) and plan removals (U6).

All matching is polars joins; Python only walks the rows that change. The joins by
login, email and unique key yield LMS users as positions in the snapshot (`IX`), so
everything after them (the ledger's keys, the fields now, who is still pointed to) is
a gather by position rather than another join on ids. Rules mark rows with boolean
columns (`RowProblems.mark`); their problems are collected in one pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from ..lms.base import CUSTOM_PREFIX, NO_SUPERVISOR
from ..model import USER_REQUIRED, USER_STANDARD_FIELDS, Change, Kind, Problem, Severity, Status
from ..sources.table import ROW
from .departments import NEW, DepartmentStep, change_id
from .frames import ERR, RowProblems, duplicated, invalid_characters, neq, norm, zeros_dropped
from .policy import FieldPolicy, gate
from .protect import PROTECTED_ROW, Protect, mark_protected_users

STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(["active", "1", "yes", "y", "true", "enabled", "aktiv", "активен", "активный", "активна", "да"],
                    Status.ACTIVE.value),
    **dict.fromkeys(["inactive", "3", "no", "n", "false", "blocked", "disabled", "deactivated", "suspended",
                     "inaktiv", "gesperrt", "неактивен", "неактивный", "заблокирован", "нет"], Status.INACTIVE.value),
    **dict.fromkeys(["terminated", "5", "employment ended", "employment_ended", "fired", "dismissed", "left",
                     "ausgeschieden", "уволен", "уволена"], Status.TERMINATED.value),
}
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
PLAIN_FIELDS = ("login", "email", "firstName", "lastName", "phone", "jobTitle")
NO_SUPERVISOR_TEXT = "(no supervisor)"
# F4: values that identify a user or point at another object (department code, supervisor logins)
IDENTITY_FIELDS = ("login", "email", "userUniqueKey", "departmentId", "subordination", "coSubordination")


IX = "__ix"  # an LMS user's position in the snapshot: stands for its id in every lookup after the joins


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
    depts: DepartmentStep,
    *,
    extra_required: tuple[str, ...] = (),
    protect: Protect = Protect(),
    policy: dict[str, FieldPolicy] | None = None,
) -> UserStep:
    col = mapping.get
    rp = RowProblems("user")
    use_key = "userUniqueKey" in df.columns
    custom = [f for f in df.columns if f != ROW and f not in USER_STANDARD_FIELDS]
    lms_custom = {c[len(CUSTOM_PREFIX):].casefold(): c for c in lms.columns if c.startswith(CUSTOM_PREFIX)}

    lmsu_lz = lms.lazy().with_columns(norm("login").alias("login_n"), norm("email").alias("email_n")).with_row_index(IX)
    # the ledger's entries (lms_id, key) by position in the LMS (null: the user vanished; ids are unique in both)
    led_lz = ledger.lazy().join(lmsu_lz.select(pl.col("id").alias("lms_id"), IX), on="lms_id", how="left",
                                maintain_order="left").with_columns(norm("key").alias("key_n"))
    ids, n_lms = lms["id"], lms.height

    sheet_columns = set(df.columns)

    def opt(name: str) -> pl.Expr:
        return norm(name) if name in sheet_columns else pl.lit(None, pl.String)

    lz = df.lazy().with_columns(
        norm("login").alias("login_n"), norm("email").alias("email_n"), opt("userUniqueKey").alias("key_n"),
        norm("departmentId").alias("dept_n"), opt("subordination").alias("sup_n"),
        opt("coSubordination").alias("cosup_n"),
        (pl.col("status").str.strip_chars().str.to_lowercase().replace_strict(STATUS_WORDS, default=None)
         if "status" in df.columns else pl.lit(None, pl.String)).alias("status_v"),
        pl.lit(False).alias(ERR),
    )

    # U1 required fields (and the LMS's own required fields), U9, U5, U3. Each rule only marks its
    # rows (a boolean column); the problems are collected from all marks at once, further down.
    for f in (*USER_REQUIRED, *(f for f in extra_required if f in df.columns and f not in USER_REQUIRED)):
        lz = rp.mark(lz, pl.col(f).is_null(), "missing_value",
                     pl.format("{} is blank: every user needs one", pl.lit(col(f))), key="login", column=col(f))
    lz = invalid_characters(rp, lz, IDENTITY_FIELDS, mapping, key="login")
    lz = rp.mark(lz, pl.col("email").is_not_null() & ~pl.col("email").str.contains(EMAIL_RE), "invalid_email",
                 pl.format("{} does not look like an email address", pl.col("email")), key="login", column=col("email"))
    if "status" in df.columns:
        lz = rp.mark(lz, pl.col("status").is_not_null() & pl.col("status_v").is_null(), "invalid_status",
                     pl.format("status {} is not one of active, inactive, terminated", pl.col("status")),
                     key="login", column=col("status"))
    lz = lz.with_columns(pl.col("status_v").fill_null(Status.ACTIVE.value))  # U5: blank = active
    for f, n, code in (("login", "login_n", "duplicate_login"), ("email", "email_n", "duplicate_email"),
                       ("userUniqueKey", "key_n", "duplicate_user_key")):
        if f in df.columns:
            lz = rp.mark(lz, duplicated(n), code,
                         pl.format("{} {} appears on more than one row; none of them is applied", pl.lit(f), pl.col(f)),
                         key="login", column=col(f))

    # these problems are collected before the joins, which repeat a row for each LMS user it finds
    # (an LMS with two users of one email, a ledger with one key twice)
    # (the LMS's side after them: computed at the same time, their scratch space would add up)
    checked = lz.collect(engine="in-memory")
    lmsu, led = pl.collect_all([lmsu_lz, led_lz], engine="in-memory")
    lz = rp.collect(checked).lazy()
    del checked  # (what is not needed any more is freed as the plan goes: a million rows each)
    ix_type = lmsu.schema[IX]
    protected = lmsu.select(protect.user_mask(pl.col("login"))).to_series() if protect.users else None  # C2
    vanished = led.filter(pl.col(IX).is_null())["lms_id"].to_list()
    led = led.filter(pl.col(IX).is_not_null())
    managed = pl.repeat(False, n_lms, eager=True)
    managed.scatter(led[IX], True)
    led_key = pl.repeat(None, n_lms, dtype=pl.String, eager=True)
    led_key.scatter(led[IX], led["key"])

    # U2 identification: joins by login, email and (ledger) key give LMS user positions
    lz = (lz.join(lmsu.lazy().select("login_n", pl.col(IX).alias("by_login")), on="login_n", how="left",
                  maintain_order="left")
          .join(lmsu.lazy().select("email_n", pl.col(IX).alias("by_email")), on="email_n", how="left",
                maintain_order="left"))
    if use_key:
        lz = lz.join(led.lazy().select("key_n", pl.col(IX).alias("by_key")), on="key_n", how="left",
                     maintain_order="left")
    else:
        lz = lz.with_columns(pl.lit(None, ix_type).alias("by_key"))
    split = pl.col("by_login").is_not_null() & pl.col("by_email").is_not_null() & (pl.col("by_login") != pl.col("by_email"))
    lz = lz.with_columns(pl.when(split).then(None).otherwise(pl.coalesce("by_login", "by_email")).alias("by_le"))
    lz = lz.with_columns(
        pl.coalesce("by_key", "by_le").alias("target"),
        pl.when(pl.col("by_key").is_not_null()).then(pl.lit("userUniqueKey"))
        .when(pl.col("by_login").is_not_null() & pl.col("by_email").is_not_null()).then(pl.lit("login+email"))
        .when(pl.col("by_login").is_not_null()).then(pl.lit("login"))
        .when(pl.col("by_email").is_not_null()).then(pl.lit("email")).alias("rule"),
    )
    if use_key:  # the key the ledger holds for the user that login/email point to
        lz = lz.with_columns(_at(_key_n_by_position(led, n_lms), "target").alias("target_key"))
    logins = lmsu["login"]

    def names(hit: pl.DataFrame) -> pl.DataFrame:
        """LMS logins of the users a problem row points to (only for the rows with problems)."""
        return hit.with_columns(_at(logins, src).alias(dst) for src, dst in (
            ("by_login", "l1"), ("by_email", "l2"), ("by_key", "l3"), ("by_le", "l4")))

    lz = rp.mark(lz, split, "identity_conflict",
                 pl.format("login {} belongs to LMS user {} but email {} to LMS user {}",
                           pl.col("login"), pl.col("l1"), pl.col("email"), pl.col("l2")),
                 key="login", column=col("login"), enrich=names)
    lz = rp.mark(lz, pl.col("by_key").is_not_null() & pl.col("by_le").is_not_null() & (pl.col("by_key") != pl.col("by_le")),
                 "identity_conflict",
                 pl.format("unique key {} belongs to LMS user {} but login/email point to LMS user {}",
                           pl.col("userUniqueKey") if use_key else pl.lit(""), pl.col("l3"), pl.col("l4")),
                 key="login", column=col("userUniqueKey"), enrich=names)
    if use_key:
        lz = rp.mark(lz, pl.col("by_key").is_null() & pl.col("key_n").is_not_null() & pl.col("target_key").is_not_null()
                     & neq(pl.col("target_key"), pl.col("key_n")), "identity_conflict",
                     pl.format("LMS user {} is known under another unique key ({})", pl.col("l4"), pl.col("target_key")),
                     key="login", column=col("userUniqueKey"), enrich=names)
    good_target = pl.when(~pl.col(ERR)).then(pl.col("target"))  # (one key for the window, not two)
    lz = rp.mark(lz, good_target.is_not_null() & (pl.len().over(good_target) > 1),
                 "identity_conflict", pl.format("another row identifies the same LMS user ({})", pl.col("l4")),
                 key="login", column=col("login"), enrich=names)
    # U3: the plan may not give a login or email to one user while another holds it
    lz = rp.mark(lz, ~pl.col(ERR) & pl.col("by_login").is_not_null() & neq(pl.col("by_login"), pl.col("target")),
                 "login_taken", pl.format("login {} is held by another LMS user", pl.col("login")),
                 key="login", column=col("login"))
    lz = rp.mark(lz, ~pl.col(ERR) & pl.col("by_email").is_not_null() & neq(pl.col("by_email"), pl.col("target")),
                 "email_taken", pl.format("email {} is held by another LMS user", pl.col("email")),
                 key="login", column=col("email"))
    lz = mark_protected_users(lz, rp, protect, protected, lmsu["login"], col("login"))  # C2

    # U4 departments, as they will be after the plan
    dmap = pl.DataFrame(
        {"dept_n": list(depts.by_code), "dref": [t.ref for t in depts.by_code.values()],
         "dok": [t.ok for t in depts.by_code.values()], "dwhy": [t.reason for t in depts.by_code.values()]},
        schema={"dept_n": pl.String, "dref": pl.String, "dok": pl.Boolean, "dwhy": pl.String},
    )
    lz = lz.join(dmap.lazy(), on="dept_n", how="left", maintain_order="left")
    lz = lz.join(zeros_dropped(list(depts.by_code)).lazy(), on="dept_n", how="left", maintain_order="left")
    lz = rp.mark(lz, pl.col("dept_n").is_not_null() & ~pl.col("dok").fill_null(False), "unknown_department",
                 pl.when(pl.col("dwhy").is_not_null() & (pl.col("dwhy") != ""))
                 .then(pl.format("department {}: {}", pl.col("departmentId"), pl.col("dwhy")))
                 .when(pl.col("zero_code").is_not_null())
                 .then(pl.format("department {}: no department has this code in the file or the LMS; {} does: "
                                 "did a spreadsheet drop its leading zeros? Keep the column as text",
                                 pl.col("departmentId"), pl.col("zero_code")))
                 .otherwise(pl.format("department {}: no department has this code in the file or the LMS",
                                      pl.col("departmentId"))),
                 key="login", column=col("departmentId"))
    df = lz.collect(engine="in-memory")  # faster than streaming here (joins that keep the sheet's order)
    del lz

    # U7 supervisors: a user in the file (row without error) or in the LMS, by the logins after the plan
    linked = [(f, n) for f, n in (("subordination", "sup_n"), ("coSubordination", "cosup_n")) if f in df.columns]
    if linked:
        df = df.with_columns(pl.coalesce(_at(ids, "target"), pl.lit("new:") + pl.col("login_n")).alias("ref"))
        good = df.lazy().filter(~pl.col(ERR)).select("target", "login_n", "ref").collect(engine="in-memory")
        sheet = good.select("login_n", pl.col("ref").alias("sref"))  # (logins unique: duplicates are errors)
        by_login = pl.concat([  # the LMS's users no row names, then the rows (a login in both: the row's)
            lmsu.join(good.select(pl.col("target").alias(IX)), on=IX, how="anti")
                .join(sheet.select("login_n"), on="login_n", how="anti")
                .select("login_n", pl.col("id").alias("sref")).unique("login_n", keep="last"),
            sheet,
        ])
    for f, n in linked:  # (login_n is unique in by_login: the join keeps the rows; only its result is kept)
        df = df.with_columns(df.select(n).join(by_login.rename({"login_n": n, "sref": f + "_ref"}), on=n, how="left",
                                               maintain_order="left")[f + "_ref"])
        df = rp.mark(df, pl.col(n).is_not_null() & pl.col(f + "_ref").is_null(), "unknown_supervisor",
                     pl.format("{} {} is not a user in the file or the LMS; the link is set to inherited",
                               pl.lit(col(f)), pl.col(f)),
                     key="login", column=col(f), severity=Severity.WARNING)
        df = rp.mark(df, pl.col(f + "_ref").is_not_null() & (pl.col(f + "_ref") == pl.col("ref")), "self_supervision",
                     pl.format("{} cannot supervise themself; the link is set to inherited", pl.col("login")),
                     key="login", column=col(f), severity=Severity.WARNING)
        df = df.with_columns(pl.when(pl.col(f + "_ref") == pl.col("ref")).then(None)
                             .otherwise(pl.col(f + "_ref")).alias(f + "_ref"))

    if linked:
        del by_login, good
    df = rp.collect(df)
    problems = rp.problems()
    warn_by_row: dict[int, list[Problem]] = {}
    for p in problems:
        if not p.is_error:
            warn_by_row.setdefault(p.row, []).append(p)

    pointer_ix = df.select("by_key", "by_login", "by_email", ROW)  # U6: what rows point to, errors or not

    keep = [c for c in (ROW, "login", "rule", "target", "status_v", *(("status",) if "status" in (policy or {}) else ()),
                        "dref", "userUniqueKey", *PLAIN_FIELDS,
                        "departmentId", "subordination", "coSubordination", "subordination_ref",
                        "coSubordination_ref", *custom) if c in df.columns]
    keep = list(dict.fromkeys(keep))
    df = df.select(*keep, ERR, PROTECTED_ROW)
    good = df.lazy().filter(~pl.col(ERR))
    new = good.filter(pl.col("target").is_null()).select(keep).collect(engine="in-memory")
    # (lazy: only the rows that change are gathered); C2: a protected user's row changes nothing
    old = good.filter(pl.col("target").is_not_null() & ~pl.col(PROTECTED_ROW))
    changes = _creates(new, custom, warn_by_row, depts, lmsu)
    upd, final_department = _updates(old.select(keep), lmsu, custom, lms_custom, warn_by_row, depts, policy or {})
    changes += upd
    # L1: what the plan matched; what the ledger already holds with the same key needs no recording
    matched = old.select("target", (pl.col("userUniqueKey") if use_key else pl.lit(None, pl.String)).alias("key")) \
        .filter(~(_at(managed, "target") & _at(led_key, "target").eq_missing(pl.col("key")))) \
        .collect(engine="in-memory")
    del df, good, old
    matched_d = dict(zip(ids.gather(matched["target"]).to_list(), matched["key"].to_list()))

    # U6 removal: managed users no row points to any more (a row with errors still points)
    pointed = pl.repeat(False, n_lms, eager=True)
    for c in ("by_key", "by_login", "by_email"):
        at = pointer_ix[c].drop_nulls()
        if at.len():
            pointed.scatter(at, True)
    unprotected = ~pl.lit(protected) if protected is not None else pl.lit(True)  # C2: never inactivated
    gone = (lmsu.filter(pl.lit(managed) & ~pl.lit(pointed) & (pl.col("status") == Status.ACTIVE.value) & unprotected)
            .sort("login_n", maintain_order=True))
    for uid, login in gone.select("id", "login").iter_rows():
        changes.append(Change(change_id(Kind.INACTIVATE_USER, login), Kind.INACTIVATE_USER, login,
                              {"status": (Status.ACTIVE.value, Status.INACTIVE.value)}, target=uid))
    return UserStep(changes, problems, matched_d, final_department, pointer_ix, ids, vanished,
                    set(ids.filter(protected).to_list()) if protected is not None else set())


def _key_n_by_position(led: pl.DataFrame, n: int) -> pl.Series:
    """The ledger's normalised unique key of each LMS user, by position (null = none or unmanaged)."""
    out = pl.repeat(None, n, dtype=pl.String, eager=True)
    out.scatter(led[IX], led["key_n"])
    return out


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
    ids = pl.concat([rows.select(pl.col(c).alias("id")) for c in cols]).drop_nulls().unique()
    return dict(lmsu.join(ids, on="id", how="semi").select("id", "login").iter_rows())


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
    for fields, row, login, dref, key, sup, cosup in zip(
            fields_of, cols[ROW], cols["login"], cols["dref"], cols.get("userUniqueKey", none),
            cols.get("subordination_ref", none), cols.get("coSubordination_ref", none)):
        out.append(Change(prefix + login.casefold(), Kind.CREATE_USER, login, fields, row=row,
                          depends_on=_deps(dref, sup, cosup, depts),
                          problems=list(warn_by_row[row]) if row in warn_by_row else [], unique_key=key))
    return out


def _updates(matched: pl.LazyFrame, lmsu, custom, lms_custom, warn_by_row, depts, policy: dict[str, FieldPolicy]):
    """update_user / inactivate_user / reactivate_user for matched rows (U5, U8, U10), each field
    as its policy allows (C3)."""
    columns = matched.collect_schema().names()
    # each compared field: (the LMS's value now, gathered by position; the value after the plan)
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
    gated = {f: gate(policy.get(f), neq(pl.col(b), pl.col(a)), pl.col(b), pl.col(f)) for f, (b, a) in compare.items()}
    compare = {f: ba for f, ba in compare.items() if gated[f] is not None}  # (on_create: never compared)
    flags = [gated[f].alias(f"chg_{f}") for f in compare]
    status_change = gate(policy.get("status"), neq(pl.col("now_status"), pl.col("status_v")), pl.col("now_status"),
                         pl.col("status") if "status" in columns else pl.lit(None, pl.String))
    status_change = pl.lit(False) if status_change is None else status_change
    rows = (matched.with_columns(**now).with_columns(*flags, status_change.alias("chg_status"))
            .filter(pl.any_horizontal(pl.col("^chg_.*$"))).collect(engine="in-memory"))
    lms_login = _logins_of(rows, ["now_subordination", "now_coSubordination", "subordination_ref",
                                  "coSubordination_ref"], lmsu)
    dept_code = depts.lms_code_of
    targets = lmsu["id"].gather(rows["target"]).to_list()

    # fields, one compared field at a time over the rows where it changed
    n = rows.height
    fields_of: list[dict] = [{} for _ in range(n)]
    final_department: dict[str, str | None] = {}
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

    out: list[Change] = []
    none = [None] * n
    cols = {c: rows[c].to_list() for c in (ROW, "login", "rule", "now_status", "status_v", "chg_status", "dref",
                                           "userUniqueKey", "subordination_ref", "coSubordination_ref")
            if c in rows.columns}
    update, active = Kind.UPDATE_USER.value + ":", Status.ACTIVE.value
    for i, (row, login, rule, target, before, after, status_changed, dref, key, sup, cosup) in enumerate(zip(
            cols[ROW], cols["login"], cols["rule"], targets, cols["now_status"], cols["status_v"],
            cols["chg_status"], cols["dref"], cols.get("userUniqueKey", none),
            cols.get("subordination_ref", none), cols.get("coSubordination_ref", none))):
        fields = fields_of[i]
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
            out.append(Change(update + login.casefold(), Kind.UPDATE_USER, login, fields, row=row, rule=rule,
                              target=target, depends_on=_deps(dref, sup, cosup, depts), problems=warns))
            warns = []
        if status_kind:
            out.append(Change(change_id(status_kind, login), status_kind, login, {"status": (before, after)},
                              row=row, rule=rule, target=target, problems=warns))
    return out, final_department
