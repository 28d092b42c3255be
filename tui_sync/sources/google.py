"""A Google Sheet read with a service account → `Table` (NOTES "Google Sheets").

gspread over a google-auth `AuthorizedSession`, read-only scope, cells as the
sheet shows them (FORMATTED_VALUE), ragged rows padded in polars, then the one
normalisation step every reader uses (`normalize_grid`).

The Sheets API address can be pointed elsewhere (a loopback emulator in tests)
with `api_base=` or the `TUI_SYNC_GOOGLE_API` environment variable: a requests
transport adapter mounted on the session rewrites https://sheets.googleapis.com.
The token endpoint is the service-account JSON's own `token_uri`. Both the token
request and the API calls trust what every HTTPS client of tui_sync trusts (`tls`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import google.auth.exceptions
import google.auth.transport.requests
import gspread
import polars as pl
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from tui_sync.config import LOOPBACK_HOSTS, SourceConfig
from tui_sync.errors import ConfigError, SourceError, SyncError
from tui_sync.secrets import reveal
from tui_sync.sources.links import google_sheet_link, redact_text, redact_url
from tui_sync.sources.normalize import column_letter, normalize_grid
from tui_sync.sources.remote import FetchCache, RetryPolicy, parse_retry_after, quiet_http_logs
from tui_sync.sources.table import Table
from tui_sync.tls import TrustAdapter, host_of, ssl_context, trusting_session, untrusted

READONLY_SCOPE = "https://www.googleapis.com/auth/spreadsheets.readonly"
SHEETS_API = "https://sheets.googleapis.com"
API_ENV = "TUI_SYNC_GOOGLE_API"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
# Quotas are per minute: backing off 2 + 4 + 8 + 16 + 32 s waits out a full quota window.
GOOGLE_RETRY = RetryPolicy(attempts=6, base_delay=2.0, max_delay=32.0, max_retry_after=65.0)
_AS_SHOWN = {"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"}

_NEW_KEY = ("create a new JSON key: Google Cloud console → IAM & Admin → Service accounts → the account → "
            "Keys → Add key → JSON, and save the file unchanged")
_A1_START = re.compile(r"!?\$?([A-Za-z]{1,3})\$?(\d+)(?::|$)")
T = TypeVar("T")


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    identity: str  # a one-way id of the key, for cache keys
    info: dict[str, Any] = field(repr=False)
    repaired: bool = False  # the private key had literal "\n" instead of line breaks


def load_service_account(cfg: SourceConfig, state_dir: Path) -> ServiceAccount:
    """Read and check the service-account JSON key; a broken one is a `ConfigError` that says how to fix it."""
    if cfg.service_account is None:
        raise ConfigError('a google_sheets source needs service_account = { file = "service-account.json" }',
                          where=redact_url(cfg.url or ""))
    where = cfg.service_account.describe()
    text = reveal(cfg.service_account, state_dir)
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:  # the position only: the message must not quote the key
        raise ConfigError(f"the service account key is not valid JSON (line {exc.lineno}, column {exc.colno})",
                          where=where, hint=_NEW_KEY) from None
    if not isinstance(info, dict):
        raise ConfigError("the service account key is not a JSON object", where=where, hint=_NEW_KEY)
    if info.get("type") != "service_account":
        kind = ("an OAuth client" if {"installed", "web"} & info.keys()
                else "a user's credentials" if info.get("type") == "authorized_user"
                else f"of type {info.get('type')!r}" if info.get("type") else "without a type")
        raise ConfigError(f"this is not a service account key: it is {kind}", where=where, hint=_NEW_KEY)
    missing = [k for k in ("client_email", "private_key") if not isinstance(info.get(k), str) or not info[k].strip()]
    if missing:
        raise ConfigError(f"the service account key lacks {' and '.join(missing)}", where=where, hint=_NEW_KEY)
    info = dict(info)
    info.setdefault("token_uri", DEFAULT_TOKEN_URI)
    key = info["private_key"]
    repaired = "\\n" in key  # pasted through something that escaped the line breaks; base64 never holds "\"
    if repaired:
        key = key.replace("\\r\\n", "\n").replace("\\n", "\n")
    info["private_key"] = key
    if "-----BEGIN" not in key or "PRIVATE KEY-----" not in key:
        raise ConfigError("the private_key in the service account key is not a PEM key "
                          "(it should start with -----BEGIN PRIVATE KEY-----)", where=where, hint=_NEW_KEY)
    try:
        _credentials(info)
    except (ValueError, TypeError, IndexError):  # cryptography's messages carry no key material, but say less
        raise ConfigError(
            "the private_key in the service account key cannot be read: it is damaged or incomplete"
            + (" (its line breaks were written as \\n and were repaired, but it still does not load)"
               if repaired else ""),
            where=where, hint=_NEW_KEY) from None
    identity = hashlib.sha256(f"{info['client_email']}\0{key}".encode()).hexdigest()[:16]
    return ServiceAccount(client_email=info["client_email"].strip(), identity=identity, info=info, repaired=repaired)


def _credentials(info: dict[str, Any]) -> service_account.Credentials:
    return service_account.Credentials.from_service_account_info(info, scopes=[READONLY_SCOPE])


class _ApiBase(TrustAdapter):
    """Sends requests for https://sheets.googleapis.com to another base address."""

    def __init__(self, base: str, loopback: bool, context):
        super().__init__(context)
        self._base = base.rstrip("/")
        self._loopback = loopback

    def send(self, request, *args, **kwargs):  # type: ignore[override]
        if request.url.startswith(SHEETS_API + "/"):
            request.url = self._base + request.url[len(SHEETS_API):]
            if self._loopback:
                kwargs["proxies"] = {}
        return super().send(request, *args, **kwargs)


