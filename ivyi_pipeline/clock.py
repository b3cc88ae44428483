"""One notion of 'now' for runs, sensors and the CLI, settable with --as-of."""

from datetime import UTC, datetime

from ivyi_pipeline.errors import InvalidInput


def utcnow() -> datetime:
    """The wall clock, timezone-aware UTC."""
    return datetime.now(UTC)


def parse_as_of(text: str | None) -> datetime:
    """Parse an ISO-8601 instant (a date alone means its midnight UTC); None means now."""
    if not text:
        return utcnow()
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--as-of {text!r} is not an ISO-8601 date or time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_db(value: datetime) -> datetime:
    """Timestamps are stored as naive UTC on both PostgreSQL and SQLite."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def from_db(value: datetime | None) -> datetime | None:
    """A stored naive-UTC timestamp as an aware one."""
    return None if value is None else value.replace(tzinfo=UTC)
