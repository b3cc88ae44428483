"""The decision window: 72 hours or 3 days before the occurrence, whichever closes first;
open from its opening up to, not including, its close; a confirmation counts once received."""

import datetime as dt

from ivyi_pipeline.domain.decision_window import (
    WindowPolicy,
    confirmation_counts,
    window_closed,
    window_open,
)

OPENED = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)


def test_a_window_far_from_the_occurrence_closes_72_hours_after_opening():
    closes = WindowPolicy().closes_at(OPENED, dt.date(2026, 6, 20))

    assert closes == OPENED + dt.timedelta(hours=72)


def test_a_window_near_the_occurrence_closes_3_days_before_it():
    closes = WindowPolicy().closes_at(OPENED, dt.date(2026, 6, 5))

    assert closes == dt.datetime(2026, 6, 2, 0, 0, tzinfo=dt.UTC)


def test_the_two_limits_meeting_give_the_same_instant():
    opened = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)

    assert WindowPolicy().closes_at(opened, dt.date(2026, 6, 7)) == opened + dt.timedelta(days=3)


def test_a_window_never_closes_before_it_opened():
    closes = WindowPolicy().closes_at(OPENED, dt.date(2026, 6, 3))

    assert closes == OPENED


def test_a_belated_occurrence_closes_at_once():
    closes = WindowPolicy().closes_at(OPENED, dt.date(2026, 5, 20))

    assert closes == OPENED


def test_the_policy_takes_other_lengths():
    policy = WindowPolicy(hours_open=24, days_before=1)

    assert policy.closes_at(OPENED, dt.date(2026, 6, 30)) == OPENED + dt.timedelta(hours=24)
    assert policy.closes_at(OPENED, dt.date(2026, 6, 3)) == dt.datetime(2026, 6, 2, tzinfo=dt.UTC)


def test_a_window_is_open_from_its_opening_and_closed_from_its_close():
    closes = OPENED + dt.timedelta(hours=72)
    second = dt.timedelta(seconds=1)

    assert not window_open(OPENED, closes, OPENED - second)
    assert window_open(OPENED, closes, OPENED)
    assert window_open(OPENED, closes, closes - second)
    assert not window_open(OPENED, closes, closes)
    assert window_closed(closes, closes)
    assert not window_closed(closes, closes - second)


def test_a_confirmation_counts_from_the_instant_it_was_received():
    received = OPENED + dt.timedelta(hours=1)

    assert confirmation_counts(received, received)
    assert confirmation_counts(received, received + dt.timedelta(days=1))
    assert not confirmation_counts(received, received - dt.timedelta(seconds=1))
