"""One trust for every HTTPS client (DESIGN §2, `ca_file`): URL sources, Google sign-in and
Sheets, iSpring and the webhook trust the system's CAs, SSL_CERT_FILE / SSL_CERT_DIR,
REQUESTS_CA_BUNDLE and `ca_file` alike, on loopback as elsewhere, and name a certificate
they do not trust with those settings.

Every client talks to a real loopback HTTPS server whose CA is made at test time.
"""
from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ispring_emulator import ISpringEmulator
from servers.certs import LoopbackPKI, make_pki
from servers.google import GoogleEmulator, Spreadsheet, Tab, make_service_account, new_rsa_key
from servers.loopback import FileServer, Reply
from tui_sync import notify
from tui_sync.config import LmsConfig, Secret, SourceConfig, parse_config
from tui_sync.errors import ConfigError, LMSError, SourceError, SyncError
from tui_sync.lms.http_retry import RetryPolicy as LmsRetry
from tui_sync.lms.ispring import ISpringLMS
from tui_sync.sources.google import API_ENV, fetch_google
from tui_sync.sources.remote import RetryPolicy, fetch_url
from tui_sync.tls import ssl_context
from workspace import Workspace

VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
CSV = b"Login,Email\njdoe,jdoe@example.com\n"
SHEET_ID = "1TlsSheetAbCdEfGhIjKlMnOpQrStUvWxYz0123456"
LINK = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit"
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, max_retry_after=1)
SUMMARY = {"run_id": 1, "status": "failed", "held": {"count": 0}, "row_errors": 0, "errors_total": 1, "exit_code": 3}


@pytest.fixture(autouse=True)
def no_trust_from_the_environment(monkeypatch):
    """This machine's own CA variables and proxies stay out of these tests; each sets what it needs."""
    for name in (*VARIABLES, *PROXIES):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> LoopbackPKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def rsa_key():
    return new_rsa_key()


# ------------------------------------------------------------------ one reader per client
# Each takes (pki, ca_file or None, tmp_path) and returns what it read; a failure raises SyncError.

def read_url(pki: LoopbackPKI, ca_file: Path | None, tmp_path: Path) -> object:
    with FileServer(pki.server_context()) as server:
        url = server.route("/users.csv", Reply(body=CSV))
        return fetch_url(SourceConfig(kind="url", url=url, timeout=3, ca_file=ca_file), tmp_path, retry=FAST).rows


def read_google(pki: LoopbackPKI, ca_file: Path | None, tmp_path: Path, *, api: LoopbackPKI | None = None,
                monkeypatch: pytest.MonkeyPatch, rsa_key) -> object:
    """Sign-in at an emulator with `pki`'s certificate; the Sheets API there too, or at one with `api`'s."""
    with GoogleEmulator(pki.server_context()) as sign_in, \
            GoogleEmulator((api or pki).server_context()) as sheets:
        sheets.tokens = sign_in.tokens  # tokens the sign-in server issues are good at the API
        sheets.add(SHEET_ID, Spreadsheet("HR", [Tab("Users", [["Login"], ["jdoe"]], 0)]))
        monkeypatch.setenv(API_ENV, sheets.api_base)
        key = tmp_path / "service-account.json"
        key.write_text(json.dumps(make_service_account(sign_in, rsa_key)))
        key.chmod(0o600)
        cfg = SourceConfig(kind="google_sheets", url=LINK, service_account=Secret(file=key), timeout=3, ca_file=ca_file)
        return fetch_google(cfg, tmp_path, retry=FAST).rows


