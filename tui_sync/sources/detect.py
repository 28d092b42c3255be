"""What kind of file is this? Content first, then Content-Type, then the name (NOTES "Reading real sheets").

`detect_format` answers "csv" or "xlsx", or raises a `SourceError` that says
what the bytes really are (a web page, a legacy .xls, a PDF …) and what to do.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from tui_sync.errors import SourceError

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound file: .xls 97-2003, encrypted .xlsx

XLSX_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel.sheet.macroenabled.12",
}
CSV_TYPES = {
    "text/csv", "application/csv", "text/x-csv", "application/x-csv", "text/comma-separated-values",
    "text/tab-separated-values", "text/plain",
}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".tab"}

_WEB_START = re.compile(rb"<(?:[a-zA-Z!?/])")
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


def _suffix(name: str) -> str:
    # A URL may carry a query string or fragment; a Windows path may carry backslashes.
    clean = re.split(r"[?#]", name, maxsplit=1)[0].replace("\\", "/")
    return PurePosixPath(clean).suffix.lower()


def detect_format(data: bytes, name: str, content_type: str | None = None) -> str:
    """Return "csv" or "xlsx" for these bytes, or raise `SourceError` (where = `name`)."""
    if not data:
        raise SourceError("the file is empty (0 bytes)", where=name,
                          hint="check that this is the right file and that it was saved with its data")

    # 1. Content.
    if data.startswith(CFB_MAGIC) or data.startswith(CFB_MAGIC[:4]):
        if "EncryptedPackage".encode("utf-16-le") in data[:1_000_000]:
            raise SourceError(
                "this workbook is protected with a password (encrypted); tui_sync cannot open it",
                where=name, hint="open it in Excel, clear the password (File → Info → Protect Workbook → Encrypt with Password) "
                     "and save it as .xlsx",
            )
        raise SourceError(
            "this is a legacy Excel 97-2003 .xls workbook; save as .xlsx or CSV",
            where=name, hint="open it in Excel and use File → Save As → Excel Workbook (.xlsx) or CSV UTF-8",
        )
    if data.startswith(ZIP_MAGIC):
        if data[30:38] == b"mimetype" and b"opendocument" in data[38:120]:
            raise SourceError(
                "this is an OpenDocument spreadsheet (.ods), which tui_sync does not read",
                where=name, hint="open it and save as .xlsx (Excel Workbook) or CSV",
            )
        return "xlsx"
    if data.startswith(EMPTY_ZIP_MAGIC):
        return "xlsx"  # an empty zip: the XLSX reader says it is not a readable workbook
    if data.startswith(b"%PDF"):
        raise SourceError("this is a PDF document, not a sheet", where=name,
                          hint="point the source at the spreadsheet itself (.xlsx or CSV)")
    if data.startswith(b"\x1f\x8b"):
        raise SourceError("this is a gzip-compressed file, not a sheet", where=name,
                          hint="decompress it first, or point the source at the .xlsx or CSV itself")
    head = _text_head(data)
    if _WEB_START.match(head):
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

    # 2. Content-Type (when it is specific).
    if content_type:
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime in XLSX_TYPES:
            return "xlsx"  # not a zip: the XLSX reader explains
        if mime in CSV_TYPES:
            return "csv"

    # 3. The name.
    suffix = _suffix(name)
    if suffix in XLSX_SUFFIXES:
        return "xlsx"  # not a zip: the XLSX reader explains
    if suffix in CSV_SUFFIXES or suffix == ".xls":
        # Many systems export tab-separated text named .xls; real .xls files were caught above.
        return "csv"
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(
            "cannot tell what kind of file this is: it is binary, and neither XLSX nor CSV",
            where=name, hint="the source must be an .xlsx workbook or a CSV text file",
        )
    return "csv"
