"""`tui-sync`: the command line (DESIGN §2). A thin front over `service`.

Exit codes: 0 done; 1 rows or changes with errors; 2 usage or config (a sync
already running too); 3 a source, the LMS or the state folder unreadable,
unwritable or empty (O3); 4 changes held; 141 stdout closed by its reader.
Only data goes to stdout (`plan --json`, `lms dump`); messages go to stderr,
with addresses redacted (O1) and control characters escaped (F4).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import NoReturn

from .config import CONFIG_NAME
from .errors import Exit, SyncError, UsageError
from .files import GuardedOutput, write_output
from .gcpause import gc_paused
from .model import NOT_APPLIED, Outcome, Resolution
from .plan_io import write_json
from .report import apply_summary, plan_summary, run_csv, run_text, runs_table
from .safe_text import escape_controls as esc
from .safe_text import escape_output, json_text, redact_text


class _Service:
    """`service`, imported when a command first uses it: with it come polars and the engine, which
    `tui-sync --help` and a mistyped command do not need to answer."""

    def __getattr__(self, name: str):
        from . import service  # (start-up: see the class)

        return getattr(service, name)


service = _Service()


def _err(*parts: object) -> None:
    # a value in a message is text (F4); an address in it is redacted (O1)
    print(escape_output(redact_text(" ".join(map(str, parts)))), file=sys.stderr)


def _resolutions(args: argparse.Namespace) -> list[Resolution]:
    olds, news = args.move_users_of or [], args.to or []
    if len(olds) != len(news):
        raise UsageError("each --move-users-of CODE needs its own --to CODE",
                         hint="e.g. --move-users-of OPS --to HQ --move-users-of LAB --to RND")
    return [Resolution(a, b) for a, b in zip(olds, news)]


def cmd_plan(args: argparse.Namespace) -> int:
    with gc_paused():  # (a plan builds no cycles; see gcpause: its objects are written, then the command ends)
        return _plan(args)


def _plan(args: argparse.Namespace) -> int:
    cfg = service.load(args.config)
    plan = asyncio.run(service.make_plan(cfg, _resolutions(args), progress=_download())).plan
    seal = service.plan_seal(cfg) if args.out or args.json else None  # A4: bound to this folder and LMS
    if args.out:  # O2: a symlink is followed, /dev/null or a FIFO written through, never replaced
        service.refuse_own_files(cfg, args.out, "the plan")
        write_output(args.out, lambda out: write_json(plan, out, seal), what="the plan")
        _err(f"plan saved to {args.out}")
    if args.json:
        sys.stdout.flush()
        write_json(plan, sys.stdout.buffer, seal)
    else:
        print(plan_summary(plan, verbose=args.verbose))
    return Exit.ROW_ERRORS if plan.has_errors else Exit.OK


def cmd_check(args: argparse.Namespace) -> int:
    cfg = service.load(args.config)
    report = asyncio.run(service.check(cfg, progress=_download()))
    out = [f"Config {cfg.path}: OK"]
    code = Exit.OK
    if report.lms_error:
        out.append(f"LMS ({cfg.lms.kind}): cannot be read — {report.lms_error}")
        code = max(code, report.lms_error.exit_code)
    else:
        d, u = report.lms_counts or (0, 0)
        out.append(f"LMS ({cfg.lms.kind}): reachable, {d} departments, {u} users")
        facts = report.lms_facts
        if facts.get("auth"):
            out.append(f"  signed in with {facts['auth']} at {facts.get('base_url')}")
        if facts.get("required_fields"):
            out.append(f"  profile fields the account requires: {', '.join(facts['required_fields'])}")
        if facts.get("custom_fields"):
            out.append(f"  custom fields of the account: {', '.join(facts['custom_fields'])}")
    for sc in report.sources:
        out.append("")
        out.extend(sc.report.lines())
        if sc.error:
            code = max(code, sc.error.exit_code)
        elif sc.table is not None and sc.table.rows == 0:
            out.append("  ✖ no data rows: a sync would plan nothing")
            code = max(code, Exit.UNREADABLE)
        if sc.mapping:
            for bad, text in sc.mapping.findings():
                out.append(f"  ✖ {text}" if bad else f"  {text}")
            if not sc.mapping.ok:
                code = max(code, Exit.USAGE)
        if sc.table is not None and getattr(cfg, sc.entity).scope:  # C1: what each rule keeps and drops
            try:
                out.extend(_scope_lines(cfg, sc.entity, service.scope_counts(cfg, sc.entity, sc.table)))
            except SyncError as e:
                out.append(f"  ✖ {e}")
                code = max(code, e.exit_code)
    print(escape_output(redact_text("\n".join(out))))  # F4: headers are shown, never run; O1: addresses redacted
    return code


def _scope_lines(cfg, name: str, scoped) -> list[str]:
    scope = getattr(cfg, name).scope
    lines = [f"  scope: {scoped.out_of_scope} of {scoped.table.rows + scoped.out_of_scope} rows out of scope"]
    lines += [f"    {scope.describe(i)} — keeps {c.keeps}, drops {c.drops}" for i, c in enumerate(scoped.counts)]
    return lines


def cmd_lms(args: argparse.Namespace) -> int:
    cfg = service.load(args.config)
    if args.lms_command == "load":
        n_d, n_u = asyncio.run(service.lms_load(cfg, args.departments, args.users))
        _err(f"embedded LMS {cfg.lms.path}: loaded {n_d} departments and {n_u} users")
        return Exit.OK
    data = asyncio.run(service.lms_dump(cfg))
    if args.json:
        sys.stdout.write(json_text(json.dumps(data, ensure_ascii=False, indent=2)) + "\n")
    else:
        for d in data["departments"]:
            print(f"department {esc(d['code']):<16} {esc(d['name'])}  (parent {esc(d['parentCode'] or '—')})")
        for u in data["users"]:
            print(f"user {esc(u['login']):<24} {esc(u['email']):<36} {esc(u['departmentId'] or '—'):<12} {u['status']}")
    return Exit.OK


def _download():
    """Download progress of URL sources on stderr, when it is a terminal (a large sheet takes a while)."""
    if not sys.stderr.isatty():
        return None

    def size(n: float) -> str:
        return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"

    def show(done: int, total: int | None) -> None:
        of = f" of {size(total)}" if total else ""
        sys.stderr.write(f"\r  downloading: {size(done)}{of}   ")
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show


def _progress():
    """A one-line progress meter on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(p) -> None:
        if p.done == p.total or p.done % 50 == 0:
            bad = sum(n for o, n in p.counts.items() if o != Outcome.APPLIED)
            sys.stderr.write(f"\r  applying: {p.done}/{p.total}  ({bad} not applied)   ")
            if p.done == p.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
    return show


