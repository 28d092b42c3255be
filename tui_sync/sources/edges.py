"""Whether any cell of a CSV file can need trimming, judged from its bytes as they stream by.

`normalize_grid` trims every cell of WHITESPACE and turns empty cells into null (P2). Asking
every cell of a large sheet costs more than parsing it, and almost always finds nothing. A file
read as polars reads it (`csv_reader.read_csv_path`) is scanned instead while it is
fingerprinted, and proven clean when

- it holds no quote: every line is one row, and a cell is the text between two delimiters
  (polars reads an empty one as null, never as ""),
- no space stands next to a delimiter or a line end (nor ends the file),
- a carriage return only ends a line (CRLF: polars reads past the one before a line feed),
- it holds no other whitespace character at all: no tab (unless it is the delimiter) or other
  control in WHITESPACE, and none of its non-ASCII characters (a non-breaking space, U+3000, a
  byte-order mark, a zero-width space …).

Anything else (a quoted "Smith, John", a non-breaking space inside a name) only means "not
proven": the cells are then checked one by one, as any sheet's are.
"""
from __future__ import annotations

import codecs
import re

import polars as pl

from tui_sync.sources.normalize import WHITESPACE

DELIMITERS = ",;|\t"  # the delimiters a scan knows (a space, say, would make every cell an edge)
_NON_ASCII = [ch.encode() for ch in WHITESPACE if not ch.isascii()]
_NON_ASCII_FIRST = sorted({seq[:1] for seq in _NON_ASCII})  # the bytes such a character starts with
_NON_ASCII_RE = re.compile(b"|".join(re.escape(seq) for seq in _NON_ASCII))
_BOM = codecs.BOM_UTF8
_CONTROLS = [ch.encode() for ch in WHITESPACE if ch.isascii() and ch not in " \n\r"]
_LONE_CR = re.compile(rb"\r[^\n]")  # (a carriage return that does not end a line stays in a cell)
_BATCH = 8  # chunks searched for spaces by one polars call (one call per chunk costs more than the search)


class EdgeScan:
    """Fed a file's bytes in order (`feed`), says whether no cell of it can have whitespace at an
    edge nor be empty text (`clean`). Cheap: single bytes are looked for in each chunk while it is
    in the cache, pairs by polars a few chunks at a time."""

    def __init__(self, delimiter: str) -> None:
        self._proven = delimiter in DELIMITERS
        sep = delimiter.encode()
        self._pairs = (sep + b" ", b" " + sep, b"\n ", b" \n")
        self._singles = [b'"'] + [c for c in _CONTROLS if c != sep]
        self._batch: list[bytes] = []
        self._batch_cr = False  # a chunk of the batch holds a carriage return (CRLF): look for " \r" too
        self._tail = b""  # the last bytes fed: a pair or a character may straddle two chunks
        self._first = True

    def feed(self, chunk: bytes) -> None:
        if self._first and chunk:
            self._first = False
            chunk = chunk.removeprefix(_BOM)  # (polars reads past it; so does the header's cleaning)
        if not (self._proven and chunk):
            return
        if any(byte in chunk for byte in self._singles) or self._has_non_ascii_whitespace(chunk):
            self._proven = False
            return
        seam = self._tail + chunk[:2]
        if any(pair in seam for pair in self._pairs + (b" \r",)) or self._has_lone_cr(chunk, seam):
            self._proven = False
            return
        self._tail = (self._tail + chunk[-2:])[-2:]
        self._batch_cr = self._batch_cr or b"\r" in chunk
        self._batch.append(chunk)
        if len(self._batch) >= _BATCH:
            self._search_batch()

    def clean(self) -> bool:
        """True when no cell can need trimming (the bytes fed are the whole file)."""
        if self._batch and self._proven:
            self._search_batch()
        return self._proven and not self._tail.endswith(b" ")  # (a space at the very end ends a cell)

    @staticmethod
    def _has_lone_cr(chunk: bytes, seam: bytes) -> bool:
        return any(b"\r" in part and _LONE_CR.search(part) is not None for part in (seam, chunk))

    def _has_non_ascii_whitespace(self, chunk: bytes) -> bool:
        if not any(first in chunk or first in self._tail for first in _NON_ASCII_FIRST):
            return False  # (the common case: not even the first byte of one)
        return _NON_ASCII_RE.search(self._tail + chunk) is not None

    def _search_batch(self) -> None:
        batch = pl.DataFrame({"b": pl.Series(self._batch, dtype=pl.Binary)})
        pairs = self._pairs + ((b" \r",) if self._batch_cr else ())
        self._batch, self._batch_cr = [], False
        found = batch.select(pl.col("b").bin.contains(pair).any().alias(str(i)) for i, pair in enumerate(pairs))
        if any(found.row(0)):
            self._proven = False
