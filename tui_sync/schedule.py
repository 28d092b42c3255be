"""When scheduled runs happen (S1): pure computation, no clock of its own.

A slot is one configured time on one local day, in the configured zone. Its
instant is computed in that zone, so daylight-saving changes neither skip nor
double a run: a time that does not exist that day (spring forward) runs at the
first valid instant after it (the moment the clocks jump), and a time that
happens twice (fall back) runs once, at its first occurrence. Two slots that
land on the same instant run once.
"""
from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

UTC = dt.timezone.utc


@dataclass(frozen=True, order=True)
class Slot:
    at: dt.datetime  # the instant it runs (aware, UTC); slots sort by it
    day: dt.date  # the local day it belongs to
    time: str  # the configured "HH:MM"
    zone: str  # the zone's name, for messages

    def local(self, tz: dt.tzinfo) -> dt.datetime:
        return self.at.astimezone(tz)

    def label(self, tz: dt.tzinfo) -> str:
        """ "2025-03-30 07:00 CEST", and where DST moved it: "… 02:30 Europe/Berlin (runs at 03:00 CEST)"."""
        local = self.local(tz)
        if local.strftime("%H:%M") == self.time and local.date() == self.day:
            return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
        return f"{self.day.isoformat()} {self.time} {self.zone} (runs at {local:%H:%M} {local.tzname()})"


def zone(name: str | None) -> dt.tzinfo:
    """The configured IANA zone, or the machine's when none is set."""
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise UsageError(f"unknown time zone {name!r}", where="[schedule] timezone",
                             hint='use an IANA name such as "Europe/Berlin" or "UTC"') from None
    return machine_zone()


def machine_zone() -> dt.tzinfo:
    """The machine's zone with its DST rules: $TZ, then /etc/localtime; a fixed offset as a last resort."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        try:
            return zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            return zoneinfo.ZoneInfo(target.split("zoneinfo/", 1)[1])
        with localtime.open("rb") as f:
            return zoneinfo.ZoneInfo.from_file(f, key="localtime")
    except (OSError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        pass
    return dt.datetime.now().astimezone().tzinfo or UTC


def zone_name(tz: dt.tzinfo) -> str:
    return getattr(tz, "key", None) or str(tz)


def instant(day: dt.date, hhmm: str, tz: dt.tzinfo) -> dt.datetime:
    """When `hhmm` on local `day` happens, in UTC (see the module's note on DST)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    wall = dt.datetime.combine(day, dt.time(hour, minute))
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)  # fold=0: the first of two occurrences
    if _wall(first, tz) == wall:
        return first
    # a gap: fold=0 used the offset before the jump (an instant after it), fold=1 the one after (before it);
    # the first instant whose wall time has reached `wall` is the jump itself
    lo = int(wall.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    hi = int(first.timestamp())
    if lo > hi:
        lo, hi = hi, lo
    while lo < hi:
        mid = (lo + hi) // 2
        if _wall(dt.datetime.fromtimestamp(mid, UTC), tz) >= wall:
            hi = mid
        else:
            lo = mid + 1
    return dt.datetime.fromtimestamp(hi, UTC)


def _wall(at: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return at.astimezone(tz).replace(tzinfo=None, fold=0)


def slots(times: Iterable[str], tz: dt.tzinfo, start: dt.datetime, end: dt.datetime) -> list[Slot]:
    """Every slot with start < instant <= end, in order; one per instant."""
    times = tuple(times)
    if not times or end <= start:
        return []
    name = zone_name(tz)
    first = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = end.astimezone(tz).date() + dt.timedelta(days=1)
    found: dict[dt.datetime, Slot] = {}
    day = first
    while day <= last:
        for t in sorted(times):
            at = instant(day, t, tz)
            if start < at <= end:
                found.setdefault(at, Slot(at, day, t, name))
        day += dt.timedelta(days=1)
    return [found[k] for k in sorted(found)]


def next_slots(times: Iterable[str], tz: dt.tzinfo, after: dt.datetime, n: int = 1) -> list[Slot]:
    """The next `n` slots strictly after `after`."""
    times = tuple(times)
    if not times:
        return []
    days = 2 + (n + len(times) - 1) // len(times)
    return slots(times, tz, after, after + dt.timedelta(days=days))[:n]


def next_slot(times: Iterable[str], tz: dt.tzinfo, after: dt.datetime) -> Slot:
    found = next_slots(times, tz, after, 1)
    if not found:
        raise UsageError("the schedule has no times", where="[schedule] times",
                         hint='add up to three daily times, e.g. times = ["07:00", "13:00", "19:00"]')
    return found[0]


@dataclass(frozen=True)
class Due:
    slot: Slot  # the latest slot that has come (the one to run)
    missed: int  # how many slots came since the last one run, this one included


def due(times: Iterable[str], tz: dt.tzinfo, last: dt.datetime, now: dt.datetime) -> Due | None:
    """The slot to run now, if any: after a sleep or downtime that let several slots pass, only the
    latest of them runs (once)."""
    passed = slots(times, tz, last, now)
    return Due(passed[-1], len(passed)) if passed else None