def cmd_apply(args: argparse.Namespace) -> int:
    cfg = service.load(args.config)
    if args.abandon:
        if args.plan or args.approve or args.resume or args.move_users_of or args.to:
            raise UsageError("--abandon takes no other option: it only closes an interrupted apply")
        closed = service.abandon(cfg)
        if not closed:
            _err("nothing to abandon: no apply was interrupted")
        for run in closed:
            _err(f"run {run.id} abandoned: nothing more of it will be written; "
                 "`tui-sync plan` shows what is still to do")
        return Exit.OK
    if args.resume:
        run = asyncio.run(service.resume(cfg, progress=_progress()))
        if run is None:
            _err("nothing to resume: no apply was interrupted")
            return Exit.OK
        print(run_text(run))
        return Exit.ROW_ERRORS if any(c.outcome in NOT_APPLIED for c in run.changes) else Exit.OK
    plan = service.read_saved_plan(cfg, args.plan) if args.plan else None
    if plan is not None and (args.move_users_of or args.to):
        raise UsageError("--move-users-of applies when apply plans afresh; with --plan, plan again with it")
    approve = args.approve
    report = asyncio.run(service.apply(cfg, plan=plan, approve=approve, resolutions=_resolutions(args), download=_download(),
                                       progress=_progress()))
    print(apply_summary(report))
    code = report.exit_code
    if plan is not None and plan.has_errors:
        code = max(code, Exit.ROW_ERRORS)
    return code