def _api_base(api_base: str | None) -> str | None:
    base = api_base or os.environ.get(API_ENV) or None
    if base is None or base.rstrip("/") == SHEETS_API:
        return None
    parts = urlsplit(base)
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)):
        raise ConfigError(f"{API_ENV} must be an https:// address (http:// only to localhost)",
                          where=redact_url(base), hint=f"unset {API_ENV} to use Google's own API")
    return base


@dataclass
class _Ctx:
    where: str
    account: ServiceAccount
    token_host: str
    api_host: str
    retry: RetryPolicy
    timeout: float


@dataclass(frozen=True)
class SpreadsheetInfo:
    title: str
    tabs: tuple[str, ...]
    client_email: str


@dataclass
class _Opened:
    ctx: _Ctx
    http: Any  # gspread's HTTPClient
    spreadsheet_id: str
    gid: int | None
    meta: dict
    key: tuple  # the spreadsheet, the key's identity and the API base: what the run's cache entries share


def _open(cfg: SourceConfig, state_dir: Path, cache: FetchCache, api_base: str | None,
          retry: RetryPolicy) -> _Opened:
    if not cfg.url:
        raise ConfigError('kind = "google_sheets" needs url = "https://docs.google.com/spreadsheets/d/…"')
    where = redact_url(cfg.url)
    link = google_sheet_link(cfg.url)
    account = load_service_account(cfg, state_dir)
    base = _api_base(api_base)
    quiet_http_logs()
    ctx = _Ctx(where, account, redact_url(account.info["token_uri"]), host_of(base or SHEETS_API), retry, cfg.timeout)
    ident = _key(link.spreadsheet_id, account, base)

    def make_client() -> gspread.Client:
        trust = ssl_context(cfg.ca_file)
        sign_in = google.auth.transport.requests.Request(trusting_session(trust))
        session = trusting_session(trust, AuthorizedSession(_credentials(account.info), auth_request=sign_in,
                                                            refresh_timeout=cfg.timeout))
        if base:
            session.mount(SHEETS_API + "/", _ApiBase(base, urlsplit(base).hostname in LOOPBACK_HOSTS, trust))
        client = gspread.Client(auth=None, session=session)
        client.set_timeout(cfg.timeout)
        return client

    # One client (one token) and one metadata read per spreadsheet and key per run.
    http = cache.get_or_fetch(ident[2:] + ("client",), make_client).http_client
    meta = cache.get_or_fetch(ident + ("metadata",), lambda: _call(ctx, lambda: http.fetch_sheet_metadata(
        link.spreadsheet_id, params={"includeGridData": "false", "fields": "properties.title,sheets.properties"})))
    return _Opened(ctx, http, link.spreadsheet_id, link.gid, meta, ident)


