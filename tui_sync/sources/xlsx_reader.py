"""XLSX (and XLS, ODS) → `Table` through fastexcel, every cell as text (NOTES "Reading real sheets").

fastexcel's reader (calamine) also reads legacy Excel 97-2003 .xls workbooks and
OpenDocument .ods spreadsheets (F2: the bytes decide which one a file is); an ODS
zip gets the same bomb checks, and only XLSX gets the notes below.

Before fastexcel sees the bytes, the zip is checked: entry count, total
uncompressed size, compression ratio (zip bombs), and every entry is inflated
once with a hard cap, which also verifies its checksum (a truncated or damaged
file fails here with a clear message). That pass also counts, per worksheet,
formula cells without a saved result, cells holding Excel errors, and merged
ranges, so the `Table` can say why some cells read as empty.

What fastexcel gives as text (`dtypes="string"`):
- a text cell keeps its exact text (`007` stays `007`);
- whole numbers have no `.0` (42 → "42", 1e20 → "100000000000000000000"),
  other numbers print with up to 9 decimals (3.5 → "3.5", 1/3 → "0.333333333");
  a leading zero that exists only as a number format is lost (as in every reader);
- booleans → "true" / "false";
- dates and date-times → "YYYY-MM-DD HH:MM:SS"; this reader shortens a pure
  date (time 00:00:00) to "YYYY-MM-DD" and a pure time (Excel day 0) to "HH:MM:SS";
- formulas → their saved (cached) result; a formula without one (files written by
  libraries that do not calculate, e.g. openpyxl) and Excel errors (#N/A …) → empty;
- merged cells → the value in the top-left cell only.
"""
from __future__ import annotations

import html
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field

import polars as pl

from tui_sync.errors import ConfigError, SourceError
from tui_sync.sources.normalize import column_letter, normalize_grid
from tui_sync.sources.table import SheetOptions, Table

MAX_ENTRIES = 10_000
MAX_TOTAL_UNCOMPRESSED = 1 << 30  # 1 GiB
MAX_RATIO = 100  # uncompressed : compressed, for entries bigger than RATIO_MIN_SIZE
RATIO_MIN_SIZE = 10 << 20  # 10 MiB
_CHUNK = 1 << 20

_NOT_READABLE_HINT = ("open it in Excel or LibreOffice and save it again as .xlsx (or download it again if it came "
                      "over the network)")
WORKBOOKS = {"xlsx": "XLSX workbook", "xls": "Excel 97-2003 workbook (.xls)", "ods": "OpenDocument spreadsheet (.ods)"}
_WORKBOOK_PART = {"xlsx": "workbook.xml", "ods": "content.xml"}  # the entry a readable zip must hold

# Sheet XML patterns, tolerant of namespace prefixes (<x:c>, <x:f> from the OpenXML SDK).
_P = rb"(?:[A-Za-z_][\w.-]*:)?"
_EMPTY_V = rb"(?:<" + _P + rb"v\s*/>|<" + _P + rb"v>\s*</" + _P + rb"v>)?"
_FORMULA_NO_VALUE = re.compile(
    rb"(?:</" + _P + rb"f>|<" + _P + rb"f\b[^>]*/>)\s*" + _EMPTY_V + rb"\s*</" + _P + rb"c>"
)
# The same without namespace prefixes, split so that each pattern starts with a literal (fast to search).
_FORMULA_NO_VALUE_PLAIN = (
    re.compile(rb"</f>\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>"),
    re.compile(rb"<f [^>]*/>\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>"),
)
_ERROR_CELL = re.compile(rb"<" + _P + rb"c\b[^>]*\bt=\"e\"")
_MERGE = re.compile(rb"<" + _P + rb"mergeCell\b[^>]*\bref=\"([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)\"")
_OVERLAP = 1024

_DATE_ONLY = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"
_TIME_ONLY = r"^1899-12-3[01] (\d{2}:\d{2}:\d{2})$"


@dataclass
class _SheetStats:
    formulas_without_value: int = 0
    has_formulas: bool = False
    error_cells: int = 0
    merged: list[str] = field(default_factory=list)


@dataclass
class _ZipFacts:
    entries: dict[str, bytes] = field(default_factory=dict)  # small XML parts we keep: workbook, rels
    sheets: dict[str, _SheetStats] = field(default_factory=dict)  # by zip path


