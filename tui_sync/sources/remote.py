"""A sheet at a URL → `Table`: one careful download, then the same readers as local files.

- https:// only, unless `allow_insecure_http` (then with a warning and a note);
- HTTP basic auth from a secret, sent only to the configured address's origin: our
  own redirect loop drops it on a cross-origin hop and refuses https → http downgrades;
- a size cap while streaming, progress reports, a timeout for silence;
- retries with backoff for connection failures, cut-off downloads, 429 (honouring
  `Retry-After`, seconds or an HTTP date, up to a cap) and 5xx;
- a message for each failure that says what to check. URLs in messages and logs
  are redacted (`links.redact_url`); httpx's own request log is silenced.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hashlib
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from tui_sync.config import SourceConfig
from tui_sync.errors import ConfigError, SourceError
from tui_sync.secrets import reveal
from tui_sync.sources.cache import FetchCache
from tui_sync.sources.links import DownloadLink, download_link, origin, redact_text, redact_url
from tui_sync.sources.local import read_bytes, size_text
from tui_sync.sources.table import Table
from tui_sync.tls import host_of, ssl_context, untrusted

log = logging.getLogger(__name__)

Progress = Callable[[int, "int | None"], None]
T = TypeVar("T")

MAX_REDIRECTS = 10
_CHUNK = 1 << 16
_REDIRECTS = {301, 302, 303, 307, 308}
# Libraries whose request logs carry URLs (with query strings) or headers.
_CHATTY_LOGGERS = ("httpx", "httpcore", "urllib3", "google.auth", "google.oauth2")
_WEB_PAGE = "this is a web page, not the file"


def quiet_http_logs() -> None:
    """Keep request logs (URLs, query strings, headers) of the HTTP libraries out of our logs."""
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry transient failures.

    `sleep` does every wait between attempts; tests pass one that records the waits asked for.
    """

    attempts: int = 4  # tries in all
    base_delay: float = 0.5  # first backoff, doubled each time
    max_delay: float = 8.0  # longest backoff without a Retry-After
    max_retry_after: float = 60.0  # longest Retry-After honoured; a longer one is reported, not waited for
    sleep: Callable[[float], None] = dataclasses.field(default=time.sleep, repr=False, compare=False)

    def backoff(self, retry: int) -> float:
        return min(self.max_delay, self.base_delay * 2**retry) * random.uniform(1.0, 1.2)


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - (now or dt.datetime.now(dt.timezone.utc))).total_seconds())


