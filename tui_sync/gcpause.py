"""Pause Python's cyclic garbage collector around bulk object building.

Building a plan creates hundreds of thousands of small containers and no
cycles; the collector would rescan them all again and again (seconds on a
large plan). Reference counting still frees everything as usual.
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
        # what was built is long-lived and acyclic: keep later collections from rescanning it
        gc.freeze()
        if was:
            gc.enable()
