"""CSV (and Excel "Unicode text") → `Table`: decode, find the delimiter, parse with polars, normalise.

- Encoding `auto` (F1): a BOM (UTF-8, UTF-16 LE/BE), then strict UTF-8, then the
  likeliest European or Cyrillic code page (`codepage.guess_code_page`), which
  the `Table` marks as guessed.
  Any other Python codec by name; undecodable bytes are an error that names
  the byte offset and line and suggests an `encoding`.
- Delimiter `auto`: the most frequent of `,` `;` tab `|` in the header line,
  counted outside quotes (csv.Sniffer fails on ordinary files).
- Parsing is polars, all text (`infer_schema=False`). Rows with fewer cells
  than the header are padded with nulls; extra non-empty cells are an error
  naming the row. Files polars refuses (stray quotes) are re-read with the
  standard library's csv module, which is slower but forgiving and precise
  about where a file is broken.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from tui_sync.errors import ConfigError, SourceError
from tui_sync.sources.codepage import guess_code_page, guessed_note
from tui_sync.sources.normalize import Scanned, normalize_grid
from tui_sync.sources.table import SheetOptions, Table

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_SHOW = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}
_NON_SPACE = re.compile(rb"[^\s]")

UTF8_BOM = codecs.BOM_UTF8


def read_csv(data: bytes, source: str, opts: SheetOptions) -> Table:
    """Read CSV bytes into a normalised `Table`; raise `SourceError` (where = `source`) if that is impossible."""
    header_row = _check_header_row(opts.header_row, source)
    buf, encoding, notes, guessed = decode(data, opts.encoding, source)
    if not _NON_SPACE.search(buf):
        raise SourceError("the file is empty", where=source,
                          hint="check that this is the right file and that it was saved with its data")
    if b"\n" not in buf and b"\r" in buf:
        buf = buf.replace(b"\r", b"\n")  # classic Mac line endings

    # Skip the lines above the header.
    start = 0
    for line_no in range(1, header_row):
        nl = buf.find(b"\n", start)
        if nl < 0:
            raise SourceError(
                f"header_row = {header_row}, but the file has only {line_no} line{'s' if line_no > 1 else ''}",
                where=source, hint="set header_row to the row that holds the column names",
            )
        start = nl + 1
    body = buf[start:] if start else buf
    header_line = _first_line(body)
    if not header_line.strip(b" \t\r\n,;|\xc2\xa0"):
        later = _first_nonblank_line(body, limit=10_000)
        hint = (f"the first row with values below it is row {header_row + later - 1}: if that is the header, "
                f"set header_row = {header_row + later - 1}" if later else "set header_row to the row that holds "
                "the column names")
        raise SourceError(f"row {header_row}, the header row, is blank", where=source, hint=hint)

    delimiter = resolve_delimiter(opts.delimiter, source) or sniff_delimiter(body)
    grid = _parse(body, delimiter, source=source, header_row=header_row)
    df, headers = normalize_grid(grid, source=source, header_row=header_row, ragged_as_cells=True)
    return Table(df=df, headers=headers, source=source, format="csv", encoding=encoding,
                 encoding_guessed=guessed, delimiter=delimiter, notes=tuple(notes))


def path_delimiter(head: bytes, source: str, opts: SheetOptions) -> str | None:
    """The delimiter of a CSV file that polars can parse straight from its path, judged by `head`
    (its first bytes): the common case, UTF-8 (with or without a BOM), the header on row 1, line
    feeds. None when the file needs `read_csv`'s care (another encoding, a blank header row …)."""
    if (opts.header_row != 1 or (opts.encoding or "auto").strip().lower() != "auto"
            or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head or b"\n" not in head):
        return None
    body = head[len(UTF8_BOM):] if head.startswith(UTF8_BOM) else head
    if not _first_line(body).strip(b" \t\r\n,;|\xc2\xa0"):
        return None  # (a blank header row: `read_csv` says where the header may be)
    return resolve_delimiter(opts.delimiter, source) or sniff_delimiter(body)