def secret_identity(value: str) -> str:
    """A short, one-way identity of a secret for cache keys."""
    return hashlib.sha256(b"tui-sync cache key\0" + value.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Download:
    data: bytes
    content_type: str | None
    url: str  # the address that answered, after redirects (may carry a query: never show it unredacted)


class _Retry(Exception):
    """A transient failure: `error` is what to report if the retries run out."""

    def __init__(self, error: SourceError, retry_after: float | None = None):
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Prepared:
    where: str  # the configured address, redacted
    link: DownloadLink
    insecure: bool
    credentials: tuple[str, str] | None = dataclasses.field(repr=False)


def download_source(cfg: SourceConfig, state_dir: Path, *, progress: Progress | None = None,
                    cache: FetchCache | None = None, retry: RetryPolicy = RetryPolicy()) -> Download:
    """The bytes of a `kind = "url"` source (from `cache` when this run fetched them already)."""
    return _download_prepared(cfg, _prepare(cfg, state_dir), progress, cache, retry)


def fetch_url(cfg: SourceConfig, state_dir: Path, *, progress: Progress | None = None,
              cache: FetchCache | None = None, retry: RetryPolicy = RetryPolicy()) -> Table:
    """Download a CSV or XLSX file (`kind = "url"`) and read it like a local file."""
    prep = _prepare(cfg, state_dir)
    got = _download_prepared(cfg, prep, progress, cache, retry)
    link, where = prep.link, prep.where
    notes = []
    if prep.insecure:
        notes.append("downloaded over plain http:// (allow_insecure_http = true): anyone on the network "
                     "could read or change it")
    if link.rewritten:
        notes.append(f"read the share link as a direct download: {redact_url(link.url)}")
    if link.gid is not None:
        notes.append(f"read the tab the link names (gid={link.gid}) alone, as CSV" if link.one_tab else
                     f"sheet = {cfg.options.sheet!r} is read, not the tab the link names (gid={link.gid})")
    try:
        table = read_bytes(got.data, where, cfg.options, got.content_type)
    except SourceError as exc:
        if _WEB_PAGE in exc.message and redact_url(got.url) != redact_url(link.url):
            raise SourceError(f"{exc.message} (the address redirected to {redact_url(got.url)})",
                              where=where, hint=exc.hint) from None
        raise
    return dataclasses.replace(table, notes=tuple(notes) + table.notes)


def _prepare(cfg: SourceConfig, state_dir: Path) -> _Prepared:
    if not cfg.url:
        raise ConfigError('kind = "url" needs url = "https://…"')
    where = redact_url(cfg.url)
    link = download_link(cfg.url, cfg.options.sheet)
    insecure = _check_address(link.url, cfg, where)
    quiet_http_logs()
    return _Prepared(where, link, insecure, _credentials(cfg, state_dir, where))


def _download_prepared(cfg: SourceConfig, prep: _Prepared, progress: Progress | None, cache: FetchCache | None,
                       retry: RetryPolicy) -> Download:
    def fetch() -> Download:
        if prep.insecure:
            log.warning("%s: downloading over plain http:// (allow_insecure_http = true)", prep.where)
        return download(prep.link.url, cfg, prep.where, credentials=prep.credentials, progress=progress,
                        retry=retry)

    if cache is None:
        return fetch()
    creds = prep.credentials
    identity = (creds[0], secret_identity(creds[1])) if creds else None
    return cache.get_or_fetch(("url", prep.link.url, identity, str(cfg.ca_file or "")), fetch)


# ---------------------------------------------------------------- settings


def _check_address(url: str, cfg: SourceConfig, where: str) -> bool:
    """True when the download goes over plain http:// (allowed, with a warning)."""
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL:
        raise ConfigError("this is not a valid address", where=where, hint="use an https:// address") from None
    if parts.userinfo:
        raise ConfigError("the address holds a user name or password", where=where,
                          hint='remove them from the address; set username and password = { env = "…" } instead')
    if parts.scheme == "http":
        if not cfg.allow_insecure_http:
            raise ConfigError("plain http:// can be read and changed on the way", where=where,
                              hint="use https://, or set allow_insecure_http = true if you trust this network")
        return True
    if parts.scheme != "https":
        raise ConfigError(f"unsupported address scheme {parts.scheme!r}", where=where, hint="use an https:// address")
    return False


def _credentials(cfg: SourceConfig, state_dir: Path, where: str) -> tuple[str, str] | None:
    if cfg.username is None and cfg.password is None:
        return None
    if cfg.username is None or cfg.password is None:
        raise ConfigError("username and password go together", where=where,
                          hint='set both: username = "…" and password = { env = "…" }')
    return cfg.username, reveal(cfg.password, state_dir)


# ---------------------------------------------------------------- the download


def download(url: str, cfg: SourceConfig, where: str, *, credentials: tuple[str, str] | None = None,
             progress: Progress | None = None, retry: RetryPolicy = RetryPolicy()) -> Download:
    """GET `url` with retries; every failure is a `SourceError` (where = `where`)."""
    client = httpx.Client(
        verify=ssl_context(cfg.ca_file), timeout=httpx.Timeout(cfg.timeout), follow_redirects=False,
        headers={"User-Agent": "tui-sync", "Accept": "*/*"},
    )
    with client:
        attempt = 0
        while True:
            try:
                return _attempt(client, url, cfg, where, credentials, progress)
            except _Retry as transient:
                attempt += 1
                wait = transient.retry_after
                if wait is not None and wait > retry.max_retry_after:
                    raise SourceError(
                        f"{transient.error.message}; the server asks to wait {wait:,.0f} s", where=where,
                        hint=f"try again later (tui-sync waits at most {retry.max_retry_after:,.0f} s)",
                    ) from None
                if attempt >= retry.attempts:
                    e = transient.error
                    raise SourceError(f"{e.message} ({attempt} attempts)", where=where, hint=e.hint) from None
                wait = retry.backoff(attempt - 1) if wait is None else wait
                log.info("%s: %s; trying again in %.1f s", where, transient.error.message, wait)
                retry.sleep(wait)


def _attempt(client: httpx.Client, url: str, cfg: SourceConfig, where: str,
             credentials: tuple[str, str] | None, progress: Progress | None) -> Download:
    home = origin(url)
    current = httpx.URL(url)
    for _hop in range(MAX_REDIRECTS + 1):
        same_origin = origin(str(current)) == home
        auth = httpx.BasicAuth(*credentials) if credentials and same_origin else None
        withheld = credentials is not None and not same_origin  # never sent to another origin
        response = _send(client, client.build_request("GET", current), auth, cfg, where, current)
        try:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                current = _next_hop(current, response.headers["location"], cfg, where)
                continue
            if response.status_code != 200:
                raise _status_error(response, where, current, url, credentials is not None, withheld)
            data = _read_body(response, cfg, where, progress)
            return Download(data, response.headers.get("content-type"), str(current))
        finally:
            response.close()
    raise SourceError(f"the address redirects more than {MAX_REDIRECTS} times", where=where,
                      hint="open it in a browser to see where it leads; use the final address of the file")


def _next_hop(current: httpx.URL, location: str, cfg: SourceConfig, where: str) -> httpx.URL:
    try:
        nxt = current.join(location)
    except httpx.InvalidURL:
        raise SourceError("the server redirected to an invalid address", where=where,
                          hint="check the address; the server may be misconfigured") from None
    if nxt.userinfo:
        nxt = nxt.copy_with(username=None, password=None)
    if nxt.scheme == "http" and not cfg.allow_insecure_http:
        raise SourceError(f"the server redirected to plain http:// ({redact_url(str(nxt))})", where=where,
                          hint="use an https:// address that serves the file; allow_insecure_http = true "
                               "permits this if you trust the network")
    if nxt.scheme not in ("http", "https"):
        raise SourceError(f"the server redirected to an unsupported address ({nxt.scheme}:)", where=where,
                          hint="use the direct address of the file")
    return nxt


def _send(client: httpx.Client, request: httpx.Request, auth: httpx.Auth | None, cfg: SourceConfig,
          where: str, url: httpx.URL) -> httpx.Response:
    there = "" if redact_url(str(url)) == where else f" ({redact_url(str(url))})"
    try:
        return client.send(request, auth=auth, stream=True)
    except httpx.ConnectTimeout:
        raise _Retry(SourceError(f"could not connect within {cfg.timeout:g} s{there}", where=where,
                                 hint="check the address, the network and any proxy or firewall")) from None
    except httpx.TimeoutException:
        raise _silence(cfg, where) from None
    except httpx.ProxyError as exc:
        raise SourceError(f"the proxy refused the connection: {redact_text(exc)}", where=where,
                          hint="check HTTPS_PROXY / HTTP_PROXY / NO_PROXY") from None
    except httpx.ConnectError as exc:
        raise _connect_error(exc, url, where, there) from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise _Retry(SourceError(f"the connection broke before an answer{there}: {redact_text(exc)}", where=where,
                                 hint="check the network and try again")) from None
    except httpx.HTTPError as exc:
        raise SourceError(f"the download failed{there}: {redact_text(exc)}", where=where,
                          hint="check the address and the network") from None


def _silence(cfg: SourceConfig, where: str) -> SourceError:
    return SourceError(f"the server sent nothing for {cfg.timeout:g} s", where=where,
                       hint="the server may be overloaded or the file slow to produce; try again, or raise "
                            "timeout = … (seconds) in the source's settings")


def _connect_error(exc: httpx.ConnectError, url: httpx.URL, where: str, there: str) -> Exception:
    cause: BaseException | None = exc
    trust = untrusted(exc, host_of(str(url)), "in the source's settings")
    if trust is not None:
        return SourceError(trust[0], where=where, hint=trust[1])
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLError):
        reason = cause.reason or type(cause).__name__
        hint = ("is it a plain http:// server? check the address's scheme and port"
                if "WRONG_VERSION_NUMBER" in str(reason).upper() else
                "the server's TLS setup may be too old or broken; check the address and port")
        return SourceError(f"TLS handshake failed ({reason}){there}", where=where, hint=hint)
    text = str(exc).lower()
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return SourceError(f"cannot find the server's name{there}", where=where,
                           hint="check the address for typos, and the machine's DNS / network")
    message = "the server refused the connection" if "refused" in text else f"cannot connect: {redact_text(exc)}"
    return _Retry(SourceError(f"{message}{there}", where=where,
                              hint="check the address and port, and that the server is up"))


