"""Small polars helpers shared by the department and user steps.

Each rule marks rows with a boolean expression; `RowProblems` turns the marked
rows into `Problem`s at once (no per-row Python) and remembers which rows
have an error, so later rules can skip them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Collection

import polars as pl

from ..model import Problem, Severity
from ..sources.table import ROW

ERR = "__err"
_MARK = "__mark"


def norm(name: str, *, not_normal_column: str | None = None) -> pl.Expr:
    """Keys, logins, emails and codes compare case-insensitively after trimming (DESIGN §1).
    (`not_normal_column`: a column that holds `not_normal(name)` already.)"""
    value = pl.col(name)
    # (a value of lower-case ASCII letters, digits and @ . _ - is its own normal form, as most logins
    # and emails are: it is kept as it is, which costs a fraction of trimming and folding it)
    differs = pl.col(not_normal_column) if not_normal_column else not_normal(name)
    return pl.when(differs).then(value.str.strip_chars().str.to_lowercase()).otherwise(value)


def not_normal(name: str) -> pl.Expr:
    """Whether a value may not be its own normal form (`norm`): it holds a character other than
    lower-case ASCII letters, digits and @ . _ - (such as a control character: F4)."""
    return pl.col(name).str.contains(_NOT_NORMAL)


_NOT_NORMAL = "[^a-z0-9@._-]"


def compared(values: pl.Series) -> pl.Series:
    """`norm` of a series: its values as they are compared."""
    return values.to_frame("v").select(norm("v")).to_series().alias(values.name)


def duplicated(value: str | pl.Expr) -> pl.Expr:
    """True on every row whose (non-null) value (of a column, or an expression) occurs more than once."""
    value = pl.col(value) if isinstance(value, str) else value
    return value.is_not_null() & (pl.len().over(value) > 1)


def has_duplicates(values: pl.Series, *, below: int | None = None) -> bool:
    """Whether some (non-null) value occurs more than once: a few values are counted; of many, when
    their hashes are all different, so are the values (the common answer, found at a fraction of
    `duplicated`'s cost), otherwise the values themselves are counted. Positions (integers from 0 `below` a bound) are
    told apart by placing each at its value: a value held twice reads back another's place."""
    values = values.drop_nulls()
    if below is not None:
        place = pl.int_range(values.len(), dtype=pl.UInt32, eager=True)
        placed = pl.repeat(None, below, dtype=pl.UInt32, eager=True)
        placed.scatter(values, place)
        return not (placed.gather(values) == place).all()
    if values.len() <= _COUNTED:  # (fewer values are counted at once: cheaper than hashing them first)
        return values.n_unique() != values.len()
    return values.hash().n_unique() != values.len() and values.n_unique() != values.len()


_COUNTED = 1 << 18  # up to this many values (measured: 100k emails 1.3 ms counted, 3.0 ms CPU hashed first)


def positions(keys: pl.Series, values: pl.Series) -> pl.Series | None:
    """For each of `keys`, the position in `values` of the equal value (null: none, or a null key), or
    None when some key equals several values. The lookup joins the 64-bit hashes of the strings
    (about half the cost of a join on the strings) and then compares the strings of each pair it
    found: should two strings' hashes collide, it is made again on the strings themselves.
    (`position_pairs` and `placed` are its two halves, for a caller that runs the join beside
    other queries.)"""
    return placed(position_pairs(keys, values).collect(engine="in-memory"), keys, values)


def position_pairs(keys: pl.Series, values: pl.Series, *, hashed: bool = True) -> pl.LazyFrame:
    """The join of `positions`: `at` (a key's position) and `found` (an equal value's), in no order."""
    def side(series: pl.Series, index: str) -> pl.LazyFrame:
        key = pl.when(pl.col("k").is_not_null()).then(pl.col("k").hash()) if hashed else pl.col("k")
        return series.to_frame("k").lazy().with_row_index(index).select(index, key.alias("k"))

    # an inner join in no order, each pair then set at its key's position (cheaper than a left join
    # that keeps the keys' order)
    return side(keys, "at").join(side(values, "found"), on="k", how="inner").select("at", "found")


def placed(pairs: pl.DataFrame, keys: pl.Series, values: pl.Series) -> pl.Series | None:
    """`positions` from the pairs `position_pairs` found on the hashes: each pair's strings are
    compared (on a collision, the join is made again on the strings)."""
    found = _at_keys(pairs, keys.len())
    if found is not None and (values.gather(found) == keys).fill_null(True).all():
        return found.alias(values.name)
    found = _at_keys(position_pairs(keys, values, hashed=False).collect(engine="in-memory"), keys.len())
    return found.alias(values.name) if found is not None else None


def _at_keys(pairs: pl.DataFrame, n: int) -> pl.Series | None:
    """Each pair's `found` at its key's position (`at`), or None when a key is in several pairs."""
    found = pl.repeat(None, n, dtype=pairs.schema["found"], eager=True)
    if pairs.height:
        found.scatter(pairs["at"], pairs["found"])
    if found.len() - found.null_count() != pairs.height:  # a key found several values
        return None
    return found


def neq(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Null-aware "differs" (null vs value differs; null vs null does not)."""
    return ~a.eq_missing(b)


@dataclass
class RowProblems:
    """Collects problems for one entity's rows as frames, converted once at the end."""

    entity: str
    frames: list[pl.DataFrame] = field(default_factory=list)
    marks: list[tuple] = field(default_factory=list)  # rules `mark`ed and not yet collected

    def add(self, df: pl.DataFrame, mask: pl.Expr, code: str, message: pl.Expr, **kw) -> pl.DataFrame:
        """Record `code` on the rows where `mask` holds now (`mark` and `collect` in one step);
        errors also set ERR. Returns the new frame."""
        return self.collect(self.mark(df, mask, code, message, **kw))

    def mark(
        self,
        frame: pl.DataFrame | pl.LazyFrame,
        mask: pl.Expr,
        code: str,
        message: pl.Expr,
        *,
        key: str,
        column: str | None,
        severity: Severity = Severity.ERROR,
        enrich: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    ) -> pl.DataFrame | pl.LazyFrame:
        """`add`, deferred: only adds the mask as a boolean column (errors also set ERR), so that a
        chain of rules runs as one lazy query. `collect` turns every marked row into problems at once."""
        name = f"{_MARK}{len(self.marks)}"
        self.marks.append((name, code, message, key, column, severity, enrich))
        frame = frame.with_columns(mask.fill_null(False).alias(name))
        if severity is Severity.ERROR:
            frame = frame.with_columns((pl.col(ERR) | pl.col(name)).alias(ERR))
        return frame

    def collect(self, df: pl.DataFrame) -> pl.DataFrame:
        """The problems of every `mark`ed rule (in the order marked), from one filter of `df`;
        returns `df` without the mask columns."""
        names = [m[0] for m in self.marks]
        if not names:
            return df
        hits = df.filter(pl.any_horizontal(names))
        for name, code, message, key, column, severity, enrich in self.marks if hits.height else ():
            hit = hits.filter(pl.col(name))
            if hit.height:
                self._record(hit, code, message, key=key, column=column, severity=severity, enrich=enrich)
        self.marks.clear()
        return df.drop(names)

    def _record(self, hit: pl.DataFrame, code: str, message: pl.Expr, *, key: str, column: str | None,
                severity: Severity, enrich: Callable[[pl.DataFrame], pl.DataFrame] | None) -> None:
        if enrich is not None:
            hit = enrich(hit)
        self.frames.append(
            hit.select(
                pl.col(ROW).alias("row"),
                pl.col(key).alias("key") if key in hit.columns else pl.lit(None, pl.String).alias("key"),
                message.cast(pl.String).alias("message"),
            ).with_columns(
                pl.lit(code).alias("code"),
                pl.lit(column, pl.String).alias("column"),
                pl.lit(severity.value).alias("severity"),
            )
        )

    def problems(self) -> list[Problem]:
        if not self.frames:
            return []
        all_ = pl.concat(self.frames, how="vertical_relaxed").sort("row", "code", maintain_order=True)
        return [
            Problem(Severity(r["severity"]), r["code"], self.entity, r["message"],
                    row=r["row"], column=r["column"], key=r["key"])
            for r in all_.iter_rows(named=True)
        ]


# C0 and C1 control characters (line breaks, ESC, NEL), the Unicode line and paragraph separators,
# and the bidirectional overrides and isolates that reorder what is shown (`adm\u202eNIMDA`): the
# characters that safe_text escapes (F4)
# (looked for as a set of characters, `contains_any`: a third cheaper than a regex class)
CONTROL_CHARACTERS = [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029,
                                       *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
CONTROL_CLASS = "".join(f"\\x{{{ord(c):x}}}" for c in CONTROL_CHARACTERS)  # the same, inside a regex's [...]


def invalid_characters(problems: RowProblems, frame: pl.DataFrame | pl.LazyFrame, fields: tuple[str, ...],
                       mapping: dict[str, str], *, key: str,
                       plain: Collection[str] = ()) -> pl.DataFrame | pl.LazyFrame:
    """F4: a login, email, code or key holding a control character or a line break is an error
    (`invalid_characters`) at its cell: such a value cannot be matched, nor shown or written safely.
    (`plain`: fields the caller knows to hold none.)"""
    for f in fields:
        if f not in plain and f in frame.collect_schema().names():
            frame = problems.mark(frame, pl.col(f).str.contains_any(CONTROL_CHARACTERS), "invalid_characters",
                                  pl.format("{} {} holds a control character, a line break or a text-direction "
                                            "override; the row is not applied",
                                            pl.lit(mapping.get(f, f)), pl.col(f)),
                                  key=key, column=mapping.get(f))
    return frame


def zeros_dropped(codes: list[str]) -> pl.DataFrame:
    """`dept_n` → `zero_code`: each code made of digits with leading zeros (`007`), under the code a
    spreadsheet makes of it when it reads the column as numbers (`7`), for a hint beside
    `unknown_department` / `unknown_parent` (D1: codes are text)."""
    padded = pl.Series("zero_code", codes, dtype=pl.String).filter(
        pl.Series(codes, dtype=pl.String).str.contains(r"^0+[0-9]+$"))
    return pl.DataFrame({"dept_n": padded.str.strip_chars_start("0"), "zero_code": padded}).unique(
        "dept_n", keep="first", maintain_order=True)
