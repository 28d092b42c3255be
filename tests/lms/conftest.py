"""Fixtures for the LMS tests: the iSpring emulator."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from ispring_emulator import ISpringEmulator


@pytest.fixture
def emu() -> Iterator[ISpringEmulator]:
    """An iSpring Learn account on loopback with a required custom field (Grade) and an optional one (Site)."""
    with ISpringEmulator(custom_fields=({"name": "Grade", "isRequired": 1}, {"name": "Site"})) as e:
        yield e
