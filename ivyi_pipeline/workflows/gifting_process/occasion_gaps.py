"""Missed and quiet occurrence dates: the past dates detection never covered, told apart.

A past date no detection covered (no sensor, batch or backfill recorded it) is *missed* when
an occurrence on it has no process although its occasion was recorded in time for one (by the
occurrence date plus the belated grace period): the daemon was down, or data arrived late and
nobody backfilled. It is *quiet* otherwise: no occurrence, every occurrence has a process, or
the occasion was recorded too late for any process (a backfill would skip it as too old).
A backfill covers its dates and records each skipped occurrence's reason, so a backfilled date
is never missed.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from ivyi_pipeline.clock import from_db
from ivyi_pipeline.db.schema import occasions
from ivyi_pipeline.workflows.gifting_process.detection import (
    occurrences_in_range,
    without_process,
)
from ivyi_pipeline.workflows.gifting_process.find import rows_in


@dataclass(frozen=True)
class DateAudit:
    """One uncovered date: its occurrences, those without a process, and those missed."""

    day: date
    occurrences: int
    without_process: int
    missed: int

    @property
    def is_missed(self) -> bool:
        """True when an occurrence on this date should have had a process and has none."""
        return self.missed > 0


def contiguous(days: Iterable[date]) -> list[tuple[date, date]]:
    """The sorted days as inclusive runs of consecutive dates."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def recorded_on(conn: sa.Connection, occasion_ids: Iterable[str]) -> dict[str, date]:
    """The date each occasion was recorded (its `created_at`)."""
    query = sa.select(occasions.c.id, occasions.c.created_at)
    rows = rows_in(conn, query, occasions.c.id, list(dict.fromkeys(occasion_ids)))
    return {row.id: from_db(row.created_at).date() for row in rows}


def audit_dates(engine: sa.Engine, days: Sequence[date], grace_days: int) -> list[DateAudit]:
    """Each of these dates with its occurrences, those without a process and those missed.

    One indexed range query per run of consecutive dates; processes and occasions are looked
    up by id, only for the occurrences that have no process.
    """
    found, lacking, missed = Counter(), Counter(), Counter()
    grace = timedelta(days=grace_days)
    with engine.connect() as conn:
        for start, end in contiguous(days):
            occurrences = occurrences_in_range(conn, start, end)
            found.update(o.occurrence_date for o in occurrences)
            orphans = without_process(conn, occurrences)
            lacking.update(o.occurrence_date for o in orphans)
            recorded = recorded_on(conn, (o.occasion_id for o in orphans))
            missed.update(
                o.occurrence_date
                for o in orphans
                if recorded.get(o.occasion_id, o.occurrence_date) <= o.occurrence_date + grace
            )
    return [DateAudit(day, found[day], lacking[day], missed[day]) for day in sorted(set(days))]


def latest_occasion_recorded(engine: sa.Engine) -> str | None:
    """When the newest occasion was recorded (ISO), to tell whether data arrived since."""
    with engine.connect() as conn:
        latest = conn.execute(sa.select(sa.func.max(occasions.c.created_at))).scalar()
    return None if latest is None else str(latest)