def read_xlsx(data: bytes, source: str, opts: SheetOptions, kind: str = "xlsx") -> Table:
    """Read one sheet of a workbook (`kind` "xlsx", "xls" or "ods") into a normalised `Table`;
    raise `SourceError` if impossible."""
    header_row = opts.header_row
    if not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
        raise ConfigError(f"header_row must be a whole number from 1 up, not {header_row!r}", where=source,
                          hint="header_row = 1 means the column names are in the first row")
    import fastexcel  # (here: a run that reads only CSV never loads it)

    label = WORKBOOKS[kind]
    facts = inspect_zip(data, source, kind) if kind in _WORKBOOK_PART else _ZipFacts()
    try:
        reader = fastexcel.read_excel(data)
        names = list(reader.sheet_names)
    except Exception as exc:  # fastexcel raises its own hierarchy; never let it escape as a traceback
        raise _not_readable(source, exc, label=label) from None
    if not names:
        raise SourceError(f"not a readable {label}: it has no sheets", where=source, hint=_NOT_READABLE_HINT)

    notes: list[str] = []
    name, sheet = _pick_sheet(reader, names, opts.sheet, source, notes, label)
    what = f"sheet {name!r}"
    try:
        grid = sheet.to_polars()
        letters = [column_letter(c.absolute_index) for c in sheet.available_columns()]
    except Exception as exc:
        raise _not_readable(source, exc, sheet=name, label=label) from None

    if grid.height == 0 or grid.width == 0:
        raise SourceError(f"{what} is empty", where=source,
                          hint="check the sheet name (sheet = \"…\") and that the file was saved with its data"
                               + (f"; the workbook's sheets: {_list_names(names)}" if len(names) > 1 else ""))
    if grid.height < header_row:
        raise SourceError(
            f"header_row = {header_row}, but {what} has values only down to row {grid.height}",
            where=source, hint="set header_row to the row that holds the column names",
        )
    grid = grid.slice(header_row - 1)
    grid = grid.with_columns(
        pl.col(c).cast(pl.String).str.replace(_DATE_ONLY, "${1}").str.replace(_TIME_ONLY, "${1}")
        for c in grid.columns
    )
    df, headers = normalize_grid(grid, source=source, header_row=header_row, columns=letters, what=what)
    notes.extend(_sheet_notes(facts, name, header_row))
    return Table(df=df, headers=headers, source=source, format=kind, sheet=name,
                 sheet_names=tuple(names), notes=tuple(notes))


# ---------------------------------------------------------------- sheets


def _load(reader, idx: int):
    # header_row=None + skip_rows=0: the raw grid from spreadsheet row 1, blank rows kept,
    # so grid row i is spreadsheet row i + 1 and the header row is chosen here, not by guessing.
    return reader.load_sheet(idx, header_row=None, skip_rows=0, dtypes="string")


def _list_names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _pick_sheet(reader, names: list[str], wanted: str | None, source: str, notes: list[str], label: str):
    try:
        if wanted is not None and wanted.strip():
            if wanted in names:
                idx = names.index(wanted)
            else:
                folded = [i for i, n in enumerate(names) if n.strip().casefold() == wanted.strip().casefold()]
                if len(folded) != 1:
                    raise SourceError(
                        f"there is no sheet named {wanted!r}; the workbook's sheets are: {_list_names(names)}",
                        where=source, hint='set sheet = "…" to one of those names, or leave it out for the first '
                                           "visible sheet",
                    )
                idx = folded[0]
            sheet = _load(reader, idx)
            if getattr(sheet, "visible", "visible") != "visible":
                notes.append(f"sheet {names[idx]!r} is hidden in Excel; read it because the configuration names it")
            return names[idx], sheet
        hidden: list[str] = []
        for idx, name in enumerate(names):
            sheet = _load(reader, idx)
            if getattr(sheet, "visible", "visible") == "visible":
                if hidden:
                    notes.append(f"skipped hidden sheet{'s' if len(hidden) > 1 else ''} {_list_names(hidden)}; "
                                 f"read the first visible sheet, {name!r}")
                return name, sheet
            hidden.append(name)
        notes.append(f"every sheet is hidden; read the first one, {names[0]!r}")
        return names[0], _load(reader, 0)
    except SourceError:
        raise
    except Exception as exc:
        raise _not_readable(source, exc, label=label) from None


def _not_readable(source: str, exc: BaseException, sheet: str | None = None, label: str = WORKBOOKS["xlsx"]) \
        -> SourceError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = f" (sheet {sheet!r})" if sheet else ""
    return SourceError(f"not a readable {label}{where}: {detail}", where=source, hint=_NOT_READABLE_HINT)


