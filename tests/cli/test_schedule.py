"""S1: when scheduled runs happen — across midnight, across DST changes, after missed slots."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tui_sync.config import parse_config
from tui_sync.errors import ConfigError
from tui_sync.schedule import UTC, due, instant, next_slot, next_slots, slots, zone

BERLIN = zone("Europe/Berlin")
TIMES = ("07:00", "13:00", "19:00")


def berlin(*args: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN, fold=fold).astimezone(UTC)


def local(at: dt.datetime) -> str:
    return at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z")


def test_next_run_after_the_last_slot_of_the_day_is_tomorrow_morning_across_midnight():
    assert local(next_slot(TIMES, BERLIN, berlin(2025, 6, 2, 19, 0)).at) == "2025-06-03 07:00 CEST"
    assert local(next_slot(TIMES, BERLIN, berlin(2025, 6, 2, 23, 59)).at) == "2025-06-03 07:00 CEST"
    assert local(next_slot(TIMES, BERLIN, berlin(2025, 6, 3, 0, 0)).at) == "2025-06-03 07:00 CEST"
    assert local(next_slot(TIMES, BERLIN, berlin(2025, 6, 3, 7, 0)).at) == "2025-06-03 13:00 CEST"
    # a time around midnight itself, and the year's end
    assert local(next_slot(("00:00",), BERLIN, berlin(2025, 12, 31, 23, 30)).at) == "2026-01-01 00:00 CET"


def test_next_runs_are_listed_in_order_for_the_start_message():
    shown = [local(s.at) for s in next_slots(TIMES, BERLIN, berlin(2025, 6, 2, 12, 0), 4)]
    assert shown == ["2025-06-02 13:00 CEST", "2025-06-02 19:00 CEST", "2025-06-03 07:00 CEST",
                     "2025-06-03 13:00 CEST"]


def test_times_are_computed_in_the_configured_zone_not_in_utc():
    tokyo = zone("Asia/Tokyo")
    assert next_slot(("07:00",), tokyo, dt.datetime(2025, 6, 2, 0, 0, tzinfo=UTC)).at == \
        dt.datetime(2025, 6, 2, 22, 0, tzinfo=UTC)


def test_spring_forward_a_nonexistent_time_runs_once_at_the_first_valid_instant_after():
    # 2025-03-30 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day
    day = [s for s in slots(("02:30",), BERLIN, berlin(2025, 3, 29, 12, 0), berlin(2025, 3, 31, 12, 0))]
    assert [local(s.at) for s in day] == ["2025-03-30 03:00 CEST", "2025-03-31 02:30 CEST"]
    assert day[0].label(BERLIN) == "2025-03-30 02:30 Europe/Berlin (runs at 03:00 CEST)"
    assert instant(dt.date(2025, 3, 30), "02:30", BERLIN) == dt.datetime(2025, 3, 30, 1, 0, tzinfo=UTC)


def test_spring_forward_does_not_run_twice_when_a_moved_time_meets_a_configured_one():
    both = slots(("02:30", "03:00"), BERLIN, berlin(2025, 3, 30, 0, 0), berlin(2025, 3, 30, 12, 0))
    assert [local(s.at) for s in both] == ["2025-03-30 03:00 CEST"]


def test_fall_back_an_ambiguous_time_runs_once_at_its_first_occurrence():
    # 2025-10-26 in Berlin: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice
    found = slots(("02:30",), BERLIN, berlin(2025, 10, 25, 12, 0), berlin(2025, 10, 26, 12, 0))
    assert len(found) == 1
    assert found[0].at == dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first one
    # right after it ran, the second 02:30 (CET) is not a new slot: the next is the next day's
    after_first = found[0].at + dt.timedelta(minutes=1)
    assert local(next_slot(("02:30",), BERLIN, after_first).at) == "2025-10-27 02:30 CET"
    assert due(("02:30",), BERLIN, found[0].at, berlin(2025, 10, 26, 2, 45, fold=1)) is None


def test_a_day_across_either_dst_change_has_each_slot_exactly_once():
    for day in (dt.date(2025, 3, 30), dt.date(2025, 10, 26)):
        start = dt.datetime.combine(day, dt.time(0, 0), BERLIN).astimezone(UTC) - dt.timedelta(seconds=1)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), BERLIN).astimezone(UTC) \
            - dt.timedelta(seconds=1)
        found = slots(("01:30", "02:30", "03:30", "12:00"), BERLIN, start, end)
        assert [s.time for s in found] == ["01:30", "02:30", "03:30", "12:00"], day
        assert len({s.at for s in found}) == 4


def test_a_missed_slot_runs_once_not_once_per_missed_slot():
    last = berlin(2025, 6, 2, 7, 0)
    # the machine slept from 08:00 to 21:30: 13:00 and 19:00 passed; only the latest runs
    d = due(TIMES, BERLIN, last, berlin(2025, 6, 2, 21, 30))
    assert d is not None and d.missed == 2 and local(d.slot.at) == "2025-06-02 19:00 CEST"
    # three days down: one run, for the latest slot
    d = due(TIMES, BERLIN, last, berlin(2025, 6, 5, 8, 0))
    assert d is not None and d.missed == 9 and local(d.slot.at) == "2025-06-05 07:00 CEST"
    # nothing is due between slots, or when the clock went back
    assert due(TIMES, BERLIN, last, berlin(2025, 6, 2, 12, 59)) is None
    assert due(TIMES, BERLIN, last, berlin(2025, 6, 2, 6, 0)) is None


def test_no_times_means_no_slots():
    assert slots((), BERLIN, berlin(2025, 6, 2, 0, 0), berlin(2025, 6, 9, 0, 0)) == []
    assert next_slots((), BERLIN, berlin(2025, 6, 2, 0, 0), 3) == []


MINIMAL = {
    "lms": {"kind": "local"},
    "departments": {"source": {"path": "d.csv"}, "mapping": {"code": "C", "name": "N"}},
    "users": {"source": {"path": "u.csv"}, "mapping": {"login": "L", "email": "E", "firstName": "F",
                                                        "lastName": "La", "departmentId": "D"}},
}


def schedule_error(**schedule: object) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        parse_config({**MINIMAL, "schedule": schedule}, Path("tui-sync.toml"))
    return e.value


def test_the_config_refuses_a_fourth_time_a_bad_time_and_an_unknown_zone_with_clear_messages():
    err = schedule_error(times=["01:00", "07:00", "13:00", "19:00"])
    assert "found 4 times, expected at most three a day" in str(err)
    err = schedule_error(times=["24:00"])
    assert str(err).startswith("tui-sync.toml: [schedule] times: found \"24:00\"")
    assert '"00:00" to "23:59"' in str(err)
    err = schedule_error(times=["07:00"], timezone="Europe/Berln")
    assert "[schedule] timezone" in str(err) and 'did you mean "Europe/Berlin"?' in str(err)


def test_no_zone_means_the_machines_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    assert getattr(zone(None), "key", None) == "America/New_York"


# --- `tui-sync schedule --print systemd|cron` ---------------------------------------------

def os_config(tmp_path: Path, schedule: str):
    from workspace import Workspace

    return Workspace(tmp_path / "my conf", extra_config=schedule)


def test_systemd_timer_runs_the_configured_times_in_the_configured_zone(tmp_path):
    from tui_sync.ossched import systemd

    ws = os_config(tmp_path, '[schedule]\ntimes = ["07:00", "13:30"]\ntimezone = "Europe/Berlin"\n')
    text = systemd(ws.config, ["/opt/tui sync/bin/tui-sync"])
    assert "OnCalendar=*-*-* 07:00:00 Europe/Berlin\nOnCalendar=*-*-* 13:30:00 Europe/Berlin\n" in text
    assert "Persistent=true" in text and "Type=oneshot" in text
    cfg = ws.root / "tui-sync.toml"
    assert f'ExecStart="/opt/tui sync/bin/tui-sync" run --config "{cfg}"\n' in text
    assert "# --- tui-sync-my-conf.service ---" in text and "# --- tui-sync-my-conf.timer ---" in text


def test_crontab_lines_carry_the_zone_and_an_absolute_command(tmp_path):
    from tui_sync.ossched import cron

    ws = os_config(tmp_path, '[schedule]\ntimes = ["07:05", "19:00"]\ntimezone = "Asia/Tokyo"\n')
    lines = cron(ws.config, ["/usr/local/bin/tui-sync"]).splitlines()
    assert "CRON_TZ=Asia/Tokyo" in lines
    entries = [line for line in lines if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert [e.split()[:5] for e in entries] == [["5", "7", "*", "*", "*"], ["0", "19", "*", "*", "*"]]
    assert all(f"/usr/local/bin/tui-sync run --config '{ws.root / 'tui-sync.toml'}'" in e for e in entries)


def test_schedule_print_uses_this_tui_sync_by_absolute_path_and_needs_a_schedule(tmp_path, capsys):
    from tui_sync.cli import main
    from tui_sync.errors import Exit

    ws = os_config(tmp_path, '[schedule]\ntimes = ["07:00"]\n')  # no zone: the machine's
    assert main(["--config", str(ws.root / "tui-sync.toml"), "schedule", "--print", "systemd"]) == Exit.OK
    out = capsys.readouterr().out
    assert "OnCalendar=*-*-* 07:00:00\n" in out
    exe = out.split("ExecStart=", 1)[1].split()[0].strip('"')
    assert Path(exe).is_absolute() and Path(exe).exists()
    assert main(["--config", str(ws.root / "tui-sync.toml"), "schedule", "--print", "cron"]) == Exit.OK
    assert "CRON_TZ" not in capsys.readouterr().out.replace("# CRON_TZ", "")

    bare = os_config(tmp_path / "bare", "")
    assert main(["--config", str(bare.root / "tui-sync.toml"), "schedule", "--print", "cron"]) == Exit.USAGE
    assert "has no schedule" in capsys.readouterr().err