def _key(spreadsheet_id: str, account: ServiceAccount, base: str | None) -> tuple:
    return ("google", spreadsheet_id, account.identity, base)


def spreadsheet_info(cfg: SourceConfig, state_dir: Path, *, cache: FetchCache | None = None,
                     api_base: str | None = None, retry: RetryPolicy = GOOGLE_RETRY) -> SpreadsheetInfo:
    """The spreadsheet's title and tabs: proves the link, the key and the sharing work."""
    opened = _open(cfg, state_dir, cache if cache is not None else FetchCache(), api_base, retry)
    tabs = tuple(s.get("properties", {}).get("title", "") for s in opened.meta.get("sheets", []))
    title = str(opened.meta.get("properties", {}).get("title", ""))
    return SpreadsheetInfo(title, tabs, opened.ctx.account.client_email)


def fetch_google(cfg: SourceConfig, state_dir: Path, *, cache: FetchCache | None = None,
                 api_base: str | None = None, retry: RetryPolicy = GOOGLE_RETRY) -> Table:
    """Read one tab of a Google Sheet (`kind = "google_sheets"`)."""
    cache = cache if cache is not None else FetchCache()
    o = _open(cfg, state_dir, cache, api_base, retry)
    tabs = [s.get("properties", {}) for s in o.meta.get("sheets", [])]
    title, notes = _pick_tab(tabs, cfg.options.sheet, o.gid, o.ctx.where)
    values = _values(o, cache, tabs, title)
    if o.ctx.account.repaired:
        notes.append("the service account key's private_key had its line breaks written as \\n; "
                     "they were repaired on the fly (save the key file unchanged to avoid this)")
    table = _to_table(values, title, o.ctx.where, cfg, names=tuple(t.get("title", "") for t in tabs))
    return dataclasses.replace(table, notes=tuple(notes) + table.notes)


def read_together(cfgs: Iterable[SourceConfig], state_dir: Path, cache: FetchCache, *,
                  api_base: str | None = None) -> None:
    """Let the sources of one run that are tabs of one spreadsheet read their values together
    (fewer requests against the Sheets quota).

    Notes in `cache` which tabs the run reads from each spreadsheet (per key and API base);
    the first `fetch_google` of one of them then reads them all with one batchGet call.
    Nothing is fetched here: a source this cannot place (a broken key or link) is left to
    its own read, which reports the problem as it always has.
    """
    runs: dict[tuple, list[tuple[str | None, int | None]]] = {}
    for cfg in cfgs:
        if cfg.kind != "google_sheets" or not cfg.url:
            continue
        try:
            link = google_sheet_link(cfg.url)
            key = _key(link.spreadsheet_id, load_service_account(cfg, state_dir), _api_base(api_base))
        except SyncError:
            continue
        runs.setdefault(key, []).append((cfg.options.sheet, link.gid))
    for key, wanted in runs.items():
        if len(wanted) > 1:
            cache.get_or_fetch(key + ("tabs",), lambda wanted=tuple(wanted): wanted)


