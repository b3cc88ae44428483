"""Occasion detection: which occurrences need a gift process (the seed's start-workflow trigger)."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.db.schema import gift_processes, occasions
from ivyi_pipeline.domain.occurrences import (
    lead_window_end,
    month_day_ranges,
    occurrences_between,
)
from ivyi_pipeline.workflows.gifting_process.create import Occurrence, process_id_for

DEFAULT_LEAD_DAYS = 21
# Occasions committed by a transaction that started before the last tick are still seen.
DEFAULT_LATE_COMMIT_MARGIN = timedelta(minutes=15)


@dataclass(frozen=True)
class DetectionCursor:
    """How far detection has looked: dates up to `horizon`, occasions created up to `seen`."""

    horizon: date
    seen: datetime

    def serialize(self) -> str:
        """The cursor as a string for Dagster."""
        return json.dumps({"horizon": self.horizon.isoformat(), "seen": self.seen.isoformat()})

    @classmethod
    def parse(cls, text: str | None) -> "DetectionCursor | None":
        """The cursor a previous tick stored, or None on the first tick."""
        if not text:
            return None
        data = json.loads(text)
        return cls(date.fromisoformat(data["horizon"]), datetime.fromisoformat(data["seen"]))


def occurrences_in_range(
    conn: sa.Connection, start: date, end: date, created_after: datetime | None = None
) -> list[Occurrence]:
    """Every occurrence dated within [start, end], from indexed range queries only."""
    if end < start:
        return []
    occ = occasions
    columns = [occ.c.id, occ.c.date, occ.c.recurs_yearly, occ.c.recipient_id, occ.c.relationship_id]
    yearly = sa.or_(*[occ.c.month_day.between(lo, hi) for lo, hi in month_day_ranges(start, end)])
    queries = [
        sa.select(*columns).where(occ.c.recurs_yearly.is_(True), yearly),
        sa.select(*columns).where(occ.c.recurs_yearly.is_(False), occ.c.date.between(start, end)),
    ]
    found: list[Occurrence] = []
    for query in queries:
        if created_after is not None:
            query = query.where(occ.c.created_at > to_db(created_after))
        for occasion_id, day, recurs, recipient_id, relationship_id in conn.execute(query):
            found.extend(
                Occurrence(occasion_id, when, recipient_id, relationship_id)
                for when in occurrences_between(day, recurs, start, end)
            )
    return found


def without_process(conn: sa.Connection, found: Sequence[Occurrence]) -> list[Occurrence]:
    """The occurrences that have no gift process yet."""
    by_id = {process_id_for(o.occasion_id, o.occurrence_date): o for o in found}
    existing: set[str] = set()
    for chunk in chunks(list(by_id)):
        existing.update(
            conn.execute(
                sa.select(gift_processes.c.id).where(gift_processes.c.id.in_(chunk))
            ).scalars()
        )
    return sorted(
        (o for pid, o in by_id.items() if pid not in existing),
        key=lambda o: (o.occurrence_date, o.occasion_id),
    )


def detect_due_occurrences(
    engine: sa.Engine,
    as_of: datetime,
    cursor: DetectionCursor | None,
    lead_days: int = DEFAULT_LEAD_DAYS,
    late_commit_margin: timedelta = DEFAULT_LATE_COMMIT_MARGIN,
) -> tuple[list[Occurrence], DetectionCursor]:
    """Occurrences in [today, today + lead_days] with no process, and the next cursor.

    With a cursor, a tick reads only the dates that entered the window since the last tick
    and the occasions created since then, so its cost follows new work, not table size.
    """
    today = as_of.date()
    horizon = lead_window_end(today, lead_days)
    with engine.connect() as conn:
        # The cursor's 'seen' is database time, comparable with occasions.created_at.
        db_now = conn.execute(sa.select(sa.func.current_timestamp())).scalar()
        if cursor is None:
            found = occurrences_in_range(conn, today, horizon)
        else:
            entering_from = max(today, cursor.horizon + timedelta(days=1))
            found = occurrences_in_range(conn, entering_from, horizon)
            found += occurrences_in_range(
                conn,
                today,
                min(horizon, entering_from - timedelta(days=1)),
                created_after=cursor.seen - late_commit_margin,
            )
        due = without_process(conn, found)
    seen = to_db(db_now) if cursor is None else max(to_db(db_now), cursor.seen)
    next_horizon = horizon if cursor is None else max(horizon, cursor.horizon)
    return due, DetectionCursor(next_horizon, seen)
