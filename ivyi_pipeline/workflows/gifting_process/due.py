"""Which processes have something to do now: the queries behind the event sensors.

Each query asks for the processes in the statuses the step table says its step acts on.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa

from ivyi_pipeline.clock import from_db, to_db
from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.db.schema import gift_processes, inbox_events, process_transitions
from ivyi_pipeline.domain import states
from ivyi_pipeline.domain.decision_window import confirmation_counts
from ivyi_pipeline.domain.enums import InboxKind
from ivyi_pipeline.features.fulfilment import FulfilmentProvider, with_carrier_reports
from ivyi_pipeline.workflows.gifting_process.find import Due, by_process
from ivyi_pipeline.workflows.gifting_process.redrive import not_awaiting_redrive

STALL_AFTER = timedelta(minutes=10)

gp = gift_processes


def _in(*steps: states.Step) -> sa.ColumnElement[bool]:
    """The process is in a status one of the steps acts on."""
    return gp.c.status.in_([status.value for step in steps for status in step.acts_on])


def stalled_in_created(
    engine: sa.Engine, now: datetime, older_than: timedelta = STALL_AFTER
) -> Due:
    """CREATED processes that no run has started for a while (a tick died after creating them)."""
    return by_process(
        engine,
        _in(states.START_WORKFLOW),
        gp.c.blocked_reason.is_(None),
        not_awaiting_redrive(),
        gp.c.updated_at < to_db(now - older_than),
    )


def left_in_created(engine: sa.Engine, at: datetime) -> Due:
    """Every unblocked CREATED process created by `at`: what a command that died left unrun."""
    return by_process(
        engine,
        _in(states.START_WORKFLOW),
        gp.c.blocked_reason.is_(None),
        not_awaiting_redrive(),
        gp.c.updated_at <= to_db(at),
    )


def started_on_request(engine: sa.Engine) -> Due:
    """CREATED processes the platform started over HTTP, to run at the next detection tick."""
    pt, edge = process_transitions, states.CREATED_ON_REQUEST
    requested = sa.select(pt.c.process_id).where(
        pt.c.to_status == edge.target.value, pt.c.reason == edge.reason
    )
    return by_process(
        engine, _in(states.START_WORKFLOW), gp.c.blocked_reason.is_(None), gp.c.id.in_(requested)
    )


def expired_windows(engine: sa.Engine, now: datetime) -> Due:
    """Open decision windows that have closed by now."""
    return by_process(
        engine,
        _in(states.SELECT_DEFAULT),
        gp.c.window_closes_at <= to_db(now),
        gp.c.blocked_reason.is_(None),
        not_awaiting_redrive(),
    )


def pending_confirmations(engine: sa.Engine, now: datetime | None = None) -> Due:
    """Processes with a giver's confirmation waiting in the inbox, received by now (if given).

    A confirmation received after `now` is not due yet (`confirmation_counts`).
    """
    query = sa.select(inbox_events.c.process_id, inbox_events.c.received_at).where(
        inbox_events.c.kind == InboxKind.CONFIRMATION.value,
        inbox_events.c.processed_at.is_(None),
    )
    with engine.connect() as conn:
        waiting = {
            pid
            for pid, received_at in conn.execute(query)
            if now is None or confirmation_counts(from_db(received_at), now)
        }
        due: Due = {}
        for chunk in chunks(sorted(waiting)):
            due |= by_process(conn, gp.c.id.in_(chunk), not_awaiting_redrive())
        return due


def fulfilment_due(engine: sa.Engine, now: datetime, provider: FulfilmentProvider) -> Due:
    """Confirmed gifts to order, and orders whose provider reports a shipment or delivery."""
    confirmed = by_process(engine, _in(states.PLACE_ORDER), not_awaiting_redrive())
    in_flight = by_process(
        engine, _in(states.RECORD_SHIPMENT, states.COMPLETE_PROCESS), not_awaiting_redrive()
    )
    ids = list(in_flight)
    tracking = with_carrier_reports(engine, provider.tracking(ids, now), ids, now)
    shipping = {status.value for status in states.RECORD_SHIPMENT.acts_on}
    updated = {
        pid: (occasion_id, status)
        for pid, (occasion_id, status) in in_flight.items()
        if pid in tracking
        and (
            tracking[pid].delivered_at is not None
            or (status in shipping and tracking[pid].shipped_at is not None)
        )
    }
    return confirmed | updated
