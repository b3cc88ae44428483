"""The day's work in bulk: every process the nightly batch moves on, whatever the sensors did."""

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes as gp
from ivyi_pipeline.domain import states
from ivyi_pipeline.domain.occurrences import lead_window_end
from ivyi_pipeline.domain.states import PASSED_THROUGH, TERMINAL_STATUSES
from ivyi_pipeline.features.fulfilment import FulfilmentProvider
from ivyi_pipeline.workflows.gifting_process import due
from ivyi_pipeline.workflows.gifting_process.create import create_processes
from ivyi_pipeline.workflows.gifting_process.detection import (
    DEFAULT_LEAD_DAYS,
    detect_due_occurrences,
)
from ivyi_pipeline.workflows.gifting_process.find import Due, by_process
from ivyi_pipeline.workflows.gifting_process.redrive import not_awaiting_redrive

# States a run passes through without waiting; a process resting in one was interrupted.
# The processes place_order acts on are listed as due for fulfilment instead
# (`due.fulfilment_due`).
PASS_THROUGH = tuple(s for s in PASSED_THROUGH if s not in states.PLACE_ORDER.acts_on)


@dataclass
class DailyWork:
    """What the nightly batch found to do as of one instant, by reason."""

    as_of: datetime
    lead_days: int
    by_reason: dict[str, Due] = field(default_factory=dict)

    @property
    def due(self) -> Due:
        """Every due process: {process id: (occasion id, status)}."""
        merged: Due = {}
        for found in self.by_reason.values():
            merged |= found
        return merged

    @property
    def created(self) -> list[str]:
        """The processes detection created."""
        return sorted(self.by_reason.get("detected", {}))

    def covered_dates(self) -> tuple[date, date]:
        """The occurrence dates detection looked at: the whole lead window."""
        today = self.as_of.date()
        return today, lead_window_end(today, self.lead_days)

    def counts(self) -> dict[str, int]:
        """Due processes per reason (a process may be due for several)."""
        return {reason: len(found) for reason, found in self.by_reason.items()}


def interrupted(engine: sa.Engine) -> Due:
    """Unblocked processes resting in a state a run only passes through."""
    return by_process(
        engine,
        gp.c.status.in_([s.value for s in PASS_THROUGH]),
        gp.c.blocked_reason.is_(None),
        not_awaiting_redrive(),
    )


def blocked(engine: sa.Engine) -> Due:
    """Blocked processes that are not finished: worth a retry once a day."""
    return by_process(
        engine,
        gp.c.blocked_reason.is_not(None),
        gp.c.status.not_in([s.value for s in TERMINAL_STATUSES]),
        not_awaiting_redrive(),
    )


def daily_work(
    engine: sa.Engine,
    as_of: datetime,
    provider: FulfilmentProvider,
    lead_days: int = DEFAULT_LEAD_DAYS,
) -> DailyWork:
    """Detect over the whole lead window (no cursor), create the processes, list what is due."""
    found, _ = detect_due_occurrences(engine, as_of, None, lead_days)
    new_ids = create_processes(engine, found, as_of)
    pairs = zip(new_ids, found, strict=True)
    created = states.CREATED_IN_LEAD_WINDOW.target.value
    detected = {pid: (occ.occasion_id, created) for pid, occ in pairs}
    work = DailyWork(as_of, lead_days)
    work.by_reason = {
        "detected": detected,
        "interrupted": interrupted(engine),
        "window_expired": due.expired_windows(engine, as_of),
        "confirmation": due.pending_confirmations(engine, as_of),
        "fulfilment": due.fulfilment_due(engine, as_of, provider),
        "blocked_retry": blocked(engine),
    }
    return work
