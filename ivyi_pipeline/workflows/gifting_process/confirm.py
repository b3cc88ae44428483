"""A giver's confirmation: validated, then recorded in the inbox for the confirmation step."""

import uuid
from datetime import datetime

import sqlalchemy as sa

from ivyi_pipeline.clock import from_db, to_db
from ivyi_pipeline.db.engine import is_postgres
from ivyi_pipeline.db.schema import gift_processes, gifts, inbox_events, ranked_decisions
from ivyi_pipeline.domain.decision_window import window_open
from ivyi_pipeline.domain.enums import InboxKind
from ivyi_pipeline.domain.states import GIVER_CONFIRMED
from ivyi_pipeline.errors import ConfirmationRefused, GiftNotOffered, InvalidInput, NotFound


def parse_uuid(text: str, what: str) -> str:
    """The canonical form of a UUID argument; InvalidInput naming `what` otherwise."""
    try:
        return str(uuid.UUID(text))
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(f"{what} {text!r} is not a UUID") from None


def record_confirmation(engine: sa.Engine, process_id: str, gift_id: str, at: datetime) -> int:
    """Record the giver's choice of gift_id for process_id; return the inbox event id.

    Refused, with nothing written, for an unknown process, a gift that is not among the
    process's ranked options or is out of stock, a window that is closed or not yet open at
    `at`, or a process already confirmed with another gift. The same confirmation repeated
    (a client retrying) writes nothing and returns the first one's id.
    """
    return confirm_once(engine, process_id, gift_id, at)[0]


def _earlier_confirmation(conn: sa.Connection, process_id: str) -> tuple[int, str] | None:
    """(event id, gift id) of the process's recorded confirmation, if it has one."""
    row = conn.execute(
        sa.select(inbox_events.c.id, inbox_events.c.gift_id).where(
            inbox_events.c.process_id == process_id,
            inbox_events.c.kind == InboxKind.CONFIRMATION.value,
        )
    ).first()
    return None if row is None else (int(row.id), str(row.gift_id))


def confirm_once(
    engine: sa.Engine, process_id: str, gift_id: str, at: datetime
) -> tuple[int, bool]:
    """record_confirmation's work: (inbox event id, True when this call recorded it).

    A confirmation of the gift already confirmed for the process returns (its id, False)
    whatever the process's state and the clock are now: the first one was accepted.
    """
    with engine.begin() as conn:
        return confirm_once_in(conn, process_id, gift_id, at)


def record_confirmation_in(conn: sa.Connection, process_id: str, gift_id: str, at: datetime) -> int:
    """A new confirmation inside the caller's transaction (the HTTP API adds its own row).

    Over HTTP a retry carries the first request's Idempotency-Key and gets its answer again;
    another request after a confirmation is refused, whichever gift it names.
    """
    event_id, recorded = confirm_once_in(conn, process_id, gift_id, at)
    if not recorded:
        raise ConfirmationRefused(
            f"process {process_id} already has a confirmation; the first one stands"
        )
    return event_id


def confirm_once_in(
    conn: sa.Connection, process_id: str, gift_id: str, at: datetime
) -> tuple[int, bool]:
    """confirm_once inside the caller's transaction."""
    process_id, gift_id = parse_uuid(process_id, "process id"), parse_uuid(gift_id, "gift id")
    query = sa.select(
        gift_processes.c.status,
        gift_processes.c.window_opens_at,
        gift_processes.c.window_closes_at,
    ).where(gift_processes.c.id == process_id)
    if is_postgres(conn.engine):
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"gift process {process_id} does not exist")
    earlier = _earlier_confirmation(conn, process_id)
    if earlier is not None and earlier[1] == gift_id:
        return earlier[0], False
    _check_open(process_id, row, at)
    _check_ranked_in_stock(conn, process_id, gift_id)
    try:
        with conn.begin_nested():
            result = conn.execute(
                inbox_events.insert().values(
                    process_id=process_id,
                    kind=InboxKind.CONFIRMATION.value,
                    gift_id=gift_id,
                    received_at=to_db(at),
                )
            )
    except sa.exc.IntegrityError:
        earlier = _earlier_confirmation(conn, process_id)
        if earlier is not None and earlier[1] == gift_id:
            return earlier[0], False
        raise ConfirmationRefused(
            f"process {process_id} already has a confirmation; the first one stands"
        ) from None
    return int(result.inserted_primary_key[0]), True


def _check_open(process_id: str, row: sa.Row, at: datetime) -> None:
    status = row.status
    opens, closes = from_db(row.window_opens_at), from_db(row.window_closes_at)
    awaits_choice = status == GIVER_CONFIRMED.source
    if not awaits_choice or at < opens:
        raise ConfirmationRefused(
            f"process {process_id} is {status}: its decision window is not open"
            + (f" at {at:%Y-%m-%d %H:%M}Z" if awaits_choice else "")
        )
    if not window_open(opens, closes, at):
        raise ConfirmationRefused(
            f"the decision window of process {process_id} closed at "
            f"{from_db(closes):%Y-%m-%d %H:%M}Z"
        )


def _check_ranked_in_stock(conn: sa.Connection, process_id: str, gift_id: str) -> None:
    ranked = conn.execute(
        sa.select(gifts.c.in_stock)
        .join(ranked_decisions, ranked_decisions.c.gift_id == gifts.c.id)
        .where(
            ranked_decisions.c.process_id == process_id,
            ranked_decisions.c.gift_id == gift_id,
        )
    ).first()
    if ranked is None:
        raise GiftNotOffered(
            f"gift {gift_id} is not among the ranked options of process {process_id}"
        )
    if not ranked.in_stock:
        raise GiftNotOffered(f"gift {gift_id} is out of stock; choose another option")
