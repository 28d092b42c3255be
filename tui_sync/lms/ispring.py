"""The LMS interface over the iSpring Learn REST API (docs/design.md §6).

What the sync sees and what the API speaks:

| tui_sync                          | iSpring Learn                                         |
|-----------------------------------|-------------------------------------------------------|
| department `code`, `name`         | `code`, `name`                                        |
| `parent_id` None (top level)      | `parentDepartmentId` = the root department's id       |
| user `firstName`, `lastName`,     | `fields.first_name`, `last_name`, `job_title`,        |
| `jobTitle`, `phone`, `custom:<n>` | `phone`, custom profile fields by name                |
| `department_id` None (the root)   | `departmentId` = the root department's id             |
| status active/inactive/terminated | 1 / 3 / 5 (bulk activate / deactivate / terminate)    |
| supervisor None / user id /       | `subordinationType` inherit / manual + `supervisorId`  |
| NO_SUPERVISOR                     | / no_supervisor                                       |

Users are never deleted (that would erase their training history): the sync
deactivates them. A create is never repeated blindly: after an unclear failure
the client first looks whether the object exists (user by login and email,
department by code) and returns its id if so.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import polars as pl

from ..config import LmsConfig
from ..errors import LMSError
from ..model import Status
from ..secrets import reveal
from ..tls import ssl_context
from .base import (
    CUSTOM_PREFIX,
    DEPARTMENT_SCHEMA,
    LMS,
    NO_SUPERVISOR,
    USER_SCHEMA,
    Abilities,
    DepartmentRecord,
    Snapshot,
    UserRecord,
    no_batch,
)
from .http_retry import ApiError, Requester, RetryPolicy, UnclearOutcome, quiet_http_logging
from .ispring_auth import ClientCredentials, LegacyHeaders

log = logging.getLogger("tui_sync.lms.ispring")

PAGE_SIZE = 1000  # the API's default and a polite maximum
STATUS_BATCH = 500  # user ids per bulk status or move call
LOOKUP_BATCH = 100  # logins, emails or ids per filtered read
URL_LIMIT = 6000  # characters of a filtered read's query; longer key lists go in `POST /users/v2`'s body

_STATUS_NUMBER = {Status.ACTIVE.value: 1, Status.INACTIVE.value: 3, Status.TERMINATED.value: 5}
_STATUS_WORD = {n: w for w, n in _STATUS_NUMBER.items()}
_STATUS_ENDPOINT = {
    Status.ACTIVE.value: "/users/activate",
    Status.INACTIVE.value: "/users/deactivate",
    Status.TERMINATED.value: "/users/terminate",
}
# Our user field -> the API's profile field.
_API_FIELD = {
    "login": "login", "email": "email", "firstName": "first_name", "lastName": "last_name",
    "jobTitle": "job_title", "phone": "phone",
}
_OUR_FIELD = {api: ours for ours, api in _API_FIELD.items()}
# Profile fields that are not custom fields (password is write-only and never synced).
_SYSTEM_FIELDS = frozenset({*_OUR_FIELD, "password"})
# Required by tui_sync anyway (U1); the catalogue's other required fields are "extra".
_ALWAYS_REQUIRED = frozenset({"login", "email", "firstName", "lastName"})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def _client(base_url: str, cfg: LmsConfig, concurrency: int,
            transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    host = urlsplit(base_url).hostname or ""
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=httpx.Timeout(cfg.timeout),
        limits=httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency + 2),
        headers={"Accept": "application/json", "User-Agent": "tui-sync"},
        follow_redirects=False,  # a redirect is a wrong base_url or a login page, never the API
        verify=ssl_context(cfg.ca_file),  # the same trust on loopback as elsewhere
        trust_env=host not in _LOOPBACK,  # (proxies: never for this machine)
    )


def _credentials(cfg: LmsConfig, state_dir: Path, clock: Callable[[], float]) -> Callable[[Requester], Any]:
    """How this client signs in, its secret read now: the auth, given the requester it signs. An
    incomplete [lms] is an LMSError (loading the configuration refuses it first)."""
    if cfg.client_id or cfg.client_secret:
        if not (cfg.client_id and cfg.client_secret):
            raise LMSError("[lms] kind = \"ispring\" needs both client_id and client_secret")
        return partial(ClientCredentials, client_id=cfg.client_id, client_secret=reveal(cfg.client_secret, state_dir),
                       secret_source=cfg.client_secret.describe(), clock=clock)
    if cfg.account_url and cfg.login and cfg.password:
        return partial(LegacyHeaders, account_url=cfg.account_url, login=cfg.login,
                       password=reveal(cfg.password, state_dir), secret_source=cfg.password.describe())
    raise LMSError(
        '[lms] kind = "ispring" needs credentials',
        hint="client_id and client_secret, or account_url, login and password",
    )


class ISpringLMS(LMS):
    """`tui_sync.lms.base.LMS` over iSpring Learn's REST API v3.

    `concurrency` bounds the requests in flight (the connection pool is a little
    larger); `cfg.requests_per_second` bounds how fast they start, shared by all.
    `transport`, `retry` and `clock` (the token's lifetime) are for tests and benchmarks.
    """

    def __init__(
        self,
        cfg: LmsConfig,
        state_dir: Path,
        *,
        concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),
        burst: int = 1,
        page_size: int = PAGE_SIZE,
        status_batch: int = STATUS_BATCH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        quiet_http_logging()
        self.base_url = cfg.base_url.rstrip("/")
        self.concurrency = concurrency
        self.page_size = page_size
        self.status_batch = status_batch
        self.abilities = Abilities(concurrent=True, chunk=500, status_batch=status_batch, read_users=True,
                                   read_departments=True, move_users=True)
        credentials = _credentials(cfg, state_dir, clock)  # (first: a missing secret leaves no client open)
        self._client = _client(self.base_url, cfg, concurrency, transport)
        self._http = Requester(
            self._client, rate=cfg.requests_per_second, concurrency=concurrency, retry=retry, burst=burst,
            service=f"iSpring Learn ({self.base_url})",
        )
        self._http.auth = credentials(self._http)
        self._root: str | None = None
        self._catalogue: _Catalogue | None = None
        self._catalogue_lock = asyncio.Lock()
        self._root_lock = asyncio.Lock()
        # login and email by user id: the API wants both in every `fields` it is sent.
        self._identity: dict[str, tuple[str, str]] = {}
        self.user_count: int | None = None  # the account's users at this client's last full read

    @property
    def auth_style(self) -> str:
        assert self._http.auth is not None
        return self._http.auth.label

    def batch(self) -> Any:
        """A no-op: the REST API has no transactions."""
        return no_batch()

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ISpringLMS:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------ reading

    async def snapshot(self) -> Snapshot:
        departments, users, catalogue = await _all(
            self._list("/departments", "departments", what="list departments"),
            self._list("/users/v2", "userProfiles", what="list users"),
            self._load_catalogue(refresh=True),
        )
        self.user_count = len(users)
        root = self._root_from(departments)
        dept_rows = {name: [] for name in DEPARTMENT_SCHEMA}
        for d in departments:
            did = _text(d.get("departmentId"))
            if did is None or did == root:
                continue
            parent = _text(d.get("parentDepartmentId"))
            dept_rows["id"].append(did)
            dept_rows["code"].append(_text(d.get("code")))
            dept_rows["name"].append(_text(d.get("name")))
            dept_rows["parent_id"].append(None if parent in (None, root) else parent)
        records = [self._user_record(u, catalogue, root) for u in users]
        custom = list(catalogue.custom)
        seen = {c.casefold() for c in custom}
        for r in records:
            for name in r.custom:
                if name.casefold() not in seen:
                    seen.add(name.casefold())
                    custom.append(name)
        user_rows: dict[str, list[Any]] = {name: [] for name in USER_SCHEMA}
        custom_rows: dict[str, list[Any]] = {name: [] for name in custom}
        for r in records:
            for name in USER_SCHEMA:
                user_rows[name].append(getattr(r, name))
            for name in custom:
                custom_rows[name].append(r.custom.get(name))
        schema = {**USER_SCHEMA, **{CUSTOM_PREFIX + name: pl.String for name in custom}}
        users_frame = pl.DataFrame(
            {**user_rows, **{CUSTOM_PREFIX + name: values for name, values in custom_rows.items()}}, schema=schema,
        )
        return Snapshot(
            root_id=root,
            departments=pl.DataFrame(dept_rows, schema=DEPARTMENT_SCHEMA),
            users=users_frame,
            custom_fields=tuple(custom),
            required_fields=catalogue.extra_required,
            known_custom_fields=catalogue.custom,
        )

    async def describe(self) -> dict[str, Any]:
        """For `check`: proves the credentials work and says what the account holds."""
        snap = await self.snapshot()
        catalogue = await self._load_catalogue()
        return {
            "lms": "iSpring Learn",
            "base_url": self.base_url,
            "auth": self.auth_style,
            "departments": snap.departments.height,
            "users": snap.users.height,
            "required_fields": list(catalogue.required),
            "custom_fields": list(catalogue.custom),
        }

    async def get_department(self, department_id: str) -> DepartmentRecord | None:
        try:
            response = await self._http.request(
                "GET", f"/department/{_seg(department_id)}", what=f"read department {department_id}",
            )
        except ApiError as exc:
            if exc.status in (400, 404):
                return None
            raise
        body = _unwrap(self._json(response, "read a department"))
        if not isinstance(body, dict) or not body.get("departmentId"):
            return None
        return self._department_record(body, await self._root_id())

    async def find_department(self, code: str) -> DepartmentRecord | None:
        if not code or not code.strip():
            return None
        response = await self._http.request(
            "GET", "/department", params={"code": code}, what=f"look for department {code}",
        )
        body = self._json(response, "look for a department")
        items = body.get("departments", []) if isinstance(body, dict) else body
        wanted = code.strip().casefold()
        for d in items or []:
            if isinstance(d, dict) and (_text(d.get("code")) or "").strip().casefold() == wanted:
                return self._department_record(d, await self._root_id())
        return None

    async def get_user(self, user_id: str) -> UserRecord | None:
        users = await self._list(
            "/users/v2", "userProfiles", params=[("userIds[]", user_id)], what=f"read user {user_id}",
        )
        found = [u for u in users if _text(u.get("userId")) == user_id]
        if not found:
            return None
        return self._user_record(found[0], await self._load_catalogue(), await self._root_id())

    async def find_user(self, *, login: str | None = None, email: str | None = None) -> UserRecord | None:
        """The user with this login or, failing that, with this email (case-insensitive)."""
        for key, value in (("login", login), ("email", email)):
            if value and value.strip():
                found = await self._find_user_by(key, value)
                if found is not None:
                    return found
        return None

    async def _find_user_by(self, key: str, value: str) -> UserRecord | None:
        users = await self._list(
            "/users/v2", "userProfiles", params=[(f"{key}s[]", value.strip())], what=f"look for the user by {key}",
        )
        if not users:
            return None
        catalogue = await self._load_catalogue()
        root = await self._root_id()
        wanted = value.strip().casefold()
        for u in users:
            record = self._user_record(u, catalogue, root)
            if (getattr(record, key) or "").strip().casefold() == wanted:
                return record
        return None

    async def read_users(self, *, ids: Iterable[str] = (), logins: Iterable[str] = (),
                         emails: Iterable[str] = (), account_users: int | None = None) -> list[UserRecord]:
        """The users with any of these ids, logins or emails, for apply's checks of a wave (A2).

        Cost in requests: filtered reads take one per kind of key and LOOKUP_BATCH keys (the API's
        filters combine with AND); a paged re-read of every user takes one per `page_size` users of
        the account. The cheaper is taken; the account's size is `account_users` (the snapshot the
        plan was made from) or this client's last full read, and unknown means filters."""
        keys = {key: [v.strip() for v in values if v and v.strip()]
                for key, values in (("userIds", ids), ("logins", logins), ("emails", emails))}
        asks = [(key, chunk) for key, values in keys.items() for chunk in _chunks(values, LOOKUP_BATCH)]
        if not asks:
            return []
        size = account_users if account_users is not None else self.user_count
        if size is not None and -(-max(size, 1) // self.page_size) < len(asks):
            everyone = await self._list("/users/v2", "userProfiles", what="re-read every user for a wave's checks")
            self.user_count = len(everyone)
            wanted = {key: {v.casefold() for v in values} for key, values in keys.items()}
            catalogue, root = await self._load_catalogue(), await self._root_id()
            records = [self._user_record(u, catalogue, root) for u in everyone]
            return [r for r in records if r.id in keys["userIds"] or r.login.strip().casefold() in wanted["logins"]
                    or r.email.strip().casefold() in wanted["emails"]]
        pages = await _all(*(self._filtered(key, chunk) for key, chunk in asks))
        catalogue, root = await self._load_catalogue(), await self._root_id()
        found = {str(u.get("userId")): u for page in pages for u in page}
        return [self._user_record(u, catalogue, root) for u in found.values()]

    async def _filtered(self, key: str, values: list[str]) -> list[dict[str, Any]]:
        """One filtered read: in the query, or in `POST /users/v2`'s body when the URL would be too long."""
        what = f"read {len(values)} user(s) by {key}"
        params = [(f"{key}[]", v) for v in values]
        if len(urlencode(params)) <= URL_LIMIT:
            return await self._list("/users/v2", "userProfiles", params=params, what=what)
        return await self._list("/users/v2", "userProfiles", body={key: values}, what=what)

    async def read_departments(self) -> list[DepartmentRecord]:
        """Every department but the root, in one paged read (apply keeps it current itself)."""
        departments = await self._list("/departments", "departments", what="list departments")
        root = self._root_from(departments)
        return [self._department_record(d, root) for d in departments
                if d.get("departmentId") and str(d["departmentId"]) != root]

    async def department_user_count(self, department_id: str) -> int:
        users = await self._list(
            "/users/v2", "userProfiles", params=[("departments[]", department_id)],
            what=f"count the users of department {department_id}",
        )
        return sum(1 for u in users if _text(u.get("departmentId")) == department_id)

    # ------------------------------------------------------------ department writes

    async def create_department(self, *, code: str, name: str, parent_id: str | None) -> str:
        code_text = _required(code, "department code")
        body = {
            "name": _required(name, "department name"),
            "parentDepartmentId": parent_id if parent_id is not None else await self._root_id(),
            "code": code_text,
        }

        async def existing() -> str | None:
            found = await self.find_department(code_text)
            return found.id if found is not None else None

        return await self._create("/department", body, f"create department {code_text}", existing)

    async def update_department(self, department_id: str, changes: dict[str, Any]) -> None:
        unknown = set(changes) - {"code", "name", "parent_id"}
        if unknown:
            raise LMSError(f"cannot update department field(s) {', '.join(sorted(unknown))}")
        body: dict[str, Any] = {}
        if "code" in changes:
            body["code"] = _required(changes["code"], "department code")
        if "name" in changes:
            body["name"] = _required(changes["name"], "department name")
        if "parent_id" in changes:
            parent = changes["parent_id"]
            body["parentDepartmentId"] = parent if parent is not None else await self._root_id()
        if not body:
            return
        await self._http.request(
            "POST", f"/department/{_seg(department_id)}", json=body, what=f"update department {department_id}",
        )

    async def delete_department(self, department_id: str) -> None:
        if department_id == await self._root_id():
            raise LMSError("the root department cannot be deleted")
        try:
            await self._http.request(
                "DELETE", f"/department/{_seg(department_id)}", what=f"delete department {department_id}",
            )
        except ApiError as exc:
            if exc.status == 404 and exc.attempts > 1:
                return  # an earlier attempt went through before its answer was lost
            if exc.status in (400, 403, 409, 422):
                users = await self.department_user_count(department_id)
                if users:
                    raise LMSError(
                        f"department {department_id} still has {users} user(s) (department_has_users); "
                        "iSpring Learn refuses to delete it", hint="move its users to another department first",
                    ) from None
                children = await self._child_count(department_id)
                if children:
                    raise LMSError(
                        f"department {department_id} still has {children} child department(s) "
                        "(department_has_children); iSpring Learn refuses to delete it",
                        hint="move or delete its child departments first",
                    ) from None
            raise

    async def _child_count(self, department_id: str) -> int:
        departments = await self._list("/departments", "departments", what="list departments")
        return sum(1 for d in departments if _text(d.get("parentDepartmentId")) == department_id)

    # ------------------------------------------------------------ user writes

    async def create_user(self, user: UserRecord) -> str:
        """`user.id` and the supervisor links are ignored (links are set with `set_supervisors`)."""
        login = _required(user.login, "login")
        email = _required(user.email, "email")
        status = _status(user.status)
        fields = {"login": login, "email": email}
        for ours in ("firstName", "lastName", "jobTitle", "phone"):
            value = _blank_none(getattr(user, ours))
            if value is not None:
                fields[_API_FIELD[ours]] = value
        for name, value in user.custom.items():
            value = _blank_none(value)
            if value is not None:
                fields[await self._custom_api_name(name)] = value
        body = {
            "departmentId": user.department_id if user.department_id is not None else await self._root_id(),
            "fields": fields,
        }

        async def existing() -> str | None:
            found = await self._find_user_by("login", login)
            if found is not None and found.email.strip().casefold() == email.strip().casefold():
                return found.id
            return None

        user_id = await self._create("/user", body, f"create user {login}", existing)
        self._identity[user_id] = (login, email)
        if status != Status.ACTIVE.value:
            await self.set_status([user_id], status)
        return user_id

    async def update_user(self, user_id: str, changes: dict[str, Any]) -> None:
        """`changes` keys: UserRecord field names (supervisors as in `set_supervisors`),
        custom fields as `custom:<name>` (None or blank clears the value)."""
        fields: dict[str, str] = {}
        body: dict[str, Any] = {}
        status: str | None = None
        links: dict[str, str | None] = {}
        for key, value in changes.items():
            if key in ("login", "email"):
                fields[key] = _required(value, key)
            elif key in _API_FIELD:
                fields[_API_FIELD[key]] = _blank_none(value) or ""
            elif key.startswith(CUSTOM_PREFIX):
                name = key.removeprefix(CUSTOM_PREFIX)
                if not name.strip():
                    raise LMSError(f"a custom field needs a name, not {key!r}")
                fields[await self._custom_api_name(name)] = _blank_none(value) or ""
            elif key == "department_id":
                body["departmentId"] = value if value is not None else await self._root_id()
            elif key == "status":
                status = _status(value)
            elif key in ("subordination", "coSubordination"):
                links[key] = value
            else:
                raise LMSError(f"cannot update user field {key!r}")
        if fields:
            # The API's profile fields always carry login and email (UserProfileFields requires them).
            login, email = await self._login_email(user_id)
            fields.setdefault("login", login)
            fields.setdefault("email", email)
            body["fields"] = fields
        if body:
            await self._http.request("POST", f"/user/{_seg(user_id)}", json=body, what=f"update user {user_id}")
            if fields:
                self._identity[user_id] = (fields["login"], fields["email"])
        if links:
            await self._subordination(user_id, links)
        if status is not None:
            await self.set_status([user_id], status)

    async def set_status(self, user_ids: list[str], status: str) -> None:
        path = _STATUS_ENDPOINT[_status(status)]
        await _all(*(
            self._http.request("POST", path, json={"userIds": chunk},
                               what=f"make {len(chunk)} user(s) {status}")
            for chunk in _chunks(list(dict.fromkeys(user_ids)), self.status_batch)
        ))

    async def move_users(self, user_ids: list[str], department_id: str | None) -> None:
        """Move users into a department (None: the root), `status_batch` ids per call."""
        target = department_id if department_id is not None else await self._root_id()
        await _all(*(
            self._http.request("POST", f"/department/{_seg(target)}/user/move", json={"userIds": chunk},
                               what=f"move {len(chunk)} user(s) to department {target}")
            for chunk in _chunks(list(dict.fromkeys(user_ids)), self.status_batch)
        ))

    async def set_supervisors(self, user_id: str, subordination: str | None, co_subordination: str | None) -> None:
        """Each link: None = inherited from the department, a user id, or NO_SUPERVISOR."""
        await self._subordination(user_id, {"subordination": subordination, "coSubordination": co_subordination})

    async def _subordination(self, user_id: str, links: Mapping[str, str | None]) -> None:
        body = {}
        for key, value in links.items():
            if value == user_id:
                role = "supervisor" if key == "subordination" else "functional manager"
                raise LMSError(f"user {user_id} cannot be their own {role}")
            body[key] = _link(value)
        await self._http.request(
            "POST", f"/user/{_seg(user_id)}/subordination", json=body,
            what=f"set the supervisors of user {user_id}",
        )

    # ------------------------------------------------------------ helpers

    async def _create(self, path: str, body: dict[str, Any], what: str, existing: Any) -> str:
        """POST a create; after an unclear failure look whether it happened before trying again."""
        retry = self._http.retry
        last: UnclearOutcome | None = None
        for attempt in range(1, retry.attempts + 1):
            try:
                response = await self._http.request("POST", path, json=body, what=what, idempotent=False)
            except UnclearOutcome as exc:
                last = exc
                # Give a slow server a moment to finish, then look before writing again.
                await asyncio.sleep(retry.backoff(attempt))
                found = await existing()
                if found is not None:
                    log.info("%s: the attempt whose answer was lost went through; using the object it made", what)
                    return found
                log.info("%s: the attempt whose answer was lost did not go through; trying again", what)
                continue
            return self._new_id(response, what)
        assert last is not None
        raise LMSError(f"could not {what}: {last.message}", hint="the LMS may be down or overloaded; try again later")

    def _new_id(self, response: httpx.Response, what: str) -> str:
        """A create's answer is the new id: a JSON string (some setups wrap it, or send plain text)."""
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text.strip().strip('"')
        body = _unwrap(body)
        if isinstance(body, dict):
            body = body.get("id") or body.get("userId") or body.get("departmentId")
        if isinstance(body, (str, int)) and str(body).strip():
            return str(body).strip()
        raise LMSError(f"could not {what}: iSpring Learn did not answer with the new id",
                       where=self._http.service)

    async def _list(self, path: str, key: str, *, what: str, params: list[tuple[str, str]] | None = None,
                    body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every page of a listing: GET with `params`, or POST with the filters in `body`."""
        items: list[dict[str, Any]] = []
        async for page in self._pages(path, key, what=what, params=params, body=body):
            items.extend(page)
        return items

    async def _pages(self, path: str, key: str, *, what: str, params: list[tuple[str, str]] | None,
                     body: dict[str, Any] | None = None) -> AsyncIterator[list[dict[str, Any]]]:
        filters = body
        token: str | None = None
        seen: set[str] = set()
        while True:
            query = [*(params or []), ("pageSize", str(self.page_size))]
            if token:
                query.append(("pageToken", token))
            response = await self._http.request("POST" if filters is not None else "GET", path, params=query,
                                                json=filters, what=what)  # (a read: safe to repeat)
            body = self._json(response, what)
            if isinstance(body, list):  # an unpaged answer
                yield [i for i in body if isinstance(i, dict)]
                return
            items = body.get(key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise LMSError(f"could not {what}: the answer has no {key!r} list", where=self._http.service)
            yield [i for i in items if isinstance(i, dict)]
            token = _text(body.get("nextPageToken"))
            if not token:
                return
            if token in seen:
                raise LMSError(f"could not {what}: the API repeated a page token", where=self._http.service)
            seen.add(token)

    def _json(self, response: httpx.Response, what: str) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown")
            raise LMSError(
                f"could not {what}: iSpring Learn answered with something other than JSON ({kind})",
                where=self._http.service, hint="check [lms] base_url: it must be the REST API address",
            ) from None

    async def _root_id(self) -> str:
        if self._root is None:
            async with self._root_lock:
                if self._root is None:
                    self._root_from(await self._list("/departments", "departments", what="list departments"))
        assert self._root is not None
        return self._root

    def _root_from(self, departments: list[dict[str, Any]]) -> str:
        roots = [d for d in departments if d.get("departmentId") and not d.get("parentDepartmentId")]
        if not roots:
            raise LMSError("iSpring Learn listed no root department (one without a parent)",
                           where=self._http.service)
        self._root = str(roots[0]["departmentId"])
        return self._root

    async def _load_catalogue(self, *, refresh: bool = False) -> _Catalogue:
        async with self._catalogue_lock:
            if self._catalogue is None or refresh:
                response = await self._http.request("GET", "/user/profile/fields", what="read the profile fields")
                self._catalogue = _Catalogue.parse(_unwrap(self._json(response, "read the profile fields")))
            return self._catalogue

    async def _custom_api_name(self, name: str) -> str:
        """A custom field's name as the account spells it (names are case-insensitive)."""
        catalogue = await self._load_catalogue()
        return catalogue.spelling.get(name.casefold(), name)

    async def _login_email(self, user_id: str) -> tuple[str, str]:
        known = self._identity.get(user_id)
        if known is None:
            user = await self.get_user(user_id)
            if user is None:
                raise LMSError(f"there is no user with id {user_id!r}")
            known = (user.login, user.email)
        return known

    def _department_record(self, d: Mapping[str, Any], root: str) -> DepartmentRecord:
        did = str(d["departmentId"])
        parent = _text(d.get("parentDepartmentId"))
        return DepartmentRecord(
            id=did, code=_text(d.get("code")), name=_text(d.get("name")) or "",
            parent_id=None if did == root or parent in (None, root) else parent,
        )

    def _user_record(self, u: Mapping[str, Any], catalogue: _Catalogue, root: str) -> UserRecord:
        fields = _fields(u.get("fields"))
        standard: dict[str, str | None] = {}
        custom: dict[str, str | None] = {}
        for name, value in fields.items():
            folded = name.casefold()
            if folded in _OUR_FIELD:
                standard[_OUR_FIELD[folded]] = value
            elif folded not in _SYSTEM_FIELDS:
                custom[catalogue.spelling.get(folded, name)] = value
        uid = str(u.get("userId"))
        dept = _text(u.get("departmentId"))
        login, email = standard.get("login") or "", standard.get("email") or ""
        self._identity[uid] = (login, email)
        return UserRecord(
            id=uid, login=login, email=email,
            firstName=standard.get("firstName"), lastName=standard.get("lastName"),
            department_id=None if dept in (None, root) else dept,
            status=_status_word(u.get("status"), uid),
            subordination=_link_value(u.get("subordination")),
            coSubordination=_link_value(u.get("coSubordination")),
            phone=standard.get("phone"), jobTitle=standard.get("jobTitle"),
            custom=custom,
        )


class _Catalogue:
    """The account's profile fields (`GET /user/profile/fields`)."""

    def __init__(self, required: tuple[str, ...], custom: tuple[str, ...]) -> None:
        self.required = required  # every required field, in tui_sync's vocabulary
        self.custom = custom  # custom field names as the account spells them
        self.spelling = {name.casefold(): name for name in custom}

    @property
    def extra_required(self) -> tuple[str, ...]:
        return tuple(f for f in self.required if f not in _ALWAYS_REQUIRED)

    @classmethod
    def parse(cls, body: Any) -> _Catalogue:
        if isinstance(body, dict):  # a wrapped list, as the XML form has it
            body = body.get("fields", body.get("userFieldInfo"))
        required: list[str] = []
        custom: list[str] = []
        for f in body if isinstance(body, list) else []:
            if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"].strip():
                continue
            name = f["name"].strip()
            folded = name.casefold()
            ours = _OUR_FIELD.get(folded)
            if folded == "password":
                continue
            if ours is None:
                custom.append(name)
            if _flag(f.get("isRequired")):
                required.append(ours or name)
        return cls(tuple(required), tuple(custom))


async def _all(*coroutines: Any) -> list[Any]:
    """Run concurrently; when one fails, cancel the rest and raise its error (not a group)."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


# ---------------------------------------------------------------- value mapping


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _fields(raw: Any) -> dict[str, str | None]:
    """`fields` as an object or as a list of {name, value}; blank values are None."""
    out: dict[str, str | None] = {}
    if isinstance(raw, dict):
        items: Iterable[tuple[Any, Any]] = raw.items()
    elif isinstance(raw, list):
        items = ((f.get("name"), f.get("value")) for f in raw if isinstance(f, dict))
    else:
        items = ()
    for name, value in items:
        if isinstance(name, str) and name.strip():
            out[name.strip()] = _blank_none(value)
    return out


def _link(value: str | None) -> dict[str, str]:
    if value is None:
        return {"subordinationType": "inherit"}
    if value == NO_SUPERVISOR:
        return {"subordinationType": "no_supervisor"}
    return {"subordinationType": "manual", "supervisorId": value}


def _link_value(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    kind = str(raw.get("subordinationType") or "inherit").lower()
    if kind == "manual":
        return _text(raw.get("supervisorId"))
    if kind == "no_supervisor":
        return NO_SUPERVISOR
    return None


def _status_word(raw: Any, user_id: str) -> str:
    try:
        number = int(str(raw).strip())
    except (TypeError, ValueError):
        number = None
    word = _STATUS_WORD.get(number) if number is not None else None
    if word is None:
        if isinstance(raw, str) and raw.strip().lower() in _STATUS_NUMBER:
            return raw.strip().lower()
        log.warning("user %s has a status the sync does not know (%r); treating it as inactive", user_id, raw)
        return Status.INACTIVE.value
    return word


def _status(value: Any) -> str:
    if value not in _STATUS_NUMBER:
        raise LMSError(f"invalid status {value!r}: expected one of active, inactive, terminated")
    return str(value)


def _flag(value: Any) -> bool:
    return value is True or value == 1 or (isinstance(value, str) and value.strip().lower() in ("1", "true"))


def _unwrap(body: Any) -> Any:
    """Some answers come as `{"response": …}` (as the XML form does)."""
    if isinstance(body, dict) and set(body) == {"response"}:
        return body["response"]
    return body


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _blank_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _required(value: Any, what: str) -> str:
    if value is None or not str(value).strip():
        raise LMSError(f"the {what} cannot be blank")
    return str(value)


def _seg(value: str) -> str:
    """An id as one path segment."""
    return quote(str(value), safe="")
