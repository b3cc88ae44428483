"""Backfills of missed occasions: what becomes of each occurrence found without a process."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.domain import states
from ivyi_pipeline.domain.grace import DEFAULT_GRACE_DAYS, past_grace
from ivyi_pipeline.domain.occurrences import lead_window_end
from ivyi_pipeline.errors import InvalidInput
from ivyi_pipeline.workflows.gifting_process.create import (
    Occurrence,
    create_processes,
    process_id_for,
)
from ivyi_pipeline.workflows.gifting_process.detection import (
    DEFAULT_LEAD_DAYS,
    occurrences_in_range,
    without_process,
)
from ivyi_pipeline.workflows.gifting_process.find import Due, by_process


class Outcome(StrEnum):
    """What a backfill did with one occurrence."""

    ALREADY_HAD_PROCESS = "already_had_process"
    CREATED = "created"
    BELATED = "belated"
    TOO_OLD = "skipped_too_old"
    NOT_YET_DUE = "skipped_not_yet_due"


SKIPPED = (Outcome.TOO_OLD, Outcome.NOT_YET_DUE)


@dataclass(frozen=True)
class BelatedPolicy:
    """Past occurrences within `grace_days` get a belated process; older ones are skipped."""

    grace_days: int = DEFAULT_GRACE_DAYS
    lead_days: int = DEFAULT_LEAD_DAYS

    def outcome(self, occurrence_date: date, today: date) -> Outcome:
        """The outcome for an occurrence that has no process yet."""
        if past_grace(occurrence_date, today, self.grace_days):
            return Outcome.TOO_OLD
        if occurrence_date < today:
            return Outcome.BELATED
        if occurrence_date > lead_window_end(today, self.lead_days):
            return Outcome.NOT_YET_DUE
        return Outcome.CREATED

    def reason(self, occurrence_date: date, today: date) -> str:
        """Why an occurrence was skipped, in a sentence an analyst reads."""
        if self.outcome(occurrence_date, today) == Outcome.TOO_OLD:
            days = (today - occurrence_date).days
            return f"occurred {days} days ago, beyond the {self.grace_days}-day grace period"
        enters = occurrence_date - timedelta(days=self.lead_days)
        return f"enters the {self.lead_days}-day lead window on {enters.isoformat()}"


@dataclass(frozen=True)
class BackfillEntry:
    """One occurrence a backfill looked at, and what became of it."""

    occasion_id: str
    occurrence_date: date
    outcome: Outcome
    process_id: str | None = None
    reason: str | None = None


@dataclass
class BackfillResult:
    """Every occurrence dated in [start, end] and its outcome, as of one instant."""

    start: date
    end: date
    as_of: datetime
    entries: list[BackfillEntry] = field(default_factory=list)

    def ids(self, *outcomes: Outcome) -> list[str]:
        """The process ids of the entries with these outcomes."""
        return [e.process_id for e in self.entries if e.outcome in outcomes and e.process_id]

    @property
    def new_process_ids(self) -> list[str]:
        """Processes this backfill created, on time or belated."""
        return self.ids(Outcome.CREATED, Outcome.BELATED)

    def counts(self, day: date | None = None) -> dict[str, int]:
        """Occurrences per outcome, over the whole range or for one day."""
        found = Counter(e.outcome for e in self.entries if day in (None, e.occurrence_date))
        return {str(outcome): found.get(outcome, 0) for outcome in Outcome}

    def skipped(self, day: date | None = None) -> list[BackfillEntry]:
        """The occurrences left without a process, with the reason."""
        return [
            e for e in self.entries if e.outcome in SKIPPED and day in (None, e.occurrence_date)
        ]

    def days(self) -> list[date]:
        """Every day of the range, first to last."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def backfill_missed(
    engine: sa.Engine, start: date, end: date, as_of: datetime, policy: BelatedPolicy
) -> BackfillResult:
    """Give every occurrence in [start, end] without a process one, unless the policy says no.

    Creation is idempotent (deterministic ids, conflicts skipped), so a second backfill of
    the same range, or one racing the detection sensor, creates nothing twice.
    """
    if end < start:
        raise InvalidInput(f"the range {start} .. {end} ends before it starts")
    today = as_of.date()
    with engine.connect() as conn:
        found = occurrences_in_range(conn, start, end)
        missing = without_process(conn, found)
    result = BackfillResult(start, end, as_of)
    missing_ids = {process_id_for(o.occasion_id, o.occurrence_date) for o in missing}
    for occ in found:
        pid = process_id_for(occ.occasion_id, occ.occurrence_date)
        if pid not in missing_ids:
            entry = BackfillEntry(
                occ.occasion_id, occ.occurrence_date, Outcome.ALREADY_HAD_PROCESS, pid
            )
            result.entries.append(entry)
    by_outcome: dict[Outcome, list[Occurrence]] = {outcome: [] for outcome in Outcome}
    for occ in missing:
        by_outcome[policy.outcome(occ.occurrence_date, today)].append(occ)
    for outcome in SKIPPED:
        result.entries.extend(
            BackfillEntry(o.occasion_id, o.occurrence_date, outcome, None, reason)
            for o in by_outcome[outcome]
            for reason in [policy.reason(o.occurrence_date, today)]
        )
    for outcome, belated in ((Outcome.CREATED, False), (Outcome.BELATED, True)):
        _create(engine, by_outcome[outcome], as_of, belated, outcome, result)
    result.entries.sort(key=lambda e: (e.occurrence_date, e.occasion_id))
    return result


def _create(
    engine: sa.Engine,
    occurrences: Sequence[Occurrence],
    as_of: datetime,
    belated: bool,
    outcome: Outcome,
    result: BackfillResult,
) -> None:
    if not occurrences:
        return
    ids = create_processes(engine, occurrences, as_of, belated=belated)
    result.entries.extend(
        BackfillEntry(o.occasion_id, o.occurrence_date, outcome, pid)
        for o, pid in zip(occurrences, ids, strict=True)
    )


def waiting_to_start(engine: sa.Engine, days: Sequence[date]) -> Due:
    """Unblocked processes dated on these days that wait for the step that starts them."""
    gp = gift_processes
    found: Due = {}
    with engine.connect() as conn:
        for chunk in chunks(days):
            found |= by_process(
                conn,
                gp.c.status.in_([s.value for s in states.START_WORKFLOW.acts_on]),
                gp.c.blocked_reason.is_(None),
                gp.c.occurrence_date.in_(chunk),
            )
    return found
