"""Reading sources: format detection, CSV and XLSX readers, normalisation, local files.

The awkward and broken files live in test_bad_input_corpus.py; this file covers
the public functions and their contracts (including speed).
"""
from __future__ import annotations

import codecs
import dataclasses
import hashlib
import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from tui_sync.config import SourceConfig
from tui_sync.errors import ConfigError, SourceError
from tui_sync.sources.fetch import fetch_source
from tui_sync.sources.csv_reader import path_delimiter, read_csv, read_csv_path, sniff_delimiter
from tui_sync.sources.detect import detect_format
from tui_sync.sources.local import read_bytes, read_file
from tui_sync.sources.normalize import MAX_CELL_CHARS, column_letter, normalize_grid
from tui_sync.sources.table import ROW, SheetOptions
from tui_sync.sources.xlsx_reader import read_xlsx

OPTS = SheetOptions()


def xlsx_bytes(rows, title="Sheet1") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ detect_format


@pytest.mark.parametrize(
    ("data", "name", "ctype", "expected"),
    [
        (b"PK\x03\x04rest", "export", None, "xlsx"),
        (b"PK\x03\x04rest", "users.csv", "text/csv", "xlsx"),  # content beats name and type
        (b"a,b\n1,2\n", "users.csv", None, "csv"),
        (b"a,b\n1,2\n", "download", "text/csv; charset=utf-8", "csv"),
        # F2: text is CSV whatever the name or Content-Type claim
        (b"a,b\n1,2\n", "download", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv"),
        (b"a,b\n1,2\n", "https://example.com/f/users.xlsx?token=1", None, "csv"),
        (b"a,b\n1,2\n", "https://example.com/f/users.csv?dl=1#x", "application/octet-stream", "csv"),
        (b"a\tb\n1\t2\n", "report.xls", None, "csv"),  # tab-separated text named .xls is common
        (b"a,b\n1,2\n", "noext", None, "csv"),
        ("a;b\nJürgen;Müller\n".encode("cp1252"), "users.xlsx", None, "csv"),
        ("a\tb\r\nÅsa\tÖberg\r\n".encode("utf-16-le"), "users.xls", None, "csv"),  # UTF-16 without a BOM
        # binary that no signature names: the name or type lets the XLSX reader explain
        (bytes(range(256)) * 4, "users.xlsx", None, "xlsx"),
        (bytes(range(256)) * 4, "download", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "xlsx"),
    ],
)
def test_detect_format_content_then_content_type_then_name(data, name, ctype, expected):
    assert detect_format(data, name, ctype) == expected


def test_detect_format_refuses_binary_it_cannot_name():
    with pytest.raises(SourceError, match="cannot tell what kind of file this is: a binary file"):
        detect_format(bytes(range(256)) * 4, "users.csv")


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body>Sign in</body></html>",
        b"\xef\xbb\xbf  \r\n<html lang='en'>",
        b"\n\n   <HTML>",
        b"<head><title>Login</title>",
        "<!doctype html><p>share</p>".encode("utf-16"),
    ],
)
def test_detect_format_refuses_web_pages(data):
    with pytest.raises(SourceError) as err:
        detect_format(data, "users.xlsx")
    assert "web page, not the file" in str(err.value)
    assert err.value.where == "users.xlsx"
    assert err.value.hint


@pytest.mark.parametrize(("data", "expected"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "xls"),
    (b"PK\x03\x04" + b"\0" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet", "ods"),
])
def test_detect_format_knows_xls_and_ods_by_their_bytes(data, expected):
    """F2: whatever the name says."""
    assert detect_format(data, "users.xlsx") == expected
    assert detect_format(data, "users.csv", "text/csv") == expected


