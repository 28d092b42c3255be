"""`tui-sync.toml` (DESIGN §2): types, parsing and validation.

A config error names the file, the key, what was found and what is expected
(exit 2). Secrets are never plain text in the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import Kind
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


@dataclass(frozen=True)
class SourceConfig:
    kind: str  # "file" | "url" | "google_sheets"
    options: SheetOptions = SheetOptions()
    path: Path | None = None  # kind = "file": absolute (relative ones resolved against the config's folder)
    url: str | None = None  # kind = "url" / "google_sheets"
    username: str | None = None
    password: Secret | None = None
    service_account: Secret | None = None
    max_bytes: int = 100 * 1024 * 1024
    timeout: float = 30.0
    ca_file: Path | None = None
    allow_insecure_http: bool = False

    def describe(self) -> str:
        """Where it is, for messages (never with credentials)."""
        return str(self.path) if self.kind == "file" else (self.url or "?")


@dataclass(frozen=True)
class EntityConfig:
    """`[departments]` or `[users]`: a source and its mapping (LMS field -> column name)."""

    source: SourceConfig
    mapping: dict[str, str]


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
    state_dir: Path | None = None  # default: `.tui-sync/` beside the config
    raw: dict[str, Any] = field(default_factory=dict)  # the parsed TOML, for saving with tomli-w

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def state(self) -> Path:
        return self.state_dir or (self.base_dir / STATE_DIR_NAME)
