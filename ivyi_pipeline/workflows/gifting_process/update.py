"""Guarded state changes: compare-and-set plus a history row, in one transaction."""

from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.bulk import update_rows
from ivyi_pipeline.db.engine import is_postgres
from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.db.schema import gift_processes, inbox_events, process_transitions
from ivyi_pipeline.domain.enums import InboxKind
from ivyi_pipeline.domain.states import Edge, ensure_transition
from ivyi_pipeline.errors import NotFound, StaleState


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
    if transition_many(conn, [process_id], expected, target, event, at, reason, **updates):
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
    per_process: Mapping[str, Mapping[str, object]] | None = None,
    **updates,
) -> list[str]:
    """Move every listed process still in expected to target; return the ids that moved.

    Rows are locked in the expected state first (FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serializes writers), so concurrent callers cannot both move
    a process. A process last changed after `at` does not move: its history never runs
    backwards (a tick back in time leaves it as it is). `per_process` sets values that differ
    between processes (a selected gift). The caller's transaction holds the update and the
    history rows together.
    """
    ensure_transition(expected, target)
    movable = _lock_in_status(conn, process_ids, expected, at)
    if not movable:
        return []
    # A process that moves on has got past whatever failed before.
    values = {"status": target, "updated_at": to_db(at), "last_error": None, **updates}
    if per_process:
        columns = sorted({key for row in per_process.values() for key in row})
        own = {pid: {col: per_process.get(pid, {}).get(col) for col in columns} for pid in movable}
        update_rows(conn, gift_processes, "id", own, common=values)
    else:
        for chunk in chunks(movable):
            conn.execute(
                gift_processes.update().where(gift_processes.c.id.in_(chunk)).values(**values)
            )
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
            for pid in movable
        ],
    )
    return movable


def transition_along(
    conn: sa.Connection,
    edge: Edge,
    process_ids: Sequence[str],
    at: datetime,
    per_process: Mapping[str, Mapping[str, object]] | None = None,
    **updates,
) -> list[str]:
    """`transition_many` along one edge of the step table: its source, target, event and reason."""
    return transition_many(
        conn,
        process_ids,
        edge.source,
        edge.target,
        edge.event,
        at,
        edge.reason,
        per_process,
        **updates,
    )


def _lock_in_status(
    conn: sa.Connection, process_ids: Sequence[str], status: str, at: datetime
) -> list[str]:
    found: list[str] = []
    for chunk in chunks(process_ids):
        query = (
            sa.select(gift_processes.c.id)
            .where(
                gift_processes.c.id.in_(chunk),
                gift_processes.c.status == status,
                gift_processes.c.updated_at <= to_db(at),
            )
            .order_by(gift_processes.c.id)
        )
        if is_postgres(conn.engine):
            query = query.with_for_update()
        found.extend(conn.execute(query).scalars())
    return found


def set_blocked(conn: sa.Connection, reasons: Mapping[str, str], at: datetime) -> None:
    """Record why each process cannot proceed; it keeps its state.

    Not for a process last changed after `at`: its updated_at never moves backwards.
    """
    if not reasons:
        return
    conn.execute(
        gift_processes.update()
        .where(
            gift_processes.c.id == sa.bindparam("_pid"),
            gift_processes.c.updated_at <= to_db(at),
        )
        .values(blocked_reason=sa.bindparam("_reason"), updated_at=to_db(at)),
        [{"_pid": pid, "_reason": reason} for pid, reason in reasons.items()],
    )


def close_inbox_events(conn: sa.Connection, outcomes: dict[int, str], at) -> None:
    """Mark inbox events processed with their outcome."""
    update_rows(
        conn,
        inbox_events,
        "id",
        {event_id: {"outcome": outcome} for event_id, outcome in outcomes.items()},
        common={"processed_at": to_db(at)},
    )


def close_fulfilment_events(
    conn: sa.Connection, process_ids: Sequence[str], kind: InboxKind, at
) -> None:
    """Mark the fulfilment updates of these processes as applied."""
    for chunk in chunks(process_ids):
        conn.execute(
            inbox_events.update()
            .where(
                inbox_events.c.process_id.in_(chunk),
                inbox_events.c.kind == kind.value,
                inbox_events.c.processed_at.is_(None),
            )
            .values(processed_at=to_db(at), outcome="APPLIED")
        )
