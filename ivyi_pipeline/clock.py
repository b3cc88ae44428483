"""One notion of 'now' for runs, sensors and the CLI, settable with --as-of."""

from datetime import UTC, date, datetime

from ivyi_pipeline.errors import InvalidInput

EARLIEST_AS_OF = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_AS_OF = datetime(9000, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The instants --as-of may name: windows, grace periods and yearly occurrences computed from
them stay far inside what Python, PostgreSQL, SQLite and Dagster can represent."""

HORIZON_YEARS = 5
"""How far past the wall clock an operator's --as-of may reach: simulations a few years ahead
are fine, year 9000 is a typo. Instants the pipeline computed or stored itself (run tags, the
last tick's clock) are not held to it."""


def utcnow() -> datetime:
    """The wall clock, timezone-aware UTC."""
    return datetime.now(UTC)


def horizon(now: datetime | None = None) -> datetime:
    """The latest --as-of an operator may give: HORIZON_YEARS after the wall clock."""
    now = now or utcnow()
    day = now.date()
    try:
        day = day.replace(year=day.year + HORIZON_YEARS)
    except ValueError:  # 29 February
        day = date(day.year + HORIZON_YEARS, 2, 28)
    return min(datetime.combine(day, now.timetz()), LATEST_AS_OF)


def parse_as_of(text: str | None, option: str = "--as-of") -> datetime:
    """An operator's --as-of: an ISO-8601 instant up to the horizon; None means now."""
    value = parse_instant(text, option)
    if text and value > horizon():
        raise InvalidInput(
            f"{option} {text!r} is more than {HORIZON_YEARS} years after the wall clock "
            f"({utcnow():%Y-%m-%d}): give an instant up to {horizon():%Y-%m-%d} "
            "(is the year a typo?); nothing changed"
        )
    return value


def parse_instant(text: str | None, option: str = "--as-of") -> datetime:
    """Parse an ISO-8601 instant (a date alone means its midnight UTC); None means now."""
    if not text:
        return utcnow()
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r} is not an ISO-8601 date or time (such as 2026-06-01T09:00Z)"
        ) from None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        value = EARLIEST_AS_OF.replace(year=1)
    if not EARLIEST_AS_OF <= value <= LATEST_AS_OF:
        raise InvalidInput(
            f"{option} {text!r} is out of range: give an instant from "
            f"{EARLIEST_AS_OF:%Y-%m-%d} to {LATEST_AS_OF:%Y-%m-%d}"
        )
    return value


def to_db(value: datetime) -> datetime:
    """Timestamps are stored as naive UTC on both PostgreSQL and SQLite."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def from_db(value: datetime | None) -> datetime | None:
    """A stored naive-UTC timestamp as an aware one."""
    return None if value is None else value.replace(tzinfo=UTC)
