"""A Google OAuth token endpoint and a Sheets API v4 emulator on loopback, for the real
gspread and google-auth code to talk to (NOTES "Google Sheets").

- `POST /token`: the service-account JWT grant. The assertion's RS256 signature is
  verified with the public key of the key `make_service_account` generated, and its
  scope recorded; the audience is NOT checked (google-auth always signs for
  https://oauth2.googleapis.com/token, whatever `token_uri` says).
- `GET /v4/spreadsheets/{id}`: metadata; `GET /v4/spreadsheets/{id}/values/{range}` and
  `GET /v4/spreadsheets/{id}/values:batchGet?ranges=…`: values, trailing empty cells and
  rows omitted (ragged rows), FORMATTED_VALUE or UNFORMATTED_VALUE.
- Errors as Google sends them: `{"error": {"code", "message", "status"}}`.
"""
from __future__ import annotations

import base64
import json
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .loopback import LoopbackServer, Reply, Request

_ERR_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
               429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass(frozen=True)
class Cell:
    """A cell whose shown (formatted) text differs from its value: `Cell("007", 7)`."""

    shown: str
    raw: object


@dataclass
class Tab:
    title: str
    rows: list[list[object]]
    sheet_id: int = 0
    hidden: bool = False


@dataclass
class Spreadsheet:
    title: str
    tabs: list[Tab]
    shared: bool = True  # with the service account


def google_error(status: int, message: str, code: str | None = None, headers: dict | None = None,
                 delay: float = 0.0) -> Reply:
    body = {"error": {"code": status, "message": message, "status": code or _ERR_STATUS.get(status, "UNKNOWN")}}
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json; charset=UTF-8",
                                                     **(headers or {})}, delay=delay)


def _json(data: object) -> Reply:
    return Reply(200, json.dumps(data).encode(), {"Content-Type": "application/json; charset=UTF-8"})


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class _Stats:
    token: int = 0
    metadata: int = 0
    values: int = 0  # values requests, batchGet ones included
    batch_gets: int = 0
    scopes: list[str] = field(default_factory=list)
    render_options: list[str] = field(default_factory=list)