def read_csv_path(path: Path, head: bytes, delimiter: str, source: str, *,
                  scanned: Callable[[], Scanned] | None = None) -> Table | None:
    """A large CSV file parsed by polars straight from its path (never held as bytes beside the
    frame), with the delimiter `path_delimiter` found in `head`, its first bytes. None when polars
    refuses it (not UTF-8 after all, a broken quote, ragged rows …): the caller then reads the
    bytes, for `read_csv`'s care. NUL characters are the caller's to look for (as it fingerprints
    the file). `scanned()`, asked once the cells are in one chunk, tells which columns can hold a
    cell that needs trimming and whether any cell can be too long (`edges.EdgeScan`, run by the
    caller as it fingerprints the file)."""
    try:
        grid = pl.read_csv(path, has_header=False, infer_schema=False, separator=delimiter, quote_char='"',
                           raise_if_empty=False, eol_char="\n")
    except pl.exceptions.PolarsError:  # (not UTF-8 after all, ragged rows, stray quotes)
        return None
    df, headers = normalize_grid(grid, source=source, header_row=1, ragged_as_cells=True, scanned=scanned)
    return Table(df=df, headers=headers, source=source, format="csv",
                 encoding="utf-8-sig" if head.startswith(UTF8_BOM) else "utf-8", delimiter=delimiter)


# ---------------------------------------------------------------- options


def _check_header_row(header_row: object, source: str) -> int:
    if not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
        raise ConfigError(f"header_row must be a whole number from 1 up, not {header_row!r}", where=source,
                          hint="header_row = 1 means the column names are in the first row")
    return header_row


def resolve_delimiter(value: str | None, source: str) -> str | None:
    """The configured delimiter, or None for `auto`."""
    if value is None or value.strip().lower() in ("", "auto"):
        return None
    named = _DELIMITER_NAMES.get(value.strip().lower())
    if named:
        return named
    if len(value) != 1 or value in "\"\r\n":
        raise ConfigError(f"delimiter must be one character (or \"auto\"), not {value!r}", where=source,
                          hint='use one of "auto", ",", ";", "\\t" (tab), "|"')
    return value


# ---------------------------------------------------------------- encoding


_UTF8_CHUNK = 8 << 20


def is_utf8(data: bytes) -> bool:
    """Whether `data.decode("utf-8")` would succeed, checked by polars (several times faster, and
    without building the text). Chunks are cut before a character's first byte, so the whole is
    valid when every chunk is (a no is for the codec to confirm)."""
    if data.isascii():  # (many HR exports are: answered at memory speed, without a copy)
        return True
    view = memoryview(data)
    start = 0
    while start < len(data):
        end = min(start + _UTF8_CHUNK, len(data))
        back = 0
        while end < len(data) and back < 3 and end - 1 > start and 0x80 <= data[end] < 0xC0:  # continuation
            end -= 1
            back += 1
        try:
            pl.Series([view[start:end].tobytes()], dtype=pl.Binary).cast(pl.String)
        except pl.exceptions.PolarsError:
            return False
        start = end
    return True


_Decoded = tuple[bytes, str, list[str], str | None]  # UTF-8 bytes, encoding used, notes, guessed sample


def decode(data: bytes, encoding: str | None, source: str) -> _Decoded:
    """Decode `data` → (UTF-8 bytes without BOM, the encoding used, notes, and when the code page
    was guessed, a sample of the non-ASCII text it reads)."""
    name = (encoding or "auto").strip()
    if name.lower() == "auto":
        return _decode_auto(data, source)
    return _decode_named(data, name, source)


def _decode_auto(data: bytes, source: str) -> _Decoded:
    """F1: a BOM decides; then UTF-16 without a BOM (NULs in the head); then UTF-8; otherwise
    the likeliest code page, guessed and noted."""
    by_bom = _decode_by_bom(data, source)
    if by_bom is not None:
        return by_bom
    head = data[:8192]
    if b"\x00" in head:
        return _decode_utf16_without_bom(data, head, source)
    first_bad = _first_bad_utf8(data, source)
    if first_bad is None:
        return data, "utf-8", [], None
    return _decode_guessed_code_page(data, first_bad, source)


def _decode_by_bom(data: bytes, source: str) -> _Decoded | None:
    """F1: a UTF-8 or UTF-16 byte-order mark decides the encoding; None without one."""
    if data.startswith(UTF8_BOM):
        body = data[len(UTF8_BOM):]
        if not is_utf8(body) or b"\x00" in body:
            text = _strict(data, "utf-8", source, offset=len(UTF8_BOM), bom="UTF-8")
            _refuse_nul(text, source)
        return body, "utf-8-sig", [], None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16-le" if data.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        text = _strict(data, codec, source, offset=2, bom="UTF-16")
        _refuse_nul(text, source)
        return text.encode("utf-8"), codec, [], None
    return None


