"""Telling someone about a run that needs attention (`[notify]`; O1: what the command may see).

After an unattended run (`tui-sync run`, the daemon) the run's summary, as
JSON, goes to `[notify] command` on its standard input and is POSTed to
`[notify] webhook` — when the run failed, held changes or has row errors, or
after every run with `always = true`. A notifier that fails is logged and
never fails the sync. The summary never carries a secret: no source
addresses, no credentials, and every address in a message is redacted
(`safe_text.redact_url`, O1). The command runs with a minimal environment (O1):
PATH, HOME, LANG, LC_*, TZ and `TUI_SYNC_*`, never the variables that hold this
configuration's secrets.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .config import Config
from .errors import Exit, SyncError
from .model import NOT_APPLIED, RunStatus
from .safe_text import redact_url, safe_message
from .state.runs import Run, RunStore, totals
from .tls import host_of, ssl_context, untrusted

if TYPE_CHECKING:
    from .applying import ApplyReport

SCHEMA = "tui-sync.run-summary/1"
FIRST_ERRORS = 20  # errors listed in a summary; the run log has them all
COMMAND_TIMEOUT = 30.0
WEBHOOK_TIMEOUT = 10.0
RETRY_PAUSE = 2.0
COMMAND_ENV = ("PATH", "HOME", "LANG", "TZ")  # and LC_*, TUI_SYNC_* (O1)


@dataclass(frozen=True)
class Delivery:
    """What became of one notifier: for the log and for tests."""

    to: str  # "command prog" or "webhook host/first-segment/…" (never the full address: it may carry a token)
    ok: bool
    detail: str = ""


def redact(text: str | None) -> str | None:
    """A message as it may leave tui_sync (O1, F4): addresses redacted, control characters escaped."""
    return safe_message(text) if text else text


def command_env(cfg: Config, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The notify command's environment (O1): PATH, HOME, LANG, LC_*, TZ and TUI_SYNC_* only, and
    never a variable that holds one of this configuration's secrets."""
    environ = dict(os.environ if environ is None else environ)
    secret_vars = {s.env for s in _secrets(cfg) if s.env}
    return {k: v for k, v in environ.items()
            if (k in COMMAND_ENV or k.startswith(("LC_", "TUI_SYNC_"))) and k not in secret_vars}


def _secrets(cfg: Config) -> list[Any]:
    """Every `Secret` the configuration names (LMS, sources)."""
    found = [cfg.lms.client_secret, cfg.lms.password]
    for entity in (cfg.departments, cfg.users):
        found += [entity.source.password, entity.source.service_account]
    return [s for s in found if s is not None]


def summary(cfg: Config, *, report: ApplyReport | None = None, error: BaseException | None = None, trigger: str = "run",
            status: str | None = None, message: str | None = None, run: Run | None = None,
            exit_code: int | None = None) -> dict[str, Any]:
    """The run's summary as JSON-ready data.

    `report` is `sync.ApplyReport` for a run that applied; `error` an exception that stopped it before
    (then `status` is "failed"); `run` a run row without a report (a skipped scheduled run)."""
    run = report.run if report is not None else run
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "run_id": run.id if run else None,
        "status": status or (run.status if run else "failed"),
        "trigger": run.trigger if run else trigger,
        "started": run.started if run else None,
        "ended": run.ended if run else None,
        "config": str(cfg.path),
        "actor": run.actor if run else None,
        "counts": {},
        "by_kind": {},
        "held": {"count": 0, "reasons": [], "plan": None},
        "row_errors": 0,
        "errors": [],
        "message": redact(message or (run.message if run else None)),
        "exit_code": 0,
    }
    errors: list[dict[str, Any]] = []
    code = Exit.OK
    if run is not None:
        out["counts"] = dict(sorted(totals(run).items()))
        out["by_kind"] = run.counts if all(isinstance(v, dict) for v in run.counts.values()) else {}
        errors += [{"what": "change", "kind": c.kind, "key": c.key, "outcome": c.outcome, "message": redact(c.error)}
                   for c in run.changes if c.outcome in NOT_APPLIED]
        problems = _row_errors(cfg, run)
        out["row_errors"] = len(problems)
        errors += problems
        if problems:
            code = max(code, Exit.ROW_ERRORS)
    if report is not None:
        code = max(code, report.exit_code)
        out["held"] = {"count": len(report.held), "reasons": [redact(r) for r in report.held_reasons],
                       "plan": str(report.held_path) if report.held_path else None}
        if report.resumed is not None:
            out["resumed_run_id"] = report.resumed.id
    if error is not None:
        out["status"] = status or "failed"
        code = max(code, error.exit_code if isinstance(error, SyncError) else Exit.ROW_ERRORS)
        errors.insert(0, {"what": "run", "message": redact(_error_text(error))})
    out["errors"] = errors[:FIRST_ERRORS]
    out["errors_total"] = len(errors)
    out["exit_code"] = int(exit_code if exit_code is not None else code)
    return out


def _error_text(error: BaseException) -> str:
    if isinstance(error, SyncError):
        return f"{error.where}: {error.message}" if error.where else error.message
    return f"{type(error).__name__}: {error}"


