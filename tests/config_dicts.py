"""The smallest valid `tui-sync.toml`, as text and as parsed TOML, and ways to change it and read
the error it gives: for the configuration tests."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tui_sync.config import parse_config
from tui_sync.errors import ConfigError

MINIMAL = """\
[lms]

[departments.source]
path = "org/departments.csv"

[departments.mapping]
code = "Code"
name = "Department"

[users.source]
path = "org/users.xlsx"

[users.mapping]
login = "Login"
email = "E-mail"
firstName = "First name"
lastName = "Last name"
departmentId = "Department code"
"""


def minimal() -> dict:
    return tomllib.loads(MINIMAL)


def error_of(data: dict, path: Path = Path("tui-sync.toml")) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(data, path)
    return info.value


def with_section(section: str, **values: object) -> dict:
    """MINIMAL with `values` merged into `section` (dotted, e.g. "users.source")."""
    data = minimal()
    table = data
    for part in section.split("."):
        table = table.setdefault(part, {})
    table.update(values)
    return data
