"""The one place where a failed worker becomes something an operator can read.

A `SyncError` already says what happened, where and what to do: it is shown as
it is. Anything else is a bug: a short message on screen, the traceback in the
state folder's `ui.log`, never on screen.
"""
from __future__ import annotations

import traceback
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState

from ..errors import SyncError
from ..files import open_private, private_dir
from ..safe_text import redact_text

if TYPE_CHECKING:
    from .app import SyncApp


def failure_text(error: BaseException | None, what: str, log: Path | None = None) -> str:
    if isinstance(error, SyncError):
        return str(error)
    where = f"; details are in {log}" if log else ""
    return (f"{what} stopped unexpectedly ({type(error).__name__}: {error}). "
            f"This is a bug in tui_sync{where}.")


def log_traceback(error: BaseException, log: Path) -> bool:
    try:
        private_dir(log.parent)
        with open(open_private(log), "a", encoding="utf-8") as f:  # 0600 in the state folder (O2)
            f.write(f"--- {datetime.now().isoformat(timespec='seconds')}\n")
            f.write(redact_text("".join(traceback.format_exception(error))))  # O1: no token in a log
        return True
    except OSError:
        return False


class ReportsWorkerErrors(MessagePump):
    """Mixin for the app and its screens (a message pump, so it has Textual's `app`): a worker that
    failed is reported by the app, then `worker_failed` lets the owner show it in place as well."""

    @property
    def sync_app(self) -> SyncApp:
        """The running tui_sync app, typed (Textual's `self.app` is any App)."""
        return cast("SyncApp", self.app)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            text = self.sync_app.report_failure(event.worker)
            self.worker_failed(event.worker.name, text)

    def worker_failed(self, name: str, text: str) -> None:
        """Override to show a failure in the pane too."""
