"""Process partition keys: readable, one per occurrence, sorted by date, safe for Dagster."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivyi_pipeline.domain.partition_keys import (
    KEY_CHARACTERS,
    is_partition_key,
    parse_partition_key,
    partition_key,
)
from ivyi_pipeline.workflows.gifting_process.create import process_id_for

DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(9999, 12, 31))
# Any text an occasion id could hold: commas, slashes, spaces, brackets, dots, unicode.
OCCASION_IDS = st.text(max_size=40) | st.sampled_from(
    ["occ-in-10", "a,b", "x/y", "two words", "[r]", "a...b", "née", "ü", "~", "a|b", ".", "\x00"]
)
# Dagster's reserved substrings: lists and multi-partition keys (`,` `|`), ranges (`[` `]`
# `...`), plus what breaks a URL path or a shell word (`/`, `?`, `#`, `%`, whitespace).
FORBIDDEN = [",", "|", "[", "]", "...", "/", "?", "#", "%", " ", "\t", "\n", "\r", "\0"]


def test_an_ordinary_occasion_id_reads_as_it_is_after_its_date():
    assert partition_key(dt.date(2027, 3, 11), "occ-in-10") == "2027-03-11.occ-in-10"
    assert partition_key(dt.date(2027, 3, 11), "Occ_7") == "2027-03-11.Occ_7"


def test_other_characters_are_escaped_readably():
    day = dt.date(2027, 3, 11)
    assert partition_key(day, "occ,1") == "2027-03-11.occ~2c~1"
    assert partition_key(day, "a/b c") == "2027-03-11.a~2f~b~20~c"
    assert partition_key(day, "née") == "2027-03-11.n~e9~e"
    assert partition_key(day, "~") == "2027-03-11.~7e~"


@given(DATES, OCCASION_IDS)
def test_a_key_decodes_to_its_occurrence_and_so_to_its_process(day, occasion_id):
    key = partition_key(day, occasion_id)

    assert parse_partition_key(key) == (day, occasion_id)
    assert process_id_for(*reversed(parse_partition_key(key))) == process_id_for(occasion_id, day)
    assert is_partition_key(key)


@given(DATES, OCCASION_IDS)
def test_a_key_holds_only_safe_characters(day, occasion_id):
    key = partition_key(day, occasion_id)

    assert set(key) <= KEY_CHARACTERS
    assert key.isascii()
    for forbidden in FORBIDDEN:
        assert forbidden not in key


@given(DATES, OCCASION_IDS, DATES, OCCASION_IDS)
def test_two_occurrences_never_share_a_key(day, occasion_id, other_day, other_id):
    if (day, occasion_id) != (other_day, other_id):
        assert partition_key(day, occasion_id) != partition_key(other_day, other_id)


@given(DATES, OCCASION_IDS, DATES, OCCASION_IDS)
def test_keys_sorted_as_text_are_sorted_by_occurrence_date(day, occasion_id, other_day, other_id):
    if day < other_day:
        assert partition_key(day, occasion_id) < partition_key(other_day, other_id)


@given(DATES, OCCASION_IDS)
def test_the_date_and_the_occasion_id_are_substrings_a_search_box_finds(day, occasion_id):
    key = partition_key(day, occasion_id)

    assert key.startswith(day.isoformat() + ".")
    if occasion_id and set(occasion_id) <= KEY_CHARACTERS - {".", "~"}:
        assert key.endswith("." + occasion_id)


@pytest.mark.parametrize(
    "key",
    [
        "3e2b1c3a-0000-5000-8000-000000000000",  # a process id: the keys before this scheme
        "2027-03-11",
        "2027-03-11-occ",
        "2027-13-01.occ",
        "２０２７-03-11.occ",
        "2027-03-11.occ,1",
        "2027-03-11.occ~2C~1",  # upper-case hex
        "2027-03-11.occ~02c~1",  # leading zero
        "2027-03-11.~41~",  # an escaped character that needs no escape
        "2027-03-11.~110000~",  # beyond unicode
        "2027-03-11.occ~2c",  # unterminated
    ],
)
def test_anything_but_a_key_of_the_scheme_is_refused(key):
    assert not is_partition_key(key)
    with pytest.raises(ValueError, match="2027|3e2b|２０２７"):
        parse_partition_key(key)
