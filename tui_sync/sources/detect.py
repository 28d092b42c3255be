"""What kind of file is this? Its bytes decide (F2); Content-Type and name only break ties.

`detect_format` answers "csv", "xlsx", "xls" (Excel 97-2003) or "ods"
(OpenDocument), or raises a `SourceError` that says what the bytes really are
(a web page, an encrypted workbook, an image, a PDF …) and what to do. Text is
CSV whatever it is called: a CSV saved or served under an .xlsx name is read as
CSV. Only bytes that are neither text nor a known format are left to the
Content-Type and the name (the XLSX reader then explains).
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath

from tui_sync.errors import SourceError

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound file: .xls 97-2003, encrypted .xlsx

XLSX_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel.sheet.macroenabled.12",
}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
WORKBOOK_SUFFIXES = XLSX_SUFFIXES | {".xls", ".ods"}

_WEB_START = re.compile(rb"<(?:[a-zA-Z!?/])")
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"), (b"BM", "a BMP image"), (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
)
_SPREADSHEET_ML = b"urn:schemas-microsoft-com:office:spreadsheet"


def _text_head(data: bytes, size: int = 4096) -> bytes:
    """The start of the data as ASCII-compatible bytes, BOM removed, leading whitespace dropped."""
    head = data[:size]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        body = head[2:]
        head = body[: len(body) // 2 * 2].decode(codec, errors="replace").encode("utf-8", errors="replace")
    return head.lstrip(b" \t\r\n\x0b\x0c")


def suffix_of(name: str) -> str:
    """The lower-case suffix of a file name, path or URL (".xlsx"), query and fragment ignored."""
    # A URL may carry a query string or fragment; a Windows path may carry backslashes.
    clean = re.split(r"[?#]", name, maxsplit=1)[0].replace("\\", "/")
    return PurePosixPath(clean).suffix.lower()


def detect_format(data: bytes, name: str, content_type: str | None = None) -> str:
    """Return "csv", "xlsx", "xls" or "ods" for these bytes, or raise `SourceError` (where = `name`).

    F2: the content decides; the Content-Type and the name only break ties for binary
    bytes that no signature names.
    """
    if not data:
        raise SourceError("the file is empty (0 bytes)", where=name,
                          hint="check that this is the right file and that it was saved with its data")

    # 1. Content.
    kind = _workbook_by_signature(data, name)
    if kind is not None:
        return kind
    _refuse_other_binary_kinds(data, name)
    _refuse_markup(data, name)

    # 2. Text is CSV, whatever the name or Content-Type say ("users.xlsx" saved from a CSV export).
    if _is_text(data):
        return "csv"

    # 3. Binary that no signature names: a Content-Type or name of a workbook lets the XLSX reader
    #    explain what is wrong with it.
    return _binary_by_name(name, content_type)


def _workbook_by_signature(data: bytes, name: str) -> str | None:
    """The format ("xls", "xlsx" or "ods") when the bytes start like a workbook (an OLE2 file or a
    zip), else None; raises for an encrypted workbook or an OpenDocument file that is not a spreadsheet."""
    if data.startswith(CFB_MAGIC) or data.startswith(CFB_MAGIC[:4]):
        if "EncryptedPackage".encode("utf-16-le") in data[:1_000_000]:
            raise SourceError(
                "this workbook is protected with a password (encrypted); tui_sync cannot open it",
                where=name, hint="open it in Excel, clear the password (File → Info → Protect Workbook → Encrypt with Password) "
                     "and save it as .xlsx",
            )
        return "xls"  # (a Word 97 document or other OLE2 file: the reader says it is not a workbook)
    if data.startswith(ZIP_MAGIC):
        document = _opendocument(data)
        if document == "spreadsheet":
            return "ods"
        if document:
            raise SourceError(f"this is an OpenDocument {document}, not a spreadsheet", where=name,
                              hint="point the source at the spreadsheet itself (.xlsx, .ods or CSV)")
        return "xlsx"
    if data.startswith(EMPTY_ZIP_MAGIC):
        return "xlsx"  # an empty zip: the XLSX reader says it is not a readable workbook
    return None


def _refuse_other_binary_kinds(data: bytes, name: str) -> None:
    """A PDF, an image or a gzip file is named for what it is."""
    if data.startswith(b"%PDF"):
        raise SourceError("this is a PDF document, not a sheet", where=name,
                          hint="point the source at the spreadsheet itself (.xlsx or CSV)")
    for magic, what in _IMAGES:
        if data.startswith(magic) and (len(magic) > 2 or not _is_text(data)):
            raise SourceError(f"this is {what}, not a sheet", where=name,
                              hint="point the source at the spreadsheet itself (.xlsx or CSV), not a picture of it")
    if data[8:12] == b"WEBP" and data.startswith(b"RIFF"):
        raise SourceError("this is a WebP image, not a sheet", where=name,
                          hint="point the source at the spreadsheet itself (.xlsx or CSV), not a picture of it")
    if data.startswith(b"\x1f\x8b"):
        raise SourceError("this is a gzip-compressed file, not a sheet", where=name,
                          hint="decompress it first, or point the source at the .xlsx or CSV itself")


def _refuse_markup(data: bytes, name: str) -> None:
    """Text that starts like markup is an Excel 2003 XML spreadsheet or a web page (often a login
    or share page served instead of the file, O3), never CSV."""
    head = _text_head(data)
    if not _WEB_START.match(head):
        return
    low = head[:4096].lower()
    if low.startswith(b"<?xml") and _SPREADSHEET_ML in low:
        raise SourceError(
            "this is an Excel 2003 XML spreadsheet, which tui_sync does not read",
            where=name, hint="open it in Excel and save as .xlsx (Excel Workbook) or CSV",
        )
    raise SourceError(
        "this is a web page, not the file — a login or share page?",
        where=name,
        hint="use a direct download link (not the page that shows or shares the file) and check the "
             "username and password; open the link in a private browser window to see what it returns",
    )


def _binary_by_name(name: str, content_type: str | None) -> str:
    """F2's tie-break: "xlsx" when the Content-Type or the name says workbook; raises otherwise."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime in XLSX_TYPES or suffix_of(name) in XLSX_SUFFIXES:
        return "xlsx"
    raise SourceError(
        "cannot tell what kind of file this is: a binary file, neither CSV text nor an XLSX workbook",
        where=name, hint="the source must be an .xlsx workbook or a CSV text file",
    )


def _is_text(data: bytes) -> bool:
    """Text in an ASCII-compatible encoding (no NUL byte in the first 8 KiB: binary formats are full
    of them) or in UTF-16 (a BOM, or NULs in every other byte)."""
    from tui_sync.sources.csv_reader import guess_utf16  # (deferred: csv_reader loads polars; detecting a format needs no frame)

    head = data[:8192]
    return b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff")) or guess_utf16(head) is not None


_ODF_TYPE = re.compile(rb"application/vnd\.oasis\.opendocument\.([a-z-]+)")


def _opendocument(data: bytes) -> str | None:
    """What kind of OpenDocument file this zip is ("spreadsheet", "text" …), or None if it is none:
    its first entry is `mimetype` naming the kind, or it holds content.xml and no workbook (then a
    spreadsheet, for the reader to check)."""
    if data[30:38] == b"mimetype":
        m = _ODF_TYPE.match(data, 38)
        if m:
            return m.group(1).decode("ascii")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return None
    if "content.xml" in names and not any(n.lower().endswith("workbook.xml") for n in names):
        return "spreadsheet"
    return None
