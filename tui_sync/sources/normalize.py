"""The one place where a raw grid of cells becomes a `Table` frame (NOTES "Reading real sheets").

Both readers (CSV and XLSX) hand over a *grid*: a polars frame with positional
columns whose first row is the header row of the sheet (spreadsheet row
`header_row`), every following row one spreadsheet row, blank rows included.
`normalize_grid` then

- casts every column to text,
- trims cells and headers (whitespace including non-breaking and zero-width
  spaces and stray byte-order marks), turning empty cells into null,
- numbers the rows as a spreadsheet shows them (`ROW`; computed before blank
  rows are dropped, so the numbers stay right),
- drops rows where every cell is blank,
- drops columns that have neither a header nor data, and refuses columns that
  have data but no header, duplicate headers (case-insensitive) and oversized
  cells with a `SourceError` that names the row/column and says what to do.

Everything is vectorised: no per-row Python on the happy path.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from tui_sync.errors import SourceError
from tui_sync.sources.table import ROW

# Excel's own limit for one cell. Anything longer is not an HR value but a broken file.
MAX_CELL_CHARS = 32_767

# What "blank" means around a value: Unicode whitespace, plus the zero-width and
# byte-order-mark characters that copy-paste and Excel exports leave behind.
WHITESPACE = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
    "\u200b\u200c\u200d\u2060\ufeff"
)


class Scanned(NamedTuple):
    """What a scan of a CSV file's bytes found before its cells were asked (`edges.EdgeScan`)."""

    trim_columns: Collection[int] | None  # the columns whose cells may need trimming; None: all of them
    cells_fit: bool  # no line of the file, so no cell, is longer than MAX_CELL_CHARS bytes


