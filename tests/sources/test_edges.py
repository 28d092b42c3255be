"""P2: a large CSV file proven clean of edge whitespace (`EdgeScan`) skips asking every cell, and
anything the proof cannot rule out is still trimmed as every sheet's cells are."""
from __future__ import annotations

import hashlib
from functools import cache

import polars as pl
import pytest

from tui_sync.sources.edges import EdgeScan
from tui_sync.sources.local import read_bytes, read_file
from tui_sync.sources.table import SheetOptions

OPTS = SheetOptions()
ROWS = 70_000  # ~5 MB: over the size from which a CSV file is parsed from its path (and scanned)
KINDS = {"space": " ", "tab": "\t", "NBSP": "\u00a0", "U+3000": "\u3000", "BOM": "\ufeff", "U+200B": "\u200b"}


@cache
def clean_csv(sep: str = ",", eol: str = "\n") -> bytes:
    """Spaces and non-ASCII text inside cells, none at an edge, no quotes, an empty cell per row."""
    i = pl.int_range(0, ROWS, eager=True).cast(pl.String)
    frame = pl.DataFrame({"Login": "user" + i, "Name": "Jürgen Müller " + i, "City": pl.repeat("Санкт-Петербург", ROWS, eager=True),
                          "Manager": pl.repeat(None, ROWS, dtype=pl.String, eager=True), "Phone": "+49 30 " + i})
    return frame.write_csv(separator=sep, line_terminator=eol).encode()


def scanned(data: bytes, chunk: int = 1 << 20) -> bool:
    scan = EdgeScan(",")
    for start in range(0, len(data), chunk):
        scan.feed(data[start:start + chunk])
    return scan.clean()


def read_both(tmp_path, data: bytes):
    """The table as a file source reads it (from its path, scanned) and as its bytes read (every cell asked)."""
    p = tmp_path / "users.csv"
    p.write_bytes(data)
    table, same = read_file(p, OPTS), read_bytes(data, str(p), OPTS)
    assert table.df.equals(same.df) and table.headers == same.headers
    assert table.fingerprint == hashlib.sha256(data).hexdigest()  # P3: the same fingerprint either way
    return table


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_a_clean_file_is_proven_clean_and_reads_as_its_bytes_do(tmp_path, eol):
    data = clean_csv(eol=eol)
    assert len(data) > 4 << 20 and scanned(data) and scanned(b"\xef\xbb\xbf" + data)  # (a BOM is no cell)
    table = read_both(tmp_path, data)
    assert table.df.row(5)[:5] == ("user5", "Jürgen Müller 5", "Санкт-Петербург", None, "+49 30 5")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", ["leading, mid-row", "trailing, mid-row", "trailing, line end", "leading, line start"])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_edge_whitespace_of_every_kind_is_found_and_trimmed(tmp_path, kind, where, eol):
    ws = KINDS[kind]
    row = {"leading, mid-row": f"user7,{ws}Anna,Wien,,+1", "trailing, mid-row": f"user7,Anna{ws},Wien,,+1",
           "trailing, line end": f"user7,Anna,Wien,,+1{ws}", "leading, line start": f"{ws}user7,Anna,Wien,,+1"}[where]
    lines = clean_csv(eol=eol).split(eol.encode())
    data = eol.encode().join(lines[:8] + [row.encode()] + lines[9:])  # (user7's line, row 9)
    assert not scanned(data)
    table = read_both(tmp_path, data)
    assert table.df.row(7)[:5] == ("user7", "Anna", "Wien", None, "+1")


@pytest.mark.parametrize("kind", KINDS)
def test_whitespace_inside_a_cell_is_kept(tmp_path, kind):
    """A space inside a cell leaves the proof standing; any other whitespace only spoils it."""
    ws = KINDS[kind]
    data = clean_csv().replace(b"+49 30 7\n", f"+49{ws}30 7\n".encode(), 1)
    assert scanned(data) is (ws == " ")
    assert read_both(tmp_path, data).df["Phone"][7] == f"+49{ws}30 7"  # (kept: not at an edge)


def test_a_quoted_cell_with_the_delimiter_is_kept_whole(tmp_path):
    """"Smith, John" looks like a cell that starts with a space; it is not one, and stays as it is.
    A quoted cell that does start with one is trimmed."""
    data = clean_csv().replace(b"J\xc3\xbcrgen M\xc3\xbcller 7,", b'"Smith, John",', 1)
    data = data.replace(b"J\xc3\xbcrgen M\xc3\xbcller 8,", b'" Doe, Jane ",', 1)
    data = data.replace(b"J\xc3\xbcrgen M\xc3\xbcller 9,", b'"",', 1)
    assert not scanned(data)  # (a quote: every line is no longer one row, nor every cell between delimiters)
    names = read_both(tmp_path, data).df["Name"]
    assert names[7:10].to_list() == ["Smith, John", "Doe, Jane", None]


@pytest.mark.parametrize("data, clean", [
    (b"a,b\n1,2", True), (b"a,b\n1,2 ", False), (b"a,b\n1,2 \n", False), (b"a,b\n1,\n", True),
    (b"a,b\n,1\n", True), (b'a,b\n"1",2\n', False), (b"a,b\n1,2\x0b\n", False),
    # CRLF: polars reads past the carriage return that ends a line, and keeps any other
    (b"a,b\r\n1,2\r\n", True), (b"a,b\r\n1,\r\n\r\n", True), (b"a,b\r\n1,2 \r\n", False),
    (b"a,b\r\n1,\r2\r\n", False), (b"a,b\r\n1,2\r\r\n", False), (b"a,b\r\n\r1,2\r\n", False),
    (b"a,b\n1,2\r", True), (b"a,b\n1,2 \r", False),
])
def test_the_proof_on_small_inputs(data, clean):
    assert scanned(data) is clean


@pytest.mark.parametrize("cut", range(1, 6))
def test_a_pair_or_a_character_cut_between_two_chunks_is_found(cut):
    """The bytes come in chunks: a space next to a delimiter, or a non-breaking space (two bytes),
    split between two of them is found all the same."""
    for bad in (b"a,b\n1, x\n", b"a,b\n1,x \n", "a,b\n1,x\u3000y\n".encode(), "a,b\n1,x\u00a0y\n".encode(),
                b"a,b\r\n1,x \r\n", b"a,b\r\n1,\rx\r\n"):
        assert not scanned(bad, chunk=cut), (bad, cut)
    assert scanned(b"a,b\n1,x y\n", chunk=cut) and scanned(b"a,b\r\n1,x y\r\n", chunk=cut)


def test_a_tab_separated_file_is_proven_with_its_own_delimiter():
    data = clean_csv("\t")
    scan = EdgeScan("\t")
    scan.feed(data)
    assert scan.clean()
    spoilt = EdgeScan("\t")
    spoilt.feed(data.replace(b"\tJ", b"\t J", 1))
    assert not spoilt.clean()


def test_a_crlf_file_with_empty_last_cells_and_a_blank_line_is_proven_and_read_as_its_bytes_do(tmp_path):
    lines = clean_csv(eol="\r\n").split(b"\r\n")
    data = b"\r\n".join(lines[:8] + [b"user7,Anna,Wien,,", b""] + lines[9:-1]) + b"\r"  # (ends in a lone CR)
    assert scanned(data)
    df = read_both(tmp_path, data).df
    assert df.row(7)[:5] == ("user7", "Anna", "Wien", None, None) and df.row(8)[0] == "user8"  # (the blank row goes)
    assert df["Phone"][-1] == f"+49 30 {ROWS - 1}"
