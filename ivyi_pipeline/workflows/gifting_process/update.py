"""Guarded state changes: compare-and-set plus a history row, in one transaction."""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline.errors import NotFound, StaleState
from ivyi_pipeline.workflows.gifting_process.states import ensure_transition

CHUNK = 500


def transition(
    conn: sa.Connection,
    process_id: str,
    expected: str,
    target: str,
    event: str,
    at: datetime,
    reason: str | None = None,
    **updates,
) -> None:
    """Move one process from expected to target, or raise and change nothing.

    Raises InvalidTransition when the table forbids expected -> target, NotFound for an
    unknown process and StaleState when another writer moved the process first.
    """
    ensure_transition(expected, target, process_id)
    moved = transition_many(conn, [process_id], expected, target, event, at, reason, **updates)
    if moved:
        return
    actual = conn.execute(
        sa.select(gift_processes.c.status).where(gift_processes.c.id == process_id)
    ).scalar()
    if actual is None:
        raise NotFound(f"gift process {process_id} does not exist")
    raise StaleState(process_id, expected, actual)


def transition_many(
    conn: sa.Connection,
    process_ids: Sequence[str],
    expected: str,
    target: str,
    event: str,
    at: datetime,
    reason: str | None = None,
    **updates,
) -> list[str]:
    """Move every listed process still in expected to target; return the ids that moved.

    The caller's transaction holds both the guarded UPDATE and the history rows, so a
    process either moved and has its history row, or neither happened.
    """
    ensure_transition(expected, target)
    moved: list[str] = []
    values = {"status": target, "updated_at": to_db(at), **updates}
    for start in range(0, len(process_ids), CHUNK):
        chunk = list(process_ids[start : start + CHUNK])
        result = conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id.in_(chunk), gift_processes.c.status == expected)
            .values(**values)
            .returning(gift_processes.c.id)
        )
        moved.extend(result.scalars())
    if moved:
        conn.execute(
            process_transitions.insert(),
            [
                {
                    "process_id": pid,
                    "from_status": expected,
                    "to_status": target,
                    "event": event,
                    "reason": reason,
                    "at": to_db(at),
                }
                for pid in moved
            ],
        )
    return moved
