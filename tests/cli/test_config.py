"""`tui-sync.toml` (DESIGN §2): parsing, validation, messages, and secrets."""
from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tui_sync.config import PolicyConfig, Secret, Threshold, load_config, parse_config
from tui_sync.errors import ConfigError, Exit
from tui_sync.model import Kind
from tui_sync.secrets import SECRETS_FILE, reveal, store_secret

from config_dicts import MINIMAL, error_of, minimal, with_section

FULL = """\
state_dir = "state"

[lms]
kind = "ispring"
base_url = "https://api-learn.ispringlearn.eu/"
client_id = "abc-123"
client_secret = { env = "ISPRING_CLIENT_SECRET" }
requests_per_second = 2.5
timeout = 12

[departments.source]
kind = "url"
url = "https://hr.example.com/org.xlsx"
sheet = "Departments"
header_row = 2
encoding = "cp1251"
delimiter = "tab"
username = "hr"
password = { file = "secrets/hr-password" }
max_bytes = 5000000
timeout = 10
ca_file = "certs/hr-ca.pem"

[departments.mapping]
code = "Code"
name = "Department"
parentCode = "Parent code"
departmentUniqueKey = "Dept ID"

[users.source]
kind = "google_sheets"
url = "https://docs.google.com/spreadsheets/d/abc/edit#gid=0"
service_account = { stored = "google" }
delimiter = ";"

[users.mapping]
login = "Login"
email = "E-mail"
firstName = "First name"
lastName = "Last name"
departmentId = "Department code"
subordination = "Supervisor"
jobTitle = "Position"
grade = "Grade"
"Cost centre" = "CC"

[schedule]
times = ["07:00", "13:00", "19:30"]
timezone = "Europe/Berlin"

[policy]
review = ["delete_department"]
max_inactivations = "15%"
max_department_deletes = 3
max_row_drop = "12.5%"

[apply]
concurrency = 4

[notify]
command = "mail -s tui-sync ops@example.com"
webhook = "https://hooks.example.com/tui-sync"
always = true

[keys]
approve = "a"
reject = "ctrl+r"
"""


def write(folder: Path, text: str, name: str = "tui-sync.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- a valid configuration ---------------------------------------------------

def test_full_config_parses_every_section(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))

    assert config.path == tmp_path / "tui-sync.toml"
    assert config.state_dir == tmp_path / "state"
    assert config.state == tmp_path / "state"

    lms = config.lms
    assert lms.kind == "ispring"
    assert lms.base_url == "https://api-learn.ispringlearn.eu"
    assert lms.client_id == "abc-123"
    assert lms.client_secret == Secret(env="ISPRING_CLIENT_SECRET")
    assert lms.account_url is None and lms.login is None and lms.password is None
    assert lms.requests_per_second == 2.5
    assert lms.timeout == 12.0

    deps = config.departments.source
    assert deps.kind == "url"
    assert deps.url == "https://hr.example.com/org.xlsx"
    assert deps.options.sheet == "Departments"
    assert deps.options.header_row == 2
    assert deps.options.encoding == "cp1251"
    assert deps.options.delimiter == "\t"
    assert deps.username == "hr"
    assert deps.password == Secret(file=tmp_path / "secrets" / "hr-password")
    assert deps.max_bytes == 5_000_000
    assert deps.timeout == 10.0
    assert deps.ca_file == tmp_path / "certs" / "hr-ca.pem"
    assert deps.allow_insecure_http is False
    assert list(config.departments.mapping.items()) == [
        ("code", "Code"), ("name", "Department"), ("parentCode", "Parent code"),
        ("departmentUniqueKey", "Dept ID"),
    ]

    users = config.users.source
    assert users.kind == "google_sheets"
    assert users.url == "https://docs.google.com/spreadsheets/d/abc/edit#gid=0"
    assert users.service_account == Secret(stored="google")
    assert users.options.delimiter == ";"
    # Mapping order is the file's order, custom fields included.
    assert list(config.users.mapping) == [
        "login", "email", "firstName", "lastName", "departmentId", "subordination", "jobTitle",
        "grade", "Cost centre",
    ]
    assert config.users.mapping["Cost centre"] == "CC"

    assert config.schedule is not None
    assert config.schedule.times == ("07:00", "13:00", "19:30")
    assert config.schedule.timezone == "Europe/Berlin"

    assert config.policy.review == (Kind.DELETE_DEPARTMENT,)
    assert config.policy.max_inactivations == Threshold(15, True)
    assert config.policy.max_department_deletes == Threshold(3, False)
    assert config.policy.max_row_drop == Threshold(12.5, True)
    assert config.policy.max_inactivations.limit(200) == 30
    assert config.policy.max_department_deletes.limit(200) == 3

    assert config.apply.concurrency == 4
    assert config.notify.command == "mail -s tui-sync ops@example.com"
    assert config.notify.webhook == "https://hooks.example.com/tui-sync"
    assert config.notify.always is True
    assert config.keys == {"approve": "a", "reject": "ctrl+r"}


