"""A synthetic organisation for benchmarks and the resume test.

`write_workspace(root, n_users, …)` lays out a config folder whose embedded LMS
and ledger hold a prior state, and whose sheets (CSV) differ from it by a
realistic mix: new hires, leavers, field updates and department moves; new,
renamed and closed departments (a closed one's people move to its parent, and
some hires join the new ones).

`wide=True` is the organisation of the scale benchmarks: 15 user columns (the
mapped fields, status, a supervisor and a functional manager, and five custom
fields), ~n/100 departments up to 8 levels. The narrow one (7 columns) serves
the tests that only need many rows.
Everything is built with polars, so a million users take seconds.
"""
from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

CONFIG = """\
[lms]
kind = "local"
path = "lms.sqlite"

[departments.source]
kind = "file"
path = "departments.csv"

[departments.mapping]
code = "Code"
name = "Name"
parentCode = "Parent"

[users.source]
kind = "file"
path = "users.csv"

[users.mapping]
login = "Login"
email = "Email"
firstName = "First"
lastName = "Last"
departmentId = "Dept"
jobTitle = "Title"
phone = "Phone"
"""

WIDE_MAPPING = """\
status = "Status"
subordination = "Supervisor"
coSubordination = "Functional manager"
"Employee ID" = "Employee ID"
"Cost center" = "Cost center"
Location = "Location"
Grade = "Grade"
"Hire date" = "Hire date"
"""
CUSTOM = ("Employee ID", "Cost center", "Location", "Grade", "Hire date")
# sheet header -> `lms load` header (the LMS's field names; custom fields keep theirs)
LOAD_HEADERS = {"Login": "login", "Email": "email", "First": "firstName", "Last": "lastName", "Dept": "departmentId",
                "Title": "jobTitle", "Phone": "phone", "Status": "status", "Supervisor": "subordination",
                "Functional manager": "coSubordination"}


@dataclass(frozen=True)
class Mix:
    removed: float = 0.02  # managed users gone from the sheet
    new: float = 0.03  # new hires
    updated: float = 0.05  # a changed job title or phone
    moved: float = 0.02  # another department
    new_departments: float = 0.01  # of the departments: new ones, under existing ones
    renamed_departments: float = 0.02
    closed_departments: float = 0.01  # leaves gone from the sheet; their users move to the parent


def departments(n: int, levels: int = 8, seed: int = 1) -> pl.DataFrame:
    """n departments over up to `levels` levels: code D00001…, parent code (null at the top)."""
    rng = random.Random(seed)
    codes = [f"D{i:05d}" for i in range(n)]
    depth = [0] * n
    parents: list[str | None] = [None] * n
    for i in range(1, n):
        if i < 5:
            continue  # five top-level divisions
        while True:
            p = rng.randrange(0, i)
            if depth[p] < levels - 1:
                break
        parents[i], depth[i] = codes[p], depth[p] + 1
    return pl.DataFrame({"Code": codes, "Name": [f"Department {c[1:]}" for c in codes], "Parent": parents})


