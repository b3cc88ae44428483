"""start-workflow on request (the seed's createOccasionController): one occasion's process."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes, occasions
from ivyi_pipeline.domain.occurrences import occurrences_between
from ivyi_pipeline.domain.states import CREATED_ON_REQUEST
from ivyi_pipeline.errors import InvalidInput, NotDue, NotFound
from ivyi_pipeline.workflows.gifting_process.create import (
    Occurrence,
    create_processes_in,
    process_id_for,
)
from ivyi_pipeline.workflows.gifting_process.detection import DEFAULT_LEAD_DAYS

MAX_OCCASION_ID = 100
"""The longest occasion id the schema holds (occasions.id is a VARCHAR(100))."""


@dataclass(frozen=True)
class Started:
    """The process of an occasion's next occurrence, and whether this request created it."""

    process_id: str
    occasion_id: str
    occurrence_date: str
    created: bool


def check_occasion_id(occasion_id: str) -> str:
    """The occasion id as given; InvalidInput for one the schema cannot hold."""
    if not occasion_id or len(occasion_id) > MAX_OCCASION_ID or "\x00" in occasion_id:
        raise InvalidInput(
            f"occasion id must be 1 to {MAX_OCCASION_ID} characters without NUL; "
            "send the id the occasion was loaded with"
        )
    return occasion_id


def start_for_occasion(
    conn: sa.Connection, occasion_id: str, at: datetime, lead_days: int = DEFAULT_LEAD_DAYS
) -> Started:
    """The process of the occasion's next occurrence in [today, today + lead_days], created
    CREATED as the detection sensor would (same id) unless it exists.

    NotFound for an unknown occasion; NotDue when no occurrence falls in the lead window
    (the detection sensor starts it when it enters; a missed one is `ivyi backfill-missed`'s).
    """
    check_occasion_id(occasion_id)
    occ = conn.execute(
        sa.select(
            occasions.c.date,
            occasions.c.recurs_yearly,
            occasions.c.recipient_id,
            occasions.c.relationship_id,
        ).where(occasions.c.id == occasion_id)
    ).first()
    if occ is None:
        raise NotFound(f"occasion {occasion_id} does not exist")
    today = at.date()
    horizon = today + timedelta(days=lead_days)
    dates = occurrences_between(occ.date, occ.recurs_yearly, today, horizon)
    if not dates:
        if not occ.recurs_yearly and occ.date < today:
            raise NotDue(
                f"occasion {occasion_id} occurred on {occ.date.isoformat()}; a missed occasion "
                "is started by a backfill (`ivyi backfill-missed`), within the grace period"
            )
        raise NotDue(
            f"occasion {occasion_id} has no occurrence from {today.isoformat()} to "
            f"{horizon.isoformat()} (the {lead_days}-day lead window); the detection sensor "
            "starts its process when its next occurrence enters that window"
        )
    occurrence = Occurrence(occasion_id, dates[0], occ.recipient_id, occ.relationship_id)
    pid = process_id_for(occasion_id, dates[0])
    exists = conn.execute(sa.select(gift_processes.c.id).where(gift_processes.c.id == pid)).first()
    if exists is None:
        create_processes_in(conn, [occurrence], at, CREATED_ON_REQUEST)
    return Started(pid, occasion_id, dates[0].isoformat(), created=exists is None)