def test_raw_holds_the_parsed_toml_for_rewriting(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_config(path)
    assert config.raw == tomllib.loads(FULL)
    # The UI rewrites the file from `raw`; what comes back parses to the same config.
    path.write_text(tomli_w.dumps(config.raw), encoding="utf-8")
    assert load_config(path).users == config.users


def test_defaults_fill_every_optional_key(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))

    assert config.lms.kind == "local"
    assert config.lms.path == tmp_path / "lms.sqlite"
    source = config.departments.source
    assert source.kind == "file"
    assert source.options.sheet is None
    assert source.options.header_row == 1
    assert source.options.encoding == "auto"
    assert source.options.delimiter == "auto"
    assert source.max_bytes == 2 * 1024**3  # a local file's limit (DESIGN §2); a download's is 100 MB
    assert source.timeout == 30.0
    assert config.schedule is None
    assert config.policy == PolicyConfig()
    assert config.policy.review == (Kind.INACTIVATE_USER, Kind.DELETE_DEPARTMENT)
    assert config.policy.max_inactivations == Threshold(10, True)
    assert config.policy.max_department_deletes == Threshold(10, True)
    assert config.policy.max_row_drop == Threshold(20, True)
    assert config.apply.concurrency == 8
    assert config.notify.command is None and config.notify.webhook is None
    assert config.notify.always is False
    assert config.keys == {}
    assert config.state_dir == tmp_path / ".tui-sync"
    assert config.state == tmp_path / ".tui-sync"


