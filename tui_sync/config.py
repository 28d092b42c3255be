"""`tui-sync.toml` (DESIGN §2): types, parsing and validation.

A config error names the file, the key, what was found and what is expected
(exit 2). Secrets are never plain text in the file.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
import tomllib
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from .errors import ConfigError
from .model import DEPARTMENT_FIELDS, DEPARTMENT_REQUIRED, USER_REQUIRED, USER_STANDARD_FIELDS, Kind
from .rule_settings import BLANKS, NO_BLANK, NOT_WRITTEN, UPDATES, FieldPolicy, Protect, Scope, ScopeRule
from .safe_text import redact_text, redact_url
from .sources.table import SheetOptions

CONFIG_NAME = "tui-sync.toml"
STATE_DIR_NAME = ".tui-sync"


@dataclass(frozen=True)
class Secret:
    """Where a secret lives: `{ env = "NAME" }`, `{ file = "path" }` or `{ stored = "name" }`
    (the state folder's secrets file, written by the UI). Never holds the value itself."""

    env: str | None = None
    file: Path | None = None
    stored: str | None = None

    def describe(self) -> str:
        if self.env:
            return f"environment variable {self.env}"
        if self.file:
            return f"file {self.file}"
        return f"stored secret {self.stored!r}"


FILE_MAX_BYTES = 2 * 1024**3  # DESIGN §2: a local file source's default max_bytes


@dataclass(frozen=True)
class SourceConfig:
    kind: str  # "file" | "url" | "google_sheets"
    options: SheetOptions = SheetOptions()
    path: Path | None = None  # kind = "file": absolute (relative ones resolved against the config's folder)
    url: str | None = None  # kind = "url" / "google_sheets"
    username: str | None = None
    password: Secret | None = None
    service_account: Secret | None = None
    max_bytes: int = 100 * 1024 * 1024  # (a file source's default is FILE_MAX_BYTES)
    timeout: float = 30.0
    ca_file: Path | None = None
    allow_insecure_http: bool = False

    def describe(self) -> str:
        """Where it is, for messages (never with credentials)."""
        return str(self.path) if self.kind == "file" else (self.url or "?")


@dataclass(frozen=True)
class EntityConfig:
    """`[departments]` or `[users]`: a source and its mapping (LMS field -> column name),
    the rows in scope (C1) and when each field is written (C3)."""

    source: SourceConfig
    mapping: dict[str, str]
    scope: Scope = Scope()
    fields: dict[str, FieldPolicy] = field(default_factory=dict)  # LMS field -> policy (mapped fields only)


@dataclass(frozen=True)
class LmsConfig:
    kind: str = "local"  # "local" | "ispring"
    path: Path | None = None  # local: the SQLite file
    base_url: str = "https://api-learn.ispringlearn.com"
    client_id: str | None = None
    client_secret: Secret | None = None
    account_url: str | None = None  # legacy header credentials
    login: str | None = None
    password: Secret | None = None
    requests_per_second: float = 5.0
    timeout: float = 30.0
    ca_file: Path | None = None  # extra CA certificates (PEM) to trust, beside the system's


@dataclass(frozen=True)
class Threshold:
    """A limit given as "10%" (of a base) or as a plain count."""

    value: float
    percent: bool

    def limit(self, base: int) -> float:
        return base * self.value / 100 if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{self.value:g}"


@dataclass(frozen=True)
class ScheduleConfig:
    times: tuple[str, ...] = ()  # "HH:MM", at most three (S1)
    timezone: str | None = None  # IANA name; None = the machine's


@dataclass(frozen=True)
class PolicyConfig:
    review: tuple[Kind, ...] = (Kind.INACTIVATE_USER, Kind.DELETE_DEPARTMENT)
    max_inactivations: Threshold = Threshold(10, True)
    max_department_deletes: Threshold = Threshold(10, True)
    max_row_drop: Threshold = Threshold(20, True)


@dataclass(frozen=True)
class ApplyConfig:
    concurrency: int = 8


@dataclass(frozen=True)
class NotifyConfig:
    command: str | None = None
    webhook: str | None = None
    always: bool = False  # notify on every run, not only on failures, held changes and row errors
    ca_file: Path | None = None  # extra CA certificates (PEM) to trust for the webhook


@dataclass(frozen=True)
class Config:
    path: Path  # the TOML file
    lms: LmsConfig
    departments: EntityConfig
    users: EntityConfig
    schedule: ScheduleConfig | None = None
    policy: PolicyConfig = PolicyConfig()
    apply: ApplyConfig = ApplyConfig()
    notify: NotifyConfig = NotifyConfig()
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> key(s)
    protect: Protect = Protect()  # C2
    state_dir: Path | None = None  # default: `.tui-sync/` beside the config
    raw: dict[str, Any] = field(default_factory=dict)  # the parsed TOML, for saving with tomli-w

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def state(self) -> Path:
        return self.state_dir or (self.base_dir / STATE_DIR_NAME)


# ---------------------------------------------------------------------------
# What each section takes. The parser checks keys against these lists, and the
# UI can show the text next to a key.

SECTIONS: dict[str, dict[str, str]] = {
    "": {
        "lms": "the LMS to keep in step: [lms]",
        "departments": "the departments sheet: [departments.source] and [departments.mapping]",
        "users": "the users sheet: [users.source] and [users.mapping]",
        "schedule": "daily run times for `tui-sync daemon`",
        "policy": "what unattended runs leave for a person, and the safety thresholds (P3)",
        "apply": "how changes are written",
        "notify": "who hears about runs that need attention",
        "keys": "key bindings: binding id = key",
        "protect": "LMS users and departments that no sync touches (C2)",
        "state_dir": "the state folder (ledger, runs, plans, secrets); default .tui-sync beside this file",
    },
    "lms": {
        "kind": '"local" (the embedded SQLite LMS, the default) or "ispring"',
        "path": 'local: the SQLite file (default "lms.sqlite", relative to this file)',
        "base_url": 'ispring: the API address (default "https://api-learn.ispringlearn.com")',
        "client_id": "ispring: the REST API client id",
        "client_secret": 'ispring: the REST API client secret, e.g. { env = "ISPRING_CLIENT_SECRET" }',
        "account_url": 'ispring, legacy style: the account address, e.g. "https://myco.ispringlearn.com"',
        "login": "ispring, legacy style: the administrator's login",
        "password": 'ispring, legacy style: the administrator\'s password, e.g. { env = "ISPRING_PASSWORD" }',
        "requests_per_second": "ispring: at most this many requests a second (default 5)",
        "timeout": "ispring: seconds to wait for an answer (default 30)",
        "ca_file": "ispring: extra CA certificates (PEM) to trust, relative to this file",
    },
    "entity": {
        "source": "where the sheet is",
        "mapping": 'LMS field = "column name in the sheet"',
        "scope": "which rows count: include and exclude rules (C1)",
        "fields": 'when a field is written: field = { update = "…", blank = "…" } (C3)',
    },
    "scope": {
        "include": 'rules every row in scope meets, e.g. [{ column = "Employment type", values = ["Employee"] }]',
        "exclude": 'rules that leave a row out, e.g. [{ column = "Login", pattern = "test-*" }]',
    },
    "scope rule": {
        "column": "a column of the sheet, mapped or not",
        "values": 'cell values, compared trimmed and case-insensitively, e.g. ["Contractor", "Intern"]',
        "pattern": 'a pattern with * and ? wildcards, case-insensitive, e.g. "test-*"',
    },
    "field": {
        "update": '"always" (the default), "on_create" or "if_empty"',
        "blank": '"clear" (the default: a blank cell clears the LMS value) or "keep"',
    },
    "protect": {
        "users": 'logins no sync touches, with * and ? wildcards, e.g. ["admin", "svc-*"]',
        "departments": 'department codes no sync touches (their sub-departments too), e.g. ["EXT"]',
    },
    "source": {
        "kind": '"file" (a local path, the default), "url" or "google_sheets"',
        "path": "file: the sheet's path, relative to this file",
        "url": "url: the https:// address of a CSV or XLSX file; google_sheets: the sheet's link",
        "username": "url: the user name for the download",
        "password": 'url: the password for the download, e.g. { env = "HR_FILE_PASSWORD" }',
        "max_bytes": "url: refuse a download larger than this many bytes (default 100 MB); file: a larger file"
                     " (default 2 GB)",
        "timeout": "url, google_sheets: seconds of silence before giving up (default 30)",
        "ca_file": "url, google_sheets: extra CA certificates (PEM) to trust, relative to this file",
        "allow_insecure_http": "url: allow plain http:// (default false)",
        "service_account": 'google_sheets: the service account key, e.g. { file = "service-account.json" }',
        "sheet": "the XLSX sheet or Google tab (default: the first visible one)",
        "header_row": "the row that holds the column names (default 1)",
        "encoding": 'CSV: "auto" (the default: a BOM, then UTF-8, then the likeliest European or Cyrillic '
                    'code page) or a Python codec name',
        "delimiter": 'CSV: "auto" (the default), ",", ";", "tab" or "|"',
    },
    "schedule": {
        "times": 'up to three daily times, e.g. ["07:00", "13:00", "19:00"]',
        "timezone": 'an IANA time zone, e.g. "Europe/Berlin" (default: the machine\'s)',
    },
    "policy": {
        "review": "change kinds an unattended run leaves for a person",
        "max_inactivations": 'hold inactivations over this share of managed users ("10%") or count',
        "max_department_deletes": 'hold department deletes over this share of managed departments ("10%") or count',
        "max_row_drop": 'hold destructive changes when a sheet has this many fewer rows than last time ("20%")',
    },
    "apply": {
        "concurrency": "parallel writes to a network LMS, 1 to 64 (default 8)",
    },
    "notify": {
        "command": "a command to run when a run needs attention",
        "webhook": "an https:// address to post the run's summary to",
        "always": "notify after every run, not only on failures, held changes and row errors (default false)",
        "ca_file": "webhook: extra CA certificates (PEM) to trust, relative to this file",
    },
}

SOURCE_KINDS: dict[str, tuple[str, ...]] = {
    "file": ("path", "max_bytes"),
    "url": ("url", "username", "password", "max_bytes", "timeout", "ca_file", "allow_insecure_http"),
    "google_sheets": ("url", "service_account", "timeout", "ca_file"),
}
SOURCE_COMMON: tuple[str, ...] = ("kind", "sheet", "header_row", "encoding", "delimiter")
LMS_KINDS: dict[str, tuple[str, ...]] = {
    "local": ("path",),
    "ispring": ("base_url", "client_id", "client_secret", "account_url", "login", "password",
                "requests_per_second", "timeout", "ca_file"),
}
DELIMITERS: dict[str, str] = {"auto": "auto", ",": ",", ";": ";", "\t": "\t", "tab": "\t", "|": "|"}
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")
_MISSING: Any = object()


MAX_CONFIG_BYTES = 1 << 20


def load_config(path: Path) -> Config:
    """Read and validate a `tui-sync.toml`. Every problem is a `ConfigError` naming the file."""
    where = str(path)
    raw = b""
    try:
        with open(path, "rb") as f:  # (bounded: `--config /dev/zero` must not fill the memory)
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"the file is larger than {MAX_CONFIG_BYTES >> 20} MiB: not a tui-sync configuration",
                              where=where, hint="pass the tui-sync.toml file with --config")
        text = raw.decode("utf-8-sig")  # (Notepad's and PowerShell's "UTF-8" start with a BOM)
    except FileNotFoundError:
        raise ConfigError(
            "the configuration file is missing", where=where,
            hint="run `tui-sync` without arguments for the setup wizard, or pass --config FILE",
        ) from None
    except IsADirectoryError:
        raise ConfigError("this is a folder, not a configuration file", where=where,
                          hint=f"pass the file itself, e.g. --config {Path(path) / CONFIG_NAME}") from None
    except PermissionError:
        raise ConfigError("the configuration file cannot be read (permission denied)", where=where,
                          hint="check the file's owner and mode") from None
    except UnicodeDecodeError as exc:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ConfigError("the file is saved as UTF-16 (\"Unicode\"), not UTF-8 text", where=where,
                              hint="save it as UTF-8") from None
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"the file is not UTF-8 text (line {line}, byte {exc.start}: perhaps a Windows code page)",
                          where=where, hint="save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line, column = _toml_position(str(exc), text)
        raise ConfigError(
            f"not valid TOML: {message}", where=f"{where}, line {line}, column {column}",
            hint="see https://toml.io for the syntax; text values need quotes",
        ) from None
    return parse_config(data, Path(path))


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Validate parsed TOML. `path` is the config file: messages name it as given,
    and relative paths in it are resolved against its folder."""
    ctx = _Context(str(path), Path(path).absolute().parent)
    root = _Table(data, ctx)
    root.check_keys(SECTIONS[""])
    optional = {name: root.section(name, required=False)
                for name in ("schedule", "policy", "apply", "notify", "keys", "protect")}
    keys = optional["keys"]
    return Config(
        path=Path(path).absolute(),
        lms=_lms(root.section("lms", hint='add [lms] with kind = "local" (and path) or kind = "ispring"')),
        departments=_entity(root, "departments"),
        users=_entity(root, "users"),
        schedule=_schedule(optional["schedule"]) if optional["schedule"] else None,
        policy=_policy(optional["policy"]) if optional["policy"] else PolicyConfig(),
        apply=_apply(optional["apply"]) if optional["apply"] else ApplyConfig(),
        notify=_notify(optional["notify"]) if optional["notify"] else NotifyConfig(),
        keys={k: keys.text(k, required=True) for k in keys.data} if keys else {},
        protect=_protect(optional["protect"]) if optional["protect"] else Protect(),
        state_dir=root.path("state_dir", STATE_DIR_NAME),
        raw=data,
    )


def _lms(t: _Table) -> LmsConfig:
    kind = t.choice("kind", LMS_KINDS, "local")
    t.check_keys(("kind", *LMS_KINDS[kind]), _other_kinds(LMS_KINDS, kind))
    if kind == "local":
        return LmsConfig(kind="local", path=t.path("path", "lms.sqlite"))
    modern = [k for k in ("client_id", "client_secret") if k in t.data]
    legacy = [k for k in ("account_url", "login", "password") if k in t.data]
    styles = ('client_id = "…" with client_secret = { env = "ISPRING_CLIENT_SECRET" }, or the legacy '
              'account_url, login and password = { env = "ISPRING_PASSWORD" }')
    if modern and legacy:
        t.fail(None, f"mixes two styles of credentials ({', '.join(modern)} and {', '.join(legacy)})",
               hint=f"use one: {styles}")
    if not modern and not legacy:
        t.fail(None, 'kind = "ispring" needs credentials', hint=f"add {styles}")
    for key in ("client_id", "client_secret") if modern else ("account_url", "login", "password"):
        t.require(key, f"it goes with {', '.join(modern or legacy)}")
    return LmsConfig(
        kind="ispring",
        base_url=t.url("base_url", LmsConfig.base_url, http="loopback").rstrip("/"),
        client_id=t.text("client_id"),
        client_secret=t.secret("client_secret"),
        account_url=t.text("account_url"),
        login=t.text("login"),
        password=t.secret("password"),
        requests_per_second=t.number("requests_per_second", LmsConfig.requests_per_second),
        timeout=t.number("timeout", LmsConfig.timeout),
        ca_file=t.path("ca_file"),
    )


def _entity(root: _Table, name: str) -> EntityConfig:
    hint = (f"add [{name}.source] (where the sheet is) and [{name}.mapping] "
            '(LMS field = "column name in the sheet")')
    t = root.section(name, hint=hint)
    fields = DEPARTMENT_FIELDS if name == "departments" else USER_STANDARD_FIELDS
    misplaced = {k: f"source settings go under [{name}.source]" for k in SECTIONS["source"]}
    misplaced |= {f: f"field mappings go under [{name}.mapping]" for f in fields}
    t.check_keys(SECTIONS["entity"], misplaced)
    source = _source(t.section("source", hint=f'add [{name}.source] with kind = "file" and path = "…"'))
    mapping_table = t.section("mapping", hint=f'add [{name}.mapping] with lines like {fields[0]} = "Column name"')
    if name == "departments":
        mapping = _mapping(mapping_table, DEPARTMENT_REQUIRED, DEPARTMENT_FIELDS, custom=False)
    else:
        mapping = _mapping(mapping_table, USER_REQUIRED, USER_STANDARD_FIELDS, custom=True)
    scope = t.section("scope", required=False)
    policies = t.section("fields", required=False)
    return EntityConfig(source=source, mapping=mapping, scope=_scope(scope) if scope else Scope(),
                        fields=_fields(policies, mapping) if policies else {})


def _scope(t: _Table) -> Scope:
    t.check_keys(SECTIONS["scope"])
    sides: dict[str, list[ScopeRule]] = {"include": [], "exclude": []}
    for side, rules in sides.items():
        items = t.get(side, [])
        if not isinstance(items, list):
            t.expect(side, items, 'a list of rules like { column = "…", values = ["…"] }')
        for i, item in enumerate(items, 1):
            label = f"{side}[{i}]"
            if not isinstance(item, dict):
                t.expect(label, item, 'a rule: { column = "…", values = ["…"] } or { column = "…", pattern = "…" }')
            rules.append(_scope_rule(_Table(item, t.ctx, t.name, label)))
    return Scope(include=tuple(sides["include"]), exclude=tuple(sides["exclude"]))


def _scope_rule(t: _Table) -> ScopeRule:
    t.check_keys(SECTIONS["scope rule"])
    t.require("column", 'a rule names the sheet column it tests, e.g. column = "Employment type"')
    column = t.text("column").strip()
    how = [k for k in ("values", "pattern") if k in t.data]
    if len(how) != 1:
        t.fail(None, "found both values and pattern" if how else "found neither values nor pattern",
               hint='a rule takes exactly one: values = ["…", "…"] (equal to one of them) '
                    'or pattern = "…" (with * and ? wildcards)')
    if how == ["pattern"]:
        return ScopeRule(column, pattern=t.text("pattern", required=True).strip())
    values = t.get("values")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        bad = next((v for v in values if not isinstance(v, str)), None) if isinstance(values, list) else None
        t.expect("values", values if bad is None else bad, 'a non-empty list of texts, e.g. ["Contractor", "Intern"]',
                 hint="write numbers and dates in quotes, as the sheet shows them" if bad is not None else None)
    return ScopeRule(column, values=tuple(v.strip() for v in values))


def _fields(t: _Table, mapping: dict[str, str]) -> dict[str, FieldPolicy]:
    section = t.name.split(".")[0]
    out: dict[str, FieldPolicy] = {}
    for name, value in t.data.items():
        if name not in mapping:
            mapped = ", ".join(mapping)
            t.fail(name, "found a policy on an unmapped field; a policy applies to a mapped field only",
                   hint=f"map it in [{section}.mapping], or remove it; mapped fields: {mapped}")
        if name in NOT_WRITTEN:
            t.fail(name, "found a policy on a unique key, which is never written to the LMS (the ledger "
                         "remembers it)", hint="remove it")
        if not isinstance(value, dict):
            t.expect(name, value, '{ update = "always" | "on_create" | "if_empty", blank = "clear" | "keep" }')
        inner = _Table(value, t.ctx, t.name, name)
        inner.check_keys(SECTIONS["field"])
        policy = FieldPolicy(update=inner.choice("update", UPDATES, "always"),
                             blank=inner.choice("blank", BLANKS, "clear"))
        if "blank" in value and name in NO_BLANK:
            inner.fail("blank", f'found blank = "{policy.blank}" on {name}, {NO_BLANK[name]}; '
                                "it takes no blank policy", hint="remove blank here (update is allowed)")
        out[name] = policy
    return out


def _protect(t: _Table) -> Protect:
    t.check_keys(SECTIONS["protect"])
    return Protect(users=_patterns(t, "users", 'logins, e.g. ["admin", "svc-*"]'),
                   departments=_patterns(t, "departments", 'department codes, e.g. ["EXT"]'))


def _patterns(t: _Table, key: str, what: str) -> tuple[str, ...]:
    items = t.get(key, [])
    if not isinstance(items, list):
        t.expect(key, items, f"a list of {what}")
    for item in items:
        if not isinstance(item, str) or not item.strip():
            t.expect(key, item, f"a list of non-empty texts: {what}",
                     hint="write codes in quotes, as the sheet shows them" if not isinstance(item, str) else None)
    return tuple(dict.fromkeys(i.strip() for i in items))


def _source(t: _Table) -> SourceConfig:
    kind = t.choice("kind", SOURCE_KINDS, "file")
    t.check_keys(SOURCE_COMMON + SOURCE_KINDS[kind], _other_kinds(SOURCE_KINDS, kind))
    options = SheetOptions(
        sheet=t.text("sheet"),
        header_row=t.whole("header_row", 1, low=1),
        encoding=t.encoding("encoding"),
        delimiter=t.delimiter("delimiter"),
    )
    if kind == "file":
        t.require("path", 'kind = "file" reads a sheet from this path')
        return SourceConfig(kind="file", options=options, path=t.path("path"),
                            max_bytes=t.whole("max_bytes", FILE_MAX_BYTES, low=1))
    if kind == "google_sheets":
        t.require("url", "the sheet's link, as the browser shows it")
        t.require("service_account", 'the service account key, e.g. { file = "service-account.json" }')
        return SourceConfig(
            kind="google_sheets", options=options, url=t.url("url", http="never"),
            service_account=t.secret("service_account"), timeout=t.number("timeout", SourceConfig.timeout),
            ca_file=t.path("ca_file"),
        )
    t.require("url", 'kind = "url" downloads the sheet from this https:// address')
    if ("username" in t.data) != ("password" in t.data):
        missing = "password" if "username" in t.data else "username"
        t.fail(missing, "missing; username and password go together",
               hint='e.g. username = "hr" and password = { env = "HR_FILE_PASSWORD" }')
    insecure = t.flag("allow_insecure_http", False)
    return SourceConfig(
        kind="url", options=options,
        url=t.url("url", http="always" if insecure else "never",
                  hint="use https://, or set allow_insecure_http = true if you trust this network"),
        username=t.text("username"),
        password=t.secret("password"),
        max_bytes=t.whole("max_bytes", SourceConfig.max_bytes, low=1),
        timeout=t.number("timeout", SourceConfig.timeout),
        ca_file=t.path("ca_file"),
        allow_insecure_http=insecure,
    )


def _mapping(t: _Table, required: tuple[str, ...], standard: tuple[str, ...], *, custom: bool) -> dict[str, str]:
    if not custom:
        t.check_keys(standard, hint="departments have no custom fields")
    lowered = {f.lower(): f for f in standard}
    for key in t.data:
        if key not in standard and key.lower() in lowered:
            t.fail(key, f"LMS field names are case-sensitive: this is spelled {lowered[key.lower()]}")
    mapping = {key: t.text(key, required=True).strip() for key in t.data}
    missing = [f for f in required if f not in mapping]
    if missing:
        extra = [k for k in mapping if k not in standard]
        typos = [f"is {g} meant to be {f}?" for f in missing for g in difflib.get_close_matches(f, extra, 1, 0.75)]
        how = "map each to its column: " + ", ".join(f'{f} = "…"' for f in missing)
        t.fail(None, f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
               hint="; ".join([*typos, how]))
    seen: dict[str, str] = {}
    for key, column in mapping.items():
        if column in seen:
            t.fail(key, f'column "{column}" is already mapped to {seen[column]}',
                   hint="each LMS field needs a column of its own")
        seen[column] = key
    return mapping


def _schedule(t: _Table) -> ScheduleConfig:
    t.check_keys(SECTIONS["schedule"])
    expected = 'a list of up to three "HH:MM" times, e.g. ["07:00", "13:00", "19:00"]'
    items = t.get("times", [])
    if not isinstance(items, list):
        t.expect("times", items, expected)
    if len(items) > 3:
        t.fail("times", f"found {len(items)} times, expected at most three a day (S1)",
               hint="keep three times or fewer")
    times: list[str] = []
    for item in items:
        time = _time(item)
        if time is None:
            t.expect("times", item, 'a time of day from "00:00" to "23:59", written "HH:MM"')
        if time in times:
            t.fail("times", f'"{time}" is listed twice', hint="each time may appear once")
        times.append(time)
    return ScheduleConfig(times=tuple(times), timezone=t.timezone("timezone"))


def _policy(t: _Table) -> PolicyConfig:
    t.check_keys(SECTIONS["policy"])
    items = t.get("review", _MISSING)
    review = PolicyConfig.review
    if items is not _MISSING:
        valid = ", ".join(k.value for k in Kind)
        if not isinstance(items, list):
            t.expect("review", items, f"a list of change kinds from: {valid}")
        kinds: list[Kind] = []
        for item in items:
            if not isinstance(item, str) or item not in Kind._value2member_map_:
                close = difflib.get_close_matches(item, list(Kind), 1) if isinstance(item, str) else []
                t.expect("review", item, f"a change kind: one of {valid}",
                         hint=f"did you mean {close[0]}?" if close else None)
            if Kind(item) not in kinds:
                kinds.append(Kind(item))
        review = tuple(kinds)
    return PolicyConfig(
        review=review,
        max_inactivations=t.threshold("max_inactivations", PolicyConfig.max_inactivations),
        max_department_deletes=t.threshold("max_department_deletes", PolicyConfig.max_department_deletes),
        max_row_drop=t.threshold("max_row_drop", PolicyConfig.max_row_drop),
    )


def _apply(t: _Table) -> ApplyConfig:
    t.check_keys(SECTIONS["apply"])
    return ApplyConfig(concurrency=t.whole("concurrency", ApplyConfig.concurrency, low=1, high=64))


def _notify(t: _Table) -> NotifyConfig:
    t.check_keys(SECTIONS["notify"])
    return NotifyConfig(
        command=t.text("command"),
        webhook=t.url("webhook", None, http="loopback"),
        always=t.flag("always", False),
        ca_file=t.path("ca_file"),
    )


# ---------------------------------------------------------------------------
# Walking a table: typed values, and messages that name the file and the key.

@dataclass(frozen=True)
class _Context:
    file: str  # the config file as given, for messages
    base_dir: Path  # absolute: relative paths in the file are resolved against it


@dataclass(frozen=True)
class _Table:
    """One TOML table and where it sits (`[section] prefix.key`), for messages.
    In a secret's table (`sensitive`) values are never shown, only their types."""

    data: dict[str, Any]
    ctx: _Context
    name: str = ""  # the section, e.g. "departments.source"; "" = the top level
    prefix: str = ""  # an inline table inside the section, e.g. "password"
    sensitive: bool = False

    # -- messages
    def label(self, key: str | None = None) -> str:
        inner = ".".join(p for p in (self.prefix, key) if p)
        head = f"[{self.name}]" if self.name else ""
        return " ".join(p for p in (head, inner) if p)

    def fail(self, key: str | None, message: str, hint: str | None = None) -> NoReturn:
        label = self.label(key)
        raise ConfigError(message, where=f"{self.ctx.file}: {label}" if label else self.ctx.file, hint=hint)

    def expect(self, key: str, value: Any, expected: str, hint: str | None = None) -> NoReturn:
        found = _type_name(value) if self.sensitive else _show(value)
        self.fail(key, f"found {found}, expected {expected}", hint)

    def check_keys(self, allowed: Iterable[str], misplaced: Mapping[str, str] | None = None,
                   hint: str | None = None) -> None:
        allowed = list(allowed)
        for key in self.data:
            if key in allowed:
                continue
            if misplaced and key in misplaced:
                self.fail(key, f"not allowed here: {misplaced[key]}")
            close = difflib.get_close_matches(key, allowed, 1)
            message = f'unknown key (did you mean "{close[0]}"?)' if close else "unknown key"
            where = f"[{self.name}]" if self.name else "the top level"
            self.fail(key, message, hint or f"{where} takes: {', '.join(allowed)}")

    def require(self, key: str, why: str) -> None:
        if key not in self.data:
            self.fail(key, f"missing; {why}")

    # -- tables
    def section(self, key: str, *, required: bool = True, hint: str | None = None) -> _Table | None:
        name = f"{self.name}.{key}" if self.name else key
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if required:
                _Table({}, self.ctx, name).fail(None, "this section is missing", hint)
            return None
        if not isinstance(value, dict):
            self.expect(key, value, f"a table, [{name}]")
        return _Table(value, self.ctx, name)

    def secret(self, key: str) -> Secret | None:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return None
        how = f'{key} = {{ env = "VARIABLE" }} or {key} = {{ file = "path/to/file" }}, or store it from the UI'
        if isinstance(value, str):
            self.fail(key, "found the secret written as plain text; secrets never sit in the TOML as plain text",
                      hint=f"remove it from this file and write {how}")
        if not isinstance(value, dict):
            self.fail(key, f"found {_type_name(value)}, expected a secret: {{ env = … }}, {{ file = … }} "
                           "or { stored = … }", hint=f"write {how}")
        inner = _Table(value, self.ctx, self.name, ".".join(p for p in (self.prefix, key) if p), sensitive=True)
        inner.check_keys(("env", "file", "stored"), hint=f"write {how}")
        if len(value) != 1:
            self.fail(key, "a secret names exactly one place: env, file or stored", hint=f"write {how}")
        if "env" in value:
            name = inner.text("env")
            if not _ENV_NAME.fullmatch(name or ""):
                inner.fail("env", "expected an environment variable name (letters, digits and _)")
            return Secret(env=name)
        if "file" in value:
            return Secret(file=inner.path("file"))
        return Secret(stored=inner.text("stored"))

    # -- scalars
    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.fail(key, "missing")
            return default
        if not isinstance(value, str) or not value.strip():
            self.expect(key, value, "a non-empty string")
        return value

    def choice(self, key: str, options: Iterable[str], default: str) -> str:
        options = list(options)
        value = self.data.get(key, default)
        if value not in options:
            close = difflib.get_close_matches(value, options, 1) if isinstance(value, str) else []
            self.expect(key, value, "one of " + ", ".join(f'"{o}"' for o in options),
                        hint=f'did you mean "{close[0]}"?' if close else None)
        return value

    def whole(self, key: str, default: int, *, low: int, high: int | None = None) -> int:
        value = self.data.get(key, default)
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or value < low or (high is not None and value > high):
            expected = f"a whole number from {low} to {high}" if high else f"a whole number, at least {low}"
            self.expect(key, value, expected)
        return value

    def number(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        if not _is_number(value) or value <= 0:
            self.expect(key, value, "a positive number")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.expect(key, value, "true or false")
        return value

    def path(self, key: str, default: str | None = None) -> Path | None:
        value = self.text(key, default)
        if value is None:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.ctx.base_dir / path

    def url(self, key: str, default: str | None = None, *, http: str, hint: str = "use https://") -> Any:
        """`http`: "never" (https only), "loopback" (http to this machine only) or "always"."""
        value = self.text(key, default)
        if value is None:
            return None
        try:
            parts = urlsplit(value.strip())
            host = parts.hostname
        except ValueError:
            parts, host = None, None
        try:
            parts and parts.port  # urlsplit checks the port only when asked (":99999", ":x")
        except ValueError:
            self.fail(key, "found an address whose port is not a number from 1 to 65535",
                      hint="correct the port, or leave it out to use the default one")
        if parts and (parts.username or parts.password):
            self.fail(key, "found a user name or password inside the address; secrets never sit in the TOML "
                           "as plain text", hint="remove them from the address (use username and password "
                                                 'with password = { env = "…" } where the source takes them)')
        shown = redact_url(value)  # O1: even an address without its scheme (`docs.google.com/…?resourcekey=`)
        if parts is None or parts.scheme not in ("https", "http") or not host:
            self.expect(key, shown, "an https:// address")
        if parts.scheme == "http" and not (http == "always" or (http == "loopback" and host in LOOPBACK_HOSTS)):
            expected = "an https:// address" + (" (http:// only to this machine: localhost or 127.0.0.1)"
                                                if http == "loopback" else "")
            self.expect(key, shown, expected, f"plain http:// can be read and changed on the way; {hint}")
        return value.strip()

    def encoding(self, key: str) -> str:
        value = self.data.get(key, "auto")
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        try:
            b"x".decode(value, "ignore")  # LookupError for unknown codecs and bytes-to-bytes ones (base64)
        except (LookupError, TypeError):
            self.expect(key, value, '"auto" or a text encoding Python knows, e.g. "utf-8", "utf-8-sig", '
                                    '"cp1251", "latin-1"')
        return value

    def delimiter(self, key: str) -> str:
        value = self.data.get(key, "auto")
        key_of = value.lower() if isinstance(value, str) and value.lower() in ("auto", "tab") else value
        if not isinstance(key_of, str) or key_of not in DELIMITERS:
            self.expect(key, value, '"auto", ",", ";", "tab" (or "\\t") or "|"')
        return DELIMITERS[key_of]

    def timezone(self, key: str) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            close = difflib.get_close_matches(value, sorted(zoneinfo.available_timezones()), 1)
            self.expect(key, value, 'an IANA time zone name, e.g. "Europe/Berlin" or "UTC"',
                        hint=f'did you mean "{close[0]}"?' if close else None)
        return value

    def threshold(self, key: str, default: Threshold) -> Threshold:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return default
        if isinstance(value, str) and (m := _PERCENT.fullmatch(value)) and float(m[1]) <= 100:
            return Threshold(float(m[1]), True)
        if _is_number(value) and value >= 0:
            return Threshold(float(value), False)
        self.expect(key, value, 'a share like "10%" (0% to 100%) or a count like 5')


def _other_kinds(kinds: Mapping[str, tuple[str, ...]], kind: str) -> dict[str, str]:
    """Keys that belong to another kind, with a message saying which."""
    out: dict[str, str] = {}
    for key in {k for keys in kinds.values() for k in keys} - set(kinds[kind]):
        owners = " or ".join(f'"{o}"' for o, keys in kinds.items() if key in keys)
        out[key] = f'kind = "{kind}" does not use it (only kind = {owners})'
    return out


def _time(value: Any) -> str | None:
    """ "7:30" / "07:30" / a TOML local time → "07:30"; None when it is no time of day."""
    if isinstance(value, dt.time) and not value.second and not value.microsecond and not value.tzinfo:
        return f"{value.hour:02}:{value.minute:02}"
    if isinstance(value, str) and (m := _TIME.fullmatch(value.strip())):
        hour, minute = int(m[1]), int(m[2])
        if hour <= 23 and minute <= 59:
            return f"{hour:02}:{minute:02}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return "a date/time"
    return type(value).__name__


def _show(value: Any) -> str:
    """A found value for a message: `"eight" (a string)`. Tables are never shown (secrets are tables);
    addresses are redacted (O1); JSON quoting escapes control characters (F4)."""
    if isinstance(value, (dict, list)):
        return f"a list of {len(value)}" if isinstance(value, list) else _type_name(value)
    if isinstance(value, str):
        value = redact_text(value)  # O1: an address is shown without its token, query or deeper path
        shown = json.dumps(value if len(value) <= 60 else value[:57] + "…", ensure_ascii=False)
    elif isinstance(value, bool):
        shown = str(value).lower()
    elif isinstance(value, (dt.datetime, dt.date, dt.time)):
        shown = value.isoformat()
    else:
        shown = repr(value)
    return f"{shown} ({_type_name(value)})"


def _toml_position(message: str, text: str) -> tuple[str, int, int]:
    """tomllib's message without its "(at line L, column C)" part, and L and C
    ("at end of document" becomes the last line's end)."""
    m = _TOML_POSITION.search(message)
    if m is None:
        return message, 1, 1
    if m[1]:
        line, column = int(m[1]), int(m[2])
    else:
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    detail = message[: m.start()]
    return detail[:1].lower() + detail[1:], line, column
