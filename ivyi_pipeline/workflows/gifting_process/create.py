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
                "reason": "belated occurrence" if belated else "occurrence entered the lead window",
                "at": to_db(at),
            }
        )
    # Insert in id order: callers listing the same occurrences differently cannot deadlock.
    rows.sort(key=lambda row: row["id"])
    history.sort(key=lambda row: row["process_id"])
    for start in range(0, len(rows), chunk_size):
        with engine.begin() as conn:
            end = start + chunk_size
            insert_ignoring_conflicts(conn, gift_processes, rows[start:end])
            insert_ignoring_conflicts(conn, process_transitions, history[start:end])
    return ids
