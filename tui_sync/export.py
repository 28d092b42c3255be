"""Sheets that tui_sync writes: `export` of the LMS, and run logs as CSV.

F3: an export read back with the same mapping plans no change. XLSX cells are
text cells (`write_string`), which no spreadsheet evaluates, with nothing
prefixed. An exported CSV holds the values exactly as they are (`+7 812 …`,
`-5`, `=x`, `@team`): the guard against spreadsheet formula injection (a
leading `'` before = + - @ tab CR) is off for `export` unless asked for
(`--guard-formulas`, which tui-sync does not undo on reading), and on for run
logs, which are read by people, not re-imported.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .config import Config
from .errors import UsageError
from .files import write_output
from .lms.base import CUSTOM_PREFIX, NO_SUPERVISOR, Snapshot
from .model import USER_STANDARD_FIELDS
from .state.ledger import Ledger

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _plain(value: object) -> str:
    return "" if value is None else str(value)


def csv_text(headers: list[str], rows: list[list[object]], guard_formulas: bool = True) -> str:
    cell = escape_cell if guard_formulas else _plain
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([cell(h) for h in headers])
    w.writerows([[cell(v) for v in r] for r in rows])
    return buf.getvalue()


def write_sheet(df: pl.DataFrame, path: Path, sheet: str = "Sheet1", guard_formulas: bool = False) -> None:
    """CSV (UTF-8 with BOM, so Excel reads it right) or XLSX (text cells), by the file's extension;
    written as `files.write_output` writes (O2: atomically, through a symlink, /dev/null or a FIFO)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = csv_text(df.columns, [list(r) for r in df.iter_rows()], guard_formulas).encode("utf-8-sig")
    elif suffix == ".xlsx":
        import xlsxwriter  # (deferred: only an .xlsx export needs it)

        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                       "strings_to_urls": False})
        ws = wb.add_worksheet(sheet[:31])
        for j, h in enumerate(df.columns):
            ws.write_string(0, j, h)
        for i, row in enumerate(df.iter_rows(), start=1):
            for j, v in enumerate(row):
                if v is not None:
                    ws.write_string(i, j, str(v))
        wb.close()
        data = buf.getvalue()
    else:
        raise UsageError(f"cannot write {path.name}: use a .csv or .xlsx file name", where=str(path))
    write_output(path, lambda out: out.write(data), what=f"the {sheet.lower()} sheet")


@dataclass
class Exported:
    departments: int
    users: int
    warnings: list[str] = field(default_factory=list)


def export_lms(snap: Snapshot, cfg: Config, departments: Path, users: Path, *,
               guard_formulas: bool = False) -> Exported:
    """The LMS's departments and users in the config's column layout (mapped column names)."""
    ledger = Ledger(cfg.state)
    d = snap.departments
    code_of = d.select(pl.col("id").alias("parent_id"), pl.col("code").alias("parentCode"))
    dep = (d.join(code_of, on="parent_id", how="left")
            .join(ledger.departments().rename({"lms_id": "id", "key": "departmentUniqueKey"}), on="id", how="left"))
    dmap = cfg.departments.mapping
    write_sheet(dep.select(*(pl.col(f).alias(col) for f, col in dmap.items())), departments, "Departments",
                guard_formulas)

    u = snap.users
    logins = u.select(pl.col("id").alias("_sid"), pl.col("login").alias("_slogin"))
    for f in ("subordination", "coSubordination"):
        u = (u.join(logins.rename({"_sid": f, "_slogin": f"_{f}"}), on=f, how="left")
              .with_columns(pl.when(pl.col(f) == NO_SUPERVISOR).then(None).otherwise(pl.col(f"_{f}")).alias(f)))
    u = (u.join(d.select(pl.col("id").alias("department_id"), pl.col("code").alias("departmentId")),
                on="department_id", how="left")
          .join(ledger.users().rename({"lms_id": "id", "key": "userUniqueKey"}), on="id", how="left"))
    umap = cfg.users.mapping
    cols = []
    for f, col in umap.items():
        if f in USER_STANDARD_FIELDS:
            cols.append(pl.col(f).alias(col))
        else:
            name = next((c for c in u.columns if c.casefold() == (CUSTOM_PREFIX + f).casefold()), None)
            cols.append((pl.col(name) if name else pl.lit(None, pl.String)).alias(col))
    write_sheet(u.sort("login").select(cols), users, "Users", guard_formulas)
    return Exported(d.height, u.height, _root_users(u, umap))


def _root_users(u: pl.DataFrame, umap: dict[str, str], shown: int = 10) -> list[str]:
    """F3's one exception: users directly in the LMS root, which has no code to name it by."""
    if "departmentId" not in umap:
        return []
    logins = u.filter(pl.col("departmentId").is_null())["login"].sort().to_list()
    if not logins:
        return []
    more = f" and {len(logins) - shown} more" if len(logins) > shown else ""
    return [f"{len(logins)} user{'s are' if len(logins) > 1 else ' is'} directly in the LMS's root department, "
            f"which has no code: exported with a blank \"{umap['departmentId']}\" cell (a plan over the file "
            f"reports missing_value for {'them' if len(logins) > 1 else 'it'}): {', '.join(logins[:shown])}{more}"]