def cmd_run(args: argparse.Namespace) -> int:
    from . import notify  # (deferred, as every command's own modules: --help and the other commands skip them)
    from .state.lock import SyncRunning

    cfg = service.load(args.config)
    before = service.latest_run_id(cfg)
    try:
        report = asyncio.run(service.run(cfg, progress=_progress(), download=_download()))
    except SyncRunning:  # another sync is doing the work: nothing failed, nobody is told (O3)
        raise
    except Exception as e:  # tell [notify] that the run failed (with the run it left), then report it as usual
        run = service.failed_run(cfg, before, e)
        notify.send_sync(cfg, notify.summary(cfg, error=e, run=run))
        raise
    data = notify.summary(cfg, report=report)  # its exit code also counts the plan's row errors
    notify.send_sync(cfg, data)  # before the report: a stdout that fails cannot swallow the notification
    print(apply_summary(report))
    return data["exit_code"]


def cmd_daemon(args: argparse.Namespace) -> int:
    from . import daemon  # (deferred: see cmd_run)

    return daemon.main(service.load(args.config))


def cmd_schedule(args: argparse.Namespace) -> int:
    from .ossched import render  # (deferred: see cmd_run)

    sys.stdout.write(render(service.load(args.config), args.print_format))
    return Exit.OK


def cmd_runs(args: argparse.Namespace) -> int:
    cfg = service.load(args.config)
    if getattr(args, "runs_command", None) == "show":
        run = service.run_details(cfg, args.id)
        plan = service.run_plan(cfg, run.id)
        fmt = args.format
        if fmt == "json":
            from .run_log import run_json_text  # (deferred: see cmd_run)

            sys.stdout.write(run_json_text(run, plan))
        elif fmt == "csv":
            sys.stdout.write(run_csv(run, plan))
        else:
            print(run_text(run, plan))
        return Exit.OK
    runs = service.runs(cfg)
    if args.json:
        sys.stdout.write(json_text(json.dumps([r.to_json() for r in runs], ensure_ascii=False, indent=2)) + "\n")
    else:
        print(runs_table(runs))
    return Exit.OK


def cmd_export(args: argparse.Namespace) -> int:
    cfg = service.load(args.config)
    done = asyncio.run(service.export(cfg, args.departments, args.users, guard_formulas=args.guard_formulas))
    _err(f"wrote {done.departments} departments to {args.departments} and {done.users} users to {args.users}")
    for warning in done.warnings:
        _err(f"warning: {warning}")
    return Exit.OK


def cmd_demo(args: argparse.Namespace) -> int:
    target = args.dir or Path.cwd() / "tui-sync-demo"
    cfg = asyncio.run(service.prepare_demo(target))
    _err(f"demo prepared in {target} (config {cfg.path}); the embedded LMS holds the prior state.")
    if args.no_ui or not sys.stdout.isatty():
        result = asyncio.run(service.make_plan(cfg))
        print(plan_summary(result.plan))
        return Exit.OK
    return _open_ui(cfg.path)


def cmd_ui(args: argparse.Namespace) -> int:
    return _open_ui(args.config)


def _open_ui(config: Path) -> int:
    from .ui.app import run_app  # only the UI needs textual: other commands start without it

    return run_app(config)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tui-sync", description="Keep an LMS's departments and users in step with HR's sheets.")
    p.add_argument("--config", type=Path, default=Path(CONFIG_NAME), help=f"config file (default ./{CONFIG_NAME})")
    sub = p.add_subparsers(dest="command")
    # (in this order: it is the order of `tui-sync --help`)
    _add_plan_commands(sub)
    _add_unattended_commands(sub)
    _add_runs_command(sub)
    _add_lms_data_commands(sub)
    _add_demo_command(sub)
    return p