@pytest.mark.parametrize("name", ["org.xls", "org.ods"])
@pytest.mark.parametrize("sheet", [None, "Users"])
def test_xls_and_ods_saved_by_libreoffice_read_as_text(name, sheet):
    """tests/files/org.xls and org.ods: an XLSX of text cells converted by LibreOffice 7.4
    (soffice --headless --convert-to xls|ods)."""
    path = Path(__file__).resolve().parents[1] / "files" / name
    t = read_file(path, SheetOptions(sheet=sheet))
    assert (t.format, t.sheet_names) == (name[-3:], ("Departments", "Users"))
    if sheet is None:
        assert t.headers == ("Code", "Name", "Parent")
        assert t.df.rows() == [("007", "Geschäftsführung", None, 2), ("MOW", "Отдел продаж", "007", 3)]
    else:
        assert t.df.rows() == [("jmueller", "+49 30 1234567", 2), ("ivanov", "=not a formula", 3)]


def test_an_odf_text_document_is_not_a_sheet():
    with pytest.raises(SourceError, match="OpenDocument text, not a spreadsheet"):
        detect_format(b"PK\x03\x04" + b"\0" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.text", "x.ods")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"%PDF-1.7\n", "PDF"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "PNG image"),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", "JPEG image"),
        (b"GIF89a\x01\0\x01\0", "GIF image"),
        (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
         "Excel 2003 XML"),
    ],
)
def test_detect_format_names_other_formats(data, fragment):
    with pytest.raises(SourceError) as err:
        detect_format(data, "users.xlsx")
    assert fragment in str(err.value) and err.value.hint


def test_detect_format_empty_bytes_is_an_error():
    with pytest.raises(SourceError, match="empty"):
        detect_format(b"", "x.csv")


# ------------------------------------------------------------------ normalize_grid


def test_normalize_numbers_rows_before_dropping_blank_ones():
    grid = pl.DataFrame({"a": ["Code", "1", None, "  ", "2"], "b": ["Name", "x", None, "\u00a0", "y"]})
    df, headers = normalize_grid(grid, source="s", header_row=1)
    assert headers == ("Code", "Name")
    assert df.get_column(ROW).to_list() == [2, 5]
    assert df.schema[ROW] == pl.Int64


def test_normalize_trims_cells_and_headers_and_nulls_blanks():
    grid = pl.DataFrame({"a": ["\ufeff Code\u00a0", " 007 ", "\u200b"], "b": ["Name ", "", "z"]})
    df, headers = normalize_grid(grid, source="s", header_row=4)
    assert headers == ("Code", "Name")
    assert df.rows() == [("007", None, 5), (None, "z", 6)]


def test_normalize_drops_empty_unnamed_columns_silently():
    grid = pl.DataFrame({"a": ["Code", "1"], "b": [None, None], "c": ["Name", "x"], "d": ["", " "]})
    df, headers = normalize_grid(grid, source="s")
    assert headers == ("Code", "Name")
    assert df.columns == ["Code", "Name", ROW]


def test_normalize_refuses_unnamed_column_with_data_naming_its_letter():
    grid = pl.DataFrame({"a": ["Code", "1"], "b": [None, "data"], "c": ["Name", "x"]})
    with pytest.raises(SourceError) as err:
        normalize_grid(grid, source="s", columns=["C", "D", "E"])
    assert "column D has data (first in row 2) but no header in row 1" in str(err.value)


def test_normalize_refuses_duplicate_headers_case_insensitively():
    grid = pl.DataFrame({"a": ["Email"], "b": ["Name"], "c": [" EMAIL "]})
    with pytest.raises(SourceError) as err:
        normalize_grid(grid, source="s")
    assert "'Email' / 'EMAIL' (columns A, C)" in str(err.value)


def test_normalize_refuses_oversized_cell_naming_row_and_column():
    grid = pl.DataFrame({"a": ["Code", "1", "2"], "b": ["Name", "x", "y" * (MAX_CELL_CHARS + 1)]})
    with pytest.raises(SourceError) as err:
        normalize_grid(grid, source="s")
    assert "row 3, column B ('Name')" in str(err.value)


