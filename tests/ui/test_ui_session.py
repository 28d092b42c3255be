"""The UI session: each transition makes its whole change and bumps the version the panes redraw on."""
from __future__ import annotations

import asyncio
from pathlib import Path

from tui_sync import service
from tui_sync.model import Decision
from tui_sync.ui.plan_rows import Filter
from tui_sync.ui.session import Session


def planned(config: Path):
    cfg = service.load(config)
    return cfg, asyncio.run(service.make_plan(cfg))


def test_every_transition_bumps_the_version_and_makes_its_whole_change(demo):
    cfg, result = planned(demo)
    s = Session(demo)
    seen = [s.version]

    def bumped() -> None:
        assert s.version > seen[-1]
        seen.append(s.version)

    s.config_unusable("bad TOML")
    bumped()
    assert s.cfg is None and s.config_error == "bad TOML"
    s.set_config(cfg)
    bumped()
    assert s.cfg is cfg and s.config_error is None
    s.start_planning()
    bumped()
    assert s.planning and s.plan_error is None
    s.plan_failed("the users sheet is missing")
    bumped()
    assert not s.planning and s.plan_error == "the users sheet is missing"
    s.start_planning()
    bumped()
    assert s.plan_error is None
    s.plan_made(result, kept=False, inputs={"lms": "x"}, made_with=cfg)
    bumped()
    assert not s.planning and s.view is not None and s.view.plan is result.plan and s.dirty
    assert set(s.tables) == {"departments", "users"} and s.table("users") is result.sources.users
    s.start_reading()
    bumped()
    assert s.reading
    s.sheets_failed("no network")
    bumped()
    assert not s.reading and s.tables == {} and s.table_errors == {"departments": "no network", "users": "no network"}
    s.sheets_read({"users": result.sources.users}, {"departments": "gone"}, made_with=cfg)
    bumped()
    assert s.table("users") is result.sources.users and s.table_errors == {"departments": "gone"}
    s.set_held(None)
    bumped()
    s.plan_applied()
    bumped()
    assert s.applied and not s.dirty and s.unapplied() == 0


def test_decisions_and_undo_keep_the_plan_and_its_version(demo):
    cfg, result = planned(demo)
    s = Session(demo)
    s.set_config(cfg)
    s.plan_made(result, kept=False, inputs=None, made_with=cfg)
    version = s.version
    done, _ = s.view.decide([s.view.rows[0]], Decision.APPROVED)
    s.review_saving()
    s.decided(done)
    assert s.dirty and s.unapplied() == 1
    assert s.undo() == done and s.undo() is None
    s.review_saving()
    s.cursor_moved("create_user:lea")
    assert s.dirty and s.cursor_id == "create_user:lea"
    s.review_saving()
    s.cursor_moved("create_user:lea")
    assert not s.dirty  # the same change: nothing new to save
    assert s.version == version  # the plan is the same: decisions redraw the review, not every pane


def test_a_kept_plan_keeps_the_undo_history_and_a_new_one_clears_it(demo):
    cfg, result = planned(demo)
    s = Session(demo)
    s.set_config(cfg)
    s.plan_made(result, kept=False, inputs=None, made_with=cfg)
    s.decided([("x", Decision.PENDING)])
    s.plan_made(result, kept=True, inputs=None, made_with=cfg)
    assert s.history == [[("x", Decision.PENDING)]]
    s.plan_restored(result, inputs=None, made_with=cfg, filter=Filter(text="lea"), cursor="create_user:lea")
    assert s.history == [] and s.view.filter.text == "lea" and s.cursor_id == "create_user:lea"


def test_the_wizard_s_config_replaces_an_error_and_shows_its_dry_run(demo):
    cfg, result = planned(demo)
    s = Session(demo)
    s.config_unusable("There is no configuration yet")
    s.plan_failed("earlier")
    s.wizard_finished(cfg, result)
    assert s.cfg is cfg and s.config_error is None and s.plan_error is None and not s.planning
    assert s.view is not None and s.view.plan is result.plan
