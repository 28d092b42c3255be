"""The bad-input corpus: broken and awkward sheets, generated here (never committed as binaries).

Every file must give either the right `Table` or a `SourceError` whose text says
where (the path) and what to do (a hint) — never another exception type, never
a traceback.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tui_sync.errors import SourceError, SyncError
from tui_sync.sources.local import read_file
from tui_sync.sources.table import ROW, SheetOptions, Table


# ------------------------------------------------------------------ helpers


def read(path: Path, **opts) -> Table:
    try:
        return read_file(path, SheetOptions(**opts))
    except SyncError as exc:  # pragma: no cover - a failure message, not a code path
        pytest.fail(f"expected a table from {path.name}, got {type(exc).__name__}: {exc}")


def refused(path: Path, *fragments: str, **opts) -> SourceError:
    """Read `path`, expecting a SourceError that names the path, says each fragment, and gives a hint."""
    try:
        read_file(path, SheetOptions(**opts))
    except SourceError as exc:
        text = str(exc)
        assert exc.where == str(path), text
        assert text.startswith(f"{path}: "), text
        assert exc.hint, f"no hint in: {text}"
        assert "\n  → " in text
        assert "Traceback" not in text
        for fragment in fragments:
            assert fragment in text, f"{fragment!r} not in {text!r}"
        return exc
    except Exception as exc:  # noqa: BLE001 - the point: nothing else may escape
        pytest.fail(f"{path.name}: {type(exc).__name__} escaped instead of SourceError: {exc}")
    pytest.fail(f"{path.name}: read without error")


def rows(table: Table, *columns: str) -> list[tuple]:
    return table.df.select([*(columns or table.headers), ROW]).rows()


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def save(wb: openpyxl.Workbook, path: Path) -> Path:
    wb.save(path)
    return path


def workbook(*rows_) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Users"
    for r in rows_:
        ws.append(list(r))
    return wb


def patch_zip(path: Path, member: str, old: bytes, new: bytes) -> None:
    """Rewrite one member of an XLSX, replacing bytes (to add what openpyxl cannot write)."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == member:
                assert old in body, body[:2000]
                body = body.replace(old, new)
            dst.writestr(info, body)
    path.write_bytes(out.getvalue())


HEADER = "Login;Name;Department code\n"


# ------------------------------------------------------------------ encodings


def test_cp1251_cyrillic_is_detected_automatically(tmp_path):
    p = write(tmp_path / "users.csv", HEADER + "ivanov;Иванов Иван;ОТДЕЛ-1\n", "cp1251")
    t = read(p)
    assert t.encoding == "cp1251"
    assert rows(t) == [("ivanov", "Иванов Иван", "ОТДЕЛ-1", 2)]
    assert any('cp1251 (guessed): "Иванов, Иван, ОТДЕЛ-1"' in n for n in t.notes)


def test_koi8r_file_reads_with_named_encoding(tmp_path):
    p = write(tmp_path / "users.csv", "Логин;Фамилия\npetrov;Петров\n", "koi8_r")
    t = read(p, encoding="koi8_r")
    assert t.headers == ("Логин", "Фамилия")
    assert rows(t) == [("petrov", "Петров", 2)]


def test_invalid_bytes_for_named_encoding_name_offset_line_and_suggest_encoding(tmp_path):
    p = write(tmp_path / "users.csv", HEADER + "ivanov;Иванов;D1\n", "cp1251")
    err = refused(p, "cannot read the text as utf-8", "line 2", "offset", 'encoding = "cp1251"', encoding="utf-8")
    assert "byte 0x" in str(err)


def test_a_stray_byte_is_read_with_a_guess_that_shows_it(tmp_path):
    # 0x98 is not valid UTF-8 here, nor a letter in any code page: some code page reads it (every
    # byte is a character in ISO-8859-1), and the guess shows what it made of it.
    p = write(tmp_path / "users.csv", HEADER.encode() + b"a;b\x98c;D1\n")
    t = read(p)
    assert t.encoding_guessed and t.encoding_guessed in rows(t)[0][1]


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path):
    p = write(tmp_path / "users.csv", b"\xef\xbb\xbf" + (HEADER + "ann;Ann Lee;HQ\n").encode())
    t = read(p)
    assert t.headers == ("Login", "Name", "Department code")
    assert t.encoding == "utf-8-sig"