def users(n: int, dept_codes: list[str], offset: int = 0, seed: int = 2, wide: bool = False) -> pl.DataFrame:
    idx = pl.int_range(offset, offset + n, eager=True)
    rng = random.Random(seed)
    frame = pl.DataFrame({
        "Login": ("user" + idx.cast(pl.String).str.zfill(7)),
        "Email": ("user" + idx.cast(pl.String).str.zfill(7) + "@example.com"),
        "First": pl.Series(rng.choices(["Anna", "Ben", "Олег", "Jürgen", "Chloe", "Дарья", "Max"], k=n)),
        "Last": pl.Series(rng.choices(["Schmidt", "Smith", "Иванов", "Müller", "Brown", "Петрова"], k=n)),
        "Dept": pl.Series(rng.choices(dept_codes, k=n)),
        "Title": pl.Series(rng.choices(["Engineer", "Driver", "Clerk", "Manager", "Analyst"], k=n)),
        "Phone": ("+49 30 " + idx.cast(pl.String).str.zfill(7)),
    })
    if not wide:
        return frame
    # supervisors: user i reports to user i // 10 (a tree 6 levels deep at 1M); one in
    # twenty has a functional manager, user i // 50; user 0 reports to nobody
    login = "user" + (idx // 10).cast(pl.String).str.zfill(7)
    return frame.with_columns(
        pl.lit("active").alias("Status"),
        pl.when(idx > 0).then(login).alias("Supervisor"),
        pl.when((idx % 20 == 7) & (idx >= 50)).then("user" + (idx // 50).cast(pl.String).str.zfill(7))
        .alias("Functional manager"),
        ("E" + idx.cast(pl.String).str.zfill(8)).alias("Employee ID"),
        pl.Series(rng.choices([f"CC-{i:04d}" for i in range(400)], k=n)).alias("Cost center"),
        pl.Series(rng.choices(["Berlin", "München", "Москва", "London", "Wien", "Zürich"], k=n)).alias("Location"),
        pl.Series(rng.choices(["E1", "E2", "E3", "M1", "M2"], k=n)).alias("Grade"),
        pl.Series(rng.choices([f"20{y:02d}-{m:02d}-01" for y in range(0, 25) for m in range(1, 13)], k=n))
        .alias("Hire date"),
    )


def departments_sheet(dep: pl.DataFrame, mix: Mix, seed: int = 4) -> tuple[pl.DataFrame, dict[str, str]]:
    """The departments sheet after the mix's new, renamed and closed departments, and where the
    people of each closed department go (its parent)."""
    rng = random.Random(seed)
    n = dep.height
    parents = set(dep["Parent"].drop_nulls().to_list())
    leaves = [c for c, p in zip(dep["Code"], dep["Parent"]) if p is not None and c not in parents]
    closed = dict(rng.sample([(c, p) for c, p in zip(dep["Code"], dep["Parent"]) if c in set(leaves)],
                             min(int(n * mix.closed_departments), len(leaves))))
    open_codes = [c for c in dep["Code"] if c not in closed]
    renamed = set(rng.sample(open_codes, min(int(n * mix.renamed_departments), len(open_codes))))
    kept = dep.filter(~pl.col("Code").is_in(list(closed))).with_columns(
        pl.when(pl.col("Code").is_in(list(renamed))).then(pl.col("Name") + " (renamed)")
        .otherwise(pl.col("Name")).alias("Name"))
    new = [f"D{i:05d}" for i in range(n, n + int(n * mix.new_departments))]
    added = pl.DataFrame({"Code": new, "Name": [f"Department {c[1:]} (new)" for c in new],
                          "Parent": rng.choices(open_codes, k=len(new))}, schema=dep.schema)
    return pl.concat([kept, added]), closed


def sheets_from(lms_users: pl.DataFrame, dept_codes: list[str], mix: Mix, seed: int = 3,
                closed: dict[str, str] | None = None, new_codes: list[str] | None = None) -> pl.DataFrame:
    n = lms_users.height
    rng = random.Random(seed)
    open_codes = [c for c in dept_codes if c not in (closed or {})]
    keep = lms_users.sample(fraction=1 - mix.removed, seed=seed, shuffle=False)
    upd = pl.Series([rng.random() < mix.updated for _ in range(keep.height)])
    mov = pl.Series([rng.random() < mix.moved for _ in range(keep.height)])
    keep = keep.with_columns(
        pl.when(upd).then(pl.lit("Senior ") + pl.col("Title")).otherwise(pl.col("Title")).alias("Title"),
        pl.when(mov).then(pl.Series(rng.choices(open_codes, k=keep.height))).otherwise(pl.col("Dept")).alias("Dept"),
    )
    if closed:
        keep = keep.with_columns(pl.col("Dept").replace(closed))
    hires = users(int(n * mix.new), open_codes + (new_codes or []) * 20, offset=n, seed=seed + 1,
                  wide="Status" in lms_users.columns)
    return pl.concat([keep, hires])


Loader = Callable[[Path, Path, Path], None]  # (config, departments file, users file): fills the LMS


def write_workspace(root: Path, n_users: int, mix: Mix = Mix(), n_departments: int | None = None,
                    wide: bool = False, loader: Loader | None = None) -> Path:
    """Config, sheets, embedded LMS and ledger. Returns the config path.

    The LMS's prior state is also written as `lms load` files (lms_departments.csv,
    lms_users.csv); `loader` loads them (default: `service.lms_load` in this process)."""
    from tui_sync.state.ledger import Ledger

    root.mkdir(parents=True, exist_ok=True)
    config = root / "tui-sync.toml"
    config.write_text(CONFIG + (WIDE_MAPPING if wide else ""), encoding="utf-8")
    dep = departments(n_departments or max(5, n_users // 100))
    codes = dep["Code"].to_list()
    lms_users = users(n_users, codes, wide=wide)
    sheet, closed = departments_sheet(dep, mix)
    sheet.write_csv(root / "departments.csv")
    sheets_from(lms_users, codes, mix, closed=closed, new_codes=sheet["Code"][dep.height - len(closed):].to_list()
                ).write_csv(root / "users.csv")
    # the LMS as `lms load` reads it (bench/plan_scale.py's floor reads the users back)
    dep.rename({"Code": "code", "Name": "name", "Parent": "parentCode"}).write_csv(root / "lms_departments.csv")
    lms_users.rename({k: v for k, v in LOAD_HEADERS.items() if k in lms_users.columns}).write_csv(root / "lms_users.csv")
    del lms_users, sheet
    (loader or _load_here)(config, root / "lms_departments.csv", root / "lms_users.csv")
    con = sqlite3.connect(root / "lms.sqlite")
    d_ids = [str(r[0]) for r in con.execute("SELECT id FROM departments WHERE code IS NOT NULL")]
    u_ids = [str(r[0]) for r in con.execute("SELECT id FROM users")]
    con.close()
    Ledger(root / ".tui-sync").record(dict.fromkeys(d_ids), dict.fromkeys(u_ids))
    return config


def _load_here(config: Path, departments_file: Path, users_file: Path) -> None:
    from tui_sync import service

    asyncio.run(service.lms_load(service.load(config), departments_file, users_file))
