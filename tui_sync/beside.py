"""Work done beside the caller's: a function on a thread of its own, whose outcome the caller
collects when it needs it. For work that spends its time outside the GIL (polars, SQLite,
hashing, the network), or beside such work of the caller's: on two cores the two then run at
once. Outside the layers, as gcpause is: planning reads two sheets with it, the engine makes
the creates while it finds the updates."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Beside(Generic[T]):
    """`fn(*args, **kwargs)` on a daemon thread; `result()` waits for it and returns its value or
    raises its exception (a Ctrl-C does not wait for a daemon thread)."""

    def __init__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> None:
        self._outcome: tuple[Any, bool] | None = None

        def work() -> None:
            try:
                self._outcome = (fn(*args, **kwargs), False)
            except BaseException as e:  # handed to `result()` as it is
                self._outcome = (e, True)

        self._thread = threading.Thread(target=work, name=f"tui-sync: {getattr(fn, '__name__', 'work')}",
                                        daemon=True)
        self._thread.start()

    def result(self) -> T:
        self._thread.join()
        assert self._outcome is not None
        value, failed = self._outcome
        if failed:
            raise value
        return value
