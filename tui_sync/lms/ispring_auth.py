"""Authentication to the iSpring Learn REST API (NOTES: iSpring).

Two styles, one interface (`http_retry.Auth`):

- `ClientCredentials`: OAuth client credentials. `POST /api/v3/token` (form body,
  never the URL) gives a bearer token that lives `expires_in` seconds. It is
  cached, renewed a little before it expires, and renewed once more when the API
  answers 401 anyway (the token was revoked or the clocks disagree).
- `LegacyHeaders`: the account address, the administrator's login and password
  in `X-Auth-*` headers on every request.

Secrets are revealed by the caller and held here only; `secrets()` lists them
so that the requester can scrub them from every message.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping

from ..errors import LMSError
from ..safe_text import redact_url
from .http_retry import ApiError, Requester

log = logging.getLogger("tui_sync.lms.ispring")

TOKEN_PATH = "/api/v3/token"
# Renew this long before the token expires: at most a minute, at most a tenth of its life.
RENEW_MARGIN_MAX = 60.0


class ClientCredentials:
    label = "OAuth client credentials"

    def __init__(self, requester: Requester, client_id: str, client_secret: str, *, secret_source: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._requester = requester
        self._clock = clock  # seconds, for the token's lifetime (tests step it instead of sleeping)
        self.client_id = client_id
        self._client_secret = client_secret
        self._secret_source = secret_source
        self._token: str | None = None
        self._renew_at = 0.0
        self._old_tokens: list[str] = []  # still scrubbed from messages
        self._lock = asyncio.Lock()
        # Once refused, never sent again: repeated wrong credentials can lock an account.
        self._refusal: LMSError | None = None

    def secrets(self) -> Iterable[str]:
        yield self._client_secret
        if self._token:
            yield self._token
        yield from self._old_tokens

    async def headers(self) -> dict[str, str]:
        token = self._token
        if token is None or self._clock() >= self._renew_at:
            token = await self._renew(stale=token)
        return {"Authorization": f"Bearer {token}"}

    async def refresh(self, used: Mapping[str, str]) -> bool:
        used_token = used.get("Authorization", "").removeprefix("Bearer ")
        log.info("the API refused the access token; getting a new one")
        await self._renew(stale=used_token or None, forced=True)
        return True

    async def _renew(self, *, stale: str | None, forced: bool = False) -> str:
        async with self._lock:
            if self._refusal is not None:
                raise self._refusal
            # Another call may have renewed while this one waited for the lock.
            if self._token is not None and self._token != stale and (forced or self._clock() < self._renew_at):
                return self._token
            try:
                response = await self._requester.request(
                    "POST", TOKEN_PATH, what="get an access token", authenticate=False,
                    data={"client_id": self.client_id, "client_secret": self._client_secret,
                          "grant_type": "client_credentials"},
                )
            except ApiError as exc:
                if exc.status in (400, 401, 403):
                    self._refusal = self._refused(exc.api_message)
                    raise self._refusal from None
                raise
            try:
                body = response.json()
                token = body["access_token"]
                lifetime = float(body.get("expires_in") or 0)
            except (ValueError, KeyError, TypeError, AttributeError):
                raise LMSError("iSpring Learn answered the token request with something other than a token",
                               where=self._requester.service,
                               hint="check [lms] base_url: it must be the REST API address") from None
            if not isinstance(token, str) or not token:
                raise LMSError("iSpring Learn answered the token request without a token",
                               where=self._requester.service)
            if self._token:
                self._old_tokens = [self._token, *self._old_tokens][:4]
            lifetime = lifetime if lifetime > 0 else 1800.0
            self._token = token
            self._renew_at = self._clock() + lifetime - min(RENEW_MARGIN_MAX, lifetime / 10)
            log.debug("got an access token valid for %.0f s", lifetime)
            return token

    def _refused(self, api_message: str) -> LMSError:
        detail = f" ({api_message})" if api_message else ""
        source = f" (the secret comes from {self._secret_source})" if self._secret_source else ""
        return LMSError(
            f"iSpring Learn refused the API client credentials for client_id {self.client_id!r}{detail}",
            where=self._requester.service,
            hint=f"check client_id and client_secret in [lms]{source}; "
                 "an API client is created in the account's settings (Integrations → REST API)",
        )

    def rejected(self, what: str) -> LMSError:
        return LMSError(
            f"iSpring Learn refused a fresh access token while trying to {what}",
            where=self._requester.service,
            hint="check that the API client is still enabled and allowed to manage users and departments",
        )


class LegacyHeaders:
    label = "account login and password (X-Auth headers)"

    def __init__(self, requester: Requester, account_url: str, login: str, password: str, *,
                 secret_source: str = "") -> None:
        self._requester = requester
        self.account_url = account_url
        self.login = login
        self._password = password
        self._secret_source = secret_source
        # Once refused, never sent again: repeated wrong passwords can lock the administrator out.
        self._refusal: LMSError | None = None

    def secrets(self) -> Iterable[str]:
        yield self._password

    async def headers(self) -> dict[str, str]:
        if self._refusal is not None:
            raise self._refusal
        return {"X-Auth-Account-Url": self.account_url, "X-Auth-Email": self.login,
                "X-Auth-Password": self._password}

    async def refresh(self, used: Mapping[str, str]) -> bool:
        return False

    def rejected(self, what: str) -> LMSError:
        source = f" (the password comes from {self._secret_source})" if self._secret_source else ""
        self._refusal = LMSError(
            f"iSpring Learn refused the login {self.login!r} and its password for the account "
            f"{redact_url(self.account_url)} while trying to {what}",
            where=self._requester.service,
            hint=f"check account_url, login and password in [lms]{source}, "
                 "or switch to an API client (client_id and client_secret)",
        )
        return self._refusal
