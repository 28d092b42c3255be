"""Any source → `Table`, and what `check` says about a source.

`fetch_source` is the one entry point the engine uses for reading a sheet,
whatever its kind. Pass one `FetchCache` for a whole run: departments and users
on two tabs of one workbook or spreadsheet are then downloaded once (for a Google
spreadsheet, name the run's sources to `read_together` first).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tui_sync.config import SourceConfig
from tui_sync.errors import ConfigError, SyncError
from tui_sync.safe_text import escape_controls
from tui_sync.sources.cache import FetchCache
from tui_sync.sources.local import read_file
from tui_sync.sources.table import Table

Progress = Callable[[int, "int | None"], None]

# the HTTP and Google clients are imported when a source needs them: a local run starts faster


def fetch_source(cfg: SourceConfig, state_dir: Path, *, progress: Progress | None = None,
                 cache: FetchCache | None = None) -> Table:
    """Read a source (`kind` file, url or google_sheets). Failures are `SourceError` / `ConfigError`."""
    if cfg.kind == "file":
        if cfg.path is None:
            raise ConfigError('kind = "file" needs path = "…"')
        return read_file(cfg.path, cfg.options, cfg.max_bytes)
    if cfg.kind == "url":
        from tui_sync.sources.remote import fetch_url  # (deferred, like Google below: only a URL source needs httpx)

        return fetch_url(cfg, state_dir, progress=progress, cache=cache)
    if cfg.kind == "google_sheets":
        from tui_sync.sources.google import fetch_google  # (deferred: only a Google source needs gspread and google-auth)

        return fetch_google(cfg, state_dir, cache=cache)
    raise ConfigError(f"unknown source kind {cfg.kind!r}", hint='use "file", "url" or "google_sheets"')


def read_together(cfgs: Sequence[SourceConfig], state_dir: Path, cache: FetchCache) -> None:
    """Before reading the sources of one run with `cache`: tabs of one Google spreadsheet are then read
    with one call (a workbook's sheets share its one download without this). Fetches nothing."""
    if sum(cfg.kind == "google_sheets" for cfg in cfgs) > 1:
        from tui_sync.sources.google import read_together as google_together  # (deferred: see fetch_source)

        google_together(cfgs, state_dir, cache)


@dataclass(frozen=True)
class SourceReport:
    """What `check` tells about one source. `reachable`: the address answered (file found,
    download done, spreadsheet opened); `readable`: a table came out of it."""

    kind: str
    where: str  # a path, or an address without credentials or query string
    reachable: bool
    readable: bool
    error: str | None = None  # what went wrong and what to do (never a secret)
    bytes: int | None = None
    format: str | None = None  # "csv" | "xlsx" | "google_sheets"
    encoding: str | None = None  # CSV: the encoding read, "cp1252 (guessed)" when guessed (F1)
    sheet: str | None = None  # the sheet or tab read
    sheet_names: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    rows: int | None = None
    client_email: str | None = None  # Google: share the sheet with this address
    notes: tuple[str, ...] = ()
    table: Table | None = field(default=None, repr=False, compare=False)  # for mapping checks
    failure: SyncError | None = field(default=None, repr=False, compare=False)  # for the exit code

    def lines(self) -> list[str]:
        """The report as short lines for a terminal."""
        out = [f"{self.kind}: {self.where}"]
        if self.client_email:
            out.append(f"  service account: {self.client_email}")
        if not self.readable:
            state = "reachable, but not readable" if self.reachable else "NOT reachable"
            out.append(f"  {state}: {self.error}")
        if self.bytes is not None:
            out.append(f"  {self.bytes:,} bytes" + (f", {self.format}" if self.format else "")
                       + (f", {self.encoding}" if self.encoding else ""))
        if self.sheet_names:
            out.append("  sheets: " + ", ".join(repr(s) for s in self.sheet_names)
                       + (f" (reading {self.sheet!r})" if self.sheet else ""))
        if self.readable:
            out.append(f"  header: {', '.join(escape_controls(h) for h in self.headers)}")  # F4: one line
            out.append(f"  {self.rows:,} data rows")
        out.extend(f"  note: {n}" for n in self.notes)
        return out


def describe_source(cfg: SourceConfig, state_dir: Path, *, progress: Progress | None = None,
                    cache: FetchCache | None = None) -> SourceReport:
    """Reach and read one source, and say what was found (never raises `SyncError`)."""
    from tui_sync.sources.links import redact_url  # (deferred: see fetch_source)

    cache = cache if cache is not None else FetchCache()
    where = str(cfg.path) if cfg.kind == "file" else redact_url(cfg.url or "")
    facts: dict = {}
    reachable = False
    try:
        if cfg.kind == "google_sheets":
            from tui_sync.sources.google import load_service_account, spreadsheet_info  # (deferred: see fetch_source)

            facts["client_email"] = load_service_account(cfg, state_dir).client_email
            info = spreadsheet_info(cfg, state_dir, cache=cache)
            facts["sheet_names"] = info.tabs
        elif cfg.kind == "url":
            from tui_sync.sources.remote import download_source  # (deferred: see fetch_source)

            got = download_source(cfg, state_dir, progress=progress, cache=cache)
            facts["bytes"] = len(got.data)
        elif cfg.kind == "file" and cfg.path is not None and Path(cfg.path).is_file():
            facts["bytes"] = Path(cfg.path).stat().st_size
        reachable = cfg.kind != "file" or "bytes" in facts
        table = fetch_source(cfg, state_dir, progress=progress, cache=cache)
    except SyncError as exc:
        return SourceReport(kind=cfg.kind, where=where, reachable=reachable, readable=False, error=str(exc),
                            failure=exc, **facts)
    return SourceReport(
        kind=cfg.kind, where=where, reachable=True, readable=True,
        bytes=facts.get("bytes", table.size_bytes if cfg.kind != "google_sheets" else None),
        format=table.format, encoding=table.encoding_label, sheet=table.sheet,
        sheet_names=table.sheet_names or facts.get("sheet_names", ()),
        headers=table.headers, rows=table.rows, client_email=facts.get("client_email"), notes=table.notes,
        table=table,
    )


__all__ = ["FetchCache", "SourceReport", "describe_source", "fetch_source", "read_together"]
