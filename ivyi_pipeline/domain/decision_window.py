"""The decision window: how long a giver has to choose before the default is taken."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class WindowPolicy:
    """Closes `hours_open` after opening or `days_before` the occurrence, whichever is earlier."""

    hours_open: int = 72
    days_before: int = 3

    def closes_at(self, opened_at: datetime, occurrence_date: date) -> datetime:
        """The instant the window closes; never before it opened."""
        by_length = opened_at + timedelta(hours=self.hours_open)
        cutoff_day = occurrence_date - timedelta(days=self.days_before)
        by_occurrence = datetime.combine(cutoff_day, time.min, tzinfo=UTC)
        return max(opened_at, min(by_length, by_occurrence))


def window_closed(closes_at: datetime, t: datetime) -> bool:
    """The decision window has closed by t: it is open up to, not including, closes_at."""
    return closes_at <= t


def window_open(opens_at: datetime, closes_at: datetime, t: datetime) -> bool:
    """The decision window is open at t: it has opened and not yet closed."""
    return opens_at <= t and not window_closed(closes_at, t)


def confirmation_counts(received_at: datetime, at: datetime) -> bool:
    """A giver's confirmation counts at `at` once received, at or before `at`: an inbox event
    is never applied at an instant before it was received."""
    return received_at <= at