class GoogleEmulator(LoopbackServer):
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.public_keys: dict[str, rsa.RSAPublicKey] = {}  # client_email → key
        self.tokens: set[str] = set()
        self.refuse_token: tuple[int, dict] | None = None  # (status, body) for every token request
        self.token_reply: Reply | None = None  # a raw answer to every token request (a proxy's web page)
        self.stats = _Stats()
        self._queued: list[Reply] = []  # API replies to play before normal service
        self._lock = threading.Lock()
        super().__init__(self._dispatch, tls)

    @property
    def token_uri(self) -> str:
        return self.url("/token")

    @property
    def api_base(self) -> str:
        return self.url("").rstrip("/")

    def add(self, spreadsheet_id: str, spreadsheet: Spreadsheet) -> str:
        self.spreadsheets[spreadsheet_id] = spreadsheet
        return f"https://docs.google.com/spreadsheets/d/{spreadsheet_id}/edit"

    def fail_next(self, *replies: Reply) -> None:
        """The next Sheets API calls get these answers, in order."""
        with self._lock:
            self._queued.extend(replies)

    # ------------------------------------------------------------ dispatch

    def _dispatch(self, req: Request) -> Reply:
        if req.method == "POST" and req.path == "/token":
            return self._token(req)
        if req.path.startswith("/v4/spreadsheets/"):
            auth = req.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                return google_error(401, "Request had invalid authentication credentials.")
            with self._lock:
                queued = self._queued.pop(0) if self._queued else None
            if queued is not None:
                return queued
            return self._sheets(req)
        return google_error(404, "Not found")

    def _token(self, req: Request) -> Reply:
        self.stats.token += 1
        if self.token_reply is not None:
            return self.token_reply
        form = parse_qs(req.body.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return Reply(400, json.dumps({"error": "unsupported_grant_type"}).encode(),
                         {"Content-Type": "application/json"})
        try:
            header_b64, payload_b64, sig_b64 = form["assertion"][0].split(".")
            header = json.loads(_b64decode(header_b64))
            payload = json.loads(_b64decode(payload_b64))
            key = self.public_keys[payload["iss"]]
            assert header.get("alg") == "RS256"
            key.verify(_b64decode(sig_b64), f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(),
                       hashes.SHA256())
        except (KeyError, ValueError, AssertionError, InvalidSignature):
            return Reply(400, json.dumps({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
                                         ).encode(), {"Content-Type": "application/json"})
        if self.refuse_token:
            status, body = self.refuse_token
            return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
        self.stats.scopes.append(payload.get("scope", ""))
        token = f"ya29.test-{uuid.uuid4().hex}"
        self.tokens.add(token)
        return _json({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _sheets(self, req: Request) -> Reply:
        rest = req.path[len("/v4/spreadsheets/"):]
        if "/values/" in rest:
            sid, ranges = rest.split("/values/", 1)[0], [unquote(rest.split("/values/", 1)[1])]
        elif rest.endswith("/values:batchGet"):
            sid, ranges = rest[: -len("/values:batchGet")], req.query.get("ranges", [])
        else:
            sid, ranges = rest, None
        sheet = self.spreadsheets.get(sid)
        if sheet is None:
            return google_error(404, "Requested entity was not found.")
        if not sheet.shared:
            return google_error(403, "The caller does not have permission")
        if ranges is None:
            self.stats.metadata += 1
            return _json({"spreadsheetId": sid, "properties": {"title": sheet.title, "locale": "en_US"},
                          "sheets": [{"properties": {"sheetId": t.sheet_id, "title": t.title, "index": i,
                                                     "sheetType": "GRID", **({"hidden": True} if t.hidden else {}),
                                                     "gridProperties": {"rowCount": 1000, "columnCount": 26}}}
                                     for i, t in enumerate(sheet.tabs)]})
        self.stats.values += 1
        self.stats.batch_gets += "/values/" not in req.path
        render = req.query.get("valueRenderOption", ["FORMATTED_VALUE"])[0]
        self.stats.render_options.append(render)
        out = []
        for rng in ranges:
            tab = self._tab(sheet, rng)
            if tab is None:
                return google_error(400, f"Unable to parse range: {rng}")
            out.append(_values(tab, render))
        return _json(out[0] if "/values/" in req.path else {"spreadsheetId": sid, "valueRanges": out})

    @staticmethod
    def _tab(sheet: Spreadsheet, rng: str) -> Tab | None:
        name = rng.rsplit("!", 1)[0] if "!" in rng else rng
        if name.startswith("'") and name.endswith("'"):
            name = name[1:-1].replace("''", "'")
        return next((t for t in sheet.tabs if t.title == name), None)


def _values(tab: Tab, render: str) -> dict:
    def cell(v: object) -> object:
        if isinstance(v, Cell):
            return v.shown if render == "FORMATTED_VALUE" else v.raw
        return "" if v is None else v

    rows = [[cell(v) for v in row] for row in tab.rows]
    rows = [row[: max((i + 1 for i, v in enumerate(row) if v != ""), default=0)] for row in rows]
    while rows and not rows[-1]:
        rows.pop()
    width = max((len(r) for r in rows), default=0)
    last_col = chr(ord("A") + max(width - 1, 0))
    quoted = "'" + tab.title.replace("'", "''") + "'"
    result = {"range": f"{quoted}!A1:{last_col}{max(len(rows), 1)}", "majorDimension": "ROWS"}
    if rows:
        result["values"] = rows
    return result


def make_service_account(emulator: GoogleEmulator, key: rsa.RSAPrivateKey,
                         email: str = "tui-sync@hr-project.iam.gserviceaccount.com") -> dict:
    """A service-account JSON key (as the Cloud console gives it) whose token_uri is the emulator."""
    emulator.public_keys[email] = key.public_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {
        "type": "service_account",
        "project_id": "hr-project",
        "private_key_id": uuid.uuid4().hex,
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": emulator.token_uri,
        "universe_domain": "googleapis.com",
    }


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
