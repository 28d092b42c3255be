"""Google Sheets sources: the real gspread + google-auth code against a loopback token
endpoint and Sheets API v4 emulator.

The emulator's address reaches the code the supported way: the service-account key's
own `token_uri`, and `TUI_SYNC_GOOGLE_API` for the Sheets API base (a transport
adapter on the session rewrites https://sheets.googleapis.com). Nothing is monkeypatched.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path

import pytest

from servers.loopback import Reply
from servers.google import Cell, GoogleEmulator, Spreadsheet, Tab, google_error, make_service_account, new_rsa_key
from tui_sync import service
from tui_sync.config import Secret, SourceConfig
from tui_sync.errors import ConfigError, SourceError
from tui_sync.sources.fetch import FetchCache, describe_source, fetch_source, read_together
from tui_sync.sources.google import API_ENV, READONLY_SCOPE, fetch_google, spreadsheet_info
from tui_sync.sources.remote import RetryPolicy
from tui_sync.sources.table import ROW, SheetOptions
from workspace import DEPT_HEADERS, USER_HEADERS, Workspace

SHEET_ID = "1HrSheetAbCdEfGhIjKlMnOpQrStUvWxYz012345"
EMAIL = "tui-sync@hr-project.iam.gserviceaccount.com"
FAST = RetryPolicy(attempts=3, base_delay=0.02, max_delay=0.05, max_retry_after=5)

DEPARTMENTS = [
    ["Code", "Department", "Parent code"],
    [Cell("007", 7), "Sales"],  # ragged: the trailing blank cell is omitted
    [],  # a blank row
    ["  HQ ", "Head office", ""],
]
USERS = [["Login", "E-mail"], ["jdoe", "jdoe@example.com"], ["asmith", "asmith@example.com"]]


@pytest.fixture(scope="module")
def rsa_key():
    return new_rsa_key()


@pytest.fixture
def google(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with GoogleEmulator() as emulator:
        monkeypatch.setenv(API_ENV, emulator.api_base)
        emulator.add(SHEET_ID, Spreadsheet("HR", [Tab("Departments", DEPARTMENTS, 0),
                                                  Tab("Users", USERS, 1234567)]))
        yield emulator


@pytest.fixture
def key_info(google, rsa_key) -> dict:
    return make_service_account(google, rsa_key, EMAIL)


def key_file(tmp_path: Path, content: str) -> Secret:
    path = tmp_path / "service-account.json"
    path.write_text(content)
    path.chmod(0o600)
    return Secret(file=path)


@pytest.fixture
def account(tmp_path, key_info) -> Secret:
    return key_file(tmp_path, json.dumps(key_info))


def sheet(account: Secret, link: str = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit", **kw):
    return SourceConfig(kind="google_sheets", url=link, service_account=account, timeout=kw.pop("timeout", 5), **kw)


def fail(cfg: SourceConfig, state: Path, exc=SourceError, **kw):
    with pytest.raises(exc) as err:
        fetch_google(cfg, state, retry=kw.pop("retry", FAST), **kw)
    assert "Traceback" not in str(err.value)
    return err.value


# ------------------------------------------------------------------ reading


def test_reads_the_first_tab_as_the_sheet_shows_it(google, account, tmp_path):
    table = fetch_source(sheet(account), tmp_path)
    assert table.format == "google_sheets" and table.sheet == "Departments"
    assert table.sheet_names == ("Departments", "Users")
    assert table.headers == ("Code", "Department", "Parent code")
    assert table.df.get_column("Code").to_list() == ["007", "HQ"]  # shown text, trimmed
    assert table.df.get_column("Parent code").to_list() == [None, None]  # ragged row padded
    assert table.df.get_column(ROW).to_list() == [2, 4]  # the blank row 3 is dropped, numbers kept
    assert table.fingerprint and table.size_bytes > 0
    assert google.stats.scopes == [READONLY_SCOPE]
    assert google.stats.render_options == ["FORMATTED_VALUE"]


def test_the_links_gid_picks_the_tab(google, account, tmp_path):
    table = fetch_source(sheet(account, f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=1234567"),
                         tmp_path)
    assert table.sheet == "Users" and table.rows == 2


def test_the_sheet_setting_names_the_tab_case_insensitively(google, account, tmp_path):
    table = fetch_source(sheet(account, options=SheetOptions(sheet="users")), tmp_path)
    assert table.sheet == "Users" and table.headers == ("Login", "E-mail")


def test_an_unknown_tab_lists_the_tabs(google, account, tmp_path):
    err = fail(sheet(account, options=SheetOptions(sheet="Staff")), tmp_path)
    assert "no tab named 'Staff'" in err.message and "'Departments', 'Users'" in err.message
    err = fail(sheet(account, f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=99"), tmp_path)
    assert "#gid=99" in err.message


def test_header_row_and_hidden_tabs(google, account, tmp_path):
    google.add("1OtherSheetAbCdEfGhIjKlMnOpQrStUvWxYz0123", Spreadsheet("Other", [
        Tab("Old", [["x"], ["1"]], 0, hidden=True),
        Tab("Current", [["Report of 1 May"], [], ["Code", "Name"], ["D1", "Sales"]], 5),
    ]))
    cfg = sheet(account, "https://docs.google.com/spreadsheets/d/1OtherSheetAbCdEfGhIjKlMnOpQrStUvWxYz0123/edit",
                options=SheetOptions(header_row=3))
    table = fetch_google(cfg, tmp_path)
    assert table.sheet == "Current" and table.headers == ("Code", "Name")
    assert table.df.get_column(ROW).to_list() == [4]
    assert any("hidden" in n for n in table.notes)


def test_an_empty_tab_is_an_error(google, account, tmp_path):
    google.spreadsheets[SHEET_ID].tabs.append(Tab("Empty", [], 9))
    assert "tab 'Empty' is empty" in fail(sheet(account, options=SheetOptions(sheet="Empty")), tmp_path).message


def test_two_tabs_of_one_spreadsheet_are_fetched_once_per_run(google, account, tmp_path):
    cache = FetchCache()
    cfgs = [sheet(account, options=SheetOptions(sheet=name)) for name in ("Departments", "Users")]
    read_together(cfgs, tmp_path, cache)
    departments, users = (fetch_source(cfg, tmp_path, cache=cache) for cfg in cfgs)
    again = fetch_source(cfgs[1], tmp_path, cache=cache)
    assert departments.headers == ("Code", "Department", "Parent code") and departments.rows == 2
    assert users.headers == ("Login", "E-mail") and users.rows == 2 and again.df.equals(users.df)
    assert (google.stats.token, google.stats.metadata, google.stats.values, google.stats.batch_gets) == (1, 1, 1, 1)
    assert google.stats.render_options == ["FORMATTED_VALUE"]


def test_a_source_read_alone_reads_only_its_own_tab(google, account, tmp_path):
    cache = FetchCache()  # as the UI reads one source at a time
    for name in ("Departments", "Users"):
        assert fetch_source(sheet(account, options=SheetOptions(sheet=name)), tmp_path, cache=cache).rows == 2
    assert (google.stats.metadata, google.stats.values, google.stats.batch_gets) == (1, 2, 0)


def test_a_plan_over_two_tabs_of_one_spreadsheet_reads_their_values_with_one_call(google, account, tmp_path):
    cfg = _workspace_on_google(google, account, tmp_path)
    result = asyncio.run(service.make_plan(cfg))
    assert (google.stats.token, google.stats.metadata, google.stats.values, google.stats.batch_gets) == (1, 1, 1, 1)
    assert result.sources.departments.sheet == "Org" and result.sources.users.sheet == "Staff"
    assert result.sources.departments.df.get_column("Code").to_list() == ["HQ", "SALES"]
    assert result.sources.users.df.get_column("Login").to_list() == ["jdoe"]
    assert sorted((c.kind.value, c.key) for c in result.plan.changes) == [  # all new to the empty LMS
        ("create_department", "HQ"), ("create_department", "SALES"), ("create_user", "jdoe")]


def test_check_over_two_tabs_of_one_spreadsheet_reads_their_values_with_one_call(google, account, tmp_path):
    report = asyncio.run(service.check(_workspace_on_google(google, account, tmp_path)))
    assert [(s.report.sheet, s.report.rows) for s in report.sources] == [("Org", 2), ("Staff", 1)]
    assert (google.stats.token, google.stats.metadata, google.stats.values, google.stats.batch_gets) == (1, 1, 1, 1)


def _workspace_on_google(google, account, tmp_path):
    """A workspace whose departments and users are two tabs of one spreadsheet: one by name, one by #gid=."""
    link = google.add("1PlanSheetAbCdEfGhIjKlMnOpQrStUvWxYz01234", Spreadsheet("HR", [
        Tab("Org", [DEPT_HEADERS, ["HQ", "Headquarters"], ["SALES", "Sales", "HQ"]], 0),
        Tab("Staff", [USER_HEADERS, ["jdoe", "jdoe@example.com", "John", "Doe", "SALES", "active"]], 77)]))
    cfg = Workspace(tmp_path / "ws").config
    return dataclasses.replace(
        cfg, departments=dataclasses.replace(cfg.departments, source=sheet(account, link, options=SheetOptions(
            sheet="org"))), users=dataclasses.replace(cfg.users, source=sheet(account, link + "#gid=77")))


