"""Which processes have something to do now: the queries behind the event sensors."""

from datetime import datetime, timedelta

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import gift_processes, inbox_events
from ivyi_pipeline.domain.enums import InboxKind
from ivyi_pipeline.domain.states import GiftProcessStatus as S
from ivyi_pipeline.features.fulfilment import FulfilmentProvider
from ivyi_pipeline.workflows.gifting_process.redrive import not_awaiting_redrive

STALL_AFTER = timedelta(minutes=10)

gp = gift_processes


def _by_process(engine: sa.Engine, query: sa.Select) -> dict[str, tuple[str, str]]:
    """{process id: (occasion id, status)} of the query's rows."""
    with engine.connect() as conn:
        return {pid: (occasion_id, str(status)) for pid, occasion_id, status in conn.execute(query)}


def stalled_in_created(
    engine: sa.Engine, now: datetime, older_than: timedelta = STALL_AFTER
) -> dict[str, tuple[str, str]]:
    """CREATED processes that no run has started for a while (a tick died after creating them)."""
    query = sa.select(gp.c.id, gp.c.occasion_id, gp.c.status).where(
        gp.c.status == S.CREATED.value,
        gp.c.blocked_reason.is_(None),
        not_awaiting_redrive(),
        gp.c.updated_at < to_db(now - older_than),
    )
    return _by_process(engine, query)


def left_in_created(engine: sa.Engine, at: datetime) -> dict[str, tuple[str, str]]:
    """Every unblocked CREATED process created by `at`: what a command that died left unrun."""
    query = sa.select(gp.c.id, gp.c.occasion_id, gp.c.status).where(
        gp.c.status == S.CREATED.value,
        gp.c.blocked_reason.is_(None),
        not_awaiting_redrive(),
        gp.c.updated_at <= to_db(at),
    )
    return _by_process(engine, query)


def expired_windows(engine: sa.Engine, now: datetime) -> dict[str, tuple[str, str]]:
    """Open decision windows that have closed by now."""
    query = sa.select(gp.c.id, gp.c.occasion_id, gp.c.status).where(
        gp.c.status == S.DECISION_WINDOW_OPEN.value,
        gp.c.window_closes_at <= to_db(now),
        gp.c.blocked_reason.is_(None),
        not_awaiting_redrive(),
    )
    return _by_process(engine, query)


def pending_confirmations(
    engine: sa.Engine, now: datetime | None = None
) -> dict[str, tuple[str, str]]:
    """Processes with a giver's confirmation waiting in the inbox, received by now (if given).

    A confirmation received after `now` is not due yet: an inbox event is never applied at an
    instant before it was received.
    """
    query = (
        sa.select(gp.c.id, gp.c.occasion_id, gp.c.status)
        .join(inbox_events, inbox_events.c.process_id == gp.c.id)
        .where(
            inbox_events.c.kind == InboxKind.CONFIRMATION.value,
            inbox_events.c.processed_at.is_(None),
            not_awaiting_redrive(),
        )
    )
    if now is not None:
        query = query.where(inbox_events.c.received_at <= to_db(now))
    return _by_process(engine, query)


def fulfilment_due(
    engine: sa.Engine, now: datetime, provider: FulfilmentProvider
) -> dict[str, tuple[str, str]]:
    """Confirmed gifts to order, and orders whose provider reports a shipment or delivery."""
    confirmed = _by_process(
        engine,
        sa.select(gp.c.id, gp.c.occasion_id, gp.c.status).where(
            gp.c.status == S.CONFIRMED.value, not_awaiting_redrive()
        ),
    )
    with engine.connect() as conn:
        in_flight = conn.execute(
            sa.select(gp.c.id, gp.c.occasion_id, gp.c.status).where(
                gp.c.status.in_([S.ORDERED.value, S.SHIPPED.value]), not_awaiting_redrive()
            )
        ).all()
    tracking = provider.tracking([pid for pid, _, _ in in_flight], now)
    updated = {
        pid: (occasion_id, str(status))
        for pid, occasion_id, status in in_flight
        if pid in tracking
        and (
            tracking[pid].delivered_at is not None
            or (status == S.ORDERED.value and tracking[pid].shipped_at is not None)
        )
    }
    return confirmed | updated
