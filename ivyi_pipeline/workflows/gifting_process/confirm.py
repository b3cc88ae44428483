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
from ivyi_pipeline.errors import ConfirmationRefused, InvalidInput, NotFound


def _uuid(text: str, what: str) -> str:
    try:
        return str(uuid.UUID(text))
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(f"{what} {text!r} is not a UUID") from None


def record_confirmation(engine: sa.Engine, process_id: str, gift_id: str, at: datetime) -> int:
    """Record the giver's choice of gift_id for process_id; return the inbox event id.

    Refused, with nothing written, for an unknown process, a gift that is not among the
    process's ranked options or is out of stock, a window that is closed or not yet open at
    `at`, or a process already confirmed.
    """
    process_id, gift_id = _uuid(process_id, "process id"), _uuid(gift_id, "gift id")
    with engine.begin() as conn:
        query = sa.select(
            gift_processes.c.status,
            gift_processes.c.window_opens_at,
            gift_processes.c.window_closes_at,
        ).where(gift_processes.c.id == process_id)
        if is_postgres(engine):
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"gift process {process_id} does not exist")
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
        ranked = conn.execute(
            sa.select(gifts.c.in_stock)
            .join(ranked_decisions, ranked_decisions.c.gift_id == gifts.c.id)
            .where(
                ranked_decisions.c.process_id == process_id,
                ranked_decisions.c.gift_id == gift_id,
            )
        ).first()
        if ranked is None:
            raise ConfirmationRefused(
                f"gift {gift_id} is not among the ranked options of process {process_id}"
            )
        if not ranked.in_stock:
            raise ConfirmationRefused(f"gift {gift_id} is out of stock; choose another option")
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
            raise ConfirmationRefused(
                f"process {process_id} already has a confirmation; the first one stands"
            ) from None
        return int(result.inserted_primary_key[0])
