"""A loopback webhook receiver for the [notify] tests (O1): plain HTTP on 127.0.0.1:0."""
from __future__ import annotations

import json

from .loopback import LoopbackServer, Reply, Request, free_port

PATH = "/hooks/T0KEN-in-the-path"  # a token in the path, as Slack's and Teams' webhooks have


class Hook(LoopbackServer):
    """Answers with the queued statuses (then 200); keeps the paths posted to and the bodies accepted."""

    def __init__(self, statuses: list[int] | None = None):
        super().__init__(self._answer)
        self.statuses = list(statuses or [])
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        self.address = self.url(PATH)

    def _answer(self, request: Request) -> Reply:
        self.paths.append(request.path)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.bodies.append(json.loads(request.body))
        return Reply(status)


def nowhere() -> str:
    """A webhook address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}{PATH}"
