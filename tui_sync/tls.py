"""One trust for every HTTPS client: URL sources, Google sign-in and Sheets, iSpring, webhooks.

A certificate is trusted when the machine's CA store, SSL_CERT_FILE / SSL_CERT_DIR,
REQUESTS_CA_BUNDLE or the configured `ca_file` vouches for it. Each adds to the
others (OpenSSL alone would let SSL_CERT_FILE replace the system store), and
loopback addresses get the same trust as any other. httpx clients take the
context as `verify=`; requests sessions (google-auth, gspread) mount
`TrustAdapter`. A certificate that fails is named with these settings
(`untrusted`), never reported as an unreachable server.
"""
from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests.adapters

from .errors import ConfigError

_CA_HINT = "set ca_file to a PEM file holding your CA's certificate(s)"


def ssl_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """A client context trusting the system store, SSL_CERT_FILE / SSL_CERT_DIR,
    REQUESTS_CA_BUNDLE and `ca_file`, all together. A named file that cannot be read
    is a `ConfigError`."""
    ctx = ssl.create_default_context()  # OpenSSL's default paths, or SSL_CERT_FILE / SSL_CERT_DIR instead
    paths = ssl.get_default_verify_paths()
    loaded = {os.path.realpath(p) for p in (paths.cafile, paths.capath) if p}
    if paths.openssl_cafile and os.path.isfile(paths.openssl_cafile) \
            and os.path.realpath(paths.openssl_cafile) not in loaded:
        ctx.load_verify_locations(cafile=paths.openssl_cafile)  # the system store, even under SSL_CERT_FILE
    if paths.openssl_capath and os.path.isdir(paths.openssl_capath):
        ctx.load_verify_locations(capath=paths.openssl_capath)
    loaded |= {os.path.realpath(p) for p in (paths.openssl_cafile, paths.openssl_capath) if p}
    if not ctx.cert_store_stats().get("x509_ca"):
        try:  # no system store Python can see (e.g. python.org builds on macOS)
            import certifi  # (optional: only where Python sees no system store)

            ctx.load_verify_locations(certifi.where())
        except (ImportError, OSError, ssl.SSLError):
            pass
    for variable in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(variable)
        if value and os.path.realpath(value) not in loaded:  # (a missing one is named below)
            _load_ca(ctx, Path(value), f"the file named by {variable}",
                     f"fix or unset the {variable} environment variable")
    if ca_file:
        _load_ca(ctx, Path(ca_file), "ca_file", _CA_HINT)
    return ctx


def _load_ca(ctx: ssl.SSLContext, path: Path, what: str, hint: str) -> None:
    try:
        if path.is_dir():
            ctx.load_verify_locations(capath=str(path))
        else:
            ctx.load_verify_locations(cafile=str(path))
    except FileNotFoundError:
        raise ConfigError(f"{what} does not exist", where=str(path), hint=hint) from None
    except (ssl.SSLError, ValueError, OSError):
        raise ConfigError(f"{what} holds no readable PEM certificate", where=str(path), hint=hint) from None


class TrustAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter whose connections verify with `context` (requests alone
    would trust certifi's bundle or REQUESTS_CA_BUNDLE, and never SSL_CERT_FILE)."""

    def __init__(self, context: ssl.SSLContext, **kw: Any) -> None:
        self._context = context
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        kw["ssl_context"] = self._context
        super().init_poolmanager(*args, **kw)

    def proxy_manager_for(self, proxy: str, **kw: Any) -> Any:
        kw["ssl_context"] = self._context
        return super().proxy_manager_for(proxy, **kw)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        if getattr(conn, "cert_reqs", None) == "CERT_REQUIRED":
            conn.ca_certs = conn.ca_cert_dir = None  # the context holds the whole trust


def trusting_session(context: ssl.SSLContext, session: requests.Session | None = None) -> requests.Session:
    """`session` (or a new one) with https:// going through `TrustAdapter(context)`."""
    session = session if session is not None else requests.Session()
    session.mount("https://", TrustAdapter(context))
    return session


def host_of(url: str) -> str:
    """The host (and port) of an address, for messages: never its user info, path or query."""
    parts = urlsplit(url)
    name = parts.hostname or "the server"
    try:
        return f"{name}:{parts.port}" if parts.port else name
    except ValueError:
        return name


def verification_error(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    """The certificate failure behind `exc` (httpx, requests, urllib3 and google-auth wrap it)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError):
            return e
        todo.extend((e.__cause__, e.__context__, getattr(e, "reason", None), *e.args))
    return None


def untrusted(exc: BaseException | None, host: str, setting: str, server: str = "") -> tuple[str, str] | None:
    """(message, hint) when `exc` is a certificate that failed verification, else None.
    `setting` says where `ca_file` goes, e.g. "in the source's settings" or "in [lms]";
    `server` names the server when its host alone would not ("Google's sign-in server")."""
    error = verification_error(exc)
    if error is None:
        return None
    detail = error.verify_message or "certificate verify failed"
    lower = detail.lower()
    if "hostname" in lower or "ip address mismatch" in lower:
        hint = "the certificate is for another name: use the address the certificate was issued for"
    elif "expired" in lower or "not yet valid" in lower:
        hint = "check the machine's clock; if it is right, the server's certificate must be renewed"
    else:
        hint = (f"if {host} uses your organisation's own CA (or a proxy that inspects TLS), set "
                f'ca_file = "ca.pem" (PEM) {setting}, or point SSL_CERT_FILE or REQUESTS_CA_BUNDLE at it')
    named = f"{server} ({host})" if server else host
    return f"TLS: the certificate of {named} is not trusted ({detail})", hint


__all__ = ["TrustAdapter", "host_of", "ssl_context", "trusting_session", "untrusted", "verification_error"]
