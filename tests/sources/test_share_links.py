"""Share links as people paste them become download addresses; URLs in messages are redacted."""
from __future__ import annotations

import pytest

from tui_sync.errors import ConfigError
from tui_sync.sources.links import download_link, google_sheet_link, origin, redact_text, redact_url

SHEET_ID = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"


@pytest.mark.parametrize("pasted", [
    f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit?usp=sharing",
    f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export?format=xlsx",
    f"https://docs.google.com/spreadsheets/u/1/d/{SHEET_ID}/htmlview",
    f"https://docs.google.com/spreadsheets/d/{SHEET_ID}",
])
def test_google_sheets_links_without_a_tab_become_the_xlsx_export(pasted):
    link = download_link(pasted)
    assert link.url == f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export?format=xlsx" or \
        link.url == f"https://docs.google.com/spreadsheets/u/1/d/{SHEET_ID}/export?format=xlsx"
    assert not link.one_tab


@pytest.mark.parametrize("pasted", [
    f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=1234",
    f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit?gid=1234#gid=1234",
    f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export?format=csv&gid=1234",
    f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export?format=xlsx&gid=1234",
])
def test_google_sheets_links_that_name_a_tab_read_that_tab(pasted):
    """F2: a share link reads the tab it names, as Google's one-tab CSV export (its XLSX export is
    the whole workbook, whose sheets carry no tab ids)."""
    link = download_link(pasted)
    assert link.url == f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export?format=csv&gid=1234"
    assert (link.gid, link.one_tab) == (1234, True)


def test_a_configured_sheet_wins_over_the_links_tab():
    link = download_link(f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=1234", sheet="Users")
    assert link.url == f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export?format=xlsx"
    assert (link.gid, link.one_tab) == (1234, False)
    assert download_link(f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit").gid is None


def test_published_google_sheet_becomes_published_xlsx_or_its_named_tab():
    link = download_link("https://docs.google.com/spreadsheets/d/e/2PACX-1vQabcdefghijklmnop/pubhtml")
    assert link.url == "https://docs.google.com/spreadsheets/d/e/2PACX-1vQabcdefghijklmnop/pub?output=xlsx"
    link = download_link("https://docs.google.com/spreadsheets/d/e/2PACX-1vQabcdefghijklmnop/pubhtml?gid=77")
    assert link.url == ("https://docs.google.com/spreadsheets/d/e/2PACX-1vQabcdefghijklmnop/pub"
                        "?gid=77&single=true&output=csv") and link.one_tab


@pytest.mark.parametrize("pasted, expected", [
    ("https://www.dropbox.com/s/abc123/users.xlsx?dl=0", "https://www.dropbox.com/s/abc123/users.xlsx?dl=1"),
    ("https://www.dropbox.com/s/abc123/users.xlsx", "https://www.dropbox.com/s/abc123/users.xlsx?dl=1"),
    ("https://www.dropbox.com/scl/fi/xyz/users.xlsx?rlkey=k3y&dl=0",
     "https://www.dropbox.com/scl/fi/xyz/users.xlsx?rlkey=k3y&dl=1"),
    ("https://www.dropbox.com/s/abc123/users.xlsx?dl=1", "https://www.dropbox.com/s/abc123/users.xlsx?dl=1"),
])
def test_dropbox_links_download_the_file(pasted, expected):
    assert download_link(pasted).url == expected


def test_google_drive_file_links_download_the_file():
    for pasted in ("https://drive.google.com/file/d/0B1234567890abcdefXYZ/view?usp=sharing",
                   "https://drive.google.com/open?id=0B1234567890abcdefXYZ"):
        assert download_link(pasted).url == "https://drive.google.com/uc?export=download&id=0B1234567890abcdefXYZ"


def test_other_links_are_left_alone():
    url = "https://files.example.com/hr/users.xlsx?version=3"
    link = download_link(url)
    assert link.url == url and not link.rewritten


@pytest.mark.parametrize("pasted, gid", [
    (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=987", 987),
    (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit?usp=sharing", None),
    (f"https://docs.google.com/spreadsheets/u/0/d/{SHEET_ID}/edit?gid=5#gid=5", 5),
    (SHEET_ID, None),
])
def test_google_sheet_link_gives_spreadsheet_and_tab(pasted, gid):
    link = google_sheet_link(pasted)
    assert (link.spreadsheet_id, link.gid) == (SHEET_ID, gid)


def test_a_non_sheets_link_for_google_sheets_is_explained():
    with pytest.raises(ConfigError) as err:
        google_sheet_link("https://drive.google.com/file/d/0B1234567890abcdefXYZ/view")
    assert "not a Google Sheets link" in str(err.value) and "Save as Google Sheets" in str(err.value)


def test_redact_url_drops_credentials_query_fragment_and_all_but_the_first_path_segment():
    # O1: webhook and share-link paths are often secrets too
    assert redact_url("https://hr:s3cret@files.example.com:8443/a/users.csv?token=abc#x") == \
        "https://files.example.com:8443/a/…"
    assert redact_url("https://hooks.slack.com/services/T000/B000/XYZSECRET") == "https://hooks.slack.com/services/…"
    assert redact_url("https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUv/edit#gid=0") == \
        "https://docs.google.com/spreadsheets/…"
    assert redact_url("https://files.example/org.xlsx?sig=abc") == "https://files.example/org.xlsx"
    # in a sentence, the punctuation after an address stays and nothing of its query does
    assert redact_text("failed (see https://h.example/a/b?q=(SECRET)).") == "failed (see https://h.example/a/…))."
    assert redact_text("iSpring Learn (https://api.example.com), then http://[::1]:8080/x/y?z") == \
        "iSpring Learn (https://api.example.com), then http://[::1]:8080/x/…"
    text = redact_text("failed: https://u:p@h.example/x?sig=SECRET and http://other/y?k=v")
    assert "SECRET" not in text and "u:p" not in text and "k=v" not in text
    assert "https://h.example/x" in text


def test_origin_tells_sites_apart():
    assert origin("https://a.example/x") == origin("https://A.example:443/y")
    assert origin("https://a.example/x") != origin("https://a.example:8443/x")
    assert origin("https://a.example/x") != origin("http://a.example/x")
