"""Polite, resilient HTTP for a network LMS: one rate limit, bounded concurrency, retries.

- `RateLimiter` is a token bucket (GCRA form) shared by every concurrent call of
  one client: at most `rate` requests a second, `burst` of them back to back. A
  429 pauses it for everyone, not just for the request that got the answer.
- `Requester.request` retries 429 (honouring `Retry-After`), 5xx, timeouts and
  cut connections with exponential backoff. A request that is not idempotent (a
  create) is never retried blindly: when it may have been applied (a timeout, a
  connection cut after it was sent, a 5xx) `UnclearOutcome` is raised so that the
  caller can look whether it happened before trying again. A certificate that is
  not trusted is not retried: the message names the certificate and how to trust it.
- Credentials, tokens and secrets never reach a log line or a message: paths are
  logged without their query, and every text taken from a response or an
  exception passes through `redact`.
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ..errors import LMSError
from ..safe_text import redact_text
from ..tls import host_of, untrusted

log = logging.getLogger("tui_sync.lms.http")

REDACTED = "***"


def quiet_http_logging() -> None:
    """httpx logs every URL at INFO and httpcore traces at DEBUG: keep both at WARNING."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET included: it would follow the root logger
            logger.setLevel(logging.WARNING)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a request that failed for a passing reason.

    `clock` and `sleep` time every wait of a `Requester`, its rate limit's and its retries';
    tests pass a virtual pair that records the waits asked for instead of taking them.
    """

    attempts: int = 6  # tries in all, the first included
    backoff_base: float = 0.5  # seconds before the first retry; doubles each time (with jitter)
    backoff_max: float = 30.0
    retry_after_max: float = 300.0  # a longer Retry-After is an error, not a wait
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep, repr=False, compare=False)

    def backoff(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt` (1-based): exponential, jittered."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


class RateLimiter:
    """At most `rate` starts a second, `burst` of them at once; fair in arrival order.

    Each caller reserves the next free slot and sleeps until it comes, so there is
    no lock and no polling. `pause(seconds)` (after a 429) holds every caller,
    including those already asleep on a reservation. Time is `clock` (seconds) and
    waits are `sleep`.
    """

    def __init__(self, rate: float, *, burst: int = 1, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._clock = clock
        self._sleep = sleep
        self.rate = rate
        self.interval = 1.0 / rate
        self._tolerance = max(0, burst - 1) * self.interval
        self._next = 0.0  # the theoretical time of the next start
        self._paused_until = 0.0

    async def acquire(self) -> None:
        while True:
            now = self._clock()
            if now < self._paused_until:
                await self._sleep(self._paused_until - now)
                continue
            slot = max(self._next, now)
            self._next = slot + self.interval
            wait = slot - self._tolerance - now
            if wait <= 0:
                return
            await self._sleep(wait)
            if self._clock() >= self._paused_until:
                return

    def pause(self, seconds: float) -> None:
        until = self._clock() + seconds
        self._paused_until = max(self._paused_until, until)
        self._next = max(self._next, until)


class Auth(Protocol):
    """How requests are authenticated (see `ispring_auth`)."""

    label: str

    async def headers(self) -> dict[str, str]: ...

    async def refresh(self, used: Mapping[str, str]) -> bool:
        """After a 401 to a request sent with `used`: renew and return True, or False (no renewal possible)."""

    def rejected(self, what: str) -> LMSError:
        """The error for credentials the LMS refuses."""

    def secrets(self) -> Iterable[str]:
        """Every value that must never be shown (secrets, tokens)."""


class ApiError(LMSError):
    """The LMS answered with a refusal (4xx other than 401 and 429)."""

    def __init__(self, message: str, *, status: int, api_message: str, attempts: int, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status
        self.api_message = api_message
        self.attempts = attempts  # > 1: an earlier attempt may have done the work


class UnclearOutcome(LMSError):
    """A request that is not safe to repeat may or may not have been applied."""


# Transport failures that happen before a byte of the request reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Requester:
    """Sends requests to one API: rate limit, concurrency limit, auth, retries, clear errors."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        rate: float,
        concurrency: int,
        retry: RetryPolicy = RetryPolicy(),
        burst: int = 1,
        service: str = "the LMS",
    ) -> None:
        self.client = client
        self.limiter = RateLimiter(rate, burst=burst, clock=retry.clock, sleep=retry.sleep)
        self.retry = retry
        self.service = redact_text(service)  # O1: it names the LMS in every message
        self.auth: Auth | None = None
        self._slots = asyncio.Semaphore(concurrency)

    def redact(self, text: str) -> str:
        if self.auth is not None:
            for secret in self.auth.secrets():
                if secret and len(secret) >= 4:
                    text = text.replace(secret, REDACTED)
        return redact_text(text)

    async def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        idempotent: bool = True,
        authenticate: bool = True,
    ) -> httpx.Response:
        """The 2xx response; raises `ApiError`, `UnclearOutcome` or `LMSError` otherwise.

        `what` completes "could not …" in messages, e.g. "create user jdoe".
        A2: transient failures (timeouts, cut connections, 429, 5xx) are retried with backoff.
        """
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            headers = await self._auth_headers(authenticate)
            answer, started = await self._send(method, path, params=params, json=json, data=data, headers=headers)
            if isinstance(answer, httpx.TransportError):
                problem = self._transport_failure(answer, method, path, what, idempotent, started)
                delay = self.retry.backoff(attempt)
            else:
                status = answer.status_code
                log.debug("%s %s → %d (%.3f s)", method, path, status, time.monotonic() - started)
                if status < 300:
                    return answer
                if status == 401 and authenticate and self.auth is not None:
                    if not renewed and await self.auth.refresh(headers):
                        renewed = True
                        attempt -= 1  # a renewal is not a failed attempt
                        continue
                    raise self.auth.rejected(what)
                problem, delay = self._failed_status(answer, what, idempotent, attempt)
            self._give_up_when_out_of_attempts(attempt, what, problem)
            log.info("%s %s: %s; retrying in %.1f s (attempt %d of %d)",
                     method, path, problem, delay, attempt + 1, self.retry.attempts)
            await self.retry.sleep(delay)

    async def _auth_headers(self, authenticate: bool) -> dict[str, str]:
        if authenticate and self.auth is not None:
            return await self.auth.headers()
        return {}

    async def _send(self, method: str, path: str, *, params: Any, json: Any, data: Mapping[str, str] | None,
                    headers: dict[str, str]) -> tuple[httpx.Response | httpx.TransportError, float]:
        """Wait for a free slot and the shared rate limit, then send once.

        Returns the response, or the transport error that stopped it, and when the sending started.
        """
        async with self._slots:
            await self.limiter.acquire()
            started = time.monotonic()
            try:
                response = await self.client.request(
                    method, path, params=params, json=json, data=data, headers=headers,
                )
            except httpx.TransportError as exc:
                return exc, started
            return response, started

    def _transport_failure(self, exc: httpx.TransportError, method: str, path: str, what: str,
                           idempotent: bool, started: float) -> str:
        """The problem to retry after a transport error; raises when it must not be retried.

        An untrusted certificate is named with how to trust it (O3). A request that is not
        idempotent and may have reached the server is not repeated blindly (A2): `UnclearOutcome`.
        """
        trust = untrusted(exc, host_of(str(self.client.base_url.join(path))), "in [lms]")
        if trust is not None:
            raise LMSError(trust[0], where=self.service, hint=trust[1]) from None
        problem = self._transport_problem(exc)
        log.debug("%s %s: %s after %.2f s", method, path, problem, time.monotonic() - started)
        if not idempotent and not isinstance(exc, _NOT_SENT):
            raise UnclearOutcome(
                f"{problem} while trying to {what}; it may or may not have been done",
                where=self.service,
            ) from None
        return problem

    def _failed_status(self, response: httpx.Response, what: str, idempotent: bool,
                       attempt: int) -> tuple[str, float]:
        """(problem, seconds to wait) for a status worth retrying (429, 5xx); raises otherwise.

        A2: a 429 honours `Retry-After` and pauses every request; one that asks for longer than
        `retry_after_max` is an error. A 5xx to a request that is not idempotent is `UnclearOutcome`.
        Any other status is a refusal (`ApiError`).
        """
        status = response.status_code
        if status == 429:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self.retry.retry_after_max:
                raise LMSError(
                    f"{self.service} asks to wait {retry_after:.0f} s before the next request "
                    f"(while trying to {what})", hint="try again later",
                )
            delay = retry_after if retry_after is not None else self.retry.backoff(attempt)
            self.limiter.pause(delay)  # everyone waits, not just this request
            return "HTTP 429 (too many requests)", delay
        if status >= 500:
            problem = f"HTTP {status} ({_api_message(response, self.redact) or response.reason_phrase})"
            if not idempotent:
                raise UnclearOutcome(
                    f"{self.service} answered {problem} while trying to {what}; "
                    "it may or may not have been done", where=self.service,
                )
            return problem, self.retry.backoff(attempt)
        raise self._refusal(response, what, attempt)

    def _give_up_when_out_of_attempts(self, attempt: int, what: str, problem: str) -> None:
        """O3: after the last attempt, say what failed and how often."""
        if attempt >= self.retry.attempts:
            raise LMSError(
                f"could not {what}: {problem}, {attempt} attempts in all", where=self.service,
                hint="the LMS may be down or overloaded; try again later",
            )

    def _transport_problem(self, exc: httpx.TransportError) -> str:
        if isinstance(exc, httpx.TimeoutException):
            return "no answer in time (timeout)"
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect ({self.redact(str(exc)) or type(exc).__name__})"
        if isinstance(exc, httpx.RemoteProtocolError):
            return "the connection was cut without an answer"
        return f"network error ({self.redact(str(exc)) or type(exc).__name__})"

    def _refusal(self, response: httpx.Response, what: str, attempts: int) -> ApiError:
        status = response.status_code
        message = _api_message(response, self.redact)
        shown = message or response.reason_phrase or "no reason given"
        hint = None
        if status == 403:
            hint = "the API client (or administrator) lacks the rights for this; check its role in the LMS"
        elif 300 <= status < 400:
            shown = "a redirect (is base_url the API address, not the account's web address?)"
            hint = "set [lms] base_url to the API host, e.g. https://api-learn.ispringlearn.com"
        return ApiError(
            f"could not {what}: {shown} (HTTP {status})", status=status, api_message=message,
            attempts=attempts, hint=hint,
        )


def _api_message(response: httpx.Response, redact: Callable[[str], str]) -> str:
    """The `message` of an `{code, message}` error body, else a short text body; redacted."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        if not text or text.startswith("<") or len(text) > 300:
            return ""
        return redact(text)
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str):
                return redact(body[key])
    if isinstance(body, str):
        return redact(body)
    return ""


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
