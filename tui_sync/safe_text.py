"""Text made safe to show: URLs redacted (O1) and control characters escaped (F4).

`redact_url` is the one way a URL reaches a message, a log line, the run history or
a notification: no user info, query string or fragment (tokens live there: Dropbox
`rlkey`, signed URLs), and of the path only its first segment (a webhook's or a
share link's path is often the secret itself: `/services/T0/B0/XYZ`,
`/spreadsheets/d/ID`).

`escape_controls` shows a value from a sheet, the LMS or a file as text and never as
terminal control: `ESC[2K` becomes `\\x1b[2K`, a line break `\\n`.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_TRAILING = re.compile(r"[).,;:]+$")  # a sentence's punctuation after an address, kept after its redaction
# C0 controls, DEL, C1 controls (CSI = \x9b on some terminals), and the bidirectional overrides
# and isolates that reorder what a terminal shows (U+202A-U+202E, U+2066-U+2069)
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
CUT = "…"


def redact_url(url: str) -> str:
    """`scheme://host[:port]/first-segment/…`: no credentials, query string or fragment, and of the
    path only its first segment."""
    try:
        parts = urlsplit(str(url).strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<an unreadable address>"
    if not parts.scheme or not host:
        return _first_segment(re.split(r"[?#]", str(url).split("@")[-1], maxsplit=1)[0])
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return urlunsplit((parts.scheme.lower(), host + port, _first_segment(parts.path), "", ""))


def _first_segment(path: str) -> str:
    head, sep, rest = path.lstrip("/").partition("/")
    lead = "/" if path.startswith("/") else ""
    return f"{lead}{head}/{CUT}" if sep and rest else path


def redact_text(text: object) -> str:
    """Every URL inside `text` (an exception's message, a config error) redacted."""
    def one(m: re.Match[str]) -> str:
        url = m.group(0)
        tail = _TRAILING.search(url)
        return redact_url(url[:tail.start()]) + tail.group(0) if tail else redact_url(url)
    return _URL_IN_TEXT.sub(one, str(text))


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def escape_controls(value: object) -> str:
    """One value shown on one line: every control character escaped (`\\x1b`, `\\n`, `\\t`)."""
    return _CONTROLS.sub(_escape, str(value))


def escape_output(text: str) -> str:
    """A whole message or report: control characters escaped, its own line breaks kept."""
    return _CONTROLS_BUT_NEWLINE.sub(_escape, text)


# what a JSON writer leaves raw inside strings (it escapes only C0) and a terminal still obeys
_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_JSON_RAW_UTF8 = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


def json_text(text: str) -> str:
    """JSON text (`ensure_ascii=False`) made safe to print (F4): DEL, the C1 controls (`\\x9b` is
    CSI on some terminals) and the bidirectional overrides become `\\u` escapes; the JSON reads
    back the same values."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def json_bytes(data: bytes) -> bytes:
    """`json_text` for UTF-8 JSON bytes (whole fragments, as a JSON writer makes them)."""
    if not _JSON_RAW_UTF8.search(data):
        return data
    return _JSON_RAW_UTF8.sub(lambda m: b"\\u%04x" % ord(m.group(0).decode()), data)


def safe_message(text: object) -> str:
    """A message for a log, the run history or a notification: URLs redacted, on one line."""
    return escape_controls(redact_text(text).replace("\n", " "))


__all__ = ["escape_controls", "escape_output", "json_bytes", "json_text", "redact_text", "redact_url",
           "safe_message"]