def test_utf16_le_excel_unicode_text_with_tabs(tmp_path):
    text = "Login\tName\tDepartment code\r\nann\tÅsa Öberg\tHQ\r\nivan\tИван\tD1\r\n"
    p = write(tmp_path / "users.txt", b"\xff\xfe" + text.encode("utf-16-le"))
    t = read(p)
    assert (t.encoding, t.delimiter) == ("utf-16-le", "\t")
    assert rows(t) == [("ann", "Åsa Öberg", "HQ", 2), ("ivan", "Иван", "D1", 3)]


def test_utf16_without_bom_is_recognised(tmp_path):
    p = write(tmp_path / "users.txt", "Login\tName\nann\tAnn\n".encode("utf-16-le"))
    t = read(p)
    assert t.encoding == "utf-16-le" and rows(t) == [("ann", "Ann", 2)]


# ------------------------------------------------------------------ delimiters and structure


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_delimiter_is_detected(tmp_path, delimiter):
    body = delimiter.join(["Login", "Name", "Department code"]) + "\n" + delimiter.join(["ann", "Ann", "007"]) + "\n"
    t = read(write(tmp_path / "users.csv", body))
    assert t.delimiter == delimiter
    assert rows(t) == [("ann", "Ann", "007", 2)]


def test_blank_lines_in_the_middle_keep_row_numbers_right(tmp_path):
    p = write(tmp_path / "users.csv", HEADER + "ann;Ann;HQ\n\n;;\n   \nbob;Bob;HQ\n\n")
    t = read(p)
    assert rows(t, "Login") == [("ann", 2), ("bob", 6)]


def test_crlf_and_classic_mac_line_endings(tmp_path):
    t1 = read(write(tmp_path / "a.csv", "Login;Name\r\nann;Ann\r\n\r\nbob;Bob\r\n"))
    t2 = read(write(tmp_path / "b.csv", "Login;Name\rann;Ann\r\rbob;Bob\r"))
    assert rows(t1) == rows(t2) == [("ann", "Ann", 2), ("bob", "Bob", 4)]


def test_header_not_on_the_first_row_csv(tmp_path):
    p = write(tmp_path / "users.csv", "HR export;;\nGenerated 2024-05-01\n" + HEADER + "ann;Ann;HQ\n")
    t = read(p, header_row=3)
    assert t.headers == ("Login", "Name", "Department code")
    assert rows(t, "Login") == [("ann", 4)]


def test_header_row_beyond_the_end_of_the_file(tmp_path):
    refused(write(tmp_path / "users.csv", HEADER + "ann;Ann;HQ\n"), "header_row = 5", "only", header_row=5)


def test_blank_header_row_points_to_the_first_row_with_values(tmp_path):
    refused(write(tmp_path / "users.csv", "\n;;\n" + HEADER + "ann;Ann;HQ\n"),
            "row 1, the header row, is blank", "header_row = 3")


def test_quoted_fields_with_embedded_newlines_and_delimiters(tmp_path):
    p = write(tmp_path / "users.csv",
              'Login,Name,Note\nann,"Lee, Ann","line one\nline two"\nbob,"Say ""hi""",x\n')
    t = read(p)
    assert rows(t) == [("ann", "Lee, Ann", "line one\nline two", 2), ("bob", 'Say "hi"', "x", 3)]


def test_stray_quote_inside_an_unquoted_value_is_kept(tmp_path):
    t = read(write(tmp_path / "users.csv", 'Login,Screen\nann,15" laptop\nbob,none\n'))
    assert rows(t) == [("ann", '15" laptop', 2), ("bob", "none", 3)]