def read_ispring(pki: LoopbackPKI, ca_file: Path | None, tmp_path: Path, *,
                 monkeypatch: pytest.MonkeyPatch) -> object:
    async def go(emu: ISpringEmulator) -> object:
        cfg = LmsConfig(kind="ispring", base_url=emu.base_url, client_id=emu.client_id,
                        client_secret=Secret(env="TLS_TEST_SECRET"), timeout=3, ca_file=ca_file)
        lms = ISpringLMS(cfg, tmp_path, retry=LmsRetry(attempts=3, backoff_base=0.01, backoff_max=0.02))
        try:
            await lms.snapshot()
        finally:
            await lms.close()
        return len(emu.requests)  # every one answered

    with ISpringEmulator(tls=pki.server_context()) as emu:
        monkeypatch.setenv("TLS_TEST_SECRET", emu.client_secret)
        return asyncio.run(go(emu))


def post_webhook(pki: LoopbackPKI, ca_file: Path | None, tmp_path: Path) -> object:
    with FileServer(pki.server_context()) as server:
        url = server.route("/hooks/T0KEN", Reply(200))
        lines = ["[notify]", f"webhook = {json.dumps(url)}"]
        if ca_file:
            lines.append(f"ca_file = {json.dumps(str(ca_file))}")
        cfg = Workspace(tmp_path / "ws", extra_config="\n".join(lines) + "\n").config
        [delivery] = asyncio.run(notify.send(cfg, SUMMARY, retry_pause=0))
        if not delivery.ok:
            raise SyncError(delivery.detail)  # (the webhook never raises: its outcome is this detail)
        return len(server.hits("/hooks/T0KEN"))


CLIENTS = ["url", "google", "ispring", "webhook"]


@pytest.fixture
def client(request, monkeypatch, rsa_key) -> Callable[[LoopbackPKI, Path | None, Path], object]:
    name = request.param
    if name == "google":
        return lambda pki, ca, tmp: read_google(pki, ca, tmp, monkeypatch=monkeypatch, rsa_key=rsa_key)
    if name == "ispring":
        return lambda pki, ca, tmp: read_ispring(pki, ca, tmp, monkeypatch=monkeypatch)
    return {"url": read_url, "webhook": post_webhook}[name]


def failure(client, pki: LoopbackPKI, ca_file: Path | None, tmp_path: Path) -> str:
    with pytest.raises(SyncError) as err:
        client(pki, ca_file, tmp_path)
    return str(err.value)


# ------------------------------------------------------------------ every client alike

@pytest.mark.parametrize("client", CLIENTS, indirect=True)
def test_an_untrusted_ca_is_named_with_the_settings_that_trust_one(client, pki, tmp_path, request):
    text = failure(client, pki, None, tmp_path)
    assert "TLS: the certificate of " in text and "127.0.0.1:" in text and "not trusted" in text, text
    for setting in ("ca_file", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        assert setting in text, text
    assert "cannot reach" not in text and "T0KEN" not in text
    if request.node.callspec.params["client"] == "google":
        assert "Google's sign-in server (127.0.0.1:" in text


@pytest.mark.parametrize("client", CLIENTS, indirect=True)
def test_a_ca_file_is_trusted(client, pki, tmp_path):
    assert client(pki, pki.ca_file, tmp_path)


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
@pytest.mark.parametrize("client", CLIENTS, indirect=True)
def test_the_standard_ca_variables_are_trusted_on_loopback_too(client, pki, tmp_path, monkeypatch, variable):
    monkeypatch.setenv(variable, str(pki.ca_file))
    assert client(pki, None, tmp_path)


def test_ssl_cert_dir_is_trusted(pki, tmp_path, monkeypatch):
    folder = tmp_path / "certs"
    folder.mkdir()
    name = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(pki.ca_file)], check=True,
                          capture_output=True, text=True).stdout.strip()
    (folder / f"{name}.0").write_bytes(pki.ca_file.read_bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))
    assert read_url(pki, None, tmp_path) == 1


@pytest.mark.parametrize("client", CLIENTS, indirect=True)
def test_a_ca_file_that_does_not_exist_is_named(client, pki, tmp_path):
    text = failure(client, pki, tmp_path / "missing-ca.pem", tmp_path)
    assert "ca_file does not exist" in text and "missing-ca.pem" in text