# ---------------------------------------------------------------- the zip


def inspect_zip(data: bytes, source: str, kind: str = "xlsx") -> _ZipFacts:
    """Refuse zip bombs and damaged archives before any parser inflates them; collect sheet facts
    (`kind` "xlsx" or "ods")."""
    label = WORKBOOKS[kind]
    _refuse_non_zip(data, source, label)
    zf, infos = _open_zip(data, source, label)
    with zf:
        _refuse_declared_bomb(infos, source)
        _refuse_zip_without_workbook({i.filename for i in infos}, source, kind, label)
        facts = _ZipFacts()
        unpacked = 0
        for info in infos:
            if not info.is_dir():
                unpacked = _inflate_entry(zf, info, unpacked, facts, source, label)
        return facts


def _refuse_non_zip(data: bytes, source: str, label: str) -> None:
    """F2: a workbook's bytes must be a zip; text named like a workbook is pointed to CSV (O3)."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return
    looks_like_text = b"\x00" not in data[:8192]
    try:
        data[:8192].decode("utf-8")
    except UnicodeDecodeError as exc:
        looks_like_text = looks_like_text and exc.start > 8000  # cut inside a character at the end
    raise SourceError(
        f"not a readable {label}: it is a zip archive, and this is not one",
        where=source,
        hint="it looks like text: if it is CSV, give it a .csv name" if looks_like_text else _NOT_READABLE_HINT,
    )


def _open_zip(data: bytes, source: str, label: str) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The archive and its entries; a damaged or truncated zip is a clear `SourceError` (O3)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        return zf, zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise SourceError(
            f"not a readable {label}: the zip archive is damaged or truncated ({exc})",
            where=source, hint=_NOT_READABLE_HINT,
        ) from None


def _refuse_declared_bomb(infos: list[zipfile.ZipInfo], source: str) -> None:
    """Zip-bomb checks on the sizes the archive declares: entry count, total size, per-entry ratio."""
    if len(infos) > MAX_ENTRIES:
        raise _bomb(source, f"it holds {len(infos):,} entries (the limit is {MAX_ENTRIES:,})")
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise _bomb(source, f"it would unpack to {_size(total)} (the limit is {_size(MAX_TOTAL_UNCOMPRESSED)})")
    for info in infos:
        if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _bomb(source, f"entry {info.filename!r} would unpack {_size(info.compress_size)} to "
                                f"{_size(info.file_size)} (more than {MAX_RATIO}:1)")


def _refuse_zip_without_workbook(names: set[str], source: str, kind: str, label: str) -> None:
    """F2: a zip that holds no workbook part is named for what it is (a Word or PowerPoint file …)."""
    if any(n.lower().endswith(_WORKBOOK_PART[kind]) for n in names):
        return
    what = ("a Word document" if any(n.startswith("word/") for n in names)
            else "a PowerPoint file" if any(n.startswith("ppt/") for n in names)
            else "a zip archive that holds no workbook")
    raise SourceError(f"not a readable {label}: this is {what}", where=source,
                      hint="point the source at the .xlsx workbook itself")


def _inflate_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, unpacked: int, facts: _ZipFacts,
                   source: str, label: str) -> int:
    """Inflate one entry with a hard cap on the bytes unpacked so far (the zip-bomb check that
    does not trust declared sizes), which also verifies its checksum; keep the workbook parts
    and scan worksheets into `facts`. Returns the bytes unpacked so far."""
    lower = info.filename.lower()
    keep = lower.endswith("workbook.xml") or lower.endswith("workbook.xml.rels")
    is_sheet = lower.startswith("xl/worksheets/") and lower.endswith(".xml")
    stats = _SheetStats() if is_sheet else None
    kept: list[bytes] = []
    tail = b""
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                unpacked += len(chunk)
                if unpacked > MAX_TOTAL_UNCOMPRESSED:
                    raise _bomb(source, f"it unpacks to more than {_size(MAX_TOTAL_UNCOMPRESSED)}")
                if keep:
                    kept.append(chunk)
                if stats is not None:
                    tail = _scan(tail, chunk, stats)
    except SourceError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise SourceError(
            f"not a readable {label}: entry {info.filename!r} is damaged ({exc})",
            where=source, hint=_NOT_READABLE_HINT,
        ) from None
    if keep:
        facts.entries[info.filename] = b"".join(kept)
    if stats is not None:
        facts.sheets[info.filename] = stats
    return unpacked


def _scan(tail: bytes, chunk: bytes, stats: _SheetStats) -> bytes:
    """Count patterns in `tail + chunk`, counting only matches that end in the new chunk
    (matches ending in `tail` were counted with the previous chunk). Cheap literal checks
    first: most sheets have no formulas, errors or merged cells, and then no regex runs."""
    buf = tail + chunk
    cut = len(tail)

    def count(pattern: re.Pattern) -> int:
        return sum(1 for m in pattern.finditer(buf) if m.end() > cut)

    # Every formula closes with "f>" somewhere ("</f>", "</x:f>"); a shared formula's self-closing
    # children ("<f t="shared" si="0"/>") come after their master, so once seen, keep looking.
    if stats.has_formulas or b"f>" in buf:
        stats.has_formulas = True
        if b":f>" in buf or b":f " in buf:  # namespace-prefixed elements (OpenXML SDK and friends)
            stats.formulas_without_value += count(_FORMULA_NO_VALUE)
        else:
            stats.formulas_without_value += sum(count(p) for p in _FORMULA_NO_VALUE_PLAIN)
    if b't="e"' in buf:
        stats.error_cells += count(_ERROR_CELL)
    if b"mergeCell" in buf:
        stats.merged.extend(m.group(1).decode("ascii").upper() for m in _MERGE.finditer(buf) if m.end() > cut)
    return buf[-_OVERLAP:]


def _bomb(source: str, detail: str) -> SourceError:
    return SourceError(f"refusing to unpack this workbook: {detail} — it looks like a zip bomb", where=source,
                       hint="a real sheet of departments or users is far smaller; check that this is the right file")


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


# ---------------------------------------------------------------- notes


def _attrs(tag: bytes) -> dict[str, str]:
    out = {}
    for m in re.finditer(rb"([\w:.-]+)\s*=\s*(\"[^\"]*\"|'[^']*')", tag):
        key = m.group(1).decode("utf-8", "replace")
        out[key.split(":")[-1]] = html.unescape(
            m.group(2)[1:-1].decode("utf-8", "replace"))
    return out


def _sheet_paths(facts: _ZipFacts) -> dict[str, str]:
    """Sheet name → zip path of its XML, from workbook.xml and its relationships."""
    wb_name = next((n for n in facts.entries if n.lower().endswith("workbook.xml")), None)
    if wb_name is None:
        return {}
    rels_name = posixpath.join(posixpath.dirname(wb_name), "_rels", posixpath.basename(wb_name) + ".rels")
    rels = facts.entries.get(rels_name, b"")
    targets = {}
    for m in re.finditer(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        a = _attrs(m.group(0))
        if "Id" in a and "Target" in a:
            t = a["Target"]
            path = t.lstrip("/") if t.startswith("/") else posixpath.normpath(
                posixpath.join(posixpath.dirname(wb_name), t))
            targets[a["Id"]] = path
    out = {}
    for m in re.finditer(rb"<(?:\w+:)?sheet\b[^>]*>", facts.entries[wb_name]):
        a = _attrs(m.group(0))
        if "name" in a and a.get("id") in targets:
            out[a["name"]] = targets[a["id"]]
    return out


def _sheet_notes(facts: _ZipFacts, sheet: str, header_row: int) -> list[str]:
    try:
        path = _sheet_paths(facts).get(sheet)
    except Exception:  # notes are a courtesy: never fail a read over them
        return []
    stats = facts.sheets.get(path) if path else None
    if stats is None:
        return []
    notes = []
    if stats.formulas_without_value:
        n = stats.formulas_without_value
        notes.append(
            f"{n} formula cell{'s have' if n > 1 else ' has'} no saved result and read as empty (the file was "
            "written by a program that does not calculate formulas); open it in Excel and save it again"
        )
    if stats.error_cells:
        n = stats.error_cells
        notes.append(f"{n} cell{'s hold' if n > 1 else ' holds'} an Excel error such as #N/A or #DIV/0! and "
                     f"read{'' if n > 1 else 's'} as empty")
    merged = [r for r in stats.merged if _last_row(r) > header_row]
    if merged:
        shown = ", ".join(merged[:5]) + (f" and {len(merged) - 5} more" if len(merged) > 5 else "")
        notes.append(f"merged cells {shown}: only the top-left cell of each holds the value, the others read "
                     "as empty")
    return notes


def _last_row(ref: str) -> int:
    m = re.search(r"(\d+)$", ref)
    return int(m.group(1)) if m else 0