def _values(o: _Opened, cache: FetchCache, tabs: list[dict], title: str) -> dict:
    """The tab's values, read with one values:get call, or with one batchGet call together with the
    run's other tabs of this spreadsheet (`read_together`). Failures are not cached."""
    together: dict[str, None] = {}
    for wanted, gid in cache.get_or_fetch(o.key + ("tabs",), tuple):
        try:
            together[_pick_tab(tabs, wanted, gid, o.ctx.where)[0]] = None
        except SourceError:  # that source's own read says what is wrong
            pass
    titles = tuple(together)
    if title in titles and len(titles) > 1:
        batch = cache.get_or_fetch(o.key + ("batch",) + titles, lambda: _call(o.ctx, lambda: o.http.values_batch_get(
            o.spreadsheet_id, [_a1(t) for t in titles], params=dict(_AS_SHOWN))))
        return batch["valueRanges"][titles.index(title)]
    return cache.get_or_fetch(o.key + ("values", title), lambda: _call(o.ctx, lambda: o.http.values_get(
        o.spreadsheet_id, _a1(title), params=dict(_AS_SHOWN))))


# ---------------------------------------------------------------- tabs and values


def _a1(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _pick_tab(tabs: list[dict], wanted: str | None, gid: int | None, where: str) -> tuple[str, list[str]]:
    titles = [t.get("title", "") for t in tabs]
    listed = ", ".join(repr(t) for t in titles)
    if not tabs:
        raise SourceError("the spreadsheet has no tabs", where=where, hint="check the link")
    by_gid = next((t.get("title") for t in tabs if gid is not None and t.get("sheetId") == gid), None)
    notes: list[str] = []
    if wanted and wanted.strip():
        if wanted in titles:
            title = wanted
        else:
            folded = [t for t in titles if t.strip().casefold() == wanted.strip().casefold()]
            if len(folded) != 1:
                raise SourceError(f"there is no tab named {wanted!r}; the spreadsheet's tabs are: {listed}",
                                  where=where, hint='set sheet = "…" to one of those names, or leave it out to '
                                                    "use the tab the link points to (#gid=) or the first one")
            title = folded[0]
        if by_gid is not None and by_gid != title:
            notes.append(f"the link points to tab {by_gid!r} (#gid={gid}); read {title!r} as sheet = \"…\" says")
        return title, notes
    if gid is not None:
        if by_gid is None:
            raise SourceError(f"the link's tab (#gid={gid}) is not in this spreadsheet; its tabs are: {listed}",
                              where=where, hint='copy the link again with the tab open, or set sheet = "…"')
        return by_gid, notes
    visible = [t.get("title", "") for t in tabs if not t.get("hidden")]
    title = visible[0] if visible else titles[0]
    if title != titles[0]:
        notes.append(f"skipped hidden tabs before {title!r}; read the first visible tab")
    return title, notes


def _to_table(resp: dict, title: str, where: str, cfg: SourceConfig, names: tuple[str, ...]) -> Table:
    what = f"tab {title!r}"
    values = resp.get("values") or []
    blob = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    start_row, start_col = _start(resp.get("range", ""))
    if not values:
        raise SourceError(f"{what} is empty", where=where,
                          hint='check the tab (sheet = "…" or the link\'s #gid=) and that it holds the data')
    cells = pl.Series("cells", values, dtype=pl.List(pl.String), strict=False)
    width = int(cells.list.len().max() or 0)
    grid = pl.DataFrame({f"c{i}": cells.list.get(i, null_on_oob=True) for i in range(max(width, 1))})
    header_row = cfg.options.header_row
    if start_row > header_row:  # the answer starts below the header row: those rows are blank
        blank = pl.DataFrame({c: [None] * (start_row - header_row) for c in grid.columns},
                             schema={c: pl.String for c in grid.columns})
        grid = pl.concat([blank, grid])
    else:
        grid = grid.slice(header_row - start_row)
    if grid.height == 0:
        raise SourceError(f"header_row = {header_row}, but {what} has values only down to row "
                          f"{start_row + len(values) - 1}", where=where,
                          hint="set header_row to the row that holds the column names")
    letters = [column_letter(start_col + i) for i in range(grid.width)]
    df, headers = normalize_grid(grid, source=where, header_row=header_row, columns=letters, what=what)
    return Table(df=df, headers=headers, source=where, format="google_sheets", sheet=title, sheet_names=names,
                 size_bytes=len(blob), fingerprint=hashlib.sha256(blob).hexdigest())


def _start(a1: str) -> tuple[int, int]:
    """(row, 0-based column) where a values range like "'Users'!A1:F20" starts."""
    cell = a1.rsplit("!", 1)[-1] if "!" in a1 else ""
    m = _A1_START.match(cell)
    if not m:
        return 1, 0
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + (ord(ch) - ord("A") + 1)
    return int(m.group(2)), col - 1


# ---------------------------------------------------------------- calls and their errors


def _call(ctx: _Ctx, fn: Callable[[], T]) -> T:
    attempt = 0
    while True:
        try:
            return fn()
        except gspread.exceptions.APIError as exc:
            status = exc.response.status_code
            if status != 429 and status < 500:
                raise _api_error(exc, ctx) from None
            error, wait = _api_error(exc, ctx), parse_retry_after(exc.response.headers.get("Retry-After"))
        except google.auth.exceptions.RefreshError as exc:
            raise _token_error(exc, ctx) from None
        except (TypeError, ValueError, KeyError) as exc:
            if not _in_sign_in(exc):
                raise
            raise SourceError(f"Google's sign-in server ({ctx.token_host}) answered with something other than "
                              "an access token (a web page?)", where=ctx.where,
                              hint="a proxy or captive portal may be answering instead of Google: check the "
                                   "network, any proxy, and the token_uri in the service account key") from None
        except google.auth.exceptions.TransportError as exc:
            trust = untrusted(exc, host_of(ctx.token_host), "in the source's settings", "Google's sign-in server")
            if trust is not None:
                raise SourceError(trust[0], where=ctx.where, hint=trust[1]) from None
            raise SourceError(f"cannot reach Google's sign-in server ({ctx.token_host})", where=ctx.where,
                              hint="check the network, any proxy, and the token_uri in the service account key"
                              ) from None
        except requests.exceptions.SSLError as exc:
            trust = untrusted(exc, ctx.api_host, "in the source's settings", "the Google Sheets API")
            message, hint = trust or (f"TLS: the connection to the Google Sheets API ({ctx.api_host}) failed",
                                      "a proxy may be intercepting TLS: set ca_file = \"ca.pem\" (its CA, PEM) in "
                                      "the source's settings, or point SSL_CERT_FILE or REQUESTS_CA_BUNDLE at it")
            raise SourceError(message, where=ctx.where, hint=hint) from None
        except requests.exceptions.ConnectTimeout:
            error, wait = SourceError(f"could not connect to the Google Sheets API within {ctx.timeout:g} s",
                                      where=ctx.where, hint="check the network and any proxy or firewall"), None
        except requests.exceptions.Timeout:
            raise SourceError(f"the Google Sheets API sent nothing for {ctx.timeout:g} s", where=ctx.where,
                              hint="try again; raise timeout = … (seconds) for a very large sheet") from None
        except requests.exceptions.ConnectionError:
            error, wait = SourceError("cannot reach the Google Sheets API", where=ctx.where,
                                      hint="check the network and any proxy or firewall"), None
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"the request to the Google Sheets API failed: {redact_text(exc)[:300]}",
                              where=ctx.where, hint="check the network and try again") from None
        attempt += 1
        if wait is not None and wait > ctx.retry.max_retry_after:
            raise SourceError(f"{error.message}; Google asks to wait {wait:,.0f} s", where=ctx.where,
                              hint=error.hint)
        if attempt >= ctx.retry.attempts:
            raise SourceError(f"{error.message} ({attempt} attempts)", where=ctx.where, hint=error.hint)
        ctx.retry.sleep(ctx.retry.backoff(attempt - 1) if wait is None else wait)


