"""A sheet as the engine sees it: a polars frame of text, with spreadsheet row numbers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (a type only: the configuration, which names SheetOptions, loads without polars)
    import polars as pl

ROW = "__row"  # the spreadsheet row number of each data row (the header is row `header_row`)


@dataclass(frozen=True)
class SheetOptions:
    """How to read one source (DESIGN §2: `sheet`, `header_row`, `encoding`, `delimiter`)."""

    sheet: str | None = None  # XLSX / Google tab; None = the first visible one
    header_row: int = 1
    encoding: str = "auto"  # a BOM, then UTF-8, then the likeliest code page (F1); or any Python codec name
    delimiter: str = "auto"  # , ; tab |


@dataclass(frozen=True)
class Table:
    """Every column is `pl.String`, cells and headers trimmed, blank cells null,
    blank rows dropped; `ROW` (Int64) holds each row's spreadsheet row number."""

    df: pl.DataFrame
    headers: tuple[str, ...]
    source: str  # where it came from, for messages: a file name, a URL without credentials, a sheet link
    format: str  # "csv" | "xlsx"
    sheet: str | None = None  # the sheet/tab actually read
    sheet_names: tuple[str, ...] = ()
    encoding: str | None = None  # CSV: the encoding detected or used
    encoding_guessed: str | None = None  # CSV whose code page was guessed (F1): its non-ASCII words so read
    delimiter: str | None = None  # CSV: the delimiter detected or used
    size_bytes: int = 0
    fingerprint: str = ""  # sha256 of the bytes read
    notes: tuple[str, ...] = field(default_factory=tuple)  # non-fatal remarks (merged cells, formulas …)

    @property
    def encoding_label(self) -> str | None:
        """How the encoding is shown (F1): "cp1252 (guessed)", "utf-8", or None (not a CSV)."""
        if not self.encoding:
            return None
        return self.encoding + (" (guessed)" if self.encoding_guessed else "")

    @property
    def rows(self) -> int:
        return self.df.height