def _add_config(sp: argparse.ArgumentParser) -> None:
    """`--config` after the command too (`tui-sync plan --config x.toml`)."""
    sp.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="config file")


def _add_plan_commands(sub) -> None:
    """check, plan and apply: what an operator runs by hand."""
    sp = sub.add_parser("check", help="validate the config, reach every source and the LMS, report mapping problems")
    _add_config(sp)
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("plan", help="build a plan: a summary, or the plan JSON with --json")
    _add_config(sp)
    sp.add_argument("--json", action="store_true", help="print the plan JSON on stdout (only the JSON)")
    sp.add_argument("--out", type=Path, help="save the plan JSON to this file")
    sp.add_argument("-v", "--verbose", action="store_true", help="list every change in the summary")
    sp.add_argument("--move-users-of", action="append", metavar="CODE", help="D5: move the users of a department to be deleted …")
    sp.add_argument("--to", action="append", metavar="CODE", help="… to this department")
    sp.set_defaults(func=cmd_plan)

    sp = sub.add_parser("apply", help="apply the approved changes of a saved plan, or of a fresh one")
    _add_config(sp)
    sp.add_argument("--plan", type=Path, help="a plan saved by `plan --out` (decisions may be edited)")
    sp.add_argument("--approve", choices=("all", "safe", "none"),
                    help="turn pending decisions into approvals first (safe: all but what inactivates, "
                         "terminates or deletes)")
    sp.add_argument("--resume", action="store_true", help="only finish an interrupted apply")
    sp.add_argument("--abandon", action="store_true",
                    help="close an interrupted apply without writing anything more (its history says abandoned)")
    sp.add_argument("--move-users-of", action="append", metavar="CODE", help="D5 resolution when planning afresh")
    sp.add_argument("--to", action="append", metavar="CODE")
    sp.set_defaults(func=cmd_apply)


def _add_unattended_commands(sub) -> None:
    """run, daemon and schedule: syncs by the config's [policy] and [schedule] (S1)."""
    sp = sub.add_parser("run", help="one unattended sync by the config's [policy] (what the schedule runs)")
    _add_config(sp)
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("daemon", help="run the [schedule] until stopped (SIGTERM, or Ctrl+C)")
    _add_config(sp)
    sp.set_defaults(func=cmd_daemon)

    sp = sub.add_parser("schedule", help="print the [schedule] as a systemd timer or crontab lines")
    _add_config(sp)
    sp.add_argument("--print", dest="print_format", choices=("systemd", "cron"), required=True,
                    help="systemd: a .service and a .timer unit; cron: crontab lines")
    sp.set_defaults(func=cmd_schedule)


def _add_runs_command(sub) -> None:
    """runs [show ID]: the run log (A3)."""
    sp = sub.add_parser("runs", help="past runs and their outcomes")
    _add_config(sp)
    sp.add_argument("--json", action="store_true")
    rsub = sp.add_subparsers(dest="runs_command")
    show = rsub.add_parser("show", help="one run's log")
    _add_config(show)
    show.add_argument("id", type=int)
    show.add_argument("--format", choices=("txt", "csv", "json"), default="txt")
    sp.set_defaults(func=cmd_runs)


