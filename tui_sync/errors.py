"""Errors that stop a command, each with the exit code DESIGN §2 gives it.

Row- and change-level trouble is never an exception: it is a `Problem` in the
plan (P2). These are for the cases where nothing can be planned at all.
"""
from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    ROW_ERRORS = 1  # done, but some rows or changes have errors or failed
    USAGE = 2  # bad usage or config, a mapped column missing from its sheet
    UNREADABLE = 3  # a source or the LMS could not be read, or a source is empty
    HELD = 4  # changes were held (P3 / [policy] review)


class SyncError(Exception):
    """An error an operator can act on: what happened, where, what to do."""

    exit_code: Exit = Exit.USAGE

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  → {self.hint}"
        return text


class ConfigError(SyncError):
    """The configuration is wrong. Names the file, the key, what was found and what is expected."""

    exit_code = Exit.USAGE


class UsageError(SyncError):
    exit_code = Exit.USAGE


class MappingError(SyncError):
    """A mapped column is missing from its sheet (exit 2, DESIGN §2)."""

    exit_code = Exit.USAGE


class SourceError(SyncError):
    """A source could not be read, or has no data rows (P2: nothing is planned)."""

    exit_code = Exit.UNREADABLE


class LMSError(SyncError):
    """The LMS could not be read or refused a request."""

    exit_code = Exit.UNREADABLE
