"""Writing `tui-sync.toml` back (the UI's mapping editor and setup wizard).

The file is rebuilt from the parsed TOML (`Config.raw`) with tomli-w, so every
other setting is kept; comments are not (tomli-w cannot keep them), so the
previous file is kept beside it as `<name>.bak`. Nothing invalid is written:
the new settings are parsed first, which also refuses plain-text secrets.
"""
from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import tomli_w

from .config import Config, LmsConfig, SourceConfig, _Context, _lms, _source, _Table, load_config, parse_config
from .errors import ConfigError


def dumps(raw: dict[str, Any]) -> str:
    return tomli_w.dumps(_ordered(raw))


def save_config(path: Path, raw: dict[str, Any]) -> Config:
    """Validate `raw` as a whole config, then write it to `path` atomically (the old file kept as .bak)."""
    path = Path(path)
    parse_config(raw, path)  # raises ConfigError naming the key: nothing is written
    text = dumps(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        old = path.read_bytes()
        if old != text.encode("utf-8"):
            path.with_name(path.name + ".bak").write_bytes(old)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return load_config(path)


def with_mapping(raw: dict[str, Any], entity: str, mapping: dict[str, str]) -> dict[str, Any]:
    """A copy of `raw` whose `[<entity>.mapping]` is `mapping` (entity: "departments" or "users")."""
    if entity not in ("departments", "users"):
        raise ConfigError(f"there is no [{entity}] section to map")
    out = copy.deepcopy(raw)
    section = out.setdefault(entity, {})
    section["mapping"] = dict(mapping)
    if isinstance(section.get("fields"), dict):  # C3: a policy goes with its field's mapping
        section["fields"] = {f: p for f, p in section["fields"].items() if f in mapping}
        if not section["fields"]:
            del section["fields"]
    return out


def with_fields(raw: dict[str, Any], entity: str, policies: dict[str, Any]) -> dict[str, Any]:
    """A copy of `raw` whose `[<entity>.fields]` holds `policies` (LMS field -> FieldPolicy);
    default policies are left out, and an empty table with them (C3)."""
    if entity not in ("departments", "users"):
        raise ConfigError(f"there is no [{entity}] section")
    out = copy.deepcopy(raw)
    table = {f: p.to_toml() for f, p in policies.items() if not p.default}
    section = out.setdefault(entity, {})
    if table:
        section["fields"] = table
    else:
        section.pop("fields", None)
    return out


def check_source(raw_source: dict[str, Any], config_path: Path, entity: str) -> SourceConfig:
    """Validate one `[<entity>.source]` table on its own (the wizard checks a step at a time)."""
    return _source(_Table(raw_source, _context(config_path), f"{entity}.source"))


def check_lms(raw_lms: dict[str, Any], config_path: Path) -> LmsConfig:
    return _lms(_Table(raw_lms, _context(config_path), "lms"))


def _context(config_path: Path) -> _Context:
    return _Context(str(config_path), Path(config_path).absolute().parent)


_ORDER = ("lms", "departments", "users", "protect", "schedule", "policy", "apply", "notify", "keys")
_ENTITY_ORDER = ("source", "mapping", "scope", "fields")


def _ordered(raw: dict[str, Any]) -> dict[str, Any]:
    """Sections in the order DESIGN §2 shows them (top-level keys first, as TOML needs)."""
    plain = {k: v for k, v in raw.items() if not isinstance(v, dict)}
    tables = {k: raw[k] for k in _ORDER if isinstance(raw.get(k), dict)}
    rest = {k: v for k, v in raw.items() if isinstance(v, dict) and k not in tables}
    out = {**plain, **tables, **rest}
    for name in ("departments", "users"):
        sec = out.get(name)
        if isinstance(sec, dict):
            out[name] = {**{k: sec[k] for k in _ENTITY_ORDER if k in sec},
                         **{k: v for k, v in sec.items() if k not in _ENTITY_ORDER}}
    return out