UNSCANNED = Scanned(None, cells_fit=False)  # nothing known: every column asked, every cell measured


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (spreadsheet column names)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def clean_header(value: object) -> str:
    return "" if value is None else str(value).strip(WHITESPACE)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def normalize_grid(
    grid: pl.DataFrame,
    *,
    source: str,
    header_row: int = 1,
    columns: Sequence[str] | None = None,
    what: str = "the file",
    ragged_as_cells: bool = False,
    scanned: Callable[[], Scanned] | None = None,
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Turn a raw grid (row 0 = the header row) into the normalised frame and its headers.

    `columns` are the spreadsheet column letters of the grid's columns (default
    A, B, C …); `what` names the sheet in messages ("the file", "sheet 'Users'").
    With `ragged_as_cells` (CSV), data beyond the last header is reported as
    "row 7 has 6 cells but the header has 5 columns"; otherwise as a column
    with data but no header. `scanned`, asked once the cells are in one chunk (a scan of a CSV
    file's bytes may still be running meanwhile: `edges.EdgeScan`), tells the columns whose cells
    may have whitespace at an edge or be empty text (the cells of the others are not asked one by
    one) and whether the cells' sizes need measuring; without it, every cell is asked and measured.
    """
    if grid.width == 0 or grid.height == 0:
        raise _empty(what, source)
    width = grid.width
    letters = list(columns) if columns is not None else [column_letter(i) for i in range(width)]
    if len(letters) != width:
        letters = [column_letter(i) for i in range(width)]
    pos = [f"c{i}" for i in range(width)]
    grid = grid.rename(dict(zip(grid.columns, pos)))
    if any(dtype != pl.String for dtype in grid.dtypes):
        grid = grid.select(pl.col(c).cast(pl.String) for c in pos)

    raw_headers = grid.row(0)
    _check_header_sizes(raw_headers, letters, source=source, header_row=header_row)
    # one chunk per column (a parser leaves dozens): every later operation that combines columns
    # would otherwise line their chunks up again, and the rules run hundreds of them
    body = grid.slice(1).rechunk()
    body = body.with_columns(  # P2: rows as a spreadsheet numbers them
        pl.int_range(header_row + 1, header_row + 1 + body.height, dtype=pl.Int64, eager=True).alias(ROW))
    found = scanned() if scanned is not None else UNSCANNED
    if not found.cells_fit:
        _check_cell_sizes(body, pos, letters, raw_headers, source=source)
    body = _trimmed(body, [c for i, c in enumerate(pos) if found.trim_columns is None or i in found.trim_columns])
    headers = [clean_header(h) for h in raw_headers]
    has_data = tuple(body.get_column(c).null_count() < body.height for c in pos)
    sheet = _Sheet(body, pos, letters, headers, has_data, source, header_row)

    _check_header_row(sheet, what)
    _check_unnamed_columns(sheet, ragged_as_cells)
    keep = [i for i, h in enumerate(headers) if h]
    _check_header_names(sheet, keep)
    body = _without_blank_rows(body, [pos[i] for i in keep])
    body = body.select([pl.col(pos[i]).alias(headers[i]) for i in keep] + [pl.col(ROW)])
    return body, tuple(headers[i] for i in keep)


@dataclass(frozen=True)
class _Sheet:
    """A grid being normalised, as the checks of its header row see it."""

    body: pl.DataFrame  # the data rows, positional columns `pos`, trimmed, with ROW
    pos: list[str]
    letters: list[str]  # spreadsheet column letters, by position
    headers: list[str]  # trimmed headers, by position ("" = none)
    has_data: tuple[bool, ...]  # by position: some data row has a value there
    source: str
    header_row: int


def _empty(what: str, source: str) -> SourceError:
    return SourceError(f"{what} is empty", where=source,
                       hint="check that this is the right file and that it was saved with its data")


def _trimmed(body: pl.DataFrame, pos: list[str]) -> pl.DataFrame:
    """Cells of the columns `pos` trimmed of whitespace (WHITESPACE), blank -> null. Only the columns
    that need it are rewritten (most cells of an HR sheet are clean, and a check allocates nothing
    where trimming copies every string)."""
    if not (body.height and pos):
        return body
    edge = "^[" + re.escape(WHITESPACE) + "]|[" + re.escape(WHITESPACE) + "]$"
    flags = body.select(
        *(pl.col(c).str.contains(edge).any().alias(f"t{i}") for i, c in enumerate(pos)),
        *((pl.col(c) == "").any().alias(f"b{i}") for i, c in enumerate(pos)),
    ).row(0, named=True)
    return body.with_columns(
        pl.col(c).str.strip_chars(WHITESPACE).replace("", None) if flags.get(f"t{i}")
        else pl.col(c).replace("", None) if flags.get(f"b{i}") else pl.col(c)
        for i, c in enumerate(pos))


def _check_header_row(sheet: _Sheet, what: str) -> None:
    """A blank header row is refused (P2): with the first row that has values as a hint, or as an
    empty sheet when there is none."""
    if any(sheet.headers):
        return
    if any(sheet.has_data):
        first = _first_nonblank_row(sheet.body, sheet.pos)
        raise SourceError(
            f"row {sheet.header_row}, the header row, is blank",
            where=sheet.source,
            hint=f"the first row with values is row {first}: if that is the header, set header_row = {first}",
        )
    raise _empty(what, sheet.source)


def _check_unnamed_columns(sheet: _Sheet, ragged_as_cells: bool) -> None:
    """Columns without a header: silently dropped when empty, refused when they hold data (P2)."""
    headers, header_row = sheet.headers, sheet.header_row
    last_named = max(i for i, h in enumerate(headers) if h)
    unnamed_with_data = [i for i, h in enumerate(headers) if not h and sheet.has_data[i]]
    beyond = [i for i in unnamed_with_data if i > last_named]
    inside = [i for i in unnamed_with_data if i < last_named]
    if beyond and ragged_as_cells:
        _raise_ragged(sheet.body, sheet.pos, beyond, n_header=last_named + 1, source=sheet.source)
    if not (inside or beyond):
        return
    cols = inside + beyond
    names = ", ".join(sheet.letters[i] for i in cols)
    first_rows = sheet.body.select(
        pl.col(ROW).filter(pl.col(sheet.pos[i]).is_not_null()).first().alias(sheet.pos[i]) for i in cols
    ).row(0)
    if len(cols) == 1:
        message = f"column {names} has data (first in row {first_rows[0]}) but no header in row {header_row}"
    else:
        detail = ", ".join(f"column {sheet.letters[i]} from row {r}" for i, r in zip(cols, first_rows))
        message = f"columns {names} have data but no header in row {header_row} ({detail})"
    raise SourceError(
        message,
        where=sheet.source,
        hint=f"add a header for {'it' if len(cols) == 1 else 'them'} in row {header_row}, or delete "
             f"{'that column' if len(cols) == 1 else 'those columns'}"
             + ("" if header_row != 1 else "; if the header is on another row, set header_row"),
    )


def _check_header_names(sheet: _Sheet, keep: list[int]) -> None:
    """Duplicate headers (case-insensitive) are an error, never a guess; ROW is reserved."""
    headers = sheet.headers
    seen: dict[str, list[int]] = {}
    for i in keep:
        seen.setdefault(headers[i].casefold(), []).append(i)
    dups = [idx for idx in seen.values() if len(idx) > 1]
    if dups:
        parts = []
        for idx in dups:
            spelled = " / ".join(dict.fromkeys(repr(headers[i]) for i in idx))
            parts.append(f"{spelled} (columns {', '.join(sheet.letters[i] for i in idx)})")
        raise SourceError(
            f"duplicate column {'header' if len(dups) == 1 else 'headers'} in row {sheet.header_row}: "
            + "; ".join(parts),
            where=sheet.source,
            hint="every header must be unique (case does not count): rename or delete the extra column",
        )
    if ROW in {headers[i] for i in keep}:
        raise SourceError(f"a column is named {ROW!r}, a name tui_sync reserves", where=sheet.source,
                          hint="rename that column")


def _without_blank_rows(body: pl.DataFrame, named: list[str]) -> pl.DataFrame:
    """Rows where every named column is blank are dropped (their numbers stay with the others)."""
    if not named:
        return body.clear()
    if any(not body.get_column(c).null_count() for c in named):
        return body  # (a column filled in every row: no row is blank)
    filled = body.select(pl.any_horizontal(pl.col(c).is_not_null() for c in named)).to_series()
    return body if filled.all() else body.filter(filled)  # (a copy of every column: only when there are blank rows)


def _first_nonblank_row(body: pl.DataFrame, pos: list[str]) -> int | None:
    rows = body.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in pos)).get_column(ROW)
    return rows[0] if rows.len() else None


def _check_header_sizes(raw_headers: tuple, letters: list[str], *, source: str, header_row: int) -> None:
    for i, h in enumerate(raw_headers):
        if h is not None and len(h) > MAX_CELL_CHARS:
            raise SourceError(
                f"the header in column {letters[i]} (row {header_row}) is {len(h):,} characters long, "
                f"over Excel's cell limit of {MAX_CELL_CHARS:,}",
                where=source, hint="this is not a sheet of names: check header_row and that this is the right file",
            )


def _check_cell_sizes(body: pl.DataFrame, pos: list[str], letters: list[str], raw_headers: tuple,
                      *, source: str) -> None:
    if not body.height:
        return
    # Bytes ≥ characters: only columns whose longest cell in bytes is over the limit need a closer look.
    longest = body.select(pl.col(c).str.len_bytes().max() for c in pos).row(0)
    for i, n in enumerate(longest):
        if n is None or n <= MAX_CELL_CHARS:
            continue
        chars = pl.col(pos[i]).str.len_chars()
        hit = body.filter(chars > MAX_CELL_CHARS).select(pl.col(ROW), chars.alias("n")).head(1)
        if hit.height:
            row, length = hit.row(0)
            header = clean_header(raw_headers[i])
            label = f"column {letters[i]}" + (f" ({header!r})" if header else "")
            raise SourceError(
                f"row {row}, {label}: a cell of {length:,} characters, over Excel's cell limit of {MAX_CELL_CHARS:,}",
                where=source,
                hint="the file is probably damaged or a quote (\") is not closed, so the rest of the file became "
                     "one value; fix that cell",
            )


def _raise_ragged(body: pl.DataFrame, pos: list[str], beyond: list[int], *, n_header: int, source: str) -> None:
    """Data beyond the header's last column, CSV flavour: name the first such row and its cell count."""
    any_extra = pl.any_horizontal(pl.col(pos[i]).is_not_null() for i in beyond)
    bad = body.filter(any_extra)
    first = bad.head(1)
    row = first.get_column(ROW)[0]
    values = first.select(pos).row(0)
    cells = max(i for i, v in enumerate(values) if v is not None) + 1
    more = bad.height - 1
    raise SourceError(
        f"row {row} has {cells} cells but the header has {n_header} columns"
        + (f" ({_plural(more, 'more row')} like it)" if more else ""),
        where=source,
        hint="a value probably contains the delimiter without quotes around it (or the delimiter is wrong); "
             "quote that value, or add a header for the extra column",
    )