def _in_sign_in(exc: BaseException) -> bool:
    """Raised inside google-auth, reading the token endpoint's answer (O3: a 200 with a web page
    makes it index a string)."""
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(("google.auth", "google.oauth2")):
            return True
        tb = tb.tb_next
    return False


def _api_error(exc: gspread.exceptions.APIError, ctx: _Ctx) -> SourceError:
    status = exc.response.status_code
    error = exc.error if isinstance(exc.error, dict) else {}
    message = redact_text(str(error.get("message") or "")).strip()[:300]
    code = str(error.get("status") or "")
    said = f" ({status} {code}: {message})" if message and code else f" ({status})"
    email = ctx.account.client_email
    if status == 403:
        lower = message.lower()
        if "has not been used" in lower or "is disabled" in lower or "service_disabled" in json.dumps(error).lower():
            return SourceError(f"the Google Sheets API is not enabled for the service account's project{said}",
                               where=ctx.where, hint="enable it: Google Cloud console → APIs & Services → Library → "
                                                     "Google Sheets API → Enable (it takes a few minutes)")
        return SourceError(f"the service account {email} may not open this spreadsheet{said}", where=ctx.where,
                           hint=f"share the sheet with {email} (Viewer): Share → add that address → Viewer")
    if status == 404:
        return SourceError(f"there is no spreadsheet with this link{said}", where=ctx.where,
                           hint="check the link (copy it from the browser's address bar); it may have been deleted")
    if status == 400 and ("not supported for this document" in message.lower() or code == "FAILED_PRECONDITION"):
        return SourceError(f"this link is a file in Google Drive (an Excel file?), not a Google Sheet{said}",
                           where=ctx.where, hint='open it and use File → Save as Google Sheets, or read it with '
                                                 'kind = "url"')
    if status == 401:
        return SourceError(f"Google did not accept the service account's access token{said}", where=ctx.where,
                           hint=f"check that the key of {email} is current and this machine's clock is right")
    if status == 429:
        return SourceError(f"Google's read quota is used up for now{said}", where=ctx.where,
                           hint="wait a minute and try again (the quota is 60 reads a minute per account)")
    if status >= 500:
        return SourceError(f"the Google Sheets API failed{said}", where=ctx.where,
                           hint="the problem is on Google's side; try again later")
    return SourceError(f"the Google Sheets API refused the request{said}", where=ctx.where,
                       hint="check the link and the sheet setting")


