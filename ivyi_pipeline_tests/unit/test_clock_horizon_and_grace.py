"""The clock's horizon for an operator's --as-of, and the belated rule catch-up shares."""

import datetime as dt

import pytest

from ivyi_pipeline.clock import HORIZON_YEARS, horizon, parse_as_of, parse_instant, utcnow
from ivyi_pipeline.domain.grace import past_grace, too_late_reason
from ivyi_pipeline.errors import InvalidInput


def test_the_horizon_is_five_years_after_the_wall_clock_even_from_29_february():
    assert horizon(dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)) == dt.datetime(
        2031, 12, 3, 9, tzinfo=dt.UTC
    )
    assert horizon(dt.datetime(2028, 2, 29, 9, tzinfo=dt.UTC)) == dt.datetime(
        2033, 2, 28, 9, tzinfo=dt.UTC
    )


def test_an_as_of_a_few_years_ahead_is_accepted_and_a_typo_year_is_refused():
    ahead = (utcnow() + dt.timedelta(days=365 * (HORIZON_YEARS - 1))).isoformat()
    assert parse_as_of(ahead) == parse_instant(ahead)
    with pytest.raises(InvalidInput, match="is more than 5 years after the wall clock"):
        parse_as_of("9000-12-31T00:00Z")
    with pytest.raises(InvalidInput, match=r"^--to '9000-12-31' is more than"):
        parse_as_of("9000-12-31", "--to")


def test_instants_the_pipeline_stored_itself_are_read_without_the_horizon():
    assert parse_instant("9000-12-31T00:00Z").year == 9000


@pytest.mark.parametrize(
    ("days_ago", "too_late"), [(-3, False), (0, False), (14, False), (15, True), (365, True)]
)
def test_an_occasion_is_too_late_only_beyond_the_grace_period(days_ago, too_late):
    today = dt.date(2028, 2, 20)
    assert past_grace(today - dt.timedelta(days=days_ago), today, 14) is too_late


def test_the_too_late_reason_names_dates_and_the_grace_period_only():
    reason = too_late_reason(dt.date(2027, 2, 20), dt.date(2028, 2, 20), 14)
    assert reason == (
        "too late: the occasion on 2027-02-20 passed 365 days before 2028-02-20, beyond the "
        "14-day grace period; no gift is ordered"
    )
