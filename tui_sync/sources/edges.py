"""Which columns of a CSV file can hold a cell that needs trimming, judged from its bytes as they
stream by.

`normalize_grid` trims every cell of WHITESPACE and turns empty cells into null (P2). Asking
every cell of a large sheet costs more than parsing it, and almost always finds nothing. A file
read as polars reads it (`csv_reader.read_csv_path`) is scanned instead while it is
fingerprinted. When it holds no quote, every line is one row and a cell is the text between two
delimiters (polars reads an empty one as null, never as ""), so a cell can need trimming only
where

- a space stands next to a delimiter or a line end (or ends the file),
- a carriage return does not end a line (CRLF: polars reads past the one before a line feed),
- any other whitespace character stands at all: a tab (unless it is the delimiter) or another
  control in WHITESPACE, or one of its non-ASCII characters (a non-breaking space, U+3000, a
  byte-order mark, a zero-width space …).

Such places are rare: each is found, and the column it is in (the delimiters before it on its
line) is asked cell by cell, as any sheet's are; the others are not. A quote anywhere, or too
many such places, and every column is asked. So does a line longer than Excel's cell limit in
bytes; short lines prove every cell within it, which is then not measured either (`scanned`).
"""
from __future__ import annotations

import codecs
import re

import polars as pl

from tui_sync.sources.normalize import MAX_CELL_CHARS, WHITESPACE, Scanned

_DELIMITERS = ",;|\t"  # the delimiters a scan knows (a space, say, would make every cell an edge)
_NON_ASCII = [ch.encode() for ch in WHITESPACE if not ch.isascii()]
_NON_ASCII_FIRST = sorted({seq[:1] for seq in _NON_ASCII})  # the bytes such a character starts with
_NON_ASCII_RE = re.compile(b"|".join(re.escape(seq) for seq in _NON_ASCII))
_CONTROLS = [ch.encode() for ch in WHITESPACE if ch.isascii() and ch not in " \n\r"]
_LONE_CR = re.compile(rb"\r(?=[^\n])")  # (a carriage return that does not end a line stays in a cell)
_BOM = codecs.BOM_UTF8
# chunks searched for spaces by one polars call: one call per chunk costs more than the search, and
# more chunks held at once free more memory than the allocator keeps (glibc gives back a heap's free
# top beyond twice the largest block it mapped: 2 MB for chunks of 1 MB), which the next ones fault
# in anew. Against batches of 8, a cold pass over 100k users.csv 27 -> 21 ms CPU, 1M's 0.24 -> 0.22 s
_BATCH = 2
_BUDGET = 16 << 20  # bytes searched in Python (slowly); more, and every column is asked
_MAX_PLACES = 10_000  # places found one by one; more, and every column is asked


