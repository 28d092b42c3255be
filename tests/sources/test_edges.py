"""P2: the cells of a large CSV file's columns that its bytes show cannot need trimming
(`EdgeScan`) are not asked one by one, and every cell the scan cannot rule out is still trimmed
as every sheet's cells are."""
from __future__ import annotations

import hashlib
from functools import cache

import polars as pl
import pytest

from tui_sync.errors import SourceError
from tui_sync.sources.edges import EdgeScan
from tui_sync.sources.local import read_bytes, read_file
from tui_sync.sources.normalize import MAX_CELL_CHARS, Scanned, normalize_grid
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


def with_line(data: bytes, index: int, line: str, eol: str = "\n") -> bytes:
    lines = data.split(eol.encode())
    return eol.encode().join(lines[:index] + [line.encode()] + lines[index + 1:])


def scanned(data: bytes, chunk: int = 1 << 20, sep: str = ",") -> set[int] | None:
    """The columns the scan says to ask, the bytes fed `chunk` at a time."""
    scan = EdgeScan(sep)
    for start in range(0, len(data), chunk):
        scan.feed(data[start:start + chunk])
    return scan.columns()


def read_both(tmp_path, data: bytes):
    """The table as a file source reads it (from its path, scanned) and as its bytes read (every cell asked)."""
    p = tmp_path / "users.csv"
    p.write_bytes(data)
    table, same = read_file(p, OPTS), read_bytes(data, str(p), OPTS)
    assert table.df.equals(same.df) and table.headers == same.headers
    assert table.fingerprint == hashlib.sha256(data).hexdigest()  # P3: the same fingerprint either way
    return table


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_a_clean_file_needs_no_column_asked_and_reads_as_its_bytes_do(tmp_path, eol):
    data = clean_csv(eol=eol)
    assert len(data) > 4 << 20 and scanned(data) == set() and scanned(b"\xef\xbb\xbf" + data) == set()  # (a BOM is no cell)
    table = read_both(tmp_path, data)
    assert table.df.row(5)[:5] == ("user5", "Jürgen Müller 5", "Санкт-Петербург", None, "+49 30 5")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where, column", [("leading, mid-row", 1), ("trailing, mid-row", 1), ("trailing, line end", 4),
                                           ("leading, line start", 0)])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_edge_whitespace_of_every_kind_is_found_in_its_column_and_trimmed(tmp_path, kind, where, column, eol):
    ws = KINDS[kind]
    row = {"leading, mid-row": f"user7,{ws}Anna,Wien,,+1", "trailing, mid-row": f"user7,Anna{ws},Wien,,+1",
           "trailing, line end": f"user7,Anna,Wien,,+1{ws}", "leading, line start": f"{ws}user7,Anna,Wien,,+1"}[where]
    data = with_line(clean_csv(eol=eol), 8, row, eol)  # (user7's line, row 9)
    assert scanned(data) == {column}
    table = read_both(tmp_path, data)
    assert table.df.row(7)[:5] == ("user7", "Anna", "Wien", None, "+1")


@pytest.mark.parametrize("kind", KINDS)
def test_whitespace_inside_a_cell_is_kept(tmp_path, kind):
    """A space inside a cell leaves its column unasked; any other whitespace has it asked."""
    ws = KINDS[kind]
    data = clean_csv().replace(b"+49 30 7\n", f"+49{ws}30 7\n".encode(), 1)
    assert scanned(data) == (set() if ws == " " else {4})
    assert read_both(tmp_path, data).df["Phone"][7] == f"+49{ws}30 7"  # (kept: not at an edge)


def test_a_header_with_spaces_around_it_has_no_column_asked(tmp_path):
    data = clean_csv().replace(b"Login,Name,", b" Login ,Name\xc2\xa0,", 1)
    assert scanned(data) == set()  # (the header row is cleaned on its own)
    assert read_both(tmp_path, data).headers[:2] == ("Login", "Name")


