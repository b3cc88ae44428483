"""Create gift processes: one per occasion occurrence, ever (the seed's createProcess)."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.engine import insert_ignoring_conflicts
from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline.domain.states import CREATED_BELATED, CREATED_IN_LEAD_WINDOW, Edge

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
    edge = CREATED_BELATED if belated else CREATED_IN_LEAD_WINDOW
    ids, rows, history = _rows(occurrences, at, edge)
    # Insert in id order: callers listing the same occurrences differently cannot deadlock.
    rows.sort(key=lambda row: row["id"])
    history.sort(key=lambda row: row["process_id"])
    for processes, entries in zip(
        chunks(rows, chunk_size), chunks(history, chunk_size), strict=True
    ):
        with engine.begin() as conn:
            insert_ignoring_conflicts(conn, gift_processes, processes)
            insert_ignoring_conflicts(conn, process_transitions, entries)
    return ids


def create_processes_in(
    conn: sa.Connection, occurrences: Iterable[Occurrence], at: datetime, edge: Edge
) -> list[str]:
    """create_processes inside the caller's transaction, recorded with `edge` (one of
    states.CREATION): the HTTP API's start-workflow writes its idempotency record beside it."""
    ids, rows, history = _rows(occurrences, at, edge)
    insert_ignoring_conflicts(conn, gift_processes, rows)
    insert_ignoring_conflicts(conn, process_transitions, history)
    return ids


def _rows(
    occurrences: Iterable[Occurrence], at: datetime, edge: Edge
) -> tuple[list[str], list[dict], list[dict]]:
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
                "status": edge.target.value,
                "belated": edge == CREATED_BELATED,
                "created_at": to_db(at),
                "updated_at": to_db(at),
            }
        )
        history.append(
            {
                "process_id": pid,
                "from_status": edge.source,
                "to_status": edge.target.value,
                "event": edge.event.value,
                "reason": edge.reason,
                "at": to_db(at),
            }
        )
    return ids, rows, history
