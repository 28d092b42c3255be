"""Secrets: where a `Secret` points, read only when needed (DESIGN §2).

A secret comes from an environment variable, from a file readable by its owner
alone, or from the state folder's `secrets.toml` (mode 0600) that the UI writes.
No message, log line or repr here ever holds a secret's value.
"""
from __future__ import annotations

import os
import stat
import tempfile
import tomllib
from pathlib import Path

import tomli_w

from .config import Secret
from .errors import ConfigError
from .files import private_dir

SECRETS_FILE = "secrets.toml"


def reveal(secret: Secret, state_dir: Path) -> str:
    """The secret's value. `state_dir` holds the stored secrets (`Config.state`)."""
    if secret.env:
        value = os.environ.get(secret.env)
        if value is None:
            raise ConfigError(f"the environment variable {secret.env} is not set",
                              hint=f"set {secret.env} where tui-sync runs, or store the secret from the UI")
        if not value.strip():
            raise ConfigError(f"the environment variable {secret.env} is empty",
                              hint=f"set {secret.env} to the secret")
        return value
    if secret.file:
        value = _read_private(Path(secret.file), "secret file").rstrip("\r\n")
        if not value.strip():
            raise ConfigError("the secret file is empty", where=str(secret.file))
        return value
    if secret.stored:
        value = _stored(Path(state_dir)).get(secret.stored)
        if value is None:
            raise ConfigError(f"no secret is stored under the name {secret.stored!r}",
                              where=str(Path(state_dir) / SECRETS_FILE),
                              hint="store it from the UI, or point the setting at { env = … } or { file = … }")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"the stored secret {secret.stored!r} is not a non-empty string",
                              where=str(Path(state_dir) / SECRETS_FILE), hint="store it again from the UI")
        return value
    raise ConfigError("a secret must name an env, a file or a stored secret")


def store_secret(state_dir: Path, name: str, value: str) -> None:
    """Keep `value` under `name` in `<state_dir>/secrets.toml`, written atomically with mode 0600."""
    if not name or not name.strip():
        raise ConfigError("a stored secret needs a name")
    if not isinstance(value, str) or not value:
        raise ConfigError(f"the secret {name!r} is empty; nothing was stored")
    state_dir = Path(state_dir)
    private_dir(state_dir)
    target = state_dir / SECRETS_FILE
    # An existing file with a loose mode is still read here: rewriting it is what fixes the mode.
    secrets = _stored(state_dir, check_mode=False)
    secrets[name] = value
    fd, tmp = tempfile.mkstemp(prefix=".secrets-", suffix=".tmp", dir=state_dir)  # created 0600
    try:
        with os.fdopen(fd, "wb") as out:
            if hasattr(os, "fchmod"):  # mkstemp already made it 0600; a umask cannot widen that
                os.fchmod(out.fileno(), 0o600)
            tomli_w.dump(secrets, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stored(state_dir: Path, *, check_mode: bool = True) -> dict[str, object]:
    path = state_dir / SECRETS_FILE
    if not path.exists():
        return {}
    text = _read_private(path, "stored secrets file") if check_mode else _read(path, "stored secrets file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        # tomllib's message could quote part of a secret: say only that the file is damaged.
        raise ConfigError("the stored secrets file is not valid TOML", where=str(path),
                          hint="remove it and store the secrets again from the UI") from None


def _read_private(path: Path, what: str) -> str:
    """Read a file that only its owner may read (refused otherwise, on POSIX)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"the {what} does not exist", where=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"the {what} cannot be opened ({exc.strerror})", where=str(path)) from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"the {what} is not a regular file", where=str(path))
    if os.name == "posix" and mode & 0o077:
        raise ConfigError(
            f"the {what} can be read or changed by other users (mode {stat.S_IMODE(mode):04o}); "
            "a secret must be readable by its owner alone", where=str(path),
            hint=f"chmod 600 {path}",
        )
    return _read(path, what)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")  # (a BOM from Notepad is no part of a secret)
    except OSError as exc:
        raise ConfigError(f"the {what} cannot be read ({exc.strerror})", where=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(f"the {what} is not UTF-8 text", where=str(path)) from None