def test_a_failed_read_of_two_tabs_says_what_a_single_read_says_and_is_not_kept(google, account, tmp_path):
    cache = FetchCache()
    cfgs = [sheet(account, options=SheetOptions(sheet=name)) for name in ("Departments", "Users")]
    read_together(cfgs, tmp_path, cache)
    spreadsheet_info(cfgs[0], tmp_path, cache=cache)  # the metadata is in: the next call is the values one
    google.fail_next(google_error(403, "The caller does not have permission"))
    with pytest.raises(SourceError) as err:
        fetch_source(cfgs[0], tmp_path, cache=cache)
    assert "403" in err.value.message and f"share the sheet with {EMAIL} (Viewer)" in err.value.hint
    assert fetch_source(cfgs[1], tmp_path, cache=cache).rows == 2  # tried again, and both tabs come in
    assert fetch_source(cfgs[0], tmp_path, cache=cache).rows == 2
    assert (google.stats.metadata, google.stats.batch_gets) == (1, 1)


def test_a_wrong_tab_beside_a_right_one_fails_alone(google, account, tmp_path):
    cache = FetchCache()
    cfgs = [sheet(account, options=SheetOptions(sheet=name)) for name in ("Departments", "Old")]
    read_together(cfgs, tmp_path, cache)
    assert fetch_source(cfgs[0], tmp_path, cache=cache).sheet == "Departments"
    with pytest.raises(SourceError) as err:
        fetch_source(cfgs[1], tmp_path, cache=cache)
    assert "no tab named 'Old'" in err.value.message
    assert (google.stats.values, google.stats.batch_gets) == (1, 0)