def test_a_quoted_cell_with_the_delimiter_is_kept_whole(tmp_path):
    """"Smith, John" looks like a cell that starts with a space; it is not one, and stays as it is.
    A quoted cell that does start with one is trimmed, a quoted empty one is blank."""
    data = clean_csv().replace(b"J\xc3\xbcrgen M\xc3\xbcller 7,", b'"Smith, John",', 1)
    data = data.replace(b"J\xc3\xbcrgen M\xc3\xbcller 8,", b'" Doe, Jane ",', 1)
    data = data.replace(b"J\xc3\xbcrgen M\xc3\xbcller 9,", b'"",', 1)
    assert scanned(data) is None  # (a quote: a line is no longer a row, nor a cell what lies between delimiters)
    names = read_both(tmp_path, data).df["Name"]
    assert names[7:10].to_list() == ["Smith, John", "Doe, Jane", None]


def test_many_cells_to_trim_have_every_column_asked(tmp_path):
    data = clean_csv().replace(b",+49 30 ", b", +49 30 ")
    assert scanned(data) is None
    assert read_both(tmp_path, data).df["Phone"][7] == "+49 30 7"


@pytest.mark.parametrize("data, columns", [
    (b"a,b\n1,2", set()), (b"a,b\n1,2 ", {1}), (b"a,b\n1,2 \n", {1}), (b"a,b\n1,\n", set()),
    (b"a,b\n,1\n", set()), (b'a,b\n"1",2\n', None), (b"a,b\n1,2\x0b\n", {1}), (b"a,b\n1,2\n 3,4\n", {0}),
    (b"a,b,c\n1\n2 \n3,4,5\n", {0}),  # (a short row: its last cell is in its own column)
    # CRLF: polars reads past the carriage return that ends a line, and keeps any other
    (b"a,b\r\n1,2\r\n", set()), (b"a,b\r\n1,\r\n\r\n", set()), (b"a,b\r\n1,2 \r\n", {1}),
    (b"a,b\r\n1,\r2\r\n", {1}), (b"a,b\r\n1,2\r\r\n", {1}), (b"a,b\r\n\r1,2\r\n", {0}),
    (b"a,b\n1,2\r", {1}), (b"a,b\n1,2 \r", {1}),
])
def test_the_columns_to_ask_in_small_inputs(data, columns):
    assert scanned(data) == columns


@pytest.mark.parametrize("cut", range(1, 6))
def test_a_place_cut_between_two_chunks_is_found(cut):
    """The bytes come in chunks: a space next to a delimiter, or a non-breaking space (two bytes),
    split between two of them is found all the same."""
    for bad in (b"a,b\n1, x\n", b"a,b\n1,x \n", "a,b\n1,x\u3000y\n".encode(), "a,b\n1,x\u00a0y\n".encode(),
                b"a,b\r\n1,x \r\n", b"a,b\r\n1,\rx\r\n", b"a,b\n1,x\n2, y\n", b"a,b\n1,x\n y,2\n"):
        assert scanned(bad, chunk=cut) == ({0} if b"\n y" in bad else {1}), (bad, cut)
    assert scanned(b"a,b\n1,x y\n", chunk=cut) == set() and scanned(b"a,b\r\n1,x y\r\n", chunk=cut) == set()


def test_a_tab_separated_file_is_scanned_with_its_own_delimiter():
    data = clean_csv("\t")
    assert scanned(data, sep="\t") == set()
    assert scanned(data.replace(b"\tJ", b"\t J", 1), sep="\t") == {1}


def test_a_crlf_file_with_empty_last_cells_and_a_blank_line_reads_as_its_bytes_do(tmp_path):
    lines = clean_csv(eol="\r\n").split(b"\r\n")
    data = b"\r\n".join(lines[:8] + [b"user7,Anna,Wien,,", b""] + lines[9:-1])
    assert scanned(data) == set()
    df = read_both(tmp_path, data).df
    assert df.row(7)[:5] == ("user7", "Anna", "Wien", None, None) and df.row(8)[0] == "user8"  # (the blank row goes)
    assert df["Phone"][-1] == f"+49 30 {ROWS - 1}"