def test_normalize_header_only_gives_zero_rows():
    df, headers = normalize_grid(pl.DataFrame({"a": ["Code"], "b": ["Name"]}), source="s")
    assert headers == ("Code", "Name") and df.height == 0 and df.columns == ["Code", "Name", ROW]


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


# ------------------------------------------------------------------ CSV


def test_read_csv_keeps_everything_as_text():
    t = read_csv(b"code,amount,date\n007,1.50,2024-01-05\n", "d.csv", OPTS)
    assert t.df.schema["code"] == pl.String and t.df.schema["amount"] == pl.String
    assert t.df.row(0) == ("007", "1.50", "2024-01-05", 2)
    assert (t.format, t.encoding, t.delimiter) == ("csv", "utf-8", ",")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"a,b,c", ","),
        (b"a;b;c", ";"),
        (b"a\tb\tc", "\t"),
        (b"a|b|c", "|"),
        (b'"Last, First";Dept;Code', ";"),  # a comma inside quotes does not count
        (b"single", ","),
        (b"a;b,c;d", ";"),
    ],
)
def test_sniff_delimiter_counts_candidates_in_the_header_outside_quotes(header, expected):
    assert sniff_delimiter(header + b"\n1\n") == expected


def test_configured_delimiter_wins_over_sniffing():
    t = read_csv(b"a;b,c\n1;2,3\n", "d.csv", SheetOptions(delimiter=","))
    assert t.headers == ("a;b", "c")
    t = read_csv(b"a\tb\n1\t2\n", "d.csv", SheetOptions(delimiter="tab"))
    assert t.headers == ("a", "b")


def test_bad_delimiter_and_unknown_encoding_are_config_errors():
    with pytest.raises(ConfigError, match="delimiter"):
        read_csv(b"a\n", "d.csv", SheetOptions(delimiter=";;"))
    with pytest.raises(ConfigError, match="unknown encoding 'klingon'"):
        read_csv(b"a\n", "d.csv", SheetOptions(encoding="klingon"))
    with pytest.raises(ConfigError, match="header_row"):
        read_csv(b"a\n", "d.csv", SheetOptions(header_row=0))


def test_named_utf8_encoding_skips_a_bom():
    t = read_csv(b"\xef\xbb\xbfCode\n1\n", "d.csv", SheetOptions(encoding="utf-8"))
    assert t.headers == ("Code",)


def test_short_rows_are_padded_with_nulls():
    t = read_csv(b"a,b,c\n1,2\n3\n", "d.csv", OPTS)
    assert t.df.rows() == [("1", "2", None, 2), ("3", None, None, 3)]


def test_trailing_empty_cells_beyond_the_header_are_ignored():
    t = read_csv(b"a,b\n1,2,,\n3,4,\n", "d.csv", OPTS)
    assert t.headers == ("a", "b")
    assert t.df.rows() == [("1", "2", 2), ("3", "4", 3)]


def test_a_large_csv_reads_whole_with_row_numbers_and_text_codes():
    n = 200_000
    frame = pl.DataFrame({
        "login": [f"user{i}" for i in range(n)],
        "email": [f"user{i}@example.com" for i in range(n)],
        "firstName": ["Ann"] * n,
        "lastName": ["Lee"] * n,
        "departmentId": [f"{i % 100:03d}" for i in range(n)],
    })
    buf = io.BytesIO()
    frame.write_csv(buf, separator=";")
    data = buf.getvalue()

    table = read_bytes(data, "users.csv", OPTS)

    assert table.rows == n
    assert table.df.get_column(ROW)[-1] == n + 1
    assert table.df.get_column("departmentId")[7] == "007"


# ------------------------------------------------------------------ XLSX


