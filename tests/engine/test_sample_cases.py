"""The demo data's case tables (sample_data/generate.py) hold for the plan made from it: every
department and user case its generator declares shows in the plan as declared (P1, P2)."""
from __future__ import annotations

import asyncio
import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tui_sync import service
from tui_sync.model import Plan

GENERATOR = Path(__file__).resolve().parents[2] / "sample_data" / "generate.py"


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sample_data_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up by name)
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    cfg = asyncio.run(service.prepare_demo(tmp_path_factory.mktemp("demo")))
    return asyncio.run(service.make_plan(cfg)).plan


def _changes(plan: Plan, key: str) -> dict[str, set[str]]:
    """kind -> the fields it carries, for the changes of `key` (a login or a code, any case)."""
    out: dict[str, set[str]] = {}
    for c in plan.changes:
        if c.key.casefold() == key.casefold():
            out[c.kind.value] = set(c.fields)
    return out


def _problem_codes(plan: Plan, key: str) -> set[str]:
    """The codes of the problems about `key`, whether on a change or on a row without one."""
    problems = [*plan.problems, *(p for c in plan.changes for p in c.problems)]
    return {p.code for p in problems if (p.key or "").casefold() == key.casefold()}


def test_every_department_case_of_the_generator_is_in_the_plan(generate: ModuleType, plan: Plan) -> None:
    assert generate.DEPARTMENT_CASES
    for outcome, problem, rule, code, note in generate.DEPARTMENT_CASES:
        kinds = _changes(plan, code)
        if outcome == "—":
            assert kinds == {}, (code, rule, note)
        else:
            assert outcome in kinds, (code, rule, note, kinds)
        if problem:
            assert problem in _problem_codes(plan, code), (code, rule, note)


def test_every_user_case_of_the_generator_is_in_the_plan(generate: ModuleType, plan: Plan) -> None:
    people = generate.build(random.Random(generate.SEED))
    cases = [(p.case, (p.sheet or p.prior)["login"]) for p in people.people if p.case is not None]
    assert len(cases) == len(generate.USER_CASES)
    for case, login in cases:
        kinds = _changes(plan, login)
        if case.outcome == "—":
            assert kinds == {}, (login, case.rule, case.note, kinds)
        else:
            assert case.outcome in kinds, (login, case.rule, case.note, kinds)
            if case.fields:
                assert kinds[case.outcome] == set(case.fields), (login, case.rule, case.note)
        if case.problem:
            assert case.problem in _problem_codes(plan, login), (login, case.rule, case.note)
