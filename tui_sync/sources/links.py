"""Links as people paste them → what to download, and URLs made safe for messages.

A share link opens a page that *shows* the file; `download_link` turns the ones
we know into the address of the file itself:

- Google Sheets: a link that names a tab (`…/edit#gid=N`, `…/export?format=csv&gid=N`,
  `…/export?format=xlsx&gid=N`) → `…/spreadsheets/d/ID/export?format=csv&gid=N`, that
  tab alone (F2: a share link reads the tab it names; Google's XLSX export is always
  the whole workbook, whose sheets do not carry tab ids); a link without a tab, or a
  source that sets `sheet`, → `…/export?format=xlsx` (the whole workbook: `sheet`
  picks the tab); a "published to the web" link `…/d/e/KEY/pubhtml` → `…/pub?output=xlsx`
  (or `output=csv&gid=N` for a named tab);
- Google Drive `…/file/d/ID/view` or `…/open?id=ID` → `…/uc?export=download&id=ID`;
- Dropbox `?dl=0` (or no `dl`) → `dl=1`.

URLs go into messages only through `safe_text.redact_url` (O1), re-exported here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tui_sync.errors import ConfigError
from tui_sync.safe_text import redact_text, redact_url

_SHEET_ID = re.compile(r"/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]{10,})")
_PUBLISHED = re.compile(r"/spreadsheets/(?:u/\d+/)?d/e/([A-Za-z0-9_-]{10,})")
_DRIVE_FILE = re.compile(r"/file/(?:u/\d+/)?d/([A-Za-z0-9_-]{10,})")
_BARE_ID = re.compile(r"[A-Za-z0-9_-]{20,}")
_GID = re.compile(r"(?:^|[&?#])gid=(\d+)")


@dataclass(frozen=True)
class DownloadLink:
    url: str  # what to download
    rewritten: bool  # True when `url` differs from the link given
    gid: int | None = None  # a Google Sheets link's tab id (#gid=), if it had one
    one_tab: bool = False  # `url` downloads that tab alone (as CSV)


@dataclass(frozen=True)
class SheetLink:
    spreadsheet_id: str
    gid: int | None  # the tab's sheetId from `#gid=`, None when the link names no tab


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) — two URLs with the same origin may share credentials."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _gid(parts) -> int | None:
    for text in (parts.fragment, parts.query):
        m = _GID.search("&" + text)
        if m:
            return int(m.group(1))
    return None


def download_link(url: str, sheet: str | None = None) -> DownloadLink:
    """The address of the file behind a share link (unchanged when it is not one we know).
    `sheet`: the tab the source's configuration names, which wins over a link's `gid`."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    query = parse_qsl(parts.query, keep_blank_values=True)

    def rebuilt(path: str, q: list[tuple[str, str]], gid: int | None = None, one_tab: bool = False) -> DownloadLink:
        new = urlunsplit((parts.scheme, parts.netloc, path, urlencode(q), ""))
        return DownloadLink(new, new != url.strip(), gid, one_tab)

    if host == "docs.google.com":
        gid = _gid(parts)
        one_tab = gid is not None and not (sheet and sheet.strip())
        published = _PUBLISHED.search(parts.path)
        if published:
            base = parts.path[: published.end()]
            if one_tab:
                return rebuilt(f"{base}/pub", [("gid", str(gid)), ("single", "true"), ("output", "csv")], gid, True)
            return rebuilt(f"{base}/pub", [("output", "xlsx")], gid)
        found = _SHEET_ID.search(parts.path)
        if found:
            if one_tab:
                return rebuilt(f"{parts.path[: found.end()]}/export", [("format", "csv"), ("gid", str(gid))], gid, True)
            return rebuilt(f"{parts.path[: found.end()]}/export", [("format", "xlsx")], gid)
    if host == "drive.google.com":
        m = _DRIVE_FILE.search(parts.path)
        file_id = m.group(1) if m else dict(query).get("id") if parts.path.rstrip("/") in ("/open", "/uc") else None
        if file_id:
            return rebuilt("/uc", [("export", "download"), ("id", file_id)])
    if host == "dropbox.com" or host.endswith(".dropbox.com"):
        if not host.startswith("dl.") and not any(k == "raw" and v == "1" for k, v in query):
            q = [(k, v) for k, v in query if k != "dl"] + [("dl", "1")]
            return rebuilt(parts.path, q)
    return DownloadLink(url.strip(), False)


def google_sheet_link(url: str) -> SheetLink:
    """The spreadsheet id and tab (`#gid=`) of a Google Sheets link (or of a bare spreadsheet id)."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if not parts.scheme and _BARE_ID.fullmatch(text):
        return SheetLink(text, None)
    host = (parts.hostname or "").lower()
    if _PUBLISHED.search(parts.path):
        raise ConfigError(
            "this is a \"published to the web\" link, which does not name the spreadsheet itself",
            where=redact_url(text),
            hint='use the link from the browser\'s address bar while the sheet is open '
                 '(https://docs.google.com/spreadsheets/d/…/edit), or read the published file with kind = "url"',
        )
    m = _SHEET_ID.search(parts.path)
    if host != "docs.google.com" or not m:
        hint = "copy the link from the browser's address bar while the sheet is open"
        if host == "drive.google.com":
            hint = ("this is a Google Drive file link: if it is an Excel file, open it and use File → Save as "
                    'Google Sheets, or read it with kind = "url"; ' + hint)
        raise ConfigError(
            "this is not a Google Sheets link (expected https://docs.google.com/spreadsheets/d/…)",
            where=redact_url(text), hint=hint,
        )
    return SheetLink(m.group(1), _gid(parts))


__all__ = ["DownloadLink", "SheetLink", "download_link", "google_sheet_link", "origin", "redact_text", "redact_url"]