def test_read_xlsx_reads_text_numbers_and_booleans_as_text():
    data = xlsx_bytes([["Code", "Count", "Ratio", "Flag"], ["007", 42, 3.5, True], ["8", 1e20, -0.25, False]])
    t = read_xlsx(data, "d.xlsx", OPTS)
    assert t.format == "xlsx" and t.sheet == "Sheet1" and t.sheet_names == ("Sheet1",)
    assert all(t.df.schema[h] == pl.String for h in t.headers)
    assert t.df.rows() == [("007", "42", "3.5", "true", 2), ("8", "100000000000000000000", "-0.25", "false", 3)]


def test_read_xlsx_picks_sheet_by_name_case_insensitively():
    wb = openpyxl.Workbook()
    wb.active.title = "Departments"
    wb.active.append(["Code"])
    ws = wb.create_sheet("Users")
    ws.append(["Login"])
    ws.append(["ann"])
    buf = io.BytesIO()
    wb.save(buf)
    t = read_xlsx(buf.getvalue(), "d.xlsx", SheetOptions(sheet=" users"))
    assert t.sheet == "Users" and t.df.rows() == [("ann", 2)]


def test_read_xlsx_names_absolute_column_letters_when_the_sheet_starts_off_a1():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C2"], ws["D2"], ws["F2"] = "Code", "Name", "Dup"
    ws["C3"], ws["E3"] = "1", "orphan"
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(SourceError) as err:
        read_xlsx(buf.getvalue(), "d.xlsx", SheetOptions(header_row=2))
    assert "column E has data (first in row 3) but no header in row 2" in str(err.value)


# ------------------------------------------------------------------ read_bytes / read_file


def test_read_bytes_fills_size_and_fingerprint():
    data = b"a,b\n1,2\n"
    t = read_bytes(data, "x.csv", OPTS)
    assert t.size_bytes == len(data)
    assert t.fingerprint == hashlib.sha256(data).hexdigest()
    assert t.source == "x.csv"


def test_read_bytes_dispatches_xlsx_by_content():
    t = read_bytes(xlsx_bytes([["Code"], ["1"]]), "download?id=3", OPTS, content_type="application/octet-stream")
    assert t.format == "xlsx" and t.df.rows() == [("1", 2)]


def test_read_file_reads_and_names_the_path(tmp_path):
    p = tmp_path / "users.csv"
    p.write_bytes(b"Login\nann\n")
    t = read_file(p, OPTS)
    assert t.source == str(p) and t.rows == 1 and t.size_bytes == 10


def test_read_file_refuses_files_over_max_bytes(tmp_path):
    p = tmp_path / "big.csv"
    p.write_bytes(b"a\n" + b"1\n" * 1000)
    with pytest.raises(SourceError) as err:
        read_file(p, OPTS, max_bytes=1000)
    assert err.value.where == str(p)
    assert "over the max_bytes limit" in str(err.value) and "raise max_bytes" in err.value.hint


def test_a_file_source_over_its_max_bytes_is_refused_and_the_message_names_the_setting(tmp_path):
    p = tmp_path / "users.csv"
    p.write_bytes(b"login\n" + b"someone\n" * 200)
    small = SourceConfig(kind="file", path=p, max_bytes=1000)
    with pytest.raises(SourceError) as err:
        fetch_source(small, tmp_path)
    assert "the file is 1.6 KB, over the max_bytes limit of 1,000 bytes" in str(err.value)
    assert fetch_source(dataclasses.replace(small, max_bytes=10_000), tmp_path).rows == 200
def test_a_small_csv_with_control_characters_in_a_cell_is_still_csv():
    """F2: text is text; only NUL bytes (outside UTF-16) make a file binary."""
    data = b"Login,Title\nu1,\x1b[2K\nu2,a\x07b\n"
    assert detect_format(data, "users.csv") == "csv"
    assert read_bytes(data, "users.csv", SheetOptions()).df["Title"].to_list() == ["\x1b[2K", "a\x07b"]


# ---------------------------------------------------------------- large files: parsed from the path

LARGE_ROWS = 560_000  # ~40 MB: over the size from which a CSV file is parsed from its path


