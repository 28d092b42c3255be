"""A small threaded HTTP(S) server on 127.0.0.1:0 whose answers tests script.

`LoopbackServer(handle)` calls `handle(Request) -> Reply` for every request;
`FileServer` routes paths to scripted replies (a list is played in order, the
last one repeating), checks basic auth, and records what it saw.

A `Reply` can misbehave on purpose: `delay` (silence before the answer),
`declared_length` (a Content-Length larger than the body, then close) and
`chunked` (no Content-Length).
"""
from __future__ import annotations

import base64
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds of silence before the status line
    declared_length: int | None = None  # announce this Content-Length, send `body`, close
    chunked: bool = False


@dataclass
class Request:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    origin: str  # the server's own base URL


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, owner: LoopbackServer):
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request, client_address):
        tls = self.owner.tls
        if tls is not None:
            request.settimeout(5)
            try:
                request = tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate: that is what some tests want
            request.settimeout(None)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            try:
                request.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # quiet
        pass

    def _serve(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                      {k.lower(): v for k, v in self.headers.items()}, body, owner.url(""))
        owner.seen.append(req)
        reply = owner.handle(req)
        if reply.delay and owner.stopping.wait(reply.delay):
            return
        self.send_response(reply.status)
        headers = {k.lower(): v for k, v in reply.headers.items()}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in headers:
            self.send_header("Content-Length", str(reply.declared_length or len(reply.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        try:
            if reply.chunked:
                step = 1 << 16
                for i in range(0, len(reply.body), step):
                    piece = reply.body[i:i + step]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up (size cap, timeout): fine

    do_GET = do_POST = do_HEAD = do_PUT = _serve


class LoopbackServer:
    def __init__(self, handle: Callable[[Request], Reply], tls: ssl.SSLContext | None = None):
        self.handle = handle
        self.tls = tls
        self.seen: list[Request] = []
        self.stopping = threading.Event()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>login</form></body></html>"


@dataclass
class _Route:
    replies: list[Reply | Callable[[Request], Reply]]
    auth: tuple[str, str] | None
    served: int = 0


class FileServer(LoopbackServer):
    """Routes: `server.route("/users.csv", Reply(body=...), auth=("hr", "pw"))`."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        super().__init__(self._dispatch, tls)

    def route(self, path: str, *replies: Reply | Callable[[Request], Reply],
              auth: tuple[str, str] | None = None) -> str:
        self.routes[path] = _Route(list(replies) or [Reply()], auth)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302, auth: tuple[str, str] | None = None) -> str:
        return self.route(path, Reply(status, b"", {"Location": location}), auth=auth)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.seen if r.path == path]

    def _dispatch(self, req: Request) -> Reply:
        route = self.routes.get(req.path)
        if route is None:
            return Reply(404, b"<html><body>Not Found</body></html>", {"Content-Type": "text/html"})
        if route.auth and req.headers.get("authorization") != basic_auth(*route.auth):
            return Reply(401, LOGIN_PAGE, {"WWW-Authenticate": 'Basic realm="HR files"', "Content-Type": "text/html"})
        with self._lock:
            reply = route.replies[min(route.served, len(route.replies) - 1)]
            route.served += 1
        return reply(req) if callable(reply) else reply


def free_port() -> int:
    """A port that nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