def test_relative_paths_are_resolved_against_the_config_folder(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "configs" / "acme"
    write(folder, MINIMAL)
    monkeypatch.chdir(tmp_path)  # relative to the config's folder, not the working one
    config = load_config(Path("configs/acme/tui-sync.toml"))

    assert config.path == folder / "tui-sync.toml"
    assert config.lms.path == folder / "lms.sqlite"
    assert config.departments.source.path == folder / "org" / "departments.csv"
    assert config.users.source.path == folder / "org" / "users.xlsx"
    assert config.state == folder / ".tui-sync"


def test_state_dir_and_absolute_paths(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "users.csv"
    data = with_section("users.source", path=str(elsewhere))
    data["state_dir"] = "../state"
    data["lms"]["path"] = "db/lms.sqlite"
    config = parse_config(data, tmp_path / "cfg" / "tui-sync.toml")
    assert config.users.source.path == elsewhere
    assert config.lms.path == tmp_path / "cfg" / "db" / "lms.sqlite"
    assert config.state == tmp_path / "cfg" / ".." / "state"


def test_legacy_ispring_credentials() -> None:
    data = minimal()
    data["lms"] = {"kind": "ispring", "account_url": "https://myco.ispringlearn.com", "login": "admin",
                   "password": {"env": "ISPRING_PASSWORD"}}
    lms = parse_config(data, Path("tui-sync.toml")).lms
    assert lms.base_url == "https://api-learn.ispringlearn.com"
    assert lms.account_url == "https://myco.ispringlearn.com"
    assert lms.login == "admin"
    assert lms.password == Secret(env="ISPRING_PASSWORD")
    assert lms.client_id is None and lms.client_secret is None
    assert lms.path is None


def test_ispring_base_url_may_be_plain_http_only_on_this_machine() -> None:
    data = minimal()
    data["lms"] = {"kind": "ispring", "base_url": "http://127.0.0.1:8123", "client_id": "x",
                   "client_secret": {"stored": "ispring"}}
    assert parse_config(data, Path("c.toml")).lms.base_url == "http://127.0.0.1:8123"
    data["lms"]["base_url"] = "http://lms.example.com"
    assert "https://" in str(error_of(data))


def test_url_source_may_use_http_when_allowed() -> None:
    data = with_section("users.source", kind="url", url="http://intranet/users.csv", allow_insecure_http=True)
    data["users"]["source"].pop("path")
    source = parse_config(data, Path("c.toml")).users.source
    assert source.url == "http://intranet/users.csv"
    assert source.allow_insecure_http is True


def test_schedule_times_are_normalised_and_toml_times_accepted() -> None:
    data = with_section("schedule", times=["7:05"])
    assert parse_config(data, Path("c.toml")).schedule.times == ("07:05",)
    data = tomllib.loads(MINIMAL + "[schedule]\ntimes = [06:30:00, 18:00:00]\ntimezone = \"UTC\"\n")
    schedule = parse_config(data, Path("c.toml")).schedule
    assert schedule.times == ("06:30", "18:00")
    assert schedule.timezone == "UTC"


def test_delimiters_and_encodings_accepted() -> None:
    for given, stored in ((",", ","), (";", ";"), ("\t", "\t"), ("tab", "\t"), ("TAB", "\t"), ("|", "|"),
                          ("auto", "auto")):
        data = with_section("users.source", delimiter=given)
        assert parse_config(data, Path("c.toml")).users.source.options.delimiter == stored
    for encoding in ("utf-8", "utf-8-sig", "cp1251", "latin-1", "UTF-16"):
        data = with_section("users.source", encoding=encoding)
        assert parse_config(data, Path("c.toml")).users.source.options.encoding == encoding


def test_review_may_be_empty_and_duplicates_collapse() -> None:
    assert parse_config(with_section("policy", review=[]), Path("c")).policy.review == ()
    data = with_section("policy", review=["create_user", "create_user"])
    assert parse_config(data, Path("c")).policy.review == (Kind.CREATE_USER,)


def test_config_error_exit_code_is_2() -> None:
    assert ConfigError("x").exit_code == Exit.USAGE == 2


# -- errors: each names the file, the key, what was found and what is expected --

def test_wrong_type_names_file_key_found_and_expected() -> None:
    err = error_of(with_section("apply", concurrency="eight"))
    assert str(err) == ('tui-sync.toml: [apply] concurrency: found "eight" (a string), '
                        "expected a whole number from 1 to 64")


@pytest.mark.parametrize("value", [0, 65, True, 2.5])
def test_concurrency_out_of_range(value: object) -> None:
    assert "expected a whole number from 1 to 64" in str(error_of(with_section("apply", concurrency=value)))


def test_error_names_the_file_as_given(tmp_path: Path) -> None:
    path = write(tmp_path / "x", MINIMAL + "[apply]\nconcurrency = 100\n", "prod.toml")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: [apply] concurrency: found 100 (a whole number)")


@pytest.mark.parametrize(("section", "key", "suggestion"), [
    ("apply", "concurency", "concurrency"),
    ("policy", "max_inactivation", "max_inactivations"),
    ("schedule", "time", "times"),
    ("notify", "webhok", "webhook"),
    ("lms", "pth", "path"),
    ("users.source", "encodng", "encoding"),
])
def test_unknown_key_is_named_with_the_closest_valid_key(section: str, key: str, suggestion: str) -> None:
    err = error_of(with_section(section, **{key: "x"}))
    assert err.where == f"tui-sync.toml: [{section}] {key}"
    assert err.message == f'unknown key (did you mean "{suggestion}"?)'


def test_unknown_top_level_key() -> None:
    data = minimal()
    data["sechdule"] = {"times": ["07:00"]}
    err = error_of(data)
    assert err.where == "tui-sync.toml: sechdule"
    assert 'did you mean "schedule"' in err.message


def test_unknown_key_without_a_close_match_lists_the_valid_ones() -> None:
    err = error_of(with_section("apply", zzz=1))
    assert err.message == "unknown key"
    assert err.hint == "[apply] takes: concurrency"


def test_key_of_another_source_kind_is_refused() -> None:
    err = error_of(with_section("users.source", url="https://x.example.com/u.csv"))
    assert err.where == "tui-sync.toml: [users.source] url"
    assert 'kind = "file" does not use it' in err.message
    err = error_of(with_section("users.source", username="hr"))
    assert err.where == "tui-sync.toml: [users.source] username"
    assert 'only kind = "url"' in err.message
    err = error_of(with_section("users.source", kind="url", url="https://x.example.com/u.csv", path="u.csv"))
    assert err.where == "tui-sync.toml: [users.source] path"


def test_key_of_another_lms_kind_is_refused() -> None:
    err = error_of(with_section("lms", client_id="abc"))
    assert err.where == "tui-sync.toml: [lms] client_id"
    assert 'kind = "local" does not use it' in err.message


def test_source_settings_directly_under_the_entity_are_pointed_to_source() -> None:
    data = minimal()
    data["users"]["path"] = "users.csv"
    err = error_of(data)
    assert err.where == "tui-sync.toml: [users] path"
    assert "[users.source]" in err.message


def test_unknown_source_kind() -> None:
    err = error_of(with_section("users.source", kind="google_sheet"))
    assert 'found "google_sheet" (a string), expected one of "file", "url", "google_sheets"' in err.message
    assert err.hint == 'did you mean "google_sheets"?'


@pytest.mark.parametrize(("section", "key"), [
    ("users.source", "password"),
    ("lms", "client_secret"),
])
def test_plain_text_secret_is_refused_without_echoing_it(section: str, key: str) -> None:
    data = with_section(section, **{key: "hunter2-very-secret"})
    if section == "users.source":
        data["users"]["source"] |= {"kind": "url", "url": "https://x.example.com/u.csv", "username": "hr"}
        data["users"]["source"].pop("path")
    else:
        data["lms"] |= {"kind": "ispring", "client_id": "abc"}
    err = error_of(data)
    assert err.where == f"tui-sync.toml: [{section}] {key}"
    assert "secrets never sit in the TOML as plain text" in err.message
    assert '{ env = "VARIABLE" }' in err.hint and "{ file = " in err.hint and "from the UI" in err.hint
    assert "hunter2" not in str(err) and "hunter2" not in repr(err)


def test_plain_text_service_account_is_refused() -> None:
    data = with_section("users.source", kind="google_sheets", url="https://docs.google.com/spreadsheets/d/x",
                        service_account='{"private_key": "-----BEGIN"}')
    data["users"]["source"].pop("path")
    err = error_of(data)
    assert "plain text" in err.message
    assert "BEGIN" not in str(err)


def test_secret_tables_are_checked_without_showing_values() -> None:
    data = with_section("lms", kind="ispring", client_id="abc", client_secret={"value": "hunter2"})
    err = error_of(data)
    assert err.where == "tui-sync.toml: [lms] client_secret.value"
    assert err.message == "unknown key"
    assert "hunter2" not in str(err)

    data["lms"]["client_secret"] = {"env": 123456}
    err = error_of(data)
    assert "found a whole number" in err.message and "123456" not in str(err)

    data["lms"]["client_secret"] = {"env": "A", "file": "b"}
    assert "exactly one" in error_of(data).message

    data["lms"]["client_secret"] = 123456
    err = error_of(data)
    assert "123456" not in str(err) and "a secret" in err.message


def test_credentials_inside_a_url_are_refused_without_echoing_them() -> None:
    data = with_section("users.source", kind="url", url="https://hr:hunter2@x.example.com/u.csv")
    data["users"]["source"].pop("path")
    err = error_of(data)
    assert "plain text" in err.message
    assert "hunter2" not in str(err)


def test_ispring_needs_one_style_of_credentials() -> None:
    err = error_of(with_section("lms", kind="ispring"))
    assert err.where == "tui-sync.toml: [lms]"
    assert "needs credentials" in err.message and "client_id" in err.hint and "account_url" in err.hint

    err = error_of(with_section("lms", kind="ispring", client_id="a", login="admin"))
    assert "mixes two styles" in err.message

    err = error_of(with_section("lms", kind="ispring", client_id="a"))
    assert err.where == "tui-sync.toml: [lms] client_secret"
    assert err.message.startswith("missing")


@pytest.mark.parametrize("value", [0, -1, "fast", float("inf")])
def test_requests_per_second_must_be_positive(value: object) -> None:
    data = with_section("lms", kind="ispring", client_id="a", client_secret={"env": "S"},
                        requests_per_second=value)
    assert "expected a positive number" in error_of(data).message


def test_missing_required_mapping_names_the_fields() -> None:
    data = minimal()
    del data["users"]["mapping"]["email"]
    del data["users"]["mapping"]["lastName"]
    err = error_of(data)
    assert err.where == "tui-sync.toml: [users.mapping]"
    assert err.message == "missing required fields: email, lastName"

    data = minimal()
    del data["departments"]["mapping"]["name"]
    err = error_of(data)
    assert err.where == "tui-sync.toml: [departments.mapping]"
    assert err.message == "missing required field: name"


def test_misspelt_required_field_is_suggested() -> None:
    data = minimal()
    mapping = data["users"]["mapping"]
    mapping["emial"] = mapping.pop("email")
    err = error_of(data)
    assert "email" in err.message
    assert "is emial meant to be email?" in err.hint


def test_field_name_differing_only_in_case_is_refused() -> None:
    err = error_of(with_section("users.mapping", jobtitle="Position"))
    assert err.where == "tui-sync.toml: [users.mapping] jobtitle"
    assert "jobTitle" in err.message


def test_departments_have_no_custom_fields() -> None:
    err = error_of(with_section("departments.mapping", manager="Manager"))
    assert err.where == "tui-sync.toml: [departments.mapping] manager"
    assert err.message == "unknown key"
    assert err.hint == "departments have no custom fields"


def test_two_fields_mapped_to_one_column_is_refused() -> None:
    err = error_of(with_section("users.mapping", jobTitle="Login"))
    assert err.where == "tui-sync.toml: [users.mapping] jobTitle"
    assert err.message == 'column "Login" is already mapped to login'


@pytest.mark.parametrize("value", ["", "   ", 5])
def test_mapping_values_must_be_non_empty_strings(value: object) -> None:
    err = error_of(with_section("users.mapping", phone=value))
    assert err.where == "tui-sync.toml: [users.mapping] phone"
    assert "expected a non-empty string" in err.message


def test_missing_sections() -> None:
    data = minimal()
    del data["users"]
    err = error_of(data)
    assert err.where == "tui-sync.toml: [users]"
    assert err.message == "this section is missing"

    data = minimal()
    del data["departments"]["mapping"]
    assert error_of(data).where == "tui-sync.toml: [departments.mapping]"

    data = minimal()
    del data["lms"]
    assert error_of(data).where == "tui-sync.toml: [lms]"


def test_section_of_the_wrong_type() -> None:
    data = minimal()
    data["apply"] = "fast"
    err = error_of(data)
    assert err.where == "tui-sync.toml: apply"
    assert err.message == 'found "fast" (a string), expected a table, [apply]'


def test_file_source_needs_a_path() -> None:
    data = minimal()
    del data["users"]["source"]["path"]
    err = error_of(data)
    assert err.where == "tui-sync.toml: [users.source] path"
    assert err.message.startswith("missing")


@pytest.mark.parametrize("time", ["24:00", "07:60", "7am", "0700", 700])
def test_bad_schedule_time(time: object) -> None:
    err = error_of(with_section("schedule", times=[time]))
    assert err.where == "tui-sync.toml: [schedule] times"
    assert 'expected a time of day from "00:00" to "23:59"' in err.message


def test_a_fourth_time_is_refused() -> None:
    err = error_of(with_section("schedule", times=["01:00", "07:00", "13:00", "19:00"]))
    assert err.where == "tui-sync.toml: [schedule] times"
    assert "at most three" in err.message


def test_duplicate_times_are_refused() -> None:
    err = error_of(with_section("schedule", times=["07:00", "7:00"]))
    assert err.message == '"07:00" is listed twice'


def test_times_must_be_a_list() -> None:
    err = error_of(with_section("schedule", times="07:00"))
    assert err.message.startswith('found "07:00" (a string), expected a list')


def test_unknown_time_zone() -> None:
    err = error_of(with_section("schedule", times=["07:00"], timezone="Europe/Berln"))
    assert err.where == "tui-sync.toml: [schedule] timezone"
    assert 'found "Europe/Berln" (a string), expected an IANA time zone name' in err.message
    assert err.hint == 'did you mean "Europe/Berlin"?'
    assert "IANA" in str(error_of(with_section("schedule", timezone="../../etc/passwd")))


@pytest.mark.parametrize("value", ["ten", "10", "150%", -1, "-5%", True, float("nan")])
def test_bad_threshold(value: object) -> None:
    err = error_of(with_section("policy", max_inactivations=value))
    assert err.where == "tui-sync.toml: [policy] max_inactivations"
    assert 'expected a share like "10%" (0% to 100%) or a count like 5' in err.message


def test_unknown_review_kind_lists_valid_kinds() -> None:
    err = error_of(with_section("policy", review=["inactivate_users"]))
    assert err.where == "tui-sync.toml: [policy] review"
    for kind in Kind:
        assert kind.value in err.message
    assert err.hint == "did you mean inactivate_user?"


@pytest.mark.parametrize("encoding", ["utf-9", "base64", "", 8])
def test_bad_encoding(encoding: object) -> None:
    err = error_of(with_section("users.source", encoding=encoding))
    assert err.where == "tui-sync.toml: [users.source] encoding"
    assert 'expected "auto" or a text encoding Python knows' in err.message


@pytest.mark.parametrize("delimiter", [":", "tabs", ",;"])
def test_bad_delimiter(delimiter: str) -> None:
    err = error_of(with_section("users.source", delimiter=delimiter))
    assert err.where == "tui-sync.toml: [users.source] delimiter"


@pytest.mark.parametrize("header_row", [0, -2, "1"])
def test_bad_header_row(header_row: object) -> None:
    assert "at least 1" in error_of(with_section("users.source", header_row=header_row)).message


def test_http_url_source_without_allow_insecure_http_is_refused() -> None:
    data = with_section("users.source", kind="url", url="http://intranet.example.com/users.csv")
    data["users"]["source"].pop("path")
    err = error_of(data)
    assert err.where == "tui-sync.toml: [users.source] url"
    assert 'found "http://intranet.example.com/users.csv" (a string), expected an https:// address' in err.message
    assert "allow_insecure_http = true" in err.hint


def test_url_source_refuses_other_schemes_and_half_credentials() -> None:
    data = with_section("users.source", kind="url", url="ftp://x.example.com/u.csv")
    data["users"]["source"].pop("path")
    assert "expected an https:// address" in error_of(data).message
    data["users"]["source"] |= {"url": "https://x.example.com/u.csv", "username": "hr"}
    err = error_of(data)
    assert err.where == "tui-sync.toml: [users.source] password"
    data["users"]["source"]["max_bytes"] = 0
    data["users"]["source"]["password"] = {"env": "P"}
    assert error_of(data).where == "tui-sync.toml: [users.source] max_bytes"


def test_a_file_source_takes_max_bytes_and_refuses_a_value_below_one() -> None:
    config = parse_config(with_section("users.source", max_bytes=3_000_000_000), Path("tui-sync.toml"))
    assert config.users.source.max_bytes == 3_000_000_000
    err = error_of(with_section("users.source", max_bytes=0))
    assert err.where == "tui-sync.toml: [users.source] max_bytes"


def test_google_sheets_needs_url_and_service_account() -> None:
    data = with_section("users.source", kind="google_sheets", url="https://docs.google.com/spreadsheets/d/x")
    data["users"]["source"].pop("path")
    err = error_of(data)
    assert err.where == "tui-sync.toml: [users.source] service_account"
    data["users"]["source"]["username"] = "hr"
    assert 'kind = "google_sheets" does not use it' in error_of(data).message


@pytest.mark.parametrize(("webhook", "ok"), [
    ("https://hooks.example.com/x", True),
    ("http://localhost:9000/hook", True),
    ("http://127.0.0.1/hook", True),
    ("http://hooks.example.com/x", False),
    ("hooks.example.com", False),
])
def test_webhook_must_be_https_or_local(webhook: str, ok: bool) -> None:
    data = with_section("notify", webhook=webhook)
    if ok:
        assert parse_config(data, Path("c")).notify.webhook == webhook
    else:
        err = error_of(data)
        assert err.where == "tui-sync.toml: [notify] webhook"
        assert "expected an https:// address" in err.message


def test_notify_always_must_be_a_boolean() -> None:
    err = error_of(with_section("notify", always="yes"))
    assert err.message == 'found "yes" (a string), expected true or false'


def test_keys_must_be_strings() -> None:
    err = error_of(with_section("keys", approve=1))
    assert err.where == "tui-sync.toml: [keys] approve"
    assert err.message == "found 1 (a whole number), expected a non-empty string"


def test_toml_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "[lms]\nkind = \"local\"\npath = lms.sqlite\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.where == f"{path}, line 3, column 8"
    assert info.value.message.startswith("not valid TOML: invalid value")


def test_toml_syntax_error_at_end_of_document(tmp_path: Path) -> None:
    path = write(tmp_path, '[lms]\npath = "unterminated\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.where.startswith(f"{path}, line ")
    assert "not valid TOML" in info.value.message


def test_missing_file_points_to_the_wizard(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.where == str(path)
    assert "missing" in err.message
    assert "tui-sync" in err.hint and "--config" in err.hint
    assert err.exit_code == Exit.USAGE


def test_folder_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder"):
        load_config(tmp_path)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "tui-sync.toml"
    path.write_bytes("[lms]\n# Отдел\n".encode("cp1251"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path)


# -- secrets -----------------------------------------------------------------

SECRET = "s3cr3t-Value-42"


def test_reveal_env(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TUI_SYNC_TEST_SECRET", SECRET)
    assert reveal(Secret(env="TUI_SYNC_TEST_SECRET"), tmp_path) == SECRET


def test_reveal_env_not_set(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TUI_SYNC_TEST_SECRET", raising=False)
    with pytest.raises(ConfigError) as info:
        reveal(Secret(env="TUI_SYNC_TEST_SECRET"), tmp_path)
    assert "TUI_SYNC_TEST_SECRET is not set" in str(info.value)


def private_file(path: Path, text: str, mode: int) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_reveal_file_readable_by_owner_alone(tmp_path: Path) -> None:
    path = private_file(tmp_path / "pw", SECRET + "\n", 0o600)
    assert reveal(Secret(file=path), tmp_path) == SECRET
    path.chmod(0o400)
    assert reveal(Secret(file=path), tmp_path) == SECRET


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_reveal_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = private_file(tmp_path / "pw", SECRET, mode)
    with pytest.raises(ConfigError) as info:
        reveal(Secret(file=path), tmp_path)
    text = str(info.value)
    assert f"chmod 600 {path}" in text
    assert f"{mode:04o}" in text
    assert SECRET not in text and SECRET not in repr(info.value)


def test_reveal_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        reveal(Secret(file=tmp_path / "nope"), tmp_path)


def test_secret_file_from_config_is_resolved_and_revealed(tmp_path: Path) -> None:
    private_file(tmp_path / "hr-password", SECRET, 0o600)
    data = with_section("users.source", kind="url", url="https://x.example.com/u.csv", username="hr",
                        password={"file": "hr-password"})
    data["users"]["source"].pop("path")
    config = parse_config(data, tmp_path / "tui-sync.toml")
    assert config.users.source.password == Secret(file=tmp_path / "hr-password")
    assert reveal(config.users.source.password, config.state) == SECRET
    assert SECRET not in repr(config)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_stored_secret_roundtrip_with_mode_0600(tmp_path: Path) -> None:
    state = tmp_path / "deep" / ".tui-sync"
    store_secret(state, "google", SECRET)
    store_secret(state, "hr", "other")
    path = state / SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert reveal(Secret(stored="google"), state) == SECRET
    assert reveal(Secret(stored="hr"), state) == "other"
    store_secret(state, "google", "rotated")
    assert reveal(Secret(stored="google"), state) == "rotated"
    assert reveal(Secret(stored="hr"), state) == "other"
    assert [p.name for p in state.iterdir()] == [SECRETS_FILE]  # no temporary file left behind


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_store_secret_keeps_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store_secret(tmp_path, "x", SECRET)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / SECRETS_FILE).stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_stored_secrets_readable_by_others_are_refused(tmp_path: Path) -> None:
    store_secret(tmp_path, "google", SECRET)
    (tmp_path / SECRETS_FILE).chmod(0o644)
    with pytest.raises(ConfigError) as info:
        reveal(Secret(stored="google"), tmp_path)
    assert f"chmod 600 {tmp_path / SECRETS_FILE}" in str(info.value)
    assert SECRET not in str(info.value)
    # Storing again rewrites the file with the right mode.
    store_secret(tmp_path, "other", "x")
    assert stat.S_IMODE((tmp_path / SECRETS_FILE).stat().st_mode) == 0o600
    assert reveal(Secret(stored="google"), tmp_path) == SECRET


def test_unknown_stored_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        reveal(Secret(stored="google"), tmp_path)
    assert "no secret is stored under the name 'google'" in info.value.message
    assert "from the UI" in info.value.hint


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_damaged_stored_secrets_file_does_not_echo_its_content(tmp_path: Path) -> None:
    private_file(tmp_path / SECRETS_FILE, f'google = "{SECRET}\nhr = {SECRET}\n', 0o600)
    with pytest.raises(ConfigError) as info:
        reveal(Secret(stored="google"), tmp_path)
    assert "not valid TOML" in str(info.value)
    assert SECRET not in str(info.value)
    with pytest.raises(ConfigError):  # and it is not overwritten, which would lose other secrets
        store_secret(tmp_path, "x", "y")


def test_store_secret_refuses_empty_values_without_naming_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        store_secret(tmp_path, "google", "")
    assert not (tmp_path / SECRETS_FILE).exists()


def test_secret_repr_never_holds_a_value() -> None:
    secret = Secret(env="ISPRING_CLIENT_SECRET")
    assert repr(secret) == "Secret(env='ISPRING_CLIENT_SECRET', file=None, stored=None)"
    assert secret.describe() == "environment variable ISPRING_CLIENT_SECRET"


@pytest.mark.parametrize("url", ["https://files.example.com:99999/u.csv", "https://files.example.com:x/u.csv",
                                 "https://hr:S3CRET/u.csv"])
def test_an_address_with_an_impossible_port_is_a_config_error_not_a_crash(url: str) -> None:
    data = with_section("users.source", kind="url", url=url)
    data["users"]["source"].pop("path")
    err = error_of(data)
    assert err.where == "tui-sync.toml: [users.source] url"
    assert "port is not a number from 1 to 65535" in err.message
    assert "S3CRET" not in err.message + (err.hint or "")
    hook = error_of(with_section("notify", webhook="https://hooks.example.com:70000/services/T0/B0"))
    assert hook.where == "tui-sync.toml: [notify] webhook"


@pytest.mark.parametrize("url", ["docs.google.com/spreadsheets/d/S3CRETID/export?format=csv&resourcekey=S3CRETRK",
                                 "https//files.example.com/S3CRETPATH/u.csv?token=S3CRETTOK",
                                 "ftp://files.example.com/hr/S3CRETPATH/u.csv?token=S3CRETTOK"])
def test_an_address_refused_for_its_scheme_is_shown_redacted(url: str) -> None:
    data = with_section("users.source", kind="url", url=url)
    data["users"]["source"].pop("path")
    err = error_of(data)
    assert "expected an https:// address" in err.message
    assert "S3CRET" not in err.message + (err.hint or "")


def test_a_config_saved_as_utf8_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "tui-sync.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.replace("\n", "\r\n").encode())
    assert load_config(path).users.mapping["login"] == "Login"


@pytest.mark.parametrize(("data", "says"), [
    (MINIMAL.replace('"Department"', '"Abteilung für"').encode("cp1252"),
     "the file is not UTF-8 text (line 8, byte "),
    (MINIMAL.encode("utf-16"), 'the file is saved as UTF-16 ("Unicode"), not UTF-8 text'),
], ids=["cp1252", "utf-16"])
def test_a_config_in_another_encoding_names_it_and_where(tmp_path: Path, data: bytes, says: str) -> None:
    path = tmp_path / "tui-sync.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.message.startswith(says) and info.value.hint == "save it as UTF-8"


def test_a_secret_file_saved_by_notepad_with_a_bom_and_crlf_gives_the_secret_alone(tmp_path: Path) -> None:
    path = private_file(tmp_path / "pw", "\ufeff" + SECRET + "\r\n", 0o600)
    assert reveal(Secret(file=path), tmp_path) == SECRET


def test_a_config_path_that_never_ends_is_refused_not_read_into_memory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(Path("/dev/zero"))
    assert info.value.message == "the file is larger than 1 MiB: not a tui-sync configuration"