def test_unterminated_quote_names_the_row(tmp_path):
    p = write(tmp_path / "users.csv", 'Login,Name\nann,Ann\nbob,"Bob\ncid,Cid\n')
    refused(p, "row 3", "quote")


def test_short_rows_are_padded_and_long_rows_with_values_are_refused(tmp_path):
    short = read(write(tmp_path / "short.csv", HEADER + "ann;Ann\nbob\n"))
    assert rows(short) == [("ann", "Ann", None, 2), ("bob", None, None, 3)]
    long = write(tmp_path / "long.csv", HEADER + "ann;Ann;HQ\n" * 5 + "bob;Bob;HQ;extra;more\n")
    refused(long, "row 7 has 5 cells but the header has 3 columns", "delimiter")


def test_long_rows_whose_extra_cells_are_empty_are_fine(tmp_path):
    t = read(write(tmp_path / "users.csv", HEADER + "ann;Ann;HQ;;\nbob;Bob;HQ; ;\n"))
    assert rows(t, "Login") == [("ann", 2), ("bob", 3)]


def test_leading_zeros_stay_in_csv(tmp_path):
    t = read(write(tmp_path / "deps.csv", "Code,Parent code\n007,0001\n"))
    assert rows(t) == [("007", "0001", 2)]


def test_trailing_whitespace_and_nbsp_in_cells_and_headers(tmp_path):
    p = write(tmp_path / "users.csv", "Login\u00a0 ; Name \n ann\u00a0;\u00a0\u00a0\n")
    t = read(p)
    assert t.headers == ("Login", "Name")
    assert rows(t) == [("ann", None, 2)]


def test_duplicate_headers_in_csv(tmp_path):
    refused(write(tmp_path / "users.csv", "Login;E-mail;Name;e-mail \nann;a@x;Ann;b@x\n"),
            "duplicate column header", "'E-mail' / 'e-mail' (columns B, D)", "unique")


def test_empty_header_with_data_in_csv(tmp_path):
    refused(write(tmp_path / "users.csv", "Login;;Name\nann;oops;Ann\n"),
            "column B has data (first in row 2) but no header in row 1")


def test_empty_header_without_data_is_dropped(tmp_path):
    t = read(write(tmp_path / "users.csv", "Login;;Name;\nann;;Ann;\n"))
    assert t.headers == ("Login", "Name")


def test_a_ten_megabyte_cell_is_refused_with_row_and_column(tmp_path):
    p = write(tmp_path / "users.csv", "Login,Name\nann,Ann\nbob," + "x" * 10_000_000 + "\n")
    refused(p, "row 3, column B ('Name')", "10,000,000 characters")


def test_empty_file(tmp_path):
    refused(write(tmp_path / "users.csv", b""), "the file is empty")


def test_whitespace_only_file_is_empty(tmp_path):
    refused(write(tmp_path / "users.csv", b"\xef\xbb\xbf \r\n\r\n\t\n"), "the file is empty")


def test_header_only_csv_gives_zero_rows(tmp_path):
    t = read(write(tmp_path / "users.csv", HEADER))
    assert t.headers == ("Login", "Name", "Department code") and t.rows == 0


def test_random_binary_blob_named_csv(tmp_path):
    blob = bytes((i * 7919 + 13) % 256 for i in range(20_000))
    refused(write(tmp_path / "users.csv", blob), "binary file")


def test_random_binary_blob_with_unknown_name(tmp_path):
    blob = bytes((i * 104729 + 7) % 256 for i in range(20_000))
    refused(write(tmp_path / "users.dat", blob), "binary")


# ------------------------------------------------------------------ XLSX content


def test_leading_zeros_stay_in_xlsx_text_cells(tmp_path):
    t = read(save(workbook(["Code", "Name"], ["007", "Bond"]), tmp_path / "deps.xlsx"))
    assert rows(t) == [("007", "Bond", 2)]


def test_numbers_in_xlsx_read_as_plain_text(tmp_path):
    t = read(save(workbook(["Code", "Rate", "Big", "Neg"], [42, 3.5, 12345678901234, -7]), tmp_path / "n.xlsx"))
    assert rows(t) == [("42", "3.5", "12345678901234", "-7", 2)]