def large_csv(sep: str = ",", eol: str = "\n", rows: int = LARGE_ROWS) -> bytes:
    i = pl.int_range(0, rows, eager=True).cast(pl.String)
    frame = pl.DataFrame({"Login": "user" + i, "Email": "user" + i + "@example.com", "Name": "Jürgen Müller " + i,
                          "Dept": "D" + i.str.slice(0, 3), "Note": pl.repeat(" padded ", rows, eager=True)})
    return frame.write_csv(separator=sep, line_terminator=eol).encode()


@pytest.mark.parametrize("prefix, sep, eol, encoding", [
    (b"", ",", "\n", "utf-8"), (codecs.BOM_UTF8, ";", "\r\n", "utf-8-sig"),
])
def test_a_large_csv_file_reads_as_its_bytes_do(tmp_path, prefix, sep, eol, encoding):
    data = prefix + large_csv(sep, eol)
    assert len(data) > 32 << 20
    p = tmp_path / "users.csv"
    p.write_bytes(data)
    head = data[:1 << 20]
    assert read_csv_path(p, head, path_delimiter(head, str(p), OPTS), str(p)) is not None  # polars parses it from the path
    table = read_file(p, OPTS)
    same = read_bytes(data, str(p), OPTS)
    assert table.df.equals(same.df) and table.df.height == LARGE_ROWS
    assert table.df["Note"][0] == "padded"  # trimmed like any cell
    assert (table.fingerprint, table.size_bytes, table.headers, table.encoding, table.delimiter) == \
        (hashlib.sha256(data).hexdigest(), len(data), same.headers, encoding, sep)


@pytest.mark.parametrize("damage, message", [
    (lambda data: data.replace(b"user399999@", b"user399\x00999@"), "contains a NUL character (line 400001)"),
    (lambda data: data.replace(b"user399999,", b"user399999,extra,"), "row 400001 has 6 cells"),
])
def test_a_large_csv_file_that_needs_care_gets_the_same_message(tmp_path, damage, message):
    p = tmp_path / "users.csv"
    p.write_bytes(damage(large_csv()))
    with pytest.raises(SourceError) as err:
        read_file(p, OPTS)
    assert message in str(err.value) and err.value.where == str(p)


def test_a_csv_file_of_a_few_megabytes_reads_as_its_bytes_do(tmp_path):
    """From 4 MB a CSV file is parsed from its path (as large ones are): the same table, fingerprint and notes."""
    data = large_csv(rows=80_000)
    assert 4 << 20 < len(data) < 32 << 20
    p = tmp_path / "users.csv"
    p.write_bytes(data)
    table, same = read_file(p, OPTS), read_bytes(data, str(p), OPTS)
    assert table.df.equals(same.df) and table.df.height == 80_000
    assert (table.fingerprint, table.size_bytes, table.headers, table.encoding, table.notes) == \
        (hashlib.sha256(data).hexdigest(), len(data), same.headers, "utf-8", ())


def test_a_large_csv_file_named_as_a_workbook_is_read_as_csv_and_says_so(tmp_path):
    """F2: the bytes decide, and the note tells, whatever the file's size."""
    data = large_csv(rows=80_000)
    p = tmp_path / "users.xlsx"
    p.write_bytes(data)
    table = read_file(p, OPTS)
    assert table.df.equals(read_bytes(data, str(p), OPTS).df) and table.format == "csv"
    assert any("named .xlsx, but it holds CSV text" in n for n in table.notes)


def test_a_large_cp1251_file_is_read_as_cp1251(tmp_path):
    p = tmp_path / "users.csv"
    p.write_bytes(large_csv().decode().replace("Jürgen Müller", "Иван Петров").encode("cp1251"))
    assert p.stat().st_size > 32 << 20
    table = read_file(p, OPTS)
    assert table.encoding == "cp1251" and table.df["Name"][5] == "Иван Петров 5"