def _status_error(response: httpx.Response, where: str, url: httpx.URL, start: str, has_credentials: bool,
                  withheld: bool) -> Exception:
    status = response.status_code
    what = f"{status} {response.reason_phrase}".strip()
    there = "" if redact_url(str(url)) == redact_url(start) else f" at {redact_url(str(url))}"
    if status == 429:
        return _Retry(SourceError(f"the server is limiting requests ({what}){there}", where=where,
                                  hint="try again later; a scheduled run retries by itself"),
                      parse_retry_after(response.headers.get("retry-after")))
    if status >= 500:
        return _Retry(SourceError(f"the server failed ({what}){there}", where=where,
                                  hint="the problem is on the server's side; try again later"),
                      parse_retry_after(response.headers.get("retry-after")))
    if status == 401:
        if withheld:
            return SourceError(
                f"the server asks for a user name and password ({what}){there}, but the address redirected to "
                "another site, and credentials are only sent to the configured address's site", where=where,
                hint="use the final address of the file as url")
        if has_credentials:
            return SourceError(f"the user name or password was refused ({what}){there}", where=where,
                               hint="check username and the password secret; the account may be locked or expired")
        return SourceError(f"the server asks for a user name and password ({what}){there}", where=where,
                           hint='set username = "…" and password = { env = "…" } in the source\'s settings')
    if status == 403:
        return SourceError(f"access denied ({what}){there}", where=where,
                           hint="the account (or the share link) has no right to read this file: check its "
                                "sharing settings and the username")
    if status in (404, 410):
        return SourceError(f"no file at this address ({what}){there}", where=where,
                           hint="check the address; the file may have moved, or the share link expired")
    return SourceError(f"the server answered {what}{there}", where=where,
                       hint="check the address; open it in a browser to see what the server says")


