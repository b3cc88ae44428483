"""Create gift processes: one per occasion occurrence, ever (the seed's createProcess)."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.engine import insert_ignoring_conflicts
from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline.domain.events import GiftingProcessEvent
from ivyi_pipeline.domain.states import GiftProcessStatus

PROCESS_NAMESPACE = uuid.UUID("6f1d8a52-3c1b-4f0e-9a57-2d9c0b7e4a11")


@dataclass(frozen=True)
class Occurrence:
    """One dated occurrence of an occasion, the unit a gift process is created for."""

    occasion_id: str
    occurrence_date: date
    recipient_id: str
    relationship_id: str


def process_id_for(occasion_id: str, occurrence_date: date) -> str:
    """The process id of an occurrence: the same on every machine, tick and retry."""
    return str(uuid.uuid5(PROCESS_NAMESPACE, f"{occasion_id}|{occurrence_date.isoformat()}"))


DETECTED_REASON = "occurrence entered the lead window"
BELATED_REASON = "belated occurrence"
REQUESTED_REASON = "requested by the platform (POST /occasions/{id}/gifting-process)"
"""The reason of the CREATED transition of a process the HTTP API started."""


def create_processes(
    engine: sa.Engine,
    occurrences: Iterable[Occurrence],
    at: datetime,
    belated: bool = False,
    chunk_size: int = 1000,
) -> list[str]:
    """Insert a CREATED process per occurrence unless one exists; return every process id.

    Concurrent callers converge on the same rows: ids are derived from the occurrence and
    conflicts on the primary key or on (occasion_id, occurrence_date) are skipped.
    """
    found = list(occurrences)
    # Insert in id order: callers listing the same occurrences differently cannot deadlock.
    ordered = sorted(found, key=lambda o: process_id_for(o.occasion_id, o.occurrence_date))
    for start in range(0, len(ordered), chunk_size):
        with engine.begin() as conn:
            create_processes_in(conn, ordered[start : start + chunk_size], at, belated)
    return [process_id_for(o.occasion_id, o.occurrence_date) for o in found]


def create_processes_in(
    conn: sa.Connection,
    occurrences: Iterable[Occurrence],
    at: datetime,
    belated: bool = False,
    reason: str | None = None,
) -> list[str]:
    """create_processes inside the caller's transaction, in the order given."""
    ids: list[str] = []
    rows, history = [], []
    for occ in occurrences:
        pid = process_id_for(occ.occasion_id, occ.occurrence_date)
        ids.append(pid)
        rows.append(
            {
                "id": pid,
                "occasion_id": occ.occasion_id,
                "occurrence_date": occ.occurrence_date,
                "recipient_id": occ.recipient_id,
                "relationship_id": occ.relationship_id,
                "status": GiftProcessStatus.CREATED.value,
                "belated": belated,
                "created_at": to_db(at),
                "updated_at": to_db(at),
            }
        )
        history.append(
            {
                "process_id": pid,
                "from_status": None,
                "to_status": GiftProcessStatus.CREATED.value,
                "event": GiftingProcessEvent.START_WORKFLOW.value,
                "reason": reason or (BELATED_REASON if belated else DETECTED_REASON),
                "at": to_db(at),
            }
        )
    insert_ignoring_conflicts(conn, gift_processes, rows)
    insert_ignoring_conflicts(conn, process_transitions, history)
    return ids