def _row_errors(cfg: Config, run: Run) -> list[dict[str, Any]]:
    """The plan's row-level errors (P2): they are in the run's saved plan, not in its outcomes."""
    try:
        plan = RunStore(cfg.state).load_plan(run.id)
    except (SyncError, OSError, ValueError):
        return []
    return [{"what": "row", "code": p.code, "entity": p.entity, "row": p.row, "column": p.column, "key": p.key,
             "message": redact(p.message)} for p in plan.problems if p.is_error]


def needs_attention(data: dict[str, Any]) -> bool:
    """A run that failed, held changes or has row errors (or failing changes)."""
    return (data["status"] not in (RunStatus.COMPLETED, RunStatus.HELD) or data["held"]["count"] > 0
            or data["row_errors"] > 0 or data["errors_total"] > 0 or data["exit_code"] != 0)


async def send(cfg: Config, data: dict[str, Any], *, logger: logging.Logger | None = None,
               retry_pause: float | None = None) -> list[Delivery]:
    """Notify by `[notify]` when the run needs it (or always). Never raises: a failure is logged."""
    retry_pause = RETRY_PAUSE if retry_pause is None else retry_pause
    n = cfg.notify
    if not (n.command or n.webhook) or not (n.always or needs_attention(data)):
        return []
    body = json.dumps(data, ensure_ascii=False, indent=1).encode()
    out: list[Delivery] = []
    if n.command:
        out.append(await _command(n.command, body, cfg))
    if n.webhook:
        out.append(await _webhook(n.webhook, body, retry_pause, n.ca_file))
    for d in out:
        if d.ok:
            _say(logger, logging.INFO, f"notified {d.to} about run {data.get('run_id') or '-'} ({data['status']})")
        else:
            _say(logger, logging.WARNING, f"notifier {d.to} failed: {d.detail} (the sync itself is not affected)")
    return out


def _say(logger: logging.Logger | None, level: int, text: str) -> None:
    """To the daemon's log, or (the CLI) to stderr."""
    if logger is not None:
        logger.log(level, "%s", text)
    else:
        print(("warning: " if level >= logging.WARNING else "") + text, file=sys.stderr)


def send_sync(cfg: Config, data: dict[str, Any], **kw: Any) -> list[Delivery]:
    """`send` for callers outside an event loop (`tui-sync run`)."""
    try:
        return asyncio.run(send(cfg, data, **kw))
    except Exception as e:  # never let a notifier fail the sync
        _say(kw.get("logger"), logging.WARNING, f"notifying failed: {type(e).__name__}: {e}")
        return []


async def _command(command: str, body: bytes, cfg: Config) -> Delivery:
    try:
        argv = shlex.split(command)
    except ValueError as e:
        return Delivery("command", False, f"[notify] command cannot be split into words: {e}")
    if not argv:
        return Delivery("command", False, "[notify] command is empty")
    to = f"command {argv[0]}"  # arguments may carry tokens: only the program is named
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, cwd=cfg.base_dir, env=command_env(cfg))
    except OSError as e:
        return Delivery(to, False, f"cannot start it: {e.strerror or e}")
    try:
        _, err = await asyncio.wait_for(proc.communicate(body), COMMAND_TIMEOUT)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return Delivery(to, False, f"no answer within {COMMAND_TIMEOUT:g} s; stopped it")
    if proc.returncode != 0:
        last = (err or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
        return Delivery(to, False, f"exit status {proc.returncode}" + (f": {redact(last[0][:200])}" if last[0] else ""))
    return Delivery(to, True)


def _transport_detail(e: httpx.HTTPError) -> str:
    """Why a webhook post got no answer, in words (O3), never an exception's class name."""
    causes, cause = [], e
    while cause is not None and len(causes) < 8:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    text = " ".join(str(c) for c in causes).lower()
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        text += " refused"
    if isinstance(e, httpx.TimeoutException):
        return f"no answer within {WEBHOOK_TIMEOUT:g} s; check the address and that the server is up"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "cannot find the server's name; check the address for typos, and the machine's DNS"
    if "refused" in text:
        return "the server refused the connection; check the address and port, and that the server is up"
    return f"cannot reach it ({safe_message(e) or 'the connection failed'}); check the address and the network"


async def _webhook(url: str, body: bytes, retry_pause: float, ca_file: Path | None = None) -> Delivery:
    to = f"webhook {redact_url(url)}"  # the path of a webhook address is often its secret
    detail = ""
    headers = {"Content-Type": "application/json", "User-Agent": "tui-sync"}
    try:
        trust = ssl_context(ca_file)  # the same trust as every HTTPS client of tui_sync
    except SyncError as e:
        return Delivery(to, False, str(e))
    async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT, follow_redirects=False, verify=trust) as client:
        for attempt in range(2):  # one retry
            if attempt:
                await asyncio.sleep(retry_pause)
            try:
                r = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError as e:
                certificate = untrusted(e, host_of(url), "in [notify]")
                if certificate is not None:
                    return Delivery(to, False, f"{certificate[0]}; {certificate[1]}")
                detail = _transport_detail(e)
                continue
            if r.status_code < 300:
                return Delivery(to, True)
            detail = f"HTTP {r.status_code}"
            if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
                break  # our request is wrong: the same again will not help
    return Delivery(to, False, detail)