def test_typographic_characters_are_no_whitespace(tmp_path):
    """« », ’ and – start with the bytes a non-breaking or an ideographic space starts with; they
    are no whitespace, and leave their columns unasked."""
    data = clean_csv().replace("Санкт-Петербург".encode(), "«Санкт–Петербург’s»".encode())
    assert scanned(data) == set()
    assert read_both(tmp_path, data).df["City"][3] == "«Санкт–Петербург’s»"


def test_normalize_asks_only_the_columns_it_is_given():
    """The columns a scan names are taken at their word: the cells of the other columns are not
    asked; the headers are cleaned all the same."""
    grid = pl.DataFrame({"a": [" Code ", " 1 ", ""], "b": ["Name", " x ", ""], "c": ["Note", "n", "m"]})
    df, headers = normalize_grid(grid, source="s", scanned=lambda: Scanned({0}, cells_fit=False))
    assert headers == ("Code", "Name", "Note")
    assert df.rows() == [("1", " x ", "n", 2), (None, "", "m", 3)]
    assert normalize_grid(grid, source="s")[0].rows() == [("1", "x", "n", 2), (None, None, "m", 3)]


def test_a_grid_in_chunks_is_normalised_into_one_chunk_per_column_and_asks_for_its_columns_once():
    """A parser leaves a column in chunks; the frame has one per column (the rules combine columns
    hundreds of times). The columns to trim may come from a scan still running: asked once, after."""
    grid = pl.concat([pl.DataFrame({"a": ["Code", "1"], "b": ["Name", "x"]}),
                      pl.DataFrame({"a": [None, "2"], "b": [None, " y "]})], rechunk=False)
    asked = []
    df, headers = normalize_grid(grid, source="s", scanned=lambda: asked.append(1) or Scanned({1}, cells_fit=False))
    assert headers == ("Code", "Name") and asked == [1]
    assert df.rows() == [("1", "x", 2), ("2", "y", 4)]  # (the blank row 3 goes; the others keep their numbers)
    assert df.n_chunks("all") == [1, 1, 1]


def scan_of(data: bytes, chunk: int) -> Scanned:
    scan = EdgeScan(",")
    for start in range(0, len(data), chunk):
        scan.feed(data[start:start + chunk])
    return scan.scanned()


@pytest.mark.parametrize("chunk", [1 << 20, 10_000, MAX_CELL_CHARS + 1, 70_001])
def test_lines_within_a_cells_limit_spare_measuring_the_cells_and_a_longer_one_asks_every_column(chunk):
    """No quote: a line is a row, so no cell is longer than its line. Lines of at most Excel's cell
    limit in bytes prove every cell within it; one longer line anywhere (in the middle, cut between
    chunks, or last and unended), and every column is asked and every cell measured."""
    head = b"a,b\n" + b"1,x\n" * 1000
    for length, fits in ((MAX_CELL_CHARS, True), (MAX_CELL_CHARS + 1, False)):
        long_line = b"2," + b"y" * (length - 2)
        for data in (head + long_line + b"\n3,z\n", head + long_line, long_line + b"\n" + head):
            assert scan_of(data, chunk) == ((set(), True) if fits else (None, False)), (length, chunk)


def test_a_large_file_with_a_cell_over_the_limit_is_refused_by_row_and_column(tmp_path):
    """P2: a cell over Excel's limit in a file parsed from its path (and scanned) is refused as in any other."""
    p = tmp_path / "users.csv"
    p.write_bytes(with_line(clean_csv(), 7, "user6,Anna," + "x" * (MAX_CELL_CHARS + 1) + ",,+49 30 6"))
    assert p.stat().st_size > 4 << 20
    with pytest.raises(SourceError) as refused:
        read_file(p, OPTS)
    assert f"row 8, column C ('City'): a cell of {MAX_CELL_CHARS + 1:,} characters" in str(refused.value)