def test_google_names_the_sheets_api_certificate_when_only_sign_in_is_trusted(pki, tmp_path, monkeypatch, rsa_key):
    other = make_pki(tmp_path / "other")
    with pytest.raises(SourceError) as err:
        read_google(pki, pki.ca_file, tmp_path, api=other, monkeypatch=monkeypatch, rsa_key=rsa_key)
    text = str(err.value)
    assert "the certificate of the Google Sheets API (127.0.0.1:" in text and "not trusted" in text
    assert "ca_file" in text and "sign-in" not in text


def test_ispring_does_not_retry_an_untrusted_certificate(pki, tmp_path, monkeypatch):
    with pytest.raises(LMSError) as err:
        read_ispring(pki, None, tmp_path, monkeypatch=monkeypatch)
    assert "attempts" not in str(err.value) and "in [lms]" in str(err.value)


# ------------------------------------------------------------------ settings add up

def test_ssl_cert_file_adds_to_the_system_store_instead_of_replacing_it(pki, monkeypatch):
    system = {json.dumps(c["subject"]) for c in ssl_context().get_ca_certs()}
    assert system, "this machine has a CA store"
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    plain = {json.dumps(c["subject"]) for c in ssl.create_default_context().get_ca_certs()}
    ours = {json.dumps(c["subject"]) for c in ssl_context().get_ca_certs()}
    test_ca = {s for s in ours if "tui-sync test CA" in s}
    assert test_ca and not test_ca & system
    assert system <= ours  # OpenSSL alone lets SSL_CERT_FILE replace the system store:
    assert not system <= plain


def test_every_setting_adds_to_the_others(pki, tmp_path, monkeypatch):
    """Three servers, three CAs: SSL_CERT_FILE, REQUESTS_CA_BUNDLE and ca_file are trusted together."""
    second, third = make_pki(tmp_path / "second"), make_pki(tmp_path / "third")
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(second.ca_file))
    for server_pki in (pki, second, third):
        assert read_url(server_pki, third.ca_file, tmp_path) == 1


def test_a_variable_that_names_no_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nowhere.pem"))
    with pytest.raises(ConfigError) as err:
        ssl_context()
    assert "SSL_CERT_FILE does not exist" in str(err.value) and "nowhere.pem" in str(err.value)


# ------------------------------------------------------------------ configuration

def test_lms_and_notify_take_ca_file_relative_to_the_config(tmp_path):
    ws = Workspace(tmp_path / "ws", extra_config='[notify]\nwebhook = "https://hooks.example.com/x"\n'
                                                 'ca_file = "certs/hook-ca.pem"\n')
    data = ws.config.raw
    data["lms"] = {"kind": "ispring", "client_id": "x", "client_secret": {"env": "S"}, "ca_file": "certs/ca.pem",
                   "timeout": 12}
    data["users"]["source"] = {"kind": "google_sheets", "url": LINK, "service_account": {"file": "sa.json"},
                               "ca_file": "/etc/proxy-ca.pem"}
    cfg = parse_config(data, ws.root / "tui-sync.toml")
    assert cfg.lms.ca_file == ws.root / "certs" / "ca.pem" and cfg.lms.timeout == 12
    assert cfg.notify.ca_file == ws.root / "certs" / "hook-ca.pem"
    assert cfg.users.source.ca_file == Path("/etc/proxy-ca.pem")


@pytest.mark.parametrize("section, value, words", [
    ("lms", 5, "[lms] ca_file"),
    ("local", "ca.pem", "ca_file"),
])
def test_a_wrong_ca_file_setting_is_named(tmp_path, section, value, words):
    data = Workspace(tmp_path / "ws").config.raw
    if section == "lms":
        data["lms"] = {"kind": "ispring", "client_id": "x", "client_secret": {"env": "S"}, "ca_file": value}
    else:
        data["lms"]["ca_file"] = value
    with pytest.raises(ConfigError) as err:
        parse_config(data, tmp_path / "ws" / "tui-sync.toml")
    assert words in str(err.value)
