"""Dead letters: record why a process's run failed, find stuck processes, clear for a re-drive."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.reads import rows_in
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.domain.states import (
    PASSED_THROUGH,
    START_WORKFLOW,
    TERMINAL_STATUSES,
    WAITS_IN,
    Step,
    Wait,
)
from ivyi_pipeline.domain.states import GiftProcessStatus as S
from ivyi_pipeline.errors import InvalidInput, NotFound
from ivyi_pipeline.workflows.gifting_process.find import Due, by_process

STUCK_AFTER = timedelta(hours=1)
"""How long a process may sit in a state that the next run should have left at once."""

MOVE_ON_AT_ONCE = tuple(s for s in PASSED_THROUGH if s not in START_WORKFLOW.acts_on)
"""States a healthy run never leaves a process in (unless blocked on data). Where the run that
starts a process finds it (CREATED) has its own, shorter deadline: the detection sensor
re-requests it after `due.STALL_AFTER`."""

WAIT_FOR_THE_WINDOW = tuple(s for s, wait in WAITS_IN.items() if wait is Wait.GIVER_OR_WINDOW_CLOSE)
"""States that are late once their decision window has closed (and no run moved them on)."""

NOT_TERMINAL = tuple(s for s in S if s not in TERMINAL_STATUSES)

ERROR_LIMIT = 1000
gp = gift_processes

PERMANENT = "permanent fault, not retried until `ivyi redrive`: "
"""How a process's last_error starts when its run failed on a fault no retry cures (a refused
transition, a constraint the database enforces): no sensor, batch, reconciler or run retry
runs it again until a re-drive clears the error."""


def permanent(error: str) -> str:
    """A last_error that waits for a re-drive."""
    return error if error.startswith(PERMANENT) else PERMANENT + error


def not_awaiting_redrive() -> sa.ColumnElement[bool]:
    """SQL condition: the process did not fail permanently (or was re-driven since)."""
    return sa.or_(
        gp.c.last_error.is_(None), sa.not_(gp.c.last_error.startswith(PERMANENT, autoescape=True))
    )


def parse_process_id(text: str) -> str:
    """The process id in its canonical form, or InvalidInput naming the bad value."""
    try:
        return str(uuid.UUID(text))
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(f"process id {text!r} is not a UUID") from None


def standing_of(engine: sa.Engine, process_id: str) -> tuple[str, str | None]:
    """A process's (status, last error); NotFound when there is no such process."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(gp.c.status, gp.c.last_error).where(gp.c.id == process_id)
        ).first()
    if row is None:
        raise NotFound(f"gift process {process_id} does not exist")
    return str(row.status), row.last_error


def not_advanced(engine: sa.Engine, process_ids: Sequence[str], step: Step | None) -> list[str]:
    """The processes a failed step left behind: in the states it acts on, else not yet terminal."""
    states = step.acts_on if step is not None else NOT_TERMINAL
    query = sa.select(gp.c.id).where(gp.c.status.in_([s.value for s in states]))
    with engine.connect() as conn:
        return sorted(row.id for row in rows_in(conn, query, gp.c.id, process_ids))


def record_errors(engine: sa.Engine, errors: Mapping[str, str]) -> None:
    """Store each process's last error, which `ivyi status` shows."""
    if not errors:
        return
    with engine.begin() as conn:
        conn.execute(
            gp.update()
            .where(gp.c.id == sa.bindparam("_pid"))
            .values(last_error=sa.bindparam("_error")),
            [{"_pid": pid, "_error": error[:ERROR_LIMIT]} for pid, error in errors.items()],
        )


def clear_error(engine: sa.Engine, process_id: str) -> str:
    """Forget a process's last error before a re-drive; return its status."""
    with engine.begin() as conn:
        status = conn.execute(sa.select(gp.c.status).where(gp.c.id == process_id)).scalar()
        if status is None:
            raise NotFound(f"gift process {process_id} does not exist")
        conn.execute(gp.update().where(gp.c.id == process_id).values(last_error=None))
    return str(status)


def stuck_processes(engine: sa.Engine, now: datetime, after: timedelta = STUCK_AFTER) -> Due:
    """{process id: (occasion id, status)} of processes sitting past their state's deadline.

    A process is stuck when it has sat for `after` in a state a run leaves at once, when its
    decision window closed `after` ago and it is still open, or when its last run failed
    `after` ago on a fault a retry may cure. Processes blocked on data wait for the data, and
    a permanent fault waits for `ivyi redrive`.
    """
    cutoff = to_db(now - after)
    return by_process(
        engine,
        gp.c.blocked_reason.is_(None),
        not_awaiting_redrive(),
        gp.c.status.not_in([s.value for s in TERMINAL_STATUSES]),
        sa.or_(
            sa.and_(gp.c.status.in_([s.value for s in MOVE_ON_AT_ONCE]), gp.c.updated_at < cutoff),
            sa.and_(
                gp.c.status.in_([s.value for s in WAIT_FOR_THE_WINDOW]),
                gp.c.window_closes_at < cutoff,
            ),
            sa.and_(gp.c.last_error.is_not(None), gp.c.updated_at < cutoff),
        ),
    )
