"""Users: validate (U1, U3, U5, U9), identify (U2), resolve departments and
supervisors (U4, U7, U10), diff fields (U8) and plan removals (U6).

All matching is polars joins; Python only walks the rows that change.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..lms.base import CUSTOM_PREFIX, NO_SUPERVISOR
from ..model import USER_REQUIRED, USER_STANDARD_FIELDS, Change, Kind, Problem, Severity, Status
from ..sources.table import ROW
from .departments import NEW, DepartmentStep, change_id
from .frames import ERR, RowProblems, duplicated, neq, norm

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


@dataclass
class UserStep:
    changes: list[Change]
    problems: list[Problem]
    matched: dict[str, str | None]  # L1: LMS id -> unique key, rows without errors
    final_department: dict[str, str | None]  # LMS user id -> department ref after the plan (moved users only)
    pointers: pl.DataFrame  # by_key, by_login, by_email, ROW: the LMS users each row points to (U6)

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
) -> UserStep:
    col = mapping.get
    rp = RowProblems("user")
    use_key = "userUniqueKey" in df.columns
    custom = [f for f in df.columns if f != ROW and f not in USER_STANDARD_FIELDS]
    lms_custom = {c[len(CUSTOM_PREFIX):].casefold(): c for c in lms.columns if c.startswith(CUSTOM_PREFIX)}

    lmsu = lms.with_columns(norm("login").alias("login_n"), norm("email").alias("email_n"))
    ledu = ledger.join(lmsu.select(pl.col("id").alias("lms_id")), on="lms_id", how="semi").with_columns(
        norm("key").alias("key_n"))

    def opt(name: str) -> pl.Expr:
        return norm(name) if name in df.columns else pl.lit(None, pl.String)

    df = df.with_columns(
        norm("login").alias("login_n"), norm("email").alias("email_n"), opt("userUniqueKey").alias("key_n"),
        norm("departmentId").alias("dept_n"), opt("subordination").alias("sup_n"),
        opt("coSubordination").alias("cosup_n"),
        (pl.col("status").str.strip_chars().str.to_lowercase().replace_strict(STATUS_WORDS, default=None)
         if "status" in df.columns else pl.lit(None, pl.String)).alias("status_v"),
        pl.lit(False).alias(ERR),
    )

    # U1 required fields (and the LMS's own required fields), U9, U5, U3
    for f in (*USER_REQUIRED, *(f for f in extra_required if f in df.columns and f not in USER_REQUIRED)):
        df = rp.add(df, pl.col(f).is_null(), "missing_value",
                    pl.format("{} is blank: every user needs one", pl.lit(col(f))), key="login", column=col(f))
    df = rp.add(df, pl.col("email").is_not_null() & ~pl.col("email").str.contains(EMAIL_RE), "invalid_email",
                pl.format("{} does not look like an email address", pl.col("email")), key="login", column=col("email"))
    if "status" in df.columns:
        df = rp.add(df, pl.col("status").is_not_null() & pl.col("status_v").is_null(), "invalid_status",
                    pl.format("status {} is not one of active, inactive, terminated", pl.col("status")),
                    key="login", column=col("status"))
    df = df.with_columns(pl.col("status_v").fill_null(Status.ACTIVE.value))  # U5: blank = active
    for f, n, code in (("login", "login_n", "duplicate_login"), ("email", "email_n", "duplicate_email"),
                       ("userUniqueKey", "key_n", "duplicate_user_key")):
        if f in df.columns:
            df = rp.add(df, duplicated(n), code,
                        pl.format("{} {} appears on more than one row; none of them is applied", pl.lit(f), pl.col(f)),
                        key="login", column=col(f))

    # U2 identification: one lazy chain of joins
    lz = (df.lazy()
          .join(lmsu.lazy().select("login_n", pl.col("id").alias("by_login")), on="login_n", how="left")
          .join(lmsu.lazy().select("email_n", pl.col("id").alias("by_email")), on="email_n", how="left"))
    if use_key:
        lz = lz.join(ledu.lazy().select("key_n", pl.col("lms_id").alias("by_key")), on="key_n", how="left")
    else:
        lz = lz.with_columns(pl.lit(None, pl.String).alias("by_key"))
    split = pl.col("by_login").is_not_null() & pl.col("by_email").is_not_null() & (pl.col("by_login") != pl.col("by_email"))
    lz = lz.with_columns(pl.when(split).then(None).otherwise(pl.coalesce("by_login", "by_email")).alias("by_le"))
    lz = lz.with_columns(
        pl.coalesce("by_key", "by_le").alias("target"),
        pl.when(pl.col("by_key").is_not_null()).then(pl.lit("userUniqueKey"))
        .when(pl.col("by_login").is_not_null() & pl.col("by_email").is_not_null()).then(pl.lit("login+email"))
        .when(pl.col("by_login").is_not_null()).then(pl.lit("login"))
        .when(pl.col("by_email").is_not_null()).then(pl.lit("email")).alias("rule"),
    )
    df = lz.join(ledu.lazy().select(pl.col("lms_id").alias("target"), pl.col("key_n").alias("target_key")),
                 on="target", how="left").collect()
    lname = lmsu.select(pl.col("id"), pl.col("login").alias("_l"))

    def names(hit: pl.DataFrame) -> pl.DataFrame:
        """LMS logins of the users a problem row points to (only for the rows with problems)."""
        for src, dst in (("by_login", "l1"), ("by_email", "l2"), ("by_key", "l3"), ("by_le", "l4")):
            hit = hit.join(lname.rename({"id": src, "_l": dst}), on=src, how="left")
        return hit

    df = rp.add(df, split, "identity_conflict",
                pl.format("login {} belongs to LMS user {} but email {} to LMS user {}",
                          pl.col("login"), pl.col("l1"), pl.col("email"), pl.col("l2")),
                key="login", column=col("login"), enrich=names)
    df = rp.add(df, pl.col("by_key").is_not_null() & pl.col("by_le").is_not_null() & (pl.col("by_key") != pl.col("by_le")),
                "identity_conflict",
                pl.format("unique key {} belongs to LMS user {} but login/email point to LMS user {}",
                          pl.col("userUniqueKey") if use_key else pl.lit(""), pl.col("l3"), pl.col("l4")),
                key="login", column=col("userUniqueKey"), enrich=names)
    if use_key:
        df = rp.add(df, pl.col("by_key").is_null() & pl.col("key_n").is_not_null() & pl.col("target_key").is_not_null()
                    & neq(pl.col("target_key"), pl.col("key_n")), "identity_conflict",
                    pl.format("LMS user {} is known under another unique key ({})", pl.col("l4"), pl.col("target_key")),
                    key="login", column=col("userUniqueKey"), enrich=names)
    df = rp.add(df, ~pl.col(ERR) & pl.col("target").is_not_null() & (pl.len().over("target", ERR) > 1),
                "identity_conflict", pl.format("another row identifies the same LMS user ({})", pl.col("l4")),
                key="login", column=col("login"), enrich=names)
    # U3: the plan may not give a login or email to one user while another holds it
    df = rp.add(df, ~pl.col(ERR) & pl.col("by_login").is_not_null() & neq(pl.col("by_login"), pl.col("target")),
                "login_taken", pl.format("login {} is held by another LMS user", pl.col("login")),
                key="login", column=col("login"))
    df = rp.add(df, ~pl.col(ERR) & pl.col("by_email").is_not_null() & neq(pl.col("by_email"), pl.col("target")),
                "email_taken", pl.format("email {} is held by another LMS user", pl.col("email")),
                key="login", column=col("email"))

    # U4 departments, as they will be after the plan
    dmap = pl.DataFrame(
        {"dept_n": list(depts.by_code), "dref": [t.ref for t in depts.by_code.values()],
         "dok": [t.ok for t in depts.by_code.values()], "dwhy": [t.reason for t in depts.by_code.values()]},
        schema={"dept_n": pl.String, "dref": pl.String, "dok": pl.Boolean, "dwhy": pl.String},
    )
    df = df.join(dmap, on="dept_n", how="left")
    df = rp.add(df, pl.col("dept_n").is_not_null() & ~pl.col("dok").fill_null(False), "unknown_department",
                pl.when(pl.col("dwhy").is_not_null() & (pl.col("dwhy") != ""))
                .then(pl.format("department {}: {}", pl.col("departmentId"), pl.col("dwhy")))
                .otherwise(pl.format("department {}: no department has this code in the file or the LMS",
                                     pl.col("departmentId"))),
                key="login", column=col("departmentId"))
    df = df.with_columns(pl.coalesce("target", pl.lit("new:") + pl.col("login_n")).alias("ref"))

    # U7 supervisors: a user in the file (row without error) or in the LMS, by the logins after the plan
    linked = [(f, n) for f, n in (("subordination", "sup_n"), ("coSubordination", "cosup_n")) if f in df.columns]
    if linked:
        good = df.filter(~pl.col(ERR))
        logins = pl.concat([
            lmsu.join(good.select(pl.col("target").alias("id")), on="id", how="anti")
                .select("login_n", pl.col("id").alias("sref")),
            good.select("login_n", pl.col("ref").alias("sref")),
        ]).unique("login_n", keep="last")
    for f, n in linked:
        df = df.join(logins.rename({"login_n": n, "sref": f + "_ref"}), on=n, how="left")
        df = rp.add(df, pl.col(n).is_not_null() & pl.col(f + "_ref").is_null(), "unknown_supervisor",
                    pl.format("{} {} is not a user in the file or the LMS; the link is set to inherited",
                              pl.lit(col(f)), pl.col(f)),
                    key="login", column=col(f), severity=Severity.WARNING)
        df = rp.add(df, pl.col(f + "_ref").is_not_null() & (pl.col(f + "_ref") == pl.col("ref")), "self_supervision",
                    pl.format("{} cannot supervise themself; the link is set to inherited", pl.col("login")),
                    key="login", column=col(f), severity=Severity.WARNING)
        df = df.with_columns(pl.when(pl.col(f + "_ref") == pl.col("ref")).then(None)
                             .otherwise(pl.col(f + "_ref")).alias(f + "_ref"))

    problems = rp.problems()
    warn_by_row: dict[int, list[Problem]] = {}
    for p in problems:
        if not p.is_error:
            warn_by_row.setdefault(p.row, []).append(p)

    pointers = df.select("by_key", "by_login", "by_email", ROW)  # U6: what rows point to, errors or not

    good = df.filter(~pl.col(ERR))
    changes = _creates(good.filter(pl.col("target").is_null()), custom, warn_by_row, depts, lmsu)
    upd, final_department = _updates(good.filter(pl.col("target").is_not_null()), lmsu, custom, lms_custom,
                                     warn_by_row, depts)
    changes += upd
    # L1: what the plan matched; what the ledger already holds with the same key needs no recording
    matched = (good.filter(pl.col("target").is_not_null())
               .select(pl.col("target").alias("lms_id"), (pl.col("userUniqueKey") if use_key else pl.lit(None, pl.String)).alias("key"))
               .join(ledu.select("lms_id", "key"), on=["lms_id", "key"], how="anti", nulls_equal=True))
    matched_d = dict(matched.iter_rows())

    # U6 removal: managed users no row points to any more (a row with errors still points)
    gone = (lmsu.join(ledu.select(pl.col("lms_id").alias("id")), on="id", how="semi")
                .join(pointers.select(pl.col("by_key").alias("id")), on="id", how="anti")
                .join(pointers.select(pl.col("by_login").alias("id")), on="id", how="anti")
                .join(pointers.select(pl.col("by_email").alias("id")), on="id", how="anti")
                .filter(pl.col("status") == Status.ACTIVE.value).sort("login_n"))
    for u in gone.select("id", "login").iter_rows(named=True):
        changes.append(Change(change_id(Kind.INACTIVATE_USER, u["login"]), Kind.INACTIVATE_USER, u["login"],
                              {"status": (Status.ACTIVE.value, Status.INACTIVE.value)}, target=u["id"]))
    return UserStep(changes, problems, matched_d, final_department, pointers)


def _deps(r: dict, depts: DepartmentStep) -> list[str]:
    out = []
    dref = r.get("dref")
    if dref and dref.startswith(NEW) and dref in depts.create_id:
        out.append(depts.create_id[dref])
    for f in ("subordination_ref", "coSubordination_ref"):
        s = r.get(f)
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
    out = []
    lms_login = _logins_of(rows, ["subordination_ref", "coSubordination_ref"], lmsu)
    keep = [c for c in (ROW, "login", "status_v", "dref", "userUniqueKey", *PLAIN_FIELDS, "departmentId",
                        "subordination", "coSubordination", "subordination_ref", "coSubordination_ref", *custom)
            if c in rows.columns]
    for r in rows.select(list(dict.fromkeys(keep))).iter_rows(named=True):
        fields: dict = {}
        for f in (*PLAIN_FIELDS, "departmentId"):
            if f in r and r[f] is not None:
                fields[f] = (None, r[f])
        fields["status"] = (None, r["status_v"])
        for f in ("subordination", "coSubordination"):
            if f in r and r[f + "_ref"] is not None:
                fields[f] = (None, _supervisor_text(r[f + "_ref"], r[f], lms_login))
        for f in custom:
            if r[f] is not None:
                fields[f] = (None, r[f])
        out.append(Change(change_id(Kind.CREATE_USER, r["login"]), Kind.CREATE_USER, r["login"], fields,
                          row=r[ROW], depends_on=_deps(r, depts), problems=list(warn_by_row.get(r[ROW], [])),
                          unique_key=r.get("userUniqueKey")))
    return out


def _updates(rows, lmsu, custom, lms_custom, warn_by_row, depts):
    """update_user / inactivate_user / reactivate_user for matched rows (U5, U8, U10)."""
    now = lmsu.rename({c: f"now_{c}" for c in lmsu.columns if c != "id"})
    rows = rows.join(now, left_on="target", right_on="id", how="left")
    compare: dict[str, tuple[str, str]] = {f: (f"now_{f}", f) for f in PLAIN_FIELDS if f in rows.columns}
    compare["departmentId"] = ("now_department_id", "dref")
    for f in ("subordination", "coSubordination"):
        if f in rows.columns:
            compare[f] = (f"now_{f}", f + "_ref")
    for f in custom:
        lc = lms_custom.get(f.casefold())
        if lc is None:
            rows = rows.with_columns(pl.lit(None, pl.String).alias(f"now_{CUSTOM_PREFIX}{f}"))
            compare[f] = (f"now_{CUSTOM_PREFIX}{f}", f)
        else:
            compare[f] = (f"now_{lc}", f)
    flags = [neq(pl.col(b), pl.col(a)).alias(f"chg_{f}") for f, (b, a) in compare.items()]
    status_change = neq(pl.col("now_status"), pl.col("status_v"))
    rows = rows.with_columns(*flags, status_change.alias("chg_status"))
    rows = rows.filter(pl.any_horizontal(pl.col("^chg_.*$")))
    used = {ROW, "login", "rule", "target", "status_v", "now_status", "userUniqueKey", *(f"chg_{f}" for f in compare),
            "chg_status", *(x for pair in compare.values() for x in pair), *compare}
    rows = rows.select([c for c in rows.columns if c in used])
    lms_login = _logins_of(rows, ["now_subordination", "now_coSubordination", "subordination_ref",
                                  "coSubordination_ref"], lmsu)
    dept_code = depts.lms_code_of

    out: list[Change] = []
    final_department: dict[str, str | None] = {}
    for r in rows.iter_rows(named=True):
        fields: dict = {}
        for f, (b, a) in compare.items():
            if not r[f"chg_{f}"]:
                continue
            if f == "departmentId":
                fields[f] = (dept_code.get(r[b]) if r[b] else None, r["departmentId"])
                final_department[r["target"]] = r[a]
            elif f in ("subordination", "coSubordination"):
                fields[f] = (_supervisor_text(r[b], None, lms_login), _supervisor_text(r[a], r[f], lms_login))
            else:
                fields[f] = (r[b], r[a])
        base = dict(row=r[ROW], rule=r["rule"], target=r["target"])
        warns = list(warn_by_row.get(r[ROW], []))
        if r["rule"] == "userUniqueKey" and "login" in fields and "email" in fields:
            warns.append(Problem(Severity.WARNING, "login_and_email_changed", "user",
                                 f"login and email both change (matched by unique key {r.get('userUniqueKey')})",
                                 row=r[ROW], key=r["login"]))
        before, after = r["now_status"], r["status_v"]
        status_kind = None
        if r["chg_status"]:
            if before == Status.ACTIVE.value:
                status_kind = Kind.INACTIVATE_USER
            elif after == Status.ACTIVE.value:
                status_kind = Kind.REACTIVATE_USER
            else:
                fields["status"] = (before, after)  # inactive <-> terminated is an update (U5)
        if fields:
            out.append(Change(change_id(Kind.UPDATE_USER, r["login"]), Kind.UPDATE_USER, r["login"], fields,
                              depends_on=_deps(r, depts), problems=warns, **base))
            warns = []
        if status_kind:
            out.append(Change(change_id(status_kind, r["login"]), status_kind, r["login"],
                              {"status": (before, after)}, problems=warns, **base))
    return out, final_department
