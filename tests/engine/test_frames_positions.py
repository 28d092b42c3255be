"""`positions`, the lookup of U2 and L1 (a row's login, email or key among the LMS's users, a ledger
entry's id among the snapshot's): the same answer as a join on the strings; and `has_duplicates` of
positions (U2: two rows that identify one LMS user), the same answer as counting them."""
from __future__ import annotations

import random

import polars as pl

from tui_sync.engine.frames import has_duplicates, positions


def by_join(keys: list[str | None], values: list[str | None]) -> list[int | None] | None:
    """The answer of a left join on the strings, or None when a key finds several values."""
    joined = (pl.DataFrame({"k": keys}, schema={"k": pl.String}).with_row_index("at")
              .join(pl.DataFrame({"k": values}, schema={"k": pl.String}).with_row_index("found"), on="k", how="left")
              .sort("at", "found"))
    if joined.height != len(keys):
        return None
    return joined["found"].to_list()


def test_each_key_finds_the_position_of_its_value_and_a_missing_or_null_key_finds_none():
    found = positions(pl.Series(["b", "zz", None, "a", "b"]), pl.Series(["a", "b", None, "c"]))
    assert found.to_list() == [1, None, None, 0, 1]


def test_a_key_equal_to_two_values_is_none():
    assert positions(pl.Series(["a", "b"]), pl.Series(["b", "a", "b"])) is None


def test_no_keys_or_no_values():
    assert positions(pl.Series([], dtype=pl.String), pl.Series(["a"])).to_list() == []
    assert positions(pl.Series(["a"]), pl.Series([], dtype=pl.String)).to_list() == [None]


def test_positions_answer_as_a_join_on_the_strings_on_random_values():
    rng = random.Random(13)
    for _ in range(300):
        pool = [f"u{rng.randrange(40)}" for _ in range(rng.randrange(1, 30))] + [None]
        values = rng.sample(pool, rng.randrange(0, len(pool) + 1))
        keys = [rng.choice(pool + ["other"]) for _ in range(rng.randrange(0, 30))]
        found = positions(pl.Series(keys, dtype=pl.String), pl.Series(values, dtype=pl.String))
        assert (found.to_list() if found is not None else None) == by_join(keys, values)


def test_has_duplicates_of_positions_answers_as_counting_them():
    rng = random.Random(7)
    for _ in range(300):
        values = [rng.choice([None, *range(6)]) for _ in range(rng.randrange(0, 9))]
        series = pl.Series(values, dtype=pl.UInt32)
        held = [v for v in values if v is not None]
        assert has_duplicates(series, below=6) == (len(set(held)) != len(held)) == has_duplicates(series)


def test_has_duplicates_of_many_strings_hashes_them_and_answers_as_counting_them():
    # (more values than are counted at once: their hashes are looked at first)
    n = 300_000
    unique = pl.select(pl.format("user{}@example.com", pl.int_range(n))).to_series()
    assert not has_duplicates(unique)
    assert has_duplicates(unique.clone().scatter(n - 1, "user7@example.com"))
    assert not has_duplicates(pl.concat([unique, pl.Series([None] * 5, dtype=pl.String)]))
