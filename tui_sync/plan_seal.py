"""A saved plan's binding and digest (A4): a plan acts only on what it names.

A plan written for applying carries `binding` (the configuration folder, the LMS and
the id of the key it was sealed with) and `digest`, an HMAC-SHA256 keyed by the state
folder's plan key (`state/plan_key.py`) over everything in the plan but its `decision`
values. The digest is computed over the parsed content in a canonical form (sorted keys,
no spacing), so re-saving the JSON with other spacing, key order, line ends or a BOM keeps
it valid; any other edit, or a plan from another folder or LMS, is refused.

Canonical form: each top-level key but `digest`, in sorted order, contributes
`name:sha256(canonical JSON of its value)`, where canonical JSON has sorted object keys and
no spacing. Changes and problems, the bulk of a large plan, are taken as orjson writes the
`Change` and `Problem` values that a reader builds from them (fields in declared order, nested
objects sorted), with every `decision` value blanked: the writer hashes the very bytes it
writes, a chunk at a time, and a reader re-serialises what it parsed.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson

from .beside import Beside
from .errors import UsageError

DIGEST_PREFIX = "hmac-sha256:"
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
PLAN_AFRESH = ("plan afresh with `tui-sync plan --out plan.json`, review it, then "
               "`tui-sync apply --plan plan.json` (only `decision` values may be edited)")


@dataclass(frozen=True)
class Seal:
    """What binds plans to one configuration: the state folder's key and where the plan is for."""

    key: bytes
    folder: str  # the configuration folder, resolved
    lms: str  # a fingerprint of the LMS the configuration names (no secrets in it)

    @property
    def key_id(self) -> str:
        """Names the key without revealing it: tells a plan sealed with a replaced key apart."""
        return hashlib.sha256(b"tui-sync plan key id\0" + self.key).hexdigest()[:16]

    def binding(self) -> dict[str, str]:
        return {"folder": self.folder, "lms": self.lms, "key": self.key_id}


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=_SORTED)


# In orjson's output a key's opening quote is never escaped while every quote inside a string is:
# `,"decision":"approved",` can only be a change's own decision.
_DECISIONS = tuple(b',"decision":"%s",' % d.encode() for d in ("pending", "approved", "rejected"))
_BLANK = b',"decision":"",'
LISTED = ("changes", "problems")  # the parts fed as serialised values, a chunk at a time


class Digest:
    """Feeds the canonical form. `listed` takes `canonical(list of Change or Problem values)`."""

    def __init__(self) -> None:
        self.parts: dict[str, str] = {}
        self._lists = {name: hashlib.sha256() for name in LISTED}
        self._hashing: Beside[None] | None = None  # the last chunk, being hashed (`listed`)

    def part(self, name: str, value: Any) -> None:
        """A small part, as parsed JSON (or values that serialise the same)."""
        self.parts[name] = hashlib.sha256(canonical(value)).hexdigest()

    def listed(self, name: str, chunk: bytes) -> None:
        """A chunk of changes or problems as `canonical` wrote it: `a,b,` whatever the chunking."""
        if len(chunk) > 2:
            if name == "changes":
                for decision in _DECISIONS:  # (split and joined: faster than `bytes.replace` over a chunk)
                    chunk = _BLANK.join(chunk.split(decision))
            # hashed on a thread (hashlib lets go of the GIL) while the writer serialises the next chunk;
            # one chunk at a time, in order
            self._settle()
            self._hashing = Beside(_feed, self._lists[name], chunk)

    def _settle(self) -> None:
        if self._hashing is not None:
            self._hashing.result()
            self._hashing = None

    def mac(self, key: bytes) -> str:
        self._settle()
        parts = {**self.parts, **{name: h.hexdigest() for name, h in self._lists.items()}}
        text = "\n".join(f"{name}:{parts[name]}" for name in sorted(parts)).encode()
        return DIGEST_PREFIX + hmac.new(key, text, hashlib.sha256).hexdigest()


def _feed(h: Any, chunk: bytes) -> None:
    h.update(memoryview(chunk)[1:-1])  # (the same bytes as `chunk[1:-1] + b","`, without copying them)
    h.update(b",")


def refuse(why: str, where: str) -> UsageError:
    return UsageError(f"this plan cannot be applied here: {why}", where=where, hint=PLAN_AFRESH)


def verify(data: dict[str, Any], listed: dict[str, list[Any]], seal: Seal, where: str, chunk: int) -> None:
    """Refuse a plan (UsageError, exit 2) unless it is bound to `seal` and unchanged but for decisions.

    `data` is the parsed plan; `listed` holds the `Change` and `Problem` values built from it."""
    binding, digest = data.get("binding"), data.get("digest")
    if not isinstance(binding, dict) or not isinstance(digest, str):
        raise refuse("it carries no binding to a configuration (it was written by an older tui-sync, "
                     "or by hand)", where)
    if binding.get("folder") != seal.folder:
        raise refuse(f"it was made for the configuration in {binding.get('folder')!r}, "
                     f"not for this one in {seal.folder!r}", where)
    if binding.get("lms") != seal.lms:
        raise refuse("it was made for another LMS than the one this configuration's [lms] names now", where)
    if not seal.key or binding.get("key") != seal.key_id:
        raise refuse("it was sealed with another key than this configuration's (its state folder was "
                     "replaced or copied since)", where)
    d = Digest()
    for name, value in data.items():
        if name not in LISTED and name != "digest":
            d.part(name, value)
    for name in LISTED:
        values = listed[name]
        for i in range(0, len(values), chunk):
            d.listed(name, canonical(values[i:i + chunk]))
    if not hmac.compare_digest(d.mac(seal.key), digest):
        raise refuse("it was edited after it was saved, elsewhere than in its `decision` values", where)