class EdgeScan:
    """Fed a file's bytes in order (`feed`), tells which columns (by position) can hold a cell with
    whitespace at an edge or empty text (`columns`). Cheap where there is none: single bytes are
    looked for in each chunk while it is in the cache, spaces next to delimiters by polars a few
    chunks at a time; only a chunk with such a place (or the first byte of a non-ASCII one) is
    searched place by place, and only so many."""

    def __init__(self, delimiter: str) -> None:
        self._columns: set[int] | None = set() if delimiter in _DELIMITERS else None
        self._sep = sep = delimiter.encode()
        self._pairs = (sep + b" ", b" " + sep, b"\n ", b" \n", b" \r")  # (" \r": CRLF's)
        self._singles = [c for c in _CONTROLS if c != sep]
        self._batch: list[tuple[bytes, bytes, int]] = []  # (chunk, the line it goes on with, where that starts)
        self._batch_cr = False  # a chunk of the batch holds a carriage return: look for " \r" too
        self._offset = 0  # of the next chunk in the file
        self._body = -1  # where the line after the header row starts (-1: not yet seen); the header is cleaned on its own
        self._carry = b""  # the start of the line the next chunk goes on with
        self._tail = b""  # the last two bytes fed: a pair or a character may straddle two chunks
        self._budget = _BUDGET
        self._places = 0

    def feed(self, chunk: bytes) -> None:
        if self._columns is None or not chunk:
            return
        if not self._offset:
            chunk = chunk.removeprefix(_BOM)  # (polars reads past it, as the header's cleaning does)
        if b'"' in chunk:
            self._columns = None  # (quoted cells: a line is no longer a row, nor a cell what lies between delimiters)
            return
        if not self._lines_fit(chunk):
            self._columns = None  # (a line over a cell's limit: a broken file, or a very wide sheet)
            return
        if self._body < 0 and b"\n" in chunk:
            self._body = self._offset + chunk.find(b"\n") + 1
        start = self._offset - len(self._carry)  # (of the line the chunk goes on with)
        seam = self._tail + chunk[:2]
        if any(pair in seam for pair in self._pairs):
            self._locate(self._carry + chunk[:2], start, self._pairs)  # (a line's start and two bytes: cheap)
        if (any(c in chunk for c in self._singles) or any(b"\r" in part and _LONE_CR.search(part) for part in (seam, chunk))
                or (any(f in chunk or f in self._tail for f in _NON_ASCII_FIRST) and self._non_ascii_space(chunk))):
            self._locate(self._carry + chunk, start, others=True)  # (rare: found one by one)
        self._batch.append((chunk, self._carry, start))  # (spaces next to delimiters: by polars)
        self._batch_cr = self._batch_cr or b"\r" in chunk
        if len(self._batch) >= _BATCH:
            self._search_batch()
        newline = chunk.rfind(b"\n")
        self._carry = self._carry + chunk if newline < 0 else chunk[newline + 1:]
        self._tail = (self._tail + chunk[-2:])[-2:]
        self._offset += len(chunk)

    def columns(self) -> set[int] | None:
        """The columns to ask cell by cell (the bytes fed are the whole file); None: all of them."""
        if self._batch and self._columns is not None:
            self._search_batch()
        if self._carry and self._columns is not None:  # (the last line, unended: a space may end the file)
            self._locate(self._carry, self._offset - len(self._carry), self._pairs, others=True, last=True)
            self._carry = b""
        return self._columns

    def scanned(self) -> Scanned:
        """What the scan found (the bytes fed are the whole file). Columns named also mean that no line
        was longer than a cell's limit in bytes: no cell can be (a scan that asks every column has
        either met a quote, after which a cell may span lines, or stopped looking)."""
        columns = self.columns()
        return Scanned(columns, cells_fit=columns is not None)

    def _lines_fit(self, chunk: bytes) -> bool:
        """Whether every line the chunk ends, or goes on with, is at most MAX_CELL_CHARS bytes so far: from
        each line feed, the next one is looked for within reach (from the furthest one back), a few
        dozen finds a megabyte."""
        at = -1 - len(self._carry)  # (the line feed before the line the chunk goes on with)
        while at + 1 + MAX_CELL_CHARS < len(chunk):
            at = chunk.rfind(b"\n", max(at + 1, 0), at + 2 + MAX_CELL_CHARS)
            if at < 0:
                return False
        return True

    def _non_ascii_space(self, chunk: bytes) -> bool:
        """Whether the chunk holds a non-ASCII whitespace character (its first byte may have ended the
        last one); searched in Python, within the budget."""
        self._budget -= len(chunk)
        return self._budget < 0 or _NON_ASCII_RE.search(self._tail + chunk) is not None

    def _search_batch(self) -> None:
        batch, pairs = self._batch, self._pairs[:4] + (self._pairs[4:] if self._batch_cr else ())
        self._batch, self._batch_cr = [], False
        found = pl.DataFrame({"b": pl.Series([chunk for chunk, _, _ in batch], dtype=pl.Binary)}).select(
            pl.col("b").bin.contains(pair).alias(str(i)) for i, pair in enumerate(pairs))
        for (chunk, carry, start), hits in zip(batch, found.rows()):
            if any(hits) and self._columns is not None:
                self._locate(carry + chunk, start, tuple(pair for pair, hit in zip(pairs, hits) if hit))

    def _locate(self, text: bytes, offset: int, pairs: tuple[bytes, ...] = (), *, others: bool = False,
                last: bool = False) -> None:
        """Each place in `text` (which starts a line, at `offset` in the file; the file's `last`
        bytes) marks its column: the spaces next to `pairs`' other byte, and with `others` the
        other kinds of place. Over the budget, every column is asked."""
        if len(text) > 4096:
            self._budget -= len(text)
            if self._budget < 0:
                self._columns = None
                return
        places = [0] if text.startswith(b" ") else []
        if last and text.endswith((b" ", b"\r")):
            places.append(len(text) - 1)
        for found in pairs + (tuple(self._singles) if others else ()):
            at = text.find(found)
            while at >= 0:
                places.append(at + 1 if len(found) == 2 and found.endswith(b" ") else at)  # (the space's place)
                at = text.find(found, at + 1)
        if others and any(f in text for f in _NON_ASCII_FIRST):
            places.extend(m.start() for m in _NON_ASCII_RE.finditer(text))
        if others and b"\r" in text:
            places.extend(m.start() for m in _LONE_CR.finditer(text))  # (one that ends the text: see the next seam)
        for at in places:
            if self._body < 0 or offset + at < self._body:
                continue  # (the header row)
            assert self._columns is not None
            self._columns.add(text.count(self._sep, text.rfind(b"\n", 0, at) + 1, at))
            self._places += 1
            if self._places > _MAX_PLACES:
                self._columns = None
                return
