"""Bytes or a local file → `Table`: detect the format, dispatch to the reader, fingerprint."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import stat
from pathlib import Path

from tui_sync.beside import Beside
from tui_sync.errors import SourceError
from tui_sync.sources.csv_reader import path_delimiter, read_csv, read_csv_path
from tui_sync.sources.detect import WORKBOOK_SUFFIXES, XLSX_TYPES, detect_format, suffix_of
from tui_sync.sources.edges import EdgeScan
from tui_sync.sources.normalize import UNSCANNED, Scanned
from tui_sync.sources.table import SheetOptions, Table

_HASH_ALONGSIDE = 4 << 20  # bytes from which the fingerprint is computed while the sheet is parsed
_PARSE_FROM_PATH = _HASH_ALONGSIDE  # a CSV file this large is parsed from its path rather than from its bytes
_HEAD = 1 << 20


def read_bytes(data: bytes, name: str, opts: SheetOptions, content_type: str | None = None) -> Table:
    """Read a whole file's bytes. `name` (a file name, path or URL without credentials) is used to
    guess the format when the content does not tell, and names the source in messages."""
    fmt = detect_format(data, name, content_type)
    digest = hashlib.sha256()
    hashing = None
    if len(data) >= _HASH_ALONGSIDE:  # (hashlib leaves the GIL for large inputs: it runs beside the parse)
        hashing = Beside(digest.update, data)
    else:
        digest.update(data)
    try:
        table = read_csv(data, name, opts) if fmt == "csv" else _read_workbook(data, name, opts, fmt)
    finally:
        if hashing is not None:
            hashing.result()  # (a failed read too: no thread outlives it; hashing itself does not fail)
    notes = table.notes
    suffix, mime = suffix_of(name), (content_type or "").split(";", 1)[0].strip().lower()
    if fmt == "csv" and (suffix in WORKBOOK_SUFFIXES or mime in XLSX_TYPES):  # F2: the bytes decided
        called = f"named {suffix}" if suffix in WORKBOOK_SUFFIXES else "served as an XLSX workbook"
        notes = (f"the file is {called}, but it holds CSV text: read it as CSV",) + notes
    return dataclasses.replace(table, size_bytes=len(data), fingerprint=digest.hexdigest(), notes=notes)


def _read_workbook(data: bytes, name: str, opts: SheetOptions, fmt: str) -> Table:
    from tui_sync.sources.xlsx_reader import read_xlsx  # (deferred: a CSV source, the common case, needs none of it)

    return read_xlsx(data, name, opts, kind=fmt)


def read_file(path: Path, opts: SheetOptions, max_bytes: int | None = None) -> Table:
    """Read a local CSV or XLSX file; every failure is a `SourceError` with where = the path and a hint.
    A file over `max_bytes` is refused (a source's setting); None reads any size (`lms load`)."""
    path = Path(path)
    where = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        parent = path.parent
        hint = ("check the path in the configuration (a relative path is relative to the config file)"
                if parent.is_dir() or str(parent) in ("", ".")
                else f"the folder {str(parent)!r} does not exist either: check the path in the configuration")
        raise SourceError("file not found", where=where, hint=hint) from None
    except NotADirectoryError:
        raise SourceError("file not found: a part of the path is a file, not a folder", where=where,
                          hint="check the path in the configuration") from None
    except PermissionError:
        raise SourceError("permission denied: cannot reach the file", where=where,
                          hint="give the user that runs tui-sync access to the file and its folders") from None
    except OSError as exc:
        raise SourceError(f"cannot read the file: {exc.strerror or exc}", where=where,
                          hint="check the path in the configuration") from None
    if stat.S_ISDIR(st.st_mode):
        raise SourceError("this is a folder, not a file", where=where,
                          hint="set path to the .xlsx or .csv file inside it")
    if not stat.S_ISREG(st.st_mode):
        raise SourceError("this is not a regular file (a device, pipe or socket)", where=where,
                          hint="set path to an .xlsx or .csv file")
    if max_bytes is not None and st.st_size > max_bytes:
        raise _too_big(where, st.st_size, max_bytes)
    try:
        if st.st_size >= _PARSE_FROM_PATH:
            table = _read_large_csv(path, where, opts, st)
            if table is not None:
                return table
        with open(path, "rb") as fh:
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except PermissionError:
        raise SourceError("permission denied: cannot read the file", where=where,
                          hint="give the user that runs tui-sync read access to the file") from None
    except IsADirectoryError:
        raise SourceError("this is a folder, not a file", where=where,
                          hint="set path to the .xlsx or .csv file inside it") from None
    except OSError as exc:
        raise SourceError(f"cannot read the file: {exc.strerror or exc}", where=where,
                          hint="check that the file is not being written or moved right now") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise _too_big(where, len(data), max_bytes)
    return read_bytes(data, where, opts)


def _read_large_csv(path: Path, where: str, opts: SheetOptions, before: os.stat_result) -> Table | None:
    """A large CSV parsed by polars from its path while a thread reads it once more, in chunks, to
    fingerprint it and to find which columns can hold a cell needing trimming and whether any cell
    can be over a cell's limit (`edges.EdgeScan`: normalising then spares asking every cell of the
    others, and measuring them); neither holds the whole file. None when it needs reading as bytes
    (`read_csv_path`), holds a NUL character (`read_bytes` names the line), is no CSV or bears a
    workbook's name."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    if detect_format(head, where) != "csv" or suffix_of(where) in WORKBOOK_SUFFIXES:
        return None  # (F2: a workbook's name on CSV text gets `read_bytes`'s note)
    delimiter = path_delimiter(head, where, opts)
    if delimiter is None:
        return None
    scan = EdgeScan(delimiter)
    reading = Beside(_one_pass, path, scan)

    def scanned() -> Scanned:
        """What the scan found (waits for the pass); nothing when the pass did not reach the file's end."""
        try:
            _, nul = reading.result()
        except BaseException:  # (raised again below, as the read's own failure)
            return UNSCANNED
        return UNSCANNED if nul else scan.scanned()

    try:
        table = read_csv_path(path, head, delimiter, where, scanned=scanned)
    except BaseException:
        with contextlib.suppress(BaseException):
            reading.result()  # (no thread outlives a failed parse; the parse's failure is the one told)
        raise
    digest, nul = reading.result()  # (an OSError is reported as the read's own failure)
    if table is None or nul:
        return None
    _unchanged(path, where, before)
    return dataclasses.replace(table, size_bytes=before.st_size, fingerprint=digest.hexdigest())


def _one_pass(path: Path, scan: EdgeScan) -> tuple[hashlib._Hash, bool]:
    """One pass over a file in chunks, beside its parse (`Beside`): its fingerprint (P3), whether it
    holds a NUL character, and its `EdgeScan` fed."""
    digest, nul = hashlib.sha256(), False
    with open(path, "rb") as fh:
        while chunk := fh.read(_HEAD):
            digest.update(chunk)
            nul = nul or b"\x00" in chunk
            scan.feed(chunk)
    return digest, nul


def _unchanged(path: Path, where: str, before: os.stat_result) -> None:
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise _changed(where)


def _changed(where: str) -> SourceError:
    return SourceError("the file changed while it was being read", where=where,
                       hint="wait until whatever writes it has finished, then try again")


def _too_big(where: str, size: int, limit: int) -> SourceError:
    return SourceError(
        f"the file is {size_text(size)}, over the max_bytes limit of {size_text(limit)}", where=where,
        hint="check that this is the right file; if it is, raise max_bytes in the source's section of the config",
    )


def size_text(n: float) -> str:
    """A byte count for messages: 512 bytes, 97.7 KB, 2.0 GB."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


__all__ = ["read_bytes", "read_file", "size_text"]
