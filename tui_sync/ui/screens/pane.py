"""What every pane shares: the pane bar, the session, redrawing when the plan changes."""
from __future__ import annotations

from textual.screen import Screen

from ..failures import ReportsWorkerErrors
from ..messages import PlanChanged
from ..session import Session


class Pane(ReportsWorkerErrors, Screen):
    PANE = ""
    KEY_PREFIX = ""

    def __init__(self) -> None:
        super().__init__(name=self.PANE)
        self._seen = -1

    @property
    def session(self) -> Session:
        return self.sync_app.session

    def on_mount(self) -> None:
        self.sync_app.panes[self.PANE] = self
        self._seen = self.session.version
        self.session_changed()

    def on_screen_resume(self) -> None:
        if self._seen != self.session.version:
            self._seen = self.session.version
            self.session_changed()

    def on_plan_changed(self, _: PlanChanged) -> None:
        self._seen = self.session.version
        self.session_changed()

    def session_changed(self) -> None:
        """The config or the plan changed: redraw from the session."""