# ------------------------------------------------------------------ API errors


def test_403_says_to_share_the_sheet_with_the_service_account(google, account, tmp_path):
    google.spreadsheets[SHEET_ID].shared = False
    err = fail(sheet(account), tmp_path)
    assert f"share the sheet with {EMAIL} (Viewer)" in err.hint and "403" in err.message


def test_sheets_api_disabled_is_explained(google, account, tmp_path):
    google.fail_next(google_error(403, "Google Sheets API has not been used in project 42 before or it is "
                                       "disabled. Enable it by visiting https://console.developers.google.com/apis"
                                       "/api/sheets.googleapis.com/overview?project=42 then retry."))
    err = fail(sheet(account), tmp_path)
    assert "not enabled" in err.message and "Enable" in err.hint and "project=42" not in str(err)


def test_404_says_to_check_the_link(google, account, tmp_path):
    err = fail(sheet(account, "https://docs.google.com/spreadsheets/d/1NoSuchSheetAbCdEfGhIjKlMnOpQrSt/edit"),
               tmp_path)
    assert "no spreadsheet with this link" in err.message and "404" in err.message and "link" in err.hint


def test_an_excel_file_in_drive_is_explained(google, account, tmp_path):
    google.fail_next(google_error(400, "This operation is not supported for this document", "FAILED_PRECONDITION"))
    err = fail(sheet(account), tmp_path)
    assert "not a Google Sheet" in err.message and "Save as Google Sheets" in err.hint


def test_429_backs_off_then_reads(google, account, tmp_path):
    google.fail_next(google_error(429, "Quota exceeded for quota metric 'Read requests'"),
                     google_error(429, "Quota exceeded", headers={"Retry-After": "1"}))
    waits: list[float] = []
    table = fetch_google(sheet(account), tmp_path, retry=dataclasses.replace(FAST, sleep=waits.append))
    [backoff, told] = waits  # FAST's first backoff (0.02 s + up to 20 %), then the Retry-After
    assert table.rows == 2 and 0.02 <= backoff <= 0.024 and told == 1.0


def test_a_retry_after_beyond_the_cap_is_reported_not_waited_for(google, account, tmp_path):
    google.fail_next(google_error(429, "Quota exceeded", headers={"Retry-After": "3600"}))
    waits: list[float] = []
    err = fail(sheet(account), tmp_path, retry=dataclasses.replace(FAST, sleep=waits.append))
    assert "quota" in err.message and "wait 3,600 s" in err.message and "minute" in err.hint
    assert waits == [] and google.stats.metadata == 0  # not tried again


def test_429_that_persists_is_reported_as_the_quota(google, account, tmp_path):
    google.fail_next(*[google_error(429, "Quota exceeded")] * 5)
    err = fail(sheet(account), tmp_path)
    assert "quota" in err.message and "3 attempts" in err.message and "minute" in err.hint