def _token_error(exc: google.auth.exceptions.RefreshError, ctx: _Ctx) -> SourceError:
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    error = str(data.get("error") or "")
    detail = str(data.get("error_description") or (exc.args[0] if exc.args else "") or "")
    detail = redact_text(detail).strip()[:300]
    email = ctx.account.client_email
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    clock = f"check that this machine's clock is right (it reads {now})"
    lower = f"{error} {detail}".lower()
    if re.search(r"timeframe|\biat\b|\bexp\b|expired|clock", lower):
        hint = f"{clock}: a clock that is off by minutes makes Google refuse the sign-in"
    elif "signature" in lower:
        hint = f"the key was deleted or replaced in the Cloud console: {_NEW_KEY}; also {clock}"
    elif "invalid_client" in lower or "not found" in lower or "disabled" in lower:
        hint = f"the service account {email} was deleted or disabled: check it in the Cloud console; also {clock}"
    else:
        hint = f"check that the key of {email} is current (not deleted in the Cloud console), and {clock}"
    return SourceError(f"Google refused the service account's sign-in at {ctx.token_host} ({detail or error})",
                       where=ctx.where, hint=hint)


__all__ = ["API_ENV", "GOOGLE_RETRY", "READONLY_SCOPE", "ServiceAccount", "SpreadsheetInfo", "fetch_google",
           "load_service_account", "read_together", "spreadsheet_info"]
