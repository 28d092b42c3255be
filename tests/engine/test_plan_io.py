"""The plan JSON (DESIGN §2): documented keys in the documented order, one change per line,
read back whole."""
from __future__ import annotations

import io
import json

from tui_sync.model import Change, Decision, Kind, Plan, Resolution, error, warning
from tui_sync.plan_io import read_plan, write_json, write_plan


def dumps(plan: Plan) -> str:
    buf = io.BytesIO()
    write_json(plan, buf)
    return buf.getvalue().decode("utf-8")


CHANGE_KEYS = ["id", "kind", "key", "row", "rule", "fields", "decision", "depends_on", "problems",
               "target", "unique_key", "identity"]
PROBLEM_KEYS = ["severity", "code", "entity", "row", "column", "key", "message"]
# values that look like the places where a line is broken, or need escaping
ODD = ['},{"id":"x"}', '}, {"id": 1}', 'ünï"quoted"\\', "two\nlines", "tab\there", "", "\u2028"]


def _plan(n: int) -> Plan:
    changes = []
    for i in range(n):
        odd = ODD[i % len(ODD)]
        kind = (Kind.CREATE_USER, Kind.UPDATE_USER, Kind.INACTIVATE_USER)[i % 3]
        fields = {"jobTitle": (None if i % 2 else odd, odd), "login": (f"u{i}", f"u{i}")}
        if kind is Kind.CREATE_USER:
            fields["email"] = (None, f"u{i}@example.com")
        if kind is Kind.INACTIVATE_USER:
            fields = {"status": ("active", "inactive")}
        changes.append(Change(
            f"{kind.value}:u{i}", kind, f"u{i}", fields,
            row=i + 2 if kind is not Kind.INACTIVATE_USER else None, rule="login" if kind is Kind.UPDATE_USER else None,
            decision=(Decision.PENDING, Decision.APPROVED, Decision.REJECTED)[i % 3],
            depends_on=["create_user:u0"] if i % 4 == 0 and i else [],
            problems=[warning("unknown_supervisor", "user", odd, row=i + 2, column="Boss", key=f"u{i}")] if i % 7 == 0 else [],
            target=None if kind is Kind.CREATE_USER else str(i), unique_key=odd if kind is Kind.CREATE_USER else None,
            identity=None if kind is Kind.CREATE_USER else {"login": f"u{i}", "email": None, "key": odd},
        ))
    problems = [error("invalid_email", "user", ODD[i % len(ODD)], row=i + 2, column="E-mail", key=f"x{i}")
                for i in range(n // 3)]
    return Plan(changes, problems, [Resolution("OLD", "HQ")], matched_users={"7": "K-7", "8": None},
                vanished_users=["9"], sources={"users": {"rows": n}}, lms_users=1234,
                created_at="2026-11-25T10:00:00+00:00")


def _expected(c: Change) -> dict:
    return {"id": c.id, "kind": c.kind.value, "key": c.key, "row": c.row, "rule": c.rule,
            "fields": {k: list(v) for k, v in c.fields.items()}, "decision": c.decision.value,
            "depends_on": c.depends_on, "problems": [p.to_json() for p in c.problems], "target": c.target,
            "unique_key": c.unique_key, "identity": c.identity}


def test_every_change_is_one_line_with_the_documented_keys_in_order():
    plan = _plan(5000)  # more than one chunk of the writer
    lines = dumps(plan).split("\n")
    change_lines = [line for line in lines if line.startswith('  {"id":')]
    assert len(change_lines) == len(plan.changes)
    for line, c in zip(change_lines, plan.changes):
        d = json.loads(line.rstrip(","))
        assert list(d) == CHANGE_KEYS
        assert d == _expected(c)
        for p in d["problems"]:
            assert list(p) == PROBLEM_KEYS


def test_the_whole_plan_is_json_with_every_top_level_key():
    plan = _plan(300)
    d = json.loads(dumps(plan))
    assert list(d) == ["version", "summary", "changes", "problems", "resolutions", "matched", "vanished",
                       "sources", "lms", "created_at"]
    assert d["summary"] == plan.summary()
    assert [p for p in d["problems"]] == [p.to_json() for p in plan.problems]
    assert d["resolutions"] == [{"move_users_of": "OLD", "to": "HQ"}]
    assert d["matched"] == {"departments": {}, "users": {"7": "K-7", "8": None}}
    assert d["vanished"] == {"departments": [], "users": ["9"]}
    assert d["lms"] == {"users": 1234}


def test_an_empty_plan_is_valid_json():
    d = json.loads(dumps(Plan([], [])))
    assert d["changes"] == [] and d["problems"] == []


def test_a_saved_plan_reads_back_equal(tmp_path):
    plan = _plan(3000)
    write_plan(plan, tmp_path / "p.json")
    assert read_plan(tmp_path / "p.json") == plan


def test_a_plan_edited_by_hand_reads_back_with_a_bom_and_windows_line_ends(tmp_path):
    plan = _plan(30)
    write_plan(plan, tmp_path / "p.json")
    text = (tmp_path / "p.json").read_text(encoding="utf-8")
    first = plan.changes[1]
    assert first.id == "update_user:u1"
    line = next(x for x in text.split("\n") if x.startswith('  {"id":"update_user:u1"'))
    assert first.decision is Decision.APPROVED
    edited = text.replace(line, line.replace('"decision":"approved"', '"decision":"rejected"'))
    (tmp_path / "edited.json").write_bytes(b"\xef\xbb\xbf" + edited.replace("\n", "\r\n").encode("utf-8"))
    again = read_plan(tmp_path / "edited.json")
    assert again.by_id()["update_user:u1"].decision is Decision.REJECTED
    assert len(again.changes) == 30


def test_a_misspelt_decision_is_named_with_the_words_that_work(tmp_path):
    import pytest

    from tui_sync.errors import UsageError

    write_plan(_plan(3), tmp_path / "p.json")
    text = (tmp_path / "p.json").read_text(encoding="utf-8").replace('"decision":"approved"', '"decision":"aproved"')
    (tmp_path / "p.json").write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as err:
        read_plan(tmp_path / "p.json")
    assert "change #2 (update_user:u1): decision 'aproved' is not one of pending, approved, rejected" in str(err.value)
    assert str(tmp_path / "p.json") in str(err.value)


def test_every_character_a_plan_escapes_starts_with_a_byte_the_writer_looks_for():
    """F4: the writer passes a fragment through the escaping only when it holds one of RAW_LEADS,
    so every character the escaping handles must begin with one of them in UTF-8."""
    from tui_sync.plan_io import RAW_LEADS
    from tui_sync.safe_text import _JSON_RAW

    escaped = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and _JSON_RAW.match(chr(c))]
    assert escaped and {ch.encode()[:1] for ch in escaped} <= set(RAW_LEADS)


def test_a_plan_with_control_and_bidi_characters_is_written_escaped_and_reads_back():
    """F4: DEL, a C1 control and a bidi override in a value are written as \\u escapes (a terminal
    showing the plan obeys none of them), and the values read back as they were."""
    odd = "a\x7fb\x9bc\u202ed"
    plan = Plan(changes=[Change("update_user:u", Kind.UPDATE_USER, "u", {"jobTitle": (None, odd)})], problems=[])
    text = dumps(plan)
    assert "\\u007f" in text and "\\u009b" in text and "\\u202e" in text
    assert not any(ch in text for ch in "\x7f\x9b\u202e")
    assert json.loads(text)["changes"][0]["fields"]["jobTitle"] == [None, odd]
