"""Occasion occurrences: yearly recurrence, 29 February, the original date, month-day ranges."""

import datetime as dt

import pytest

from ivyi_pipeline.domain.occurrences import (
    month_day,
    month_day_ranges,
    occurrence_in_year,
    occurrences_between,
)


def _covered(ranges, day: dt.date) -> bool:
    return any(lo <= month_day(day) <= hi for lo, hi in ranges)


def test_a_yearly_occasion_occurs_once_a_year():
    found = occurrences_between(
        dt.date(1990, 6, 15), True, dt.date(2024, 1, 1), dt.date(2026, 12, 31)
    )

    assert found == [dt.date(2024, 6, 15), dt.date(2025, 6, 15), dt.date(2026, 6, 15)]


def test_a_one_off_occasion_occurs_only_on_its_date():
    original = dt.date(2026, 6, 15)

    assert occurrences_between(original, False, dt.date(2026, 1, 1), dt.date(2027, 12, 31)) == [
        original
    ]
    assert occurrences_between(original, False, dt.date(2027, 1, 1), dt.date(2027, 12, 31)) == []


def test_29_february_falls_on_28_february_in_common_years_and_stays_in_leap_years():
    leap_day = dt.date(2000, 2, 29)

    assert occurrence_in_year(leap_day, 2027) == dt.date(2027, 2, 28)
    assert occurrence_in_year(leap_day, 2028) == dt.date(2028, 2, 29)
    assert occurrences_between(leap_day, True, dt.date(2027, 2, 1), dt.date(2028, 3, 31)) == [
        dt.date(2027, 2, 28),
        dt.date(2028, 2, 29),
    ]


def test_nothing_occurs_before_the_original_date():
    original = dt.date(2026, 6, 15)

    assert occurrences_between(original, True, dt.date(2025, 1, 1), dt.date(2026, 6, 14)) == []
    assert occurrences_between(original, True, dt.date(2025, 1, 1), dt.date(2027, 6, 15)) == [
        dt.date(2026, 6, 15),
        dt.date(2027, 6, 15),
    ]


def test_the_window_edges_are_inclusive():
    original = dt.date(1990, 6, 15)

    assert occurrences_between(original, True, dt.date(2026, 6, 15), dt.date(2026, 6, 15)) == [
        dt.date(2026, 6, 15)
    ]


def test_month_day_ranges_across_a_year_end_split_in_two():
    ranges = month_day_ranges(dt.date(2026, 12, 20), dt.date(2027, 1, 10))

    assert ranges == [(1220, 1231), (101, 110)]
    assert _covered(ranges, dt.date(2000, 12, 31))
    assert _covered(ranges, dt.date(2000, 1, 1))
    assert not _covered(ranges, dt.date(2000, 1, 11))
    assert not _covered(ranges, dt.date(2000, 12, 19))


def test_month_day_ranges_within_a_year_are_one_range():
    assert month_day_ranges(dt.date(2026, 6, 1), dt.date(2026, 6, 22)) == [(601, 622)]


def test_month_day_ranges_of_a_year_or_more_cover_every_day():
    assert month_day_ranges(dt.date(2026, 3, 1), dt.date(2027, 3, 1)) == [(101, 1231)]


def test_month_day_ranges_of_an_empty_window_are_empty():
    assert month_day_ranges(dt.date(2026, 3, 2), dt.date(2026, 3, 1)) == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2027, 2, 7), dt.date(2027, 2, 28)),
        (dt.date(2026, 12, 20), dt.date(2027, 2, 28)),
        (dt.date(2027, 2, 28), dt.date(2027, 3, 20)),
    ],
)
def test_month_day_ranges_hold_29_february_occasions_whose_occurrence_is_in_the_window(start, end):
    ranges = month_day_ranges(start, end)

    assert _covered(ranges, dt.date(2000, 2, 29))
    assert occurrences_between(dt.date(2000, 2, 29), True, start, end) == [dt.date(2027, 2, 28)]


def test_month_day_ranges_hold_every_yearly_occurrence_of_a_lead_window():
    start = dt.date(2026, 1, 1)
    for offset in range(0, 730, 7):
        window_start = start + dt.timedelta(days=offset)
        window_end = window_start + dt.timedelta(days=21)
        ranges = month_day_ranges(window_start, window_end)
        day = window_start
        while day <= window_end:
            assert _covered(ranges, day), (window_start, day)
            day += dt.timedelta(days=1)
