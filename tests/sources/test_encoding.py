"""F1: bytes to text. A BOM decides, then UTF-8, then the likeliest European or Cyrillic code page;
a guess is a warning that shows what it reads; `encoding = …` overrides.

The sheets are made by Python in each code page. LibreOffice's "Text CSV" export in those code
pages (soffice --convert-to csv:"Text - txt - csv (StarCalc)":59,34,N) was checked by hand to
give the same bytes, with LF line ends (covered here too); Excel writes CRLF."""
from __future__ import annotations

import json

import pytest

from codepage_samples import OTHER_CODE_PAGES, SHEETS, sheet_text, short_text
from workspace import run
from tui_sync.engine.mapping import code_page_meant, mapped_frame, review_mapping
from tui_sync.errors import MappingError
from tui_sync.sources.csv_reader import read_csv
from tui_sync.sources.table import SheetOptions


def cells(text: str) -> list[tuple[str, ...]]:
    return [tuple(line.split(";")) for line in text.strip().splitlines()]


def table_cells(t) -> list[tuple[str, ...]]:
    return [t.headers] + [tuple(r[:-1]) for r in t.df.rows()]


CASES = [(lang, SHEETS[lang][0]) for lang in SHEETS] + [(lang, cp) for cp, lang in OTHER_CODE_PAGES.items()]


@pytest.mark.parametrize("line_end", ["\r\n", "\n"], ids=["excel", "libreoffice"])
@pytest.mark.parametrize("language, code_page", CASES)
def test_a_sheet_saved_in_its_code_page_reads_as_typed(language, code_page, line_end):
    text = sheet_text(language).replace("\r\n", line_end)
    t = read_csv(text.encode(code_page), f"{language}.csv", SheetOptions())
    assert table_cells(t) == cells(text)
    assert t.encoding_guessed  # the code page was guessed, and the guess is shown
    assert t.encoding_label.endswith("(guessed)")
    assert text.encode(code_page).decode(t.encoding) == text


# Short files: one row, one non-ASCII name. Some single letters cannot tell code pages apart: a lone
# Hungarian ű reads as French û, ő beside ö as Estonian õ, and Mac Roman's lone ü as Polish ź; those
# are left to the `encoding_guessed` warning, and the Hungarian row names a Zoltán.
@pytest.mark.parametrize("language, code_page", [(lang, SHEETS[lang][0]) for lang in SHEETS])
def test_a_one_row_file_with_one_letter_reads_as_typed(language, code_page):
    text = short_text(language)
    if language == "Hungarian":
        text = text.replace("Szűcs", "Kőrösi Zoltán")
    t = read_csv(text.encode(code_page), "short.csv", SheetOptions())
    assert table_cells(t) == cells(text)


def test_german_excel_csv_is_not_read_as_cyrillic():
    data = "Name;Abteilung\r\nJürgen Müller;Geschäftsführung\r\n".encode("cp1252")
    t = read_csv(data, "mitarbeiter.csv", SheetOptions())
    assert t.encoding == "cp1252" and t.df.row(0)[:2] == ("Jürgen Müller", "Geschäftsführung")
    assert t.encoding_guessed == "Jürgen, Müller, Geschäftsführung"
    assert any('cp1252 (guessed): "Jürgen, Müller, Geschäftsführung"' in n for n in t.notes)


def test_a_configured_encoding_overrides_the_guess():
    data = "Name\r\nMüller\r\n".encode("cp1252")
    t = read_csv(data, "u.csv", SheetOptions(encoding="cp1251"))
    assert (t.encoding, t.encoding_guessed, t.df.row(0)[0]) == ("cp1251", None, "Mьller")


@pytest.mark.parametrize("data, encoding", [
    ("Name\nMüller\n".encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + "Name\nMüller\n".encode("utf-8"), "utf-8-sig"),
    (b"\xff\xfe" + "Name\nMüller\n".encode("utf-16-le"), "utf-16-le"),
])
def test_a_bom_or_utf8_is_never_a_guess(data, encoding):
    t = read_csv(data, "u.csv", SheetOptions())
    assert (t.encoding, t.encoding_guessed, t.df.row(0)[0]) == (encoding, None, "Müller")


def test_detection_looks_past_a_long_ascii_start():
    rows = "".join(f"user{i};Smith\r\n" for i in range(200_000))
    data = ("Login;Name\r\n" + rows + "late;Dvořák\r\n").encode("cp1250")
    t = read_csv(data, "u.csv", SheetOptions())
    assert t.encoding == "cp1250" and t.df.row(-1)[:2] == ("late", "Dvořák")


def test_mapping_errors_name_the_code_page_not_misread_headers():
    data = "Kürzel;Bezeichnung;Übergeordnet\r\nGF;Geschäftsführung;\r\n".encode("cp1252")
    t = read_csv(data, "abteilungen.csv", SheetOptions(encoding="cp1251"))
    mapping = {"code": "Kürzel", "name": "Bezeichnung", "parentCode": "Übergeordnet"}
    with pytest.raises(MappingError) as err:
        mapped_frame(t, mapping, "department")
    text = str(err.value)
    assert 'set encoding = "cp1252"' in text and "Ьbergeordnet" not in text and "Kьrzel" not in text
    report = review_mapping("department", mapping, t.headers, encoding=t.encoding)
    shown = " ".join(line for _, line in report.findings())
    assert 'set encoding = "cp1252"' in shown and "Ь" not in shown and "ь" not in shown
    assert not report.ok


