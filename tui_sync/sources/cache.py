"""The per-run download cache, kept apart so local-only runs need no HTTP imports."""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class FetchCache:
    """What one run has downloaded, so two sources on one workbook or spreadsheet fetch it once.

    Keys combine the address with an identity of the credentials (a hash, never the
    secret). Failures are not cached. Safe to share between threads: a second caller
    of the same key waits for the first one's result.
    """

    def __init__(self) -> None:
        self._items: dict[Hashable, object] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get_or_fetch(self, key: Hashable, fetch: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._items:
                return self._items[key]  # type: ignore[return-value]
            value = fetch()
            self._items[key] = value
            return value

    def clear(self) -> None:
        with self._guard:
            self._items.clear()
            self._locks.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:  # keys hold addresses and credential hashes: keep them out of reprs
        return f"<FetchCache {len(self._items)} item(s)>"