def _decode_utf16_without_bom(data: bytes, head: bytes, source: str) -> _Decoded:
    """NULs in the head: UTF-16 without a BOM if they sit in every other byte, else a binary file."""
    codec = guess_utf16(head)
    if codec is None:
        raise SourceError(
            "this is a binary file, not CSV text",
            where=source, hint="the source must be an .xlsx workbook or a CSV text file",
        )
    text = _strict(data, codec, source, offset=0, bom=None)
    _refuse_nul(text, source)
    return text.encode("utf-8"), codec, [], None


def _first_bad_utf8(data: bytes, source: str) -> int | None:
    """None when `data` is UTF-8 (a NUL in it is refused), else the offset of its first bad byte."""
    if is_utf8(data):
        if b"\x00" in data:
            _refuse_nul(data.decode("utf-8"), source)
        return None
    try:  # the exact answer (is_utf8 never says yes wrongly)
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    if b"\x00" in data:
        _refuse_nul(text, source)
    return None


def _decode_guessed_code_page(data: bytes, first_bad: int, source: str) -> _Decoded:
    """F1: not UTF-8, so the likeliest European or Cyrillic code page, with a note naming the
    guess and a sample of what it reads (`encoding_guessed`)."""
    guess = guess_code_page(data, first_bad)
    if guess is None:
        raise SourceError(
            "cannot read the text: it is not UTF-8, and no European or Cyrillic code page reads it",
            where=source,
            hint='set encoding = "…" to the file\'s code page, or save it from Excel as "CSV UTF-8"',
        )
    text = _strict(data, guess.encoding, source, offset=0, bom=None)
    _refuse_nul(text, source)
    return text.encode("utf-8"), guess.encoding, [guessed_note(guess.encoding, guess.sample)], guess.sample


def _decode_named(data: bytes, name: str, source: str) -> _Decoded:
    """F1: `encoding = "…"` on a source overrides the guess; undecodable bytes are an error."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ConfigError(f"unknown encoding {name!r}", where=source,
                          hint='use "auto" or a Python codec name such as "utf-8", "cp1251", "cp1252", "koi8_r"') \
            from None
    if info.name == "utf-8":
        offset = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
        text = _strict(data, "utf-8", source, offset=offset, bom=None, named=name)
        _refuse_nul(text, source)
        return data[offset:], name, [], None
    text = _strict(data, info.name, source, offset=0, bom=None, named=name)
    _refuse_nul(text, source)
    return text.encode("utf-8"), name, [], None


def _strict(data: bytes, codec: str, source: str, *, offset: int, bom: str | None, named: str | None = None) -> str:
    try:
        return data[offset:].decode(codec)
    except UnicodeDecodeError as exc:
        exc.start += offset
        where = _where_bad(data, exc, codec=codec)
        if bom:
            msg = f"the file starts with a {bom} byte-order mark but is not valid {bom} ({where})"
            hint = 'the file is damaged; save it again from Excel, or set encoding = "…" to its real code page'
        else:
            msg = f"cannot read the text as {named or codec} ({where})"
            hint = _suggest_encoding(data, tried=codec)
        raise SourceError(msg, where=source, hint=hint) from None


def _where_bad(data: bytes, exc: UnicodeDecodeError, codec: str = "ascii") -> str:
    start = exc.start
    if codec.startswith("utf-16"):
        line = data[:start].decode(codec, errors="replace").count("\n") + 1
    else:
        line = data.count(b"\n", 0, start) + 1
    return f"byte 0x{data[start]:02x} at offset {start:,}, line {line}"


def _suggest_encoding(data: bytes, tried: str) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        guess = guess_code_page(data, exc.start)
        candidate = guess.encoding if guess else None
    else:
        candidate = "utf-8"
    if candidate and codecs.lookup(candidate).name != codecs.lookup(tried).name:
        return (f'this is probably not {tried}: try encoding = "{candidate}" (or "auto"), '
                f'or set the file\'s real code page')
    return 'set encoding = "…" to the file\'s real code page (for example "cp1252", "koi8_r", "latin-1"), ' \
           'or save it from Excel as "CSV UTF-8"'


def guess_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM shows as a NUL in every other byte (for Latin text)."""
    even, odd = head[0::2], head[1::2]
    if not odd:
        return None
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _refuse_nul(text: str, source: str) -> None:
    if "\x00" in text:
        pos = text.index("\x00")
        line = text.count("\n", 0, pos) + 1
        raise SourceError(
            f"the text contains a NUL character (line {line}): this is a binary file or the wrong encoding",
            where=source, hint='if Excel saved it as "Unicode text", set encoding = "utf-16"; '
                               'otherwise the source must be an .xlsx workbook or a CSV text file',
        )