def test_dates_in_xlsx_read_as_iso_text(tmp_path):
    wb = workbook(["Login", "Hired", "Updated", "Start"],
                  ["ann", dt.date(2024, 1, 5), dt.datetime(2024, 1, 5, 13, 45, 10), dt.time(9, 30)])
    t = read(save(wb, tmp_path / "dates.xlsx"))
    assert rows(t) == [("ann", "2024-01-05", "2024-01-05 13:45:10", "09:30:00", 2)]


def test_formulas_without_saved_result_read_empty_with_a_note(tmp_path):
    wb = workbook(["Login", "Name", "Code"], ["ann", "Ann", "=CONCAT(\"D\",1)"], ["bob", "Bob", "D2"])
    t = read(save(wb, tmp_path / "f.xlsx"))
    assert rows(t) == [("ann", "Ann", None, 2), ("bob", "Bob", "D2", 3)]
    assert any("1 formula cell has no saved result" in n and "save it again" in n for n in t.notes)


def test_formulas_with_saved_result_read_the_result(tmp_path):
    p = save(workbook(["Login", "Code"], ["ann", "=1+1"]), tmp_path / "f.xlsx")
    patch_zip(p, "xl/worksheets/sheet1.xml", b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>")
    t = read(p)
    assert rows(t) == [("ann", "2", 2)]
    assert not any("formula" in n for n in t.notes)


def test_excel_error_cells_read_empty_with_a_note(tmp_path):
    p = save(workbook(["Login", "Code"], ["ann", "=NA()"]), tmp_path / "e.xlsx")
    patch_zip(p, "xl/worksheets/sheet1.xml", b'<c r="B2"><f>NA()</f><v />',
              b'<c r="B2" t="e"><f>NA()</f><v>#N/A</v>')
    t = read(p)
    assert rows(t) == [("ann", None, 2)]
    assert any("Excel error" in n for n in t.notes)


def test_merged_cells_hold_the_value_in_the_first_cell_only(tmp_path):
    wb = workbook(["Login", "Department code"], ["ann", "HQ"], ["bob", None], ["cid", "D2"])
    ws = wb.active
    ws.merge_cells("B2:B3")
    t = read(save(wb, tmp_path / "m.xlsx"))
    assert rows(t) == [("ann", "HQ", 2), ("bob", None, 3), ("cid", "D2", 4)]
    assert any("merged cells B2:B3" in n for n in t.notes)


def test_merged_title_above_the_header_is_not_noted(tmp_path):
    wb = workbook(["Staff list", None], [None, None], ["Login", "Name"], ["ann", "Ann"])
    wb.active.merge_cells("A1:B1")
    t = read(save(wb, tmp_path / "m.xlsx"), header_row=3)
    assert rows(t) == [("ann", "Ann", 4)]
    assert not any("merged" in n for n in t.notes)


def test_header_not_on_the_first_row_xlsx(tmp_path):
    wb = workbook(["Staff list"], [], ["Login", "Name"], ["ann", "Ann"], [], ["bob", "Bob"])
    t = read(save(wb, tmp_path / "u.xlsx"), header_row=3)
    assert rows(t) == [("ann", "Ann", 4), ("bob", "Bob", 6)]


def test_blank_rows_at_the_top_of_an_xlsx_keep_row_numbers_absolute(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B3"], ws["C3"], ws["B5"], ws["C5"] = "Login", "Name", "ann", "Ann"
    t = read(save(wb, tmp_path / "u.xlsx"), header_row=3)
    assert rows(t) == [("ann", "Ann", 5)]
    refused(tmp_path / "u.xlsx", "row 1, the header row, is blank", "header_row = 3")


def test_duplicate_headers_in_xlsx(tmp_path):
    refused(save(workbook(["Login", "Email", "EMAIL "], ["ann", "a@x", "b@x"]), tmp_path / "d.xlsx"),
            "duplicate column header", "'Email' / 'EMAIL' (columns B, C)")


def test_empty_header_with_data_in_xlsx(tmp_path):
    refused(save(workbook(["Login", None, "Name"], ["ann", "stray", "Ann"]), tmp_path / "d.xlsx"),
            "column B has data (first in row 2) but no header in row 1")


def test_trailing_whitespace_and_nbsp_in_xlsx(tmp_path):
    t = read(save(workbook([" Login\u00a0", "Name "], ["ann ", "\u00a0"]), tmp_path / "w.xlsx"))
    assert t.headers == ("Login", "Name") and rows(t) == [("ann", None, 2)]


def test_a_ten_megabyte_cell_in_xlsx_is_refused(tmp_path):
    # openpyxl cuts cells at Excel's limit when writing, so put the 10 MB value into the XML itself.
    p = save(workbook(["Login", "Name"], ["ann", "BIGCELL"]), tmp_path / "big.xlsx")
    patch_zip(p, "xl/worksheets/sheet1.xml", b"BIGCELL", b"x" * 10_000_000)
    refused(p, "row 2, column B ('Name')", "10,000,000 characters", "cell limit")


def test_header_only_xlsx_gives_zero_rows(tmp_path):
    t = read(save(workbook(["Login", "Name"]), tmp_path / "h.xlsx"))
    assert t.headers == ("Login", "Name") and t.rows == 0


def test_empty_xlsx_sheet(tmp_path):
    refused(save(openpyxl.Workbook(), tmp_path / "e.xlsx"), "sheet 'Sheet' is empty")


def test_hidden_first_sheet_is_skipped_by_default(tmp_path):
    wb = workbook(["Secret"], ["x"])
    wb.active.sheet_state = "hidden"
    ws = wb.create_sheet("Staff")
    ws.append(["Login"])
    ws.append(["ann"])
    t = read(save(wb, tmp_path / "h.xlsx"))
    assert t.sheet == "Staff" and rows(t) == [("ann", 2)]
    assert t.sheet_names == ("Users", "Staff")
    assert any("hidden" in n for n in t.notes)


def test_unknown_sheet_name_lists_the_sheets(tmp_path):
    wb = workbook(["Login"], ["ann"])
    wb.create_sheet("Departments").append(["Code"])
    refused(save(wb, tmp_path / "s.xlsx"), "no sheet named 'Staff'", "'Users', 'Departments'", sheet="Staff")


# ------------------------------------------------------------------ not what it claims to be


def test_html_page_saved_as_xlsx(tmp_path):
    p = write(tmp_path / "users.xlsx", "\ufeff\n  <!DOCTYPE html><html><body>Please sign in</body></html>")
    refused(p, "web page, not the file", "login or share page")


def test_damaged_legacy_xls(tmp_path):
    p = write(tmp_path / "users.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    refused(p, "not a readable Excel 97-2003 workbook (.xls)", "save it again as .xlsx")


def test_password_protected_xlsx(tmp_path):
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000) + "EncryptedPackage".encode("utf-16-le") + bytes(100)
    refused(write(tmp_path / "users.xlsx", body), "password", "clear the password")


def test_zip_bomb_named_xlsx(tmp_path):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as fh:
            block = b"\0" * (1 << 20)
            for _ in range(64):  # 64 MiB of zeros → ~64 KiB compressed
                fh.write(block)
    assert p.stat().st_size < 1 << 20
    refused(p, "refusing", "looks like a zip bomb", "sheet1.xml")


def test_zip_bomb_that_lies_about_its_size(tmp_path):
    """The headers claim 1,000 bytes; the data inflates to 64 MiB. Inflating stops at the claimed
    size and the checksum fails, before any parser sees the entry."""
    import struct

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as fh:
            for _ in range(64):
                fh.write(b"<c><v>1</v></c>" * 65536)
    data = bytearray(buf.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)  # local header: uncompressed size
    cd = data.find(b"xl/worksheets/sheet1.xml", data.find(b"PK\x01\x02")) - 46
    assert data[cd:cd + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, cd + 24, 1000)  # central directory: uncompressed size
    p = write(tmp_path / "liar.xlsx", bytes(data))
    refused(p, "not a readable XLSX workbook", "sheet1.xml", "damaged")


def test_zip_with_too_many_entries(tmp_path):
    p = tmp_path / "many.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as zf:
        for i in range(10_001):
            zf.writestr(f"x/{i}", b"")
    refused(p, "10,001 entries", "zip bomb")


def test_truncated_xlsx(tmp_path):
    good = save(workbook(["Login"], ["ann"]), tmp_path / "good.xlsx").read_bytes()
    p = write(tmp_path / "cut.xlsx", good[: len(good) // 2])
    refused(p, "not a readable XLSX workbook", "save it again")


def test_damaged_entry_inside_an_xlsx(tmp_path):
    good = bytearray(save(workbook(["Login"] * 1, *[[f"user{i}"] for i in range(500)]), tmp_path / "g.xlsx")
                     .read_bytes())
    zf = zipfile.ZipFile(io.BytesIO(bytes(good)))
    info = zf.getinfo("xl/worksheets/sheet1.xml")
    # Flip bytes in the middle of the compressed sheet data (the local header is 30 bytes + name).
    start = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    for i in range(start, start + 16):
        good[i] ^= 0xFF
    refused(write(tmp_path / "bad.xlsx", bytes(good)), "not a readable XLSX workbook")


def test_word_document_named_xlsx(tmp_path):
    p = tmp_path / "users.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    refused(p, "not a readable XLSX workbook", "Word document")


def test_random_binary_blob_named_xlsx(tmp_path):
    blob = bytes((i * 31337 + 1) % 256 for i in range(10_000))
    refused(write(tmp_path / "users.xlsx", blob), "not a readable XLSX workbook")


def test_csv_text_named_xlsx_is_read_as_csv(tmp_path):
    """F2: the bytes decide; the name only breaks ties."""
    t = read(write(tmp_path / "users.xlsx", HEADER + "ann;Ann;HQ\n"))
    assert (t.format, rows(t)) == ("csv", [("ann", "Ann", "HQ", 2)])
    assert any("named .xlsx" in n and "CSV" in n for n in t.notes)


def test_damaged_ods_named_xlsx_is_named_as_ods(tmp_path):
    p = tmp_path / "users.xlsx"
    with zipfile.ZipFile(p, "w") as zf:  # as LibreOffice writes it: mimetype first, stored
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
        zf.writestr("META-INF/manifest.xml", "<manifest/>")
    refused(p, "not a readable OpenDocument spreadsheet (.ods)", "save it again as .xlsx")


def test_odf_zip_without_a_leading_mimetype_is_still_ods(tmp_path):
    p = tmp_path / "users.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("content.xml", "<office:document-content/>")
        zf.writestr("META-INF/manifest.xml", "<manifest/>")
    refused(p, "not a readable OpenDocument spreadsheet (.ods)")


def test_nul_byte_deep_inside_a_csv(tmp_path):
    p = write(tmp_path / "users.csv", (HEADER + "ann;Ann;HQ\n" * 2000).encode() + b"bob;B\x00b;HQ\n")
    refused(p, "NUL character", "line 2002")


# ------------------------------------------------------------------ the path itself


def test_missing_path(tmp_path):
    refused(tmp_path / "nope.csv", "file not found", )


def test_missing_folder(tmp_path):
    refused(tmp_path / "no" / "such" / "users.csv", "file not found")


def test_directory_path(tmp_path):
    d = tmp_path / "users.csv"
    d.mkdir()
    refused(d, "folder, not a file")


def test_too_big_file(tmp_path):
    p = write(tmp_path / "users.csv", HEADER + "ann;Ann;HQ\n" * 1000)
    try:
        read_file(p, SheetOptions(), max_bytes=1024)
    except SourceError as exc:
        assert exc.where == str(p) and "limit" in str(exc) and exc.hint
    else:
        pytest.fail("a file over max_bytes was read")