def test_a_silent_api_times_out(google, account, tmp_path):
    google.fail_next(google_error(500, "late", delay=3))  # a real socket timeout: 0.3 s of silence
    waits: list[float] = []
    err = fail(sheet(account, timeout=0.3), tmp_path, retry=dataclasses.replace(FAST, sleep=waits.append))
    assert "sent nothing for 0.3 s" in err.message and waits == []  # reported, not retried


# ------------------------------------------------------------------ the key and the token


def test_malformed_json_key_is_explained_without_quoting_it(google, tmp_path, key_info):
    text = json.dumps(key_info)[:-20]
    err = fail(sheet(key_file(tmp_path, text)), tmp_path, ConfigError)
    assert "not valid JSON" in err.message and "new JSON key" in err.hint
    assert "PRIVATE KEY" not in str(err) and key_info["private_key"][40:80] not in str(err)


def test_a_key_pasted_with_literal_backslash_n_is_repaired(google, tmp_path, key_info):
    pasted = json.dumps({**key_info, "private_key": key_info["private_key"].replace("\n", "\\n")})
    assert "\\\\n" in pasted  # literally backslash-n inside the JSON string
    table = fetch_google(sheet(key_file(tmp_path, pasted)), tmp_path)
    assert table.rows == 2 and any("repaired" in n for n in table.notes)


def test_a_damaged_private_key_is_explained(google, tmp_path, key_info):
    pem = key_info["private_key"]
    damaged = pem[:100] + pem[400:]
    err = fail(sheet(key_file(tmp_path, json.dumps({**key_info, "private_key": damaged}))), tmp_path, ConfigError)
    assert "private_key" in err.message and "cannot be read" in err.message
    assert pem[120:160] not in str(err)


def test_other_credentials_are_not_a_service_account_key(google, tmp_path):
    oauth_client = {"installed": {"client_id": "x", "client_secret": "y"}}
    err = fail(sheet(key_file(tmp_path, json.dumps(oauth_client))), tmp_path, ConfigError)
    assert "not a service account key" in err.message and "OAuth client" in err.message


def test_a_refused_token_hints_at_the_clock(google, account, tmp_path):
    google.refuse_token = (400, {"error": "invalid_grant", "error_description":
                                 "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                                 "timeframe. Check your iat and exp values in the JWT claim."})
    err = fail(sheet(account), tmp_path)
    assert "refused the service account's sign-in" in err.message and "clock" in err.hint


def test_a_sign_in_server_answering_200_with_a_web_page_is_explained(google, account, tmp_path):
    # O3: a proxy or captive portal answers the token request with its own page
    google.token_reply = Reply(200, b"<html><body>Please sign in to the proxy</body></html>",
                               {"Content-Type": "text/html"})
    err = fail(sheet(account), tmp_path)
    assert "sign-in server" in err.message and "something other than an access token" in err.message
    assert "proxy" in err.hint and err.where == "https://docs.google.com/spreadsheets/…"


def test_a_key_google_does_not_know_is_refused_with_advice(google, tmp_path, key_info):
    stranger = {**key_info, "private_key": _other_pem()}  # a key the emulator did not issue
    err = fail(sheet(key_file(tmp_path, json.dumps(stranger))), tmp_path)
    assert "Invalid JWT Signature" in err.message and "new JSON key" in err.hint and "clock" in err.hint


def _other_pem() -> str:
    from cryptography.hazmat.primitives import serialization

    return new_rsa_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()).decode()


# ------------------------------------------------------------------ check and secrets


def test_describe_source_shows_the_service_account_and_tabs(google, account, tmp_path):
    report = describe_source(sheet(account), tmp_path)
    assert report.reachable and report.readable and report.client_email == EMAIL
    assert report.sheet_names == ("Departments", "Users") and report.headers[0] == "Code" and report.rows == 2
    assert any(EMAIL in line for line in report.lines())


def test_describe_source_of_an_unshared_sheet_names_the_address_to_share_with(google, account, tmp_path):
    google.spreadsheets[SHEET_ID].shared = False
    report = describe_source(sheet(account), tmp_path)
    assert not report.reachable and report.client_email == EMAIL and f"share the sheet with {EMAIL}" in report.error


def test_the_private_key_and_token_never_reach_logs_or_errors(google, account, tmp_path, key_info, caplog):
    caplog.set_level(logging.DEBUG)
    fetch_google(sheet(account), tmp_path)
    google.spreadsheets[SHEET_ID].shared = False
    err = fail(sheet(account), tmp_path)
    body = key_info["private_key"].splitlines()[1]
    for text in (caplog.text, str(err)):
        assert body not in text
        assert not any(token in text for token in google.tokens)
