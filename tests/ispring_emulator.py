"""A loopback emulator of the iSpring Learn REST API v3, for tests and benchmarks.

A real HTTP/1.1 server (`ThreadingHTTPServer` in a background thread) with the
account in memory. It enforces what the documentation (and NOTES) say:

- auth: `POST /api/v3/token` (form: client_id, client_secret, grant_type =
  client_credentials) → bearer tokens that expire after `token_lifetime`
  seconds; or the legacy headers X-Auth-Account-Url / X-Auth-Email /
  X-Auth-Password. Anything else → 401.
- departments: `GET /departments` (paged), `GET /department?code=`,
  `GET|POST|DELETE /department/{id}`, `POST /department` (name and
  parentDepartmentId required → 201 with the new id). Delete is refused (400)
  for the root, a department with users, or one with child departments.
- users: `GET /users/v2` (paged; filters logins[], emails[], departments[],
  userIds[]) and `POST /users/v2` (the same filters as lists in a JSON body,
  paging in the query), `GET|POST /user/{id}`, `POST /user` (departmentId and fields with
  login and email required; required profile fields; login and email unique,
  case-insensitive → `duplicate_status` (409 or 400) "… must be unique"),
  `POST /user/{id}/status`, `POST /users/activate|deactivate|terminate`,
  `POST /user/{id}/subordination`. Statuses are 1, 3, 5.
- `GET /user/profile/fields`: the catalogue (standard fields + `custom_fields`).
- paging: `pageSize` (default 1000) and opaque `pageToken`s; a bad token → 400.
- errors: `{"code", "message"}`; a request line longer than `max_url`
  characters (8 KB, as common front ends allow) → 414.

Faults on demand (the control API, plain Python, thread-safe):

    emu.latency = 0.02                       # seconds added to every request
    emu.fail(429, times=2, retry_after=1)    # the next 2 matching requests get 429
    emu.fail(500, times=1, path="/user", method="POST", after_apply=True)
    emu.drop(times=1, path="/user", method="POST", after_apply=True)  # close without answering
    emu.stall(0.5, path="/user", method="POST")  # apply, then answer 0.5 s late (client timeouts)
    emu.expire_tokens()                      # every issued token stops working
    emu.token_lifetime = 2                   # seconds, for tokens issued from now on
    emu.clock = lambda: now                  # the tokens' clock in seconds (time.monotonic), for stepping
    emu.fields_shape = "list"                # `fields` as [{name, value}] instead of an object
    emu.field_name_case = str.upper          # spell field names differently in answers

`path` is a regular expression matched against the whole path (no query).
Observation: `emu.requests` (method, path, status, auth, query) in arrival order,
`emu.count(...)`, `emu.issued_tokens`, and the state helpers `add_department`,
`add_user`, `users`, `departments`, `user_by_login`.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

STANDARD_FIELDS: tuple[dict[str, Any], ...] = (
    {"name": "login", "label": "Login", "type": "text", "isRequired": 1, "isUnique": 1},
    {"name": "email", "label": "Email", "type": "email", "isRequired": 1, "isUnique": 1},
    {"name": "first_name", "label": "First Name", "type": "text", "isRequired": 1, "isUnique": 0},
    {"name": "last_name", "label": "Last Name", "type": "text", "isRequired": 1, "isUnique": 0},
    {"name": "job_title", "label": "Job Title", "type": "text", "isRequired": 0, "isUnique": 0},
    {"name": "phone", "label": "Phone", "type": "phone", "isRequired": 0, "isUnique": 0},
)
STATUSES = (1, 3, 5)
SUBORDINATION_TYPES = ("inherit", "manual", "no_supervisor")


class _Refusal(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class Fault:
    kind: str  # "status" | "drop" | "stall"
    times: int
    status: int = 0
    seconds: float = 0.0  # stall: how long the answer is held back
    retry_after: float | None = None
    method: str | None = None
    path: str | None = None
    after_apply: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.times > 0 and (self.method is None or self.method == method)
                and (self.path is None or re.fullmatch(self.path, path) is not None))


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    status: int  # 0 = the connection was dropped
    auth: str  # "bearer", "legacy", "none"
    query: str = ""  # the raw query string (answered requests)


@dataclass
class _State:
    departments: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)  # login casefold -> user id
    emails: dict[str, str] = field(default_factory=dict)


class ISpringEmulator:
    def __init__(
        self,
        *,
        client_id: str = "test-client",
        client_secret: str = "test-client-secret-0123456789",
        account_url: str = "https://myco.ispringlearn.com",
        login: str = "admin",
        password: str = "test-admin-password-9876543210",
        token_lifetime: float = 1800,
        custom_fields: tuple[dict[str, Any], ...] = (),
        duplicate_status: int = 409,
        fields_shape: str = "object",
        latency: float = 0.0,
        root_name: str = "Company",
        tls: ssl.SSLContext | None = None,  # serve https:// with this server context
    ) -> None:
        self.tls = tls
        self.client_id = client_id
        self.client_secret = client_secret
        self.account_url = account_url
        self.login = login
        self.password = password
        self.token_lifetime = token_lifetime
        self.clock: Callable[[], float] = time.monotonic  # tokens expire by it (tests step it)
        self.duplicate_status = duplicate_status
        self.fields_shape = fields_shape
        self.field_name_case: Callable[[str], str] | None = None
        self.latency = latency
        self.max_url = 8192
        self.profile_fields: list[dict[str, Any]] = [
            *({**f, "userFieldInfoId": f"f-{f['name']}", "orderPriority": i} for i, f in enumerate(STANDARD_FIELDS)),
            *({"label": f["name"], "type": "text", "isRequired": 0, "isUnique": 0, **f,
               "userFieldInfoId": f"c-{f['name']}", "orderPriority": 100 + i} for i, f in enumerate(custom_fields)),
        ]
        self.requests: list[Seen] = []
        self.issued_tokens: list[str] = []
        self._tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._state = _State()
        self.root_id = self._new_id()
        self._state.departments[self.root_id] = _department(self.root_id, root_name, None, None)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"emulator": self})
        server = _QuietServer(("127.0.0.1", 0), handler)
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        server.request_queue_size = 256
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ispring-emulator", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ISpringEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the emulator first"
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    # ------------------------------------------------------------ control API: faults

    def fail(self, status: int, times: int = 1, *, retry_after: float | None = None, method: str | None = None,
             path: str | None = None, after_apply: bool = False) -> None:
        """Answer the next `times` matching requests with `status` (applying them first if `after_apply`)."""
        with self._lock:
            self._faults.append(Fault("status", times, status=status, retry_after=retry_after, method=method, path=path,
                                      after_apply=after_apply))

    def drop(self, times: int = 1, *, method: str | None = None, path: str | None = None,
             after_apply: bool = False) -> None:
        """Close the connection of the next `times` matching requests without answering."""
        with self._lock:
            self._faults.append(Fault("drop", times, method=method, path=path, after_apply=after_apply))

    def stall(self, seconds: float, times: int = 1, *, method: str | None = None, path: str | None = None,
              after_apply: bool = True) -> None:
        """Hold back the answer of the next `times` matching requests for `seconds` (by default after
        applying them: a client that times out meanwhile cannot tell whether the write happened)."""
        with self._lock:
            self._faults.append(Fault("stall", times, seconds=seconds, method=method, path=path,
                                      after_apply=after_apply))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # ------------------------------------------------------------ control API: state and observation

    def add_department(self, name: str, code: str | None = None, parent_id: str | None = None) -> str:
        with self._lock:
            did = self._new_id()
            self._state.departments[did] = _department(did, name, code, parent_id or self.root_id)
            return did

    def add_user(self, login: str, email: str, first_name: str = "First", last_name: str = "Last", *,
                 department_id: str | None = None, status: int = 1, **fields: str) -> str:
        with self._lock:
            uid = self._new_id()
            all_fields = {"login": login, "email": email, "first_name": first_name, "last_name": last_name, **fields}
            self._state.users[uid] = _user(uid, department_id or self.root_id, all_fields, status)
            self._state.logins[login.casefold()] = uid
            self._state.emails[email.casefold()] = uid
            return uid

    def users(self) -> list[dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(list(self._state.users.values())))

    def departments(self) -> list[dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(list(self._state.departments.values())))

    def user_by_login(self, login: str) -> dict[str, Any] | None:
        with self._lock:
            uid = self._state.logins.get(login.casefold())
            return json.loads(json.dumps(self._state.users[uid])) if uid else None

    def count(self, method: str | None = None, path: str | None = None, status: int | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if (method is None or r.method == method)
                       and (path is None or re.fullmatch(path, r.path)) and (status is None or r.status == status))

    # ------------------------------------------------------------ request handling (server threads)

    def _new_id(self) -> str:
        return str(uuid.uuid4())

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, method: str, path: str, status: int, auth: str, query: str = "") -> None:
        with self._lock:
            self.requests.append(Seen(method, path, status, auth, query))

    def _authenticate(self, headers: Any) -> str:
        authorization = headers.get("Authorization") or ""
        if authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
            with self._lock:
                expiry = self._tokens.get(token)
            if expiry is None or self.clock() >= expiry:
                raise _Refusal(401, "Access token is invalid or has expired")
            return "bearer"
        account = headers.get("X-Auth-Account-Url")
        if account is not None:
            same_account = account.strip().rstrip("/").lower() == self.account_url.rstrip("/").lower()
            if (same_account and headers.get("X-Auth-Email") == self.login
                    and headers.get("X-Auth-Password") == self.password):
                return "legacy"
            raise _Refusal(401, "Invalid account, login or password")
        raise _Refusal(401, "Authorization required")

    def _token(self, form: dict[str, list[str]]) -> tuple[int, Any]:
        one = {k: v[0] for k, v in form.items() if v}
        if one.get("grant_type") != "client_credentials":
            raise _Refusal(400, "grant_type must be client_credentials")
        if one.get("client_id") != self.client_id or one.get("client_secret") != self.client_secret:
            raise _Refusal(401, "Invalid client credentials")
        token = secrets.token_urlsafe(24)
        with self._lock:
            lifetime = self.token_lifetime
            self._tokens[token] = self.clock() + lifetime
            self.issued_tokens.append(token)
        return 200, {"access_token": token, "expires_in": max(1, int(lifetime)), "token_type": "bearer"}

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        """The API itself: (status, JSON body or None). Called with the lock held."""
        parts = [unquote(p) for p in path.strip("/").split("/")]
        s = self._state
        match method, parts:
            case "GET", ["departments"]:
                items = list(s.departments.values())
                page, token = self._page(items, query, "departments")
                return 200, {"departments": [self._dept_out(d) for d in page], "nextPageToken": token}
            case "GET", ["department"]:
                code = _one(query, "code")
                items = [d for d in s.departments.values()
                         if code is None or (d["code"] or "").casefold() == code.strip().casefold()]
                return 200, {"departments": [self._dept_out(d) for d in items]}
            case "POST", ["department"]:
                return 201, self._create_department(_object(body))
            case "GET", ["department", did]:
                return 200, {"response": self._dept_out(self._department(did))}
            case "POST", ["department", did]:
                self._update_department(did, _object(body))
                return 204, None
            case "POST", ["department", did, "user", "move"]:
                self._department(did)
                ids = _object(body).get("userIds")
                if not isinstance(ids, list) or not ids:
                    raise _Refusal(400, "userIds is required")
                for user in [self._user(str(i)) for i in ids]:
                    user["departmentId"] = did
                return 204, None
            case "DELETE", ["department", did]:
                self._delete_department(did)
                return 204, None
            case "GET", ["users", "v2"]:
                items = self._filter_users(query)
                page, token = self._page(items, query, "users")
                return 200, {"userProfiles": [self._user_out(u) for u in page], "nextPageToken": token}
            case "POST", ["users", "v2"]:  # the same filters in the body, for key lists too long for a URL
                filters = {f"{k}[]": [str(v) for v in values] for k, values in _object(body).items()
                           if k in ("logins", "emails", "userIds", "departments") and isinstance(values, list)}
                page, token = self._page(self._filter_users(filters), query, "users")
                return 200, {"userProfiles": [self._user_out(u) for u in page], "nextPageToken": token}
            case "POST", ["user"]:
                return 201, self._create_user(_object(body))
            case "GET", ["user", "profile", "fields"]:
                return 200, [dict(f) for f in self.profile_fields]
            case "GET", ["user", uid]:
                return 200, {"response": self._user_out(self._user(uid))}
            case "POST", ["user", uid]:
                self._update_user(uid, _object(body))
                return 200, None
            case "POST", ["user", uid, "status"]:
                user = self._user(uid)
                user["status"] = _status(_object(body).get("status"))
                return 200, None
            case "POST", ["users", ("activate" | "deactivate" | "terminate") as action]:
                ids = _object(body).get("userIds")
                if not isinstance(ids, list) or not ids:
                    raise _Refusal(400, "userIds is required")
                users = [self._user(str(i)) for i in ids]
                for user in users:
                    user["status"] = {"activate": 1, "deactivate": 3, "terminate": 5}[action]
                return 200, None
            case "POST", ["user", uid, "subordination"]:
                self._subordinate(uid, _object(body))
                return 204, None
        raise _Refusal(404, f"No route for {method} {path}")

    # -- paging

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]], kind: str,
              ) -> tuple[list[dict[str, Any]], str | None]:
        size_text = _one(query, "pageSize")
        try:
            size = int(size_text) if size_text else 1000
        except ValueError:
            raise _Refusal(400, "pageSize must be a whole number") from None
        if size < 1:
            raise _Refusal(400, "pageSize must be positive")
        offset = 0
        token = _one(query, "pageToken")
        if token:
            try:
                data = json.loads(base64.urlsafe_b64decode(token.encode()))
                if data["k"] != kind:
                    raise ValueError
                offset = int(data["o"])
            except (ValueError, KeyError, TypeError):
                raise _Refusal(400, "pageToken is invalid") from None
        page = items[offset:offset + size]
        following = offset + size
        if following >= len(items):
            return page, None
        return page, base64.urlsafe_b64encode(json.dumps({"k": kind, "o": following}).encode()).decode()

    # -- departments

    def _department(self, did: str) -> dict[str, Any]:
        d = self._state.departments.get(did)
        if d is None:
            raise _Refusal(404, f"Department {did} not found")
        return d

    def _create_department(self, body: dict[str, Any]) -> str:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _Refusal(400, "name is required")
        parent = body.get("parentDepartmentId")
        if not parent:
            raise _Refusal(400, "parentDepartmentId is required")
        self._department(str(parent))
        code = body.get("code")
        did = self._new_id()
        self._state.departments[did] = _department(did, name, code if code else None, str(parent))
        return did

    def _update_department(self, did: str, body: dict[str, Any]) -> None:
        d = self._department(did)
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise _Refusal(400, "name cannot be empty")
        if "parentDepartmentId" in body:
            if did == self.root_id:
                raise _Refusal(400, "The root department cannot be moved")
            parent = str(body["parentDepartmentId"] or "")
            self._department(parent)
            up: str | None = parent
            while up is not None:
                if up == did:
                    raise _Refusal(400, "A department cannot be moved under itself or its descendant")
                up = self._state.departments[up]["parentDepartmentId"]
            d["parentDepartmentId"] = parent
        if "name" in body:
            d["name"] = body["name"]
        if "code" in body:
            d["code"] = body["code"] or None

    def _delete_department(self, did: str) -> None:
        self._department(did)
        if did == self.root_id:
            raise _Refusal(400, "The root department cannot be deleted")
        if any(u["departmentId"] == did for u in self._state.users.values()):
            raise _Refusal(400, "Department contains users and cannot be deleted")
        if any(d["parentDepartmentId"] == did for d in self._state.departments.values()):
            raise _Refusal(400, "Department contains subdepartments and cannot be deleted")
        del self._state.departments[did]

    def _dept_out(self, d: dict[str, Any]) -> dict[str, Any]:
        out = dict(d)
        if out["code"] is None:
            del out["code"]
        return out

    # -- users

    def _user(self, uid: str) -> dict[str, Any]:
        u = self._state.users.get(uid)
        if u is None:
            raise _Refusal(404, f"User {uid} not found")
        return u

    def _filter_users(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        users = list(self._state.users.values())
        for key, field_name in (("logins[]", "login"), ("emails[]", "email")):
            if key in query:
                wanted = {v.strip().casefold() for v in query[key]}
                users = [u for u in users if (u["fields"].get(field_name) or "").casefold() in wanted]
        if "departments[]" in query:
            wanted = set(query["departments[]"])
            users = [u for u in users if u["departmentId"] in wanted]
        if "userIds[]" in query:
            wanted = set(query["userIds[]"])
            users = [u for u in users if u["userId"] in wanted]
        return users

    def _profile_fields(self, raw: Any, *, current: dict[str, str] | None = None,
                        ) -> dict[str, str | None]:
        """Incoming `fields` in the catalogue's spelling; unknown names and missing required ones refused."""
        if isinstance(raw, list):
            raw = {f.get("name"): f.get("value") for f in raw if isinstance(f, dict)}
        if not isinstance(raw, dict):
            raise _Refusal(400, "fields is required")
        # UserProfileFields requires login and email wherever fields are sent.
        for name in ("login", "email"):
            if not any(isinstance(k, str) and k.casefold() == name for k in raw):
                raise _Refusal(400, f"fields.{name} is required")
        spelling = {f["name"].casefold(): f["name"] for f in self.profile_fields}
        out: dict[str, str | None] = {}
        for name, value in raw.items():
            if not isinstance(name, str) or name.casefold() not in spelling:
                raise _Refusal(400, f"Unknown profile field {name!r}")
            if value is not None and not isinstance(value, (str, int, float)):
                raise _Refusal(400, f"fields.{name} must be text")
            text = None if value is None or str(value) == "" else str(value)
            out[spelling[name.casefold()]] = text
        merged = {**(current or {}), **out}
        for f in self.profile_fields:
            if f["isRequired"] and not (merged.get(f["name"]) or "").strip():
                raise _Refusal(400, f"fields.{f['name']} is required")
        email = merged.get("email") or ""
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise _Refusal(400, "fields.email is not a valid email address")
        return out

    def _check_unique(self, fields: dict[str, str | None], uid: str | None) -> None:
        for name, index in (("login", self._state.logins), ("email", self._state.emails)):
            value = fields.get(name)
            if value is not None:
                holder = index.get(value.casefold())
                if holder is not None and holder != uid:
                    raise _Refusal(self.duplicate_status, f"{name.capitalize()} {value} must be unique")

    def _create_user(self, body: dict[str, Any]) -> str:
        dept = body.get("departmentId")
        if not dept:
            raise _Refusal(400, "departmentId is required")
        self._department(str(dept))
        fields = self._profile_fields(body.get("fields"))
        self._check_unique(fields, None)
        uid = self._new_id()
        stored = {k: v for k, v in fields.items() if v is not None}
        self._state.users[uid] = _user(uid, str(dept), stored, 1)
        self._state.logins[stored["login"].casefold()] = uid
        self._state.emails[stored["email"].casefold()] = uid
        return uid

    def _update_user(self, uid: str, body: dict[str, Any]) -> None:
        user = self._user(uid)
        if "departmentId" in body:
            self._department(str(body["departmentId"]))
        fields = None
        if "fields" in body:
            fields = self._profile_fields(body["fields"], current=user["fields"])
            self._check_unique(fields, uid)
        if "departmentId" in body:
            user["departmentId"] = str(body["departmentId"])
        if fields is not None:
            old_login, old_email = user["fields"]["login"], user["fields"]["email"]
            for name, value in fields.items():
                if value is None:
                    user["fields"].pop(name, None)
                else:
                    user["fields"][name] = value
            del self._state.logins[old_login.casefold()]
            del self._state.emails[old_email.casefold()]
            self._state.logins[user["fields"]["login"].casefold()] = uid
            self._state.emails[user["fields"]["email"].casefold()] = uid

    def _subordinate(self, uid: str, body: dict[str, Any]) -> None:
        user = self._user(uid)
        updates = {}
        for key in ("subordination", "coSubordination"):
            if key not in body:
                continue
            link = body[key]
            if not isinstance(link, dict) or link.get("subordinationType") not in SUBORDINATION_TYPES:
                raise _Refusal(400, f"{key}.subordinationType must be one of {', '.join(SUBORDINATION_TYPES)}")
            if link["subordinationType"] == "manual":
                supervisor = link.get("supervisorId")
                if not supervisor:
                    raise _Refusal(400, f"{key}.supervisorId is required for manual subordination")
                self._user(str(supervisor))
                if supervisor == uid:
                    raise _Refusal(400, "A user cannot be their own supervisor")
                updates[key] = {"subordinationType": "manual", "supervisorId": str(supervisor)}
            else:
                updates[key] = {"subordinationType": link["subordinationType"]}
        user.update(updates)

    def _user_out(self, u: dict[str, Any]) -> dict[str, Any]:
        rename = self.field_name_case or (lambda n: n)
        if self.fields_shape == "list":
            fields: Any = [{"name": rename(k), "value": v} for k, v in u["fields"].items()]
        else:
            fields = {rename(k): v for k, v in u["fields"].items()}
        return {**u, "fields": fields}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a timeout test, a dropped connection) is part of the game."""


class _Handler(BaseHTTPRequestHandler):
    emulator: ISpringEmulator
    protocol_version = "HTTP/1.1"
    # One write per answer, sent at once: headers and body in separate small writes meet
    # the client's delayed ACK and cost ~40 ms each.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        emu = self.emulator
        url = urlsplit(self.path)
        path = url.path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if emu.latency:
            time.sleep(emu.latency)
        fault = emu._take_fault(method, path)
        auth = "none"
        status, body, extra = 500, None, {}
        stall_after = 0.0
        if fault is not None and fault.kind == "stall":
            if fault.after_apply:
                stall_after = fault.seconds
            else:
                time.sleep(fault.seconds)
            fault = None
        try:
            if len(self.path) > emu.max_url:
                raise _Refusal(414, "URI Too Long")
            if fault is not None and not fault.after_apply:
                self._fault(fault, method, path, auth)
                return
            if path == "/api/v3/token" and method == "POST":
                status, body = emu._token(parse_qs(raw.decode("utf-8", "replace")))
            else:
                auth = emu._authenticate(self.headers)
                payload = None
                if raw:
                    try:
                        payload = json.loads(raw)
                    except ValueError:
                        raise _Refusal(400, "The request body is not valid JSON") from None
                with emu._lock:
                    status, body = emu._route(method, path, parse_qs(url.query, keep_blank_values=True), payload)
        except _Refusal as refusal:
            status, body, extra = refusal.status, {"code": refusal.status, "message": refusal.message}, refusal.headers
        if fault is not None:  # after_apply: the work is done; now the answer goes wrong
            self._fault(fault, method, path, auth)
            return
        emu._record(method, path, status, auth, url.query)
        if stall_after:
            time.sleep(stall_after)
        try:
            self._answer(status, body, extra)
        except OSError:  # the client gave up waiting
            self.close_connection = True

    def _fault(self, fault: Fault, method: str, path: str, auth: str) -> None:
        if fault.kind == "drop":
            self.emulator._record(method, path, 0, auth)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        self.emulator._record(method, path, fault.status, auth)
        self._answer(fault.status, {"code": fault.status, "message": "Injected fault"}, headers)

    def _answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = b"" if body is None or status == 204 else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if data:
            self.wfile.write(data)


def _department(did: str, name: str, code: str | None, parent: str | None) -> dict[str, Any]:
    return {
        "departmentId": did, "name": name, "parentDepartmentId": parent, "code": code,
        "subordination": {"subordinationType": "inherit"}, "coSubordination": {"subordinationType": "inherit"},
    }


def _user(uid: str, department_id: str, fields: dict[str, str], status: int) -> dict[str, Any]:
    return {
        "userId": uid, "role": "learner", "roleId": "learner-role", "departmentId": department_id,
        "status": _status(status), "fields": dict(fields), "addedDate": "2024-01-01 00:00:00",
        "lastLoginDate": None, "userRoles": [], "groups": [],
        "subordination": {"subordinationType": "inherit"}, "coSubordination": {"subordinationType": "inherit"},
    }


def _status(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number not in STATUSES or isinstance(value, bool):
        raise _Refusal(400, f"status must be one of {', '.join(map(str, STATUSES))}")
    return number


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _Refusal(400, "A JSON object is required")
    return body


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None
