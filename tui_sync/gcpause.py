"""Pause Python's cyclic garbage collector around bulk object building.

Building a plan creates hundreds of thousands of small containers and no
cycles; the collector would rescan them all again and again (seconds on a
large plan). Reference counting still frees everything as usual.

Nothing is frozen (`gc.freeze`) afterwards: in a long-lived process (the UI,
the daemon) everything alive at that moment would stay out of the collector's
reach for good, and whatever of it later became a cycle (an old plan held by a
pane, a widget tree) would never be freed. The collector scans what was built
once, when it next runs in full.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
