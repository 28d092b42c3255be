"""URL sources against real HTTPS servers on loopback.

Every server is started by a fixture on port 0 with a certificate made at test
time; the client trusts it through `ca_file`, as an operator would.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import io
import logging
import time
from pathlib import Path

import pytest
import xlsxwriter

from servers.certs import make_pki
from servers.loopback import LOGIN_PAGE, FileServer, Reply, basic_auth, free_port
from tui_sync.config import Secret, SourceConfig
from tui_sync.errors import ConfigError, SourceError
from tui_sync.sources.fetch import FetchCache, describe_source, fetch_source
from tui_sync.sources.remote import RetryPolicy, fetch_url, parse_retry_after
from tui_sync.sources.table import ROW, SheetOptions

PASSWORD = "pa55:w0rd-NOT-FOR-LOGS"
FAST = RetryPolicy(attempts=3, base_delay=0.02, max_delay=0.05, max_retry_after=5)
CSV = "Code;Name;Parent code\n007;Sales;\nHQ;Head office;\n".encode()


def xlsx(sheets: dict[str, list[list[str]]]) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                ws.write_string(r, c, value)
    book.close()
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HR_FILE_PASSWORD", PASSWORD)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def server(pki):
    with FileServer(pki.server_context()) as srv:
        yield srv


@pytest.fixture
def other(pki):
    """Another origin (another port), trusted through the same CA."""
    with FileServer(pki.server_context()) as srv:
        yield srv


def source(url: str, pki, *, auth: bool = True, **kw) -> SourceConfig:
    creds = {"username": "hr", "password": Secret(env="HR_FILE_PASSWORD")} if auth else {}
    kw.setdefault("ca_file", pki.ca_file)
    kw.setdefault("timeout", 3)
    return SourceConfig(kind="url", url=url, **creds, **kw)


def fail(cfg: SourceConfig, state: Path, **kw) -> SourceError:
    with pytest.raises(SourceError) as err:
        fetch_url(cfg, state, retry=kw.pop("retry", FAST), **kw)
    text = str(err.value)
    assert PASSWORD not in text and "Traceback" not in text
    return err.value


# ------------------------------------------------------------------ happy paths


def test_downloads_a_csv_with_basic_auth_over_https(server, pki, tmp_path):
    url = server.route("/hr/departments.csv", Reply(body=CSV, headers={"Content-Type": "text/csv"}),
                       auth=("hr", PASSWORD))
    progress: list[tuple[int, int | None]] = []
    table = fetch_source(source(url, pki), tmp_path, progress=lambda done, total: progress.append((done, total)))
    assert table.headers == ("Code", "Name", "Parent code")
    assert table.df.get_column("Code").to_list() == ["007", "HQ"]
    assert table.df.get_column(ROW).to_list() == [2, 3]
    assert table.format == "csv" and table.size_bytes == len(CSV) and table.source == server.url("/hr/…")  # O1
    hit = server.hits("/hr/departments.csv")[-1]
    assert hit.headers["authorization"] == basic_auth("hr", PASSWORD)
    assert PASSWORD not in hit.path and not hit.query  # never in the URL
    assert progress[0] == (0, len(CSV)) and progress[-1] == (len(CSV), len(CSV))


def test_format_is_decided_by_content_before_type_and_name(server, pki, tmp_path):
    book = xlsx({"Departments": [["Code", "Name"], ["007", "Sales"]]})
    url = server.route("/export.csv", Reply(body=book, headers={"Content-Type": "text/plain"}))
    table = fetch_url(source(url, pki, auth=False), tmp_path)
    assert table.format == "xlsx" and table.sheet == "Departments"
    assert table.df.get_column("Code").to_list() == ["007"]


def test_csv_served_as_an_xlsx_workbook_is_read_as_csv(server, pki, tmp_path):
    """F2: the bytes decide; the name and Content-Type only break ties."""
    url = server.route("/users.xlsx", Reply(body="Code;Name\n007;Geschäftsführung\n".encode("cp1252"), headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}))
    table = fetch_url(source(url, pki, auth=False), tmp_path)
    assert table.format == "csv" and table.df.row(0)[:2] == ("007", "Geschäftsführung")
    assert any("named .xlsx, but it holds CSV text" in n for n in table.notes)


@pytest.mark.parametrize("body, what", [
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10", "PNG image"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
])
def test_a_served_file_that_is_not_a_sheet_says_what_it_is(server, pki, tmp_path, body, what):
    url = server.route("/users.xlsx", Reply(body=body, headers={"Content-Type": "application/octet-stream"}))
    err = fail(source(url, pki, auth=False), tmp_path)
    assert what in str(err) and err.hint


def test_an_xls_workbook_served_as_csv_is_read_as_xls(server, pki, tmp_path):
    book = (Path(__file__).resolve().parents[1] / "files" / "org.xls").read_bytes()
    url = server.route("/export.csv", Reply(body=book, headers={"Content-Type": "text/csv"}))
    table = fetch_url(source(url, pki, auth=False, options=SheetOptions(sheet="Users")), tmp_path)
    assert (table.format, table.sheet, table.rows) == ("xls", "Users", 2)


def test_html_login_page_is_reported_as_a_web_page(server, pki, tmp_path):
    url = server.route("/users.xlsx", Reply(body=LOGIN_PAGE, headers={"Content-Type": "text/html"}))
    err = fail(source(url, pki), tmp_path)
    assert "this is a web page, not the file — a login or share page?" in str(err)


def test_sheet_setting_picks_the_tab_of_a_downloaded_workbook(server, pki, tmp_path):
    book = xlsx({"Departments": [["Code"], ["D1"]], "Users": [["Login"], ["jdoe"], ["asmith"]]})
    url = server.route("/org.xlsx", Reply(body=book))
    table = fetch_url(source(url, pki, options=SheetOptions(sheet="Users")), tmp_path)
    assert table.sheet == "Users" and table.sheet_names == ("Departments", "Users") and table.rows == 2


# ------------------------------------------------------------------ status codes


def test_wrong_password_says_to_check_username_and_password(server, pki, tmp_path, monkeypatch):
    url = server.route("/f.csv", Reply(body=CSV), auth=("hr", "the-real-one"))
    err = fail(source(url, pki), tmp_path)
    assert "401" in err.message and "refused" in err.message and "password" in err.hint


def test_missing_credentials_say_to_set_them(server, pki, tmp_path):
    url = server.route("/f.csv", Reply(body=CSV), auth=("hr", PASSWORD))
    err = fail(source(url, pki, auth=False), tmp_path)
    assert "asks for a user name and password" in err.message and "username" in err.hint


@pytest.mark.parametrize("status, words, hint", [
    (403, "access denied", "sharing"),
    (404, "no file at this address", "moved"),
    (410, "no file at this address", "expired"),
])
def test_forbidden_and_not_found_say_what_to_check(server, pki, tmp_path, status, words, hint):
    url = server.route("/f.csv", Reply(status, b"<html>no</html>", {"Content-Type": "text/html"}))
    err = fail(source(url, pki), tmp_path)
    assert words in err.message and str(status) in err.message and hint in err.hint
    assert err.where == url


# ------------------------------------------------------------------ redirects


def test_same_origin_redirect_keeps_the_credentials(server, pki, tmp_path):
    server.route("/files/users.csv", Reply(body=CSV), auth=("hr", PASSWORD))
    url = server.redirect("/latest", "/files/users.csv", auth=("hr", PASSWORD))
    table = fetch_url(source(url, pki), tmp_path)
    assert table.rows == 2
    assert server.hits("/files/users.csv")[-1].headers["authorization"] == basic_auth("hr", PASSWORD)


def test_cross_origin_redirect_drops_the_credentials(server, other, pki, tmp_path):
    target = other.route("/cdn/users.csv", Reply(body=CSV))
    url = server.redirect("/download", target, auth=("hr", PASSWORD))
    table = fetch_url(source(url, pki), tmp_path)
    assert table.rows == 2
    assert server.hits("/download")[-1].headers["authorization"] == basic_auth("hr", PASSWORD)
    assert [h.headers.get("authorization") for h in other.hits("/cdn/users.csv")] == [None]


def test_localhost_and_127_0_0_1_are_different_origins(server, pki, tmp_path):
    server.route("/f.csv", Reply(body=CSV))
    url = server.redirect("/go", server.url("/f.csv", host="localhost"), auth=("hr", PASSWORD))
    fetch_url(source(url, pki), tmp_path)
    assert server.hits("/f.csv")[-1].headers.get("authorization") is None


def test_redirect_to_another_sites_login_page_names_where_it_went(server, other, pki, tmp_path):
    login = other.route("/sso/login", Reply(body=LOGIN_PAGE, headers={"Content-Type": "text/html"}))
    url = server.redirect("/users.xlsx", login + "?next=/users.xlsx&session=SESSIONSECRET")
    err = fail(source(url, pki), tmp_path)
    assert "this is a web page, not the file" in err.message and other.url("/sso/…") in err.message  # O1
    assert "SESSIONSECRET" not in str(err)


def test_401_after_a_cross_origin_redirect_explains_why_no_password_was_sent(server, other, pki, tmp_path):
    target = other.route("/f.csv", Reply(body=CSV), auth=("hr", PASSWORD))
    url = server.redirect("/f", target)
    err = fail(source(url, pki), tmp_path)
    assert "another site" in err.message and "final address" in err.hint


def test_redirect_from_https_to_plain_http_is_refused(server, tmp_path, pki):
    with FileServer() as plain:
        url = server.redirect("/f.csv", plain.route("/f.csv", Reply(body=CSV)))
        err = fail(source(url, pki), tmp_path)
        assert "plain http://" in err.message and not plain.seen


def test_redirect_loops_end(server, pki, tmp_path):
    url = server.redirect("/loop", "/loop")
    assert "redirects more than" in fail(source(url, pki), tmp_path).message


# ------------------------------------------------------------------ transport


def test_plain_http_needs_allow_insecure_http_and_then_warns(tmp_path, caplog):
    with FileServer() as plain:
        url = plain.route("/f.csv", Reply(body=CSV))
        with pytest.raises(ConfigError) as err:
            fetch_url(SourceConfig(kind="url", url=url), tmp_path)
        assert "allow_insecure_http" in str(err.value)
        with caplog.at_level(logging.WARNING, logger="tui_sync"):
            table = fetch_url(SourceConfig(kind="url", url=url, allow_insecure_http=True), tmp_path)
        assert table.rows == 2 and any("plain http://" in n for n in table.notes)
        assert "plain http://" in caplog.text


def test_untrusted_certificate_says_how_to_trust_a_ca(server, tmp_path, pki):
    url = server.route("/f.csv", Reply(body=CSV))
    err = fail(SourceConfig(kind="url", url=url, timeout=3), tmp_path)
    assert "TLS" in err.message and "not trusted" in err.message and "ca_file" in err.hint
    assert not server.seen  # nothing was sent to an unverified server


def test_certificate_for_another_name_is_explained(tmp_path):
    pki = make_pki(tmp_path / "pki", hosts=("files.example.com",))
    with FileServer(pki.server_context()) as srv:
        url = srv.route("/f.csv", Reply(body=CSV))
        err = fail(source(url, pki), tmp_path)
        assert "not trusted" in err.message and "another name" in err.hint


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_the_standard_ca_variables_are_honoured(server, pki, tmp_path, monkeypatch, variable):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv(variable, str(pki.ca_file))
    url = server.route("/f.csv", Reply(body=CSV))
    assert fetch_url(SourceConfig(kind="url", url=url, timeout=3), tmp_path).rows == 2


def test_ca_file_that_does_not_exist_is_a_config_error(server, pki, tmp_path):
    url = server.route("/f.csv", Reply(body=CSV))
    with pytest.raises(ConfigError) as err:
        fetch_url(source(url, pki, ca_file=tmp_path / "missing.pem"), tmp_path)
    assert "ca_file does not exist" in str(err.value)


def test_silence_longer_than_the_timeout_gives_up(server, pki, tmp_path):
    url = server.route("/slow.csv", Reply(body=CSV, delay=3))  # a real socket timeout: 0.3 s of silence
    waits: list[float] = []
    err = fail(source(url, pki, timeout=0.3), tmp_path, retry=dataclasses.replace(FAST, sleep=waits.append))
    assert "sent nothing for 0.3 s" in err.message and "timeout" in err.hint
    assert waits == [] and len(server.hits("/slow.csv")) == 1  # silence is reported, not retried


def test_cut_off_download_is_retried_then_reported(server, pki, tmp_path):
    url = server.route("/cut.csv", Reply(body=CSV, declared_length=10_000))
    err = fail(source(url, pki), tmp_path)
    assert "cut off after" in err.message and "10,000 bytes" in err.message and "3 attempts" in err.message
    assert len(server.hits("/cut.csv")) == FAST.attempts


def test_cut_off_once_then_complete_succeeds(server, pki, tmp_path):
    url = server.route("/f.csv", Reply(body=CSV[:9], declared_length=len(CSV)), Reply(body=CSV))
    assert fetch_url(source(url, pki), tmp_path, retry=FAST).rows == 2


def test_connection_refused_is_retried_then_explained(pki, tmp_path):
    err = fail(source(f"https://127.0.0.1:{free_port()}/f.csv", pki), tmp_path)
    assert "refused the connection" in err.message and "3 attempts" in err.message


# ------------------------------------------------------------------ retries


def test_429_waits_as_retry_after_says_in_seconds(server, pki, tmp_path):
    url = server.route("/f.csv", Reply(429, b"slow down", {"Retry-After": "1"}), Reply(body=CSV))
    waits: list[float] = []
    assert fetch_url(source(url, pki), tmp_path, retry=dataclasses.replace(FAST, sleep=waits.append)).rows == 2
    assert waits == [1.0] and len(server.hits("/f.csv")) == 2  # not FAST's backoff of a few ms


def test_429_waits_as_retry_after_says_as_an_http_date(server, pki, tmp_path):
    def busy(_req):
        when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
        return Reply(429, b"", {"Retry-After": email.utils.format_datetime(when, usegmt=True)})

    url = server.route("/f.csv", busy, Reply(body=CSV))
    waits: list[float] = []
    assert fetch_url(source(url, pki), tmp_path, retry=dataclasses.replace(FAST, sleep=waits.append)).rows == 2
    [wait] = waits  # the date is 2 s ahead, to the second: 1-2 s remain, far above FAST's backoff
    assert 0.5 < wait <= 2 and len(server.hits("/f.csv")) == 2


def test_a_retry_after_beyond_the_cap_is_reported_not_waited_for(server, pki, tmp_path):
    url = server.route("/f.csv", Reply(429, b"", {"Retry-After": "3600"}))
    waits: list[float] = []
    err = fail(source(url, pki), tmp_path, retry=dataclasses.replace(FAST, sleep=waits.append))
    assert waits == [] and len(server.hits("/f.csv")) == 1
    assert "limiting requests" in err.message and "3,600 s" in err.message and "try again later" in err.hint


def test_server_errors_are_retried_until_success(server, pki, tmp_path):
    url = server.route("/f.csv", Reply(503), Reply(502), Reply(body=CSV))
    assert fetch_url(source(url, pki), tmp_path, retry=FAST).rows == 2
    assert len(server.hits("/f.csv")) == 3


def test_server_errors_that_persist_are_reported_with_the_attempts(server, pki, tmp_path):
    url = server.route("/f.csv", Reply(500))
    err = fail(source(url, pki), tmp_path)
    assert "500" in err.message and "3 attempts" in err.message


def test_backoff_doubles_up_to_its_cap(server, pki, tmp_path):
    url = server.route("/f.csv", Reply(500))
    waits: list[float] = []
    policy = RetryPolicy(attempts=5, base_delay=0.02, max_delay=0.05, sleep=waits.append)
    err = fail(source(url, pki), tmp_path, retry=policy)
    assert "5 attempts" in err.message and len(server.hits("/f.csv")) == 5
    # 0.02, 0.04, then the cap 0.05 twice; each with up to 20 % jitter, never less
    assert len(waits) == 4 and all(1.0 <= w / b <= 1.2 for w, b in zip(waits, (0.02, 0.04, 0.05, 0.05)))


def test_parse_retry_after():
    now = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("7", now) == 7
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None


# ------------------------------------------------------------------ size cap


def test_a_download_over_max_bytes_is_refused_before_it_starts(server, pki, tmp_path):
    url = server.route("/big.csv", Reply(body=b"x" * 300_000))
    progress: list[int] = []
    err = fail(source(url, pki, max_bytes=100_000), tmp_path, progress=lambda done, total: progress.append(done))
    assert "the file is 293.0 KB, over the max_bytes limit of 97.7 KB" in err.message
    assert progress == []  # refused on the announced length, before reading the body


def test_a_download_without_length_stops_at_max_bytes(server, pki, tmp_path):
    url = server.route("/big.csv", Reply(body=b"a,b\n" + b"1,2\n" * 100_000, chunked=True))
    progress: list[int] = []
    err = fail(source(url, pki, max_bytes=50_000), tmp_path, progress=lambda done, total: progress.append(done))
    assert "download is over the max_bytes limit" in err.message
    assert max(progress) <= 50_000 + (1 << 16)


# ------------------------------------------------------------------ cache, check, secrets


def test_two_sheets_of_one_workbook_are_downloaded_once_per_run(server, pki, tmp_path):
    book = xlsx({"Departments": [["Code", "Name"], ["D1", "Sales"]], "Users": [["Login"], ["jdoe"]]})
    url = server.route("/org.xlsx", Reply(body=book), auth=("hr", PASSWORD))
    cache = FetchCache()
    departments = fetch_source(source(url, pki, options=SheetOptions(sheet="Departments")), tmp_path, cache=cache)
    users = fetch_source(source(url, pki, options=SheetOptions(sheet="Users")), tmp_path, cache=cache)
    assert departments.headers == ("Code", "Name") and users.headers == ("Login",)
    assert len(server.hits("/org.xlsx")) == 1
    assert PASSWORD not in repr(cache)


def test_describe_source_reports_what_check_shows(server, pki, tmp_path):
    book = xlsx({"Users": [["Login", "E-mail"], ["jdoe", "j@x.org"], ["asmith", "a@x.org"]], "Other": [["x"]]})
    url = server.route("/org.xlsx", Reply(body=book))
    report = describe_source(source(url, pki), tmp_path)
    assert report.reachable and report.readable and report.error is None
    assert (report.bytes, report.format, report.sheet, report.sheet_names) == (len(book), "xlsx", "Users",
                                                                               ("Users", "Other"))
    assert report.headers == ("Login", "E-mail") and report.rows == 2
    assert any("2 data rows" in line for line in report.lines())


def test_describe_source_says_why_a_source_is_unreachable(server, pki, tmp_path):
    url = server.route("/f.csv", Reply(body=CSV), auth=("hr", "other"))
    report = describe_source(source(url, pki), tmp_path)
    assert not report.reachable and not report.readable and "401" in report.error
    assert PASSWORD not in report.error and "NOT reachable" in "\n".join(report.lines())
    login = server.route("/login.xlsx", Reply(body=LOGIN_PAGE))
    page = describe_source(source(login, pki), tmp_path)
    assert page.reachable and not page.readable and "web page" in page.error


def test_secrets_and_query_strings_stay_out_of_logs_and_errors(server, other, pki, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    token = "QUERYTOKEN123"
    server.route("/f.csv", Reply(500), auth=("hr", PASSWORD))
    server.route("/ok.csv", Reply(body=CSV), auth=("hr", PASSWORD))
    errors = []
    for path in (f"/f.csv?token={token}", f"/missing.csv?token={token}", f"/ok.csv?token={token}"):
        try:
            fetch_url(source(server.url(path), pki), tmp_path, retry=FAST)
        except SourceError as exc:
            errors.append(str(exc))
    assert len(errors) == 2
    for text in [caplog.text, *errors]:
        assert PASSWORD not in text and token not in text
        assert basic_auth("hr", PASSWORD).split()[1] not in text
    assert logging.getLogger("httpx").level >= logging.WARNING


def test_fetch_source_reads_local_files_too(tmp_path):
    path = tmp_path / "departments.csv"
    path.write_bytes(CSV)
    table = fetch_source(SourceConfig(kind="file", path=path), tmp_path)
    assert table.rows == 2 and table.source == str(path)
    report = describe_source(SourceConfig(kind="file", path=tmp_path / "missing.csv"), tmp_path)
    assert not report.reachable and "file not found" in report.error


# ------------------------------------------------------------------ the operator presses Ctrl-C


def test_ctrl_c_during_a_slow_download_stops_plan_at_once(server, pki, tmp_path):
    import signal
    import subprocess
    import sys

    from workspace import Workspace, dept, person

    url = server.route("/slow/departments.csv", Reply(body=CSV, delay=3600))  # silent until the server stops
    ws = Workspace(tmp_path / "ws")
    ws.sheets([dept("HQ")], [person("ann.lee")])
    config = ws.root / "tui-sync.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'kind = "file"\npath = "departments.csv"',
        f'kind = "url"\nurl = "{url}"\nca_file = "{pki.ca_file}"\ntimeout = 120', 1), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "tui_sync.cli", "--config", str(config), "plan"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not server.hits("/slow/departments.csv") and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert server.hits("/slow/departments.csv"), f"the download never started: {proc.communicate()}"
        proc.send_signal(signal.SIGINT)  # while it waits for the server's answer, which never comes
        _, err = proc.communicate(timeout=60)  # (a plan that waited for the answer would hang here)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "interrupted; nothing more was changed" in err
    assert "Traceback" not in err