def _add_lms_data_commands(sub) -> None:
    """export (F3: it reads back as no change) and lms load/dump for the embedded LMS."""
    sp = sub.add_parser("export", help="write the LMS's departments and users as sheets in the mapped layout")
    _add_config(sp)
    sp.add_argument("--departments", type=Path, required=True, help="a .csv or .xlsx file to write")
    sp.add_argument("--users", type=Path, required=True, help="a .csv or .xlsx file to write")
    sp.add_argument("--guard-formulas", action="store_true",
                    help="CSV: put ' before values starting with = + - @ so spreadsheets do not run them as "
                         "formulas (the file then no longer reads back unchanged; XLSX never needs it)")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("lms", help="the embedded LMS: load from sheets, dump")
    _add_config(sp)
    lsub = sp.add_subparsers(dest="lms_command", required=True)
    lp = lsub.add_parser("load", help="replace the embedded LMS's contents from sheets in the LMS vocabulary")
    _add_config(lp)
    lp.add_argument("--departments", type=Path, required=True)
    lp.add_argument("--users", type=Path, required=True)
    lp = lsub.add_parser("dump", help="print the embedded LMS's contents (the root left out)")
    _add_config(lp)
    lp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_lms)


def _add_demo_command(sub) -> None:
    sp = sub.add_parser("demo", help="copy sample_data to a folder, fill the embedded LMS with a prior state, open the UI")
    sp.add_argument("--dir", type=Path, help="working folder (default ./tui-sync-demo)")
    sp.add_argument("--no-ui", action="store_true", help="print the plan instead of opening the UI")
    sp.set_defaults(func=cmd_demo)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail on the closed pipe."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _reopen_closed_streams() -> None:
    """Started with stdin, stdout or stderr closed (`>&-`, some schedulers): the descriptor is pointed
    at /dev/null, so no file tui-sync opens (state.sqlite, a plan) takes its number; writing to a
    closed stdout is then an error that says so (GuardedOutput), messages to a closed stderr vanish."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if getattr(sys, name) is None:
                setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))
            if fd == 1:
                sys.stdout = GuardedOutput(sys.stdout, closed=True)


def script() -> NoReturn:
    """The `tui-sync` command: `main` in a process of its own, which a finished `plan` leaves at once.
    The collector waits until the command is known: a `plan` builds no cycles, from its imports on
    (see gcpause); any other command gets it back at once."""
    gc.disable()
    sys.exit(main(process=True))


def main(argv: list[str] | None = None, *, process: bool = False) -> int:
    _reopen_closed_streams()
    args = build_parser().parse_args(argv)
    func = getattr(args, "func", cmd_ui)
    if process and func is not cmd_plan:
        gc.enable()
    stdout = sys.stdout
    sys.stdout = stdout if isinstance(stdout, GuardedOutput) else GuardedOutput(stdout)  # O3: `> /dev/full`
    try:
        code = int(func(args))
        sys.stdout.flush()  # a short output fails here, not in the interpreter's last flush
        if process and func is cmd_plan:
            _leave(code)
        return code
    except SyncError as e:
        if e.where == "standard output":
            _quiet_stdout()
        _err(f"error: {e}")
        return int(e.exit_code)
    except KeyboardInterrupt:
        _err("interrupted; nothing more was changed")
        return 130
    except BrokenPipeError:  # `tui-sync runs show 1 | head`: the reader has all it wants (O3)
        _quiet_stdout()
        return 128 + signal.SIGPIPE
    except Exception as e:  # a bug: say so plainly; the traceback only when asked for
        if os.environ.get("TUI_SYNC_DEBUG"):
            traceback.print_exc()
        _err(f"internal error: {type(e).__name__}: {e}\n  → this is a bug in tui_sync; "
             "run again with TUI_SYNC_DEBUG=1 for details and report it")
        return int(Exit.ROW_ERRORS)
    finally:
        sys.stdout = stdout


def _leave(code: int) -> None:
    """Ends the process now when nothing is left to do: the output is written and flushed, and no
    other thread is at work. A large plan is millions of Python objects, which a normal exit frees
    one by one (a tenth of a second on a million users) for a process that is ending anyway (mypy
    exits the same way). Returns when another thread still works; the exit is then the usual one."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
        return
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    if "logging" in sys.modules:  # (handlers flushed and closed, as at a normal exit)
        import logging

        logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    script()