# ---------------------------------------------------------------- lines and delimiters


def _first_line(buf: bytes) -> bytes:
    nl = buf.find(b"\n")
    return buf if nl < 0 else buf[:nl]


def _first_nonblank_line(buf: bytes, limit: int) -> int | None:
    start = 0
    for line_no in range(1, limit + 1):
        nl = buf.find(b"\n", start)
        line = buf[start:] if nl < 0 else buf[start:nl]
        if line.strip(b" \t\r\n,;|\xc2\xa0"):
            return line_no
        if nl < 0:
            return None
        start = nl + 1
    return None


def _count_outside_quotes(line: str) -> dict[str, int]:
    counts = dict.fromkeys(CANDIDATE_DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return counts


def sniff_delimiter(body: bytes) -> str:
    """The most frequent candidate delimiter in the header line; a tie goes to the one that the
    next line repeats as often, then to the order `,` `;` tab `|`. No candidate at all: `,`."""
    lines = body[:1 << 20].split(b"\n", 2)
    header = _count_outside_quotes(lines[0].decode("utf-8", errors="replace"))
    best = max(header.values())
    if best == 0:
        return ","
    tied = [d for d in CANDIDATE_DELIMITERS if header[d] == best]
    if len(tied) > 1 and len(lines) > 1:
        nxt = _count_outside_quotes(lines[1].decode("utf-8", errors="replace"))
        consistent = [d for d in tied if nxt[d] == best]
        if consistent:
            return consistent[0]
    return tied[0]


# ---------------------------------------------------------------- parsing


def _parse(body: bytes, delimiter: str, *, source: str, header_row: int) -> pl.DataFrame:
    """A grid whose row 0 is the header row. Fast path: polars; ragged rows: a wider polars schema;
    anything polars refuses: the standard library's csv module."""
    common = dict(has_header=False, infer_schema=False, separator=delimiter, quote_char='"',
                  raise_if_empty=False, eol_char="\n")
    try:
        return pl.read_csv(body, **common)
    except pl.exceptions.PolarsError as exc:
        if "more fields" not in str(exc):
            return _parse_python(body, delimiter, source=source, header_row=header_row)
    # Some rows have more fields than the header: read wide enough for every line, and let
    # normalisation decide (empty extras are dropped, non-empty ones are an error naming the row).
    width = _max_fields_upper_bound(body, delimiter)
    try:
        return pl.read_csv(body, schema={f"c{i}": pl.String for i in range(width)},
                           missing_columns="insert", truncate_ragged_lines=False, **common)
    except pl.exceptions.PolarsError:
        return _parse_python(body, delimiter, source=source, header_row=header_row)


def _max_fields_upper_bound(body: bytes, delimiter: str) -> int:
    lines = pl.Series("l", body.split(b"\n"), dtype=pl.Binary).cast(pl.String, strict=False)
    most = lines.str.count_matches(delimiter, literal=True).max()
    return int(most or 0) + 1


def _parse_python(body: bytes, delimiter: str, *, source: str, header_row: int) -> pl.DataFrame:
    text = body.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    rows: list[list[str]] = []
    try:
        for record in reader:
            rows.append(record)
    except csv.Error as exc:
        line = reader.line_num + header_row - 1
        detail = str(exc)
        if "field larger than field limit" in detail:
            raise SourceError(
                f"row {header_row + len(rows)} (line {line}) has a cell over {csv.field_size_limit():,} characters",
                where=source,
                hint="a quote (\") is probably not closed, so the rest of the file became one value; fix that row",
            ) from None
        raise SourceError(
            f"cannot parse the CSV at row {header_row + len(rows)} (line {line}): {detail}",
            where=source,
            hint=f"a quote (\") is probably not closed, or text follows a closing quote; fix that row "
                 f"(the delimiter is {_SHOW.get(delimiter, repr(delimiter))}; set delimiter if that is wrong)",
        ) from None
    if not rows:
        return pl.DataFrame()
    width = max(len(r) for r in rows) or 1
    padded = [r + [None] * (width - len(r)) if len(r) < width else r for r in rows]
    return pl.DataFrame(padded, schema={f"c{i}": pl.String for i in range(width)}, orient="row")