def test_code_page_meant_needs_every_missing_column():
    headers = tuple("Kürzel;Name".encode("cp1252").decode("cp1251").split(";"))
    assert code_page_meant(["Kürzel"], headers, "cp1251") == "cp1252"
    assert code_page_meant(["Kürzel", "Straße"], headers, "cp1251") is None
    assert code_page_meant(["Kürzel"], headers, "utf-8") is None


def test_plan_and_check_show_the_guessed_encoding(tmp_path, capsys):
    (tmp_path / "tui-sync.toml").write_text(
        '[lms]\nkind = "local"\npath = "lms.sqlite"\n'
        '[departments.source]\nkind = "file"\npath = "d.csv"\n'
        '[departments.mapping]\ncode = "Kürzel"\nname = "Bezeichnung"\n'
        '[users.source]\nkind = "file"\npath = "u.csv"\n'
        '[users.mapping]\nlogin = "Login"\nemail = "E-Mail"\nfirstName = "Vorname"\nlastName = "Nachname"\n'
        'departmentId = "Abteilung"\n', encoding="utf-8")
    (tmp_path / "d.csv").write_bytes("Kürzel;Bezeichnung\r\nGF;Geschäftsführung\r\n".encode("cp1252"))
    (tmp_path / "u.csv").write_text("Login,E-Mail,Vorname,Nachname,Abteilung\njm,jm@example.com,Jürgen,Müller,GF\n",
                                    encoding="utf-8")
    cfg = tmp_path / "tui-sync.toml"

    code, out, _err = run(capsys, cfg, "check")
    assert code == 0 and "csv, cp1252 (guessed)" in out and "csv, utf-8" in out

    code, out, _err = run(capsys, cfg, "plan")
    assert "(1 rows, cp1252 (guessed))" in out
    assert 'encoding_guessed' in out and '"Kürzel, Geschäftsführung"' in out

    code, out, _err = run(capsys, cfg, "plan", "--json")
    plan = json.loads(out)
    guessed = [p for p in plan["problems"] if p["code"] == "encoding_guessed"]
    assert [(p["severity"], p["entity"]) for p in guessed] == [("warning", "department")]
    assert "cp1252 (guessed)" in guessed[0]["message"] and "Geschäftsführung" in guessed[0]["message"]
    assert plan["sources"]["departments"]["encoding"] == "cp1252 (guessed)"
    created = {c["key"]: c for c in plan["changes"]}
    assert created["GF"]["fields"]["name"][1] == "Geschäftsführung"

    toml = (tmp_path / "tui-sync.toml").read_text(encoding="utf-8")
    (tmp_path / "tui-sync.toml").write_text(
        toml.replace('path = "d.csv"', 'path = "d.csv"\nencoding = "cp1252"'), encoding="utf-8")
    code, out, _err = run(capsys, cfg, "plan", "--json")
    plan = json.loads(out)
    assert not [p for p in plan["problems"] if p["code"] == "encoding_guessed"]
    assert plan["sources"]["departments"]["encoding"] == "cp1252"


@pytest.mark.parametrize("names", [("İnsan Kaynakları", "Muhasebe Şubesi"), ("İzmir Şubesi", "Satış")])
def test_a_two_row_turkish_file_with_a_dotted_capital_i_reads_as_turkish(names):
    # İ lowers to two characters (i + a combining dot); counted as a stray, it tipped "İnsan
    # Kaynakları" over to cp1250's "Ýnsan Kaynaklarý"
    text = "Kod;Departman\r\n" + "".join(f"D{i};{name}\r\n" for i, name in enumerate(names))
    t = read_csv(text.encode("cp1254"), "departmanlar.csv", SheetOptions())
    assert t.encoding == "cp1254"
    assert [r[1] for r in t.df.rows()] == list(names)


@pytest.mark.parametrize("name, code_page", [
    ("Γιώργος Παπαδόπουλος", "cp1253"),  # as cp1251 every letter is Russian, but words without vowels
    ("Λογιστήριο Αθηνών", "cp1253"),
    ("Księgowość", "cp1250"),  # as cp1252: Ksiêgowoœæ, French but for its rare æ
    ("Lætitia Hébert", "cp1252"),  # (æ is still Western: Danish, Norwegian)
    ("Отдел кадров ЦФТР", "cp1251"),  # an upper-case abbreviation without vowels is no sign
])
def test_a_one_row_name_reads_as_typed_where_another_code_page_has_the_same_letters(name, code_page):
    t = read_csv(f"Login;Name\r\nu0;{name}\r\n".encode(code_page), "short.csv", SheetOptions())
    assert t.encoding == code_page and t.df.row(0)[1] == name