def _read_body(response: httpx.Response, cfg: SourceConfig, where: str, progress: Progress | None) -> bytes:
    try:
        total = int(response.headers["content-length"]) if "content-length" in response.headers else None
    except ValueError:
        total = None
    if total is not None and total > cfg.max_bytes and "content-encoding" not in response.headers:
        raise _too_big(where, total, cfg.max_bytes)
    if progress:
        progress(0, total)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes(_CHUNK):
            size += len(chunk)
            if size > cfg.max_bytes:
                raise _too_big(where, None, cfg.max_bytes)
            chunks.append(chunk)
            if progress:
                progress(response.num_bytes_downloaded, total)
    except httpx.TimeoutException:
        raise _silence(cfg, where) from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError):
        got = f"{response.num_bytes_downloaded:,} of {total:,} bytes" if total else \
            f"{response.num_bytes_downloaded:,} bytes"
        raise _Retry(SourceError(f"the download was cut off after {got}", where=where,
                                 hint="the connection broke; check the network and try again")) from None
    return b"".join(chunks)


def _too_big(where: str, size: int | None, limit: int) -> SourceError:
    told = f"the file is {size_text(size)}, " if size else "the download is "
    return SourceError(f"{told}over the max_bytes limit of {size_text(limit)}", where=where,
                       hint="check that this is the right file (a sheet of departments or users is far smaller), "
                            "or raise max_bytes")


__all__ = ["Download", "FetchCache", "RetryPolicy", "download", "download_source", "fetch_url", "parse_retry_after",
           "quiet_http_logs", "secret_identity", "ssl_context"]
