"""The gifting funnel as of an instant, rebuilt from the process transitions (no Dagster).

Where processes stand comes from the audit trail in `process_transitions`, so the funnel can
be computed for any past instant as well as for now. Time in a status counts only stays that
had ended by then; processes still in a status do not pull its median down.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.reads import frame_in, read_frame
from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline.domain.states import TERMINAL_STATUSES
from ivyi_pipeline.domain.states import GiftProcessStatus as S

CLOSING_HORIZON = timedelta(hours=24)


@dataclass(frozen=True)
class FunnelReport:
    """Processes by status, time spent per status, and what needs an analyst's attention."""

    as_of: datetime
    by_status: dict[str, int]
    median_hours: dict[str, float]
    closing_soon: pd.DataFrame
    blocked: pd.DataFrame
    failed: pd.DataFrame

    @property
    def total(self) -> int:
        """How many processes existed at as_of."""
        return sum(self.by_status.values())

    def headline(self) -> str:
        """A few words for a run tag: the counts that need attention."""
        return (
            f"{self.total} processes, {self.by_status.get(S.COMPLETED, 0)} completed, "
            f"{len(self.closing_soon)} closing in 24h, {len(self.blocked)} blocked, "
            f"{len(self.failed)} failed"
        )

    def summary(self) -> str:
        """One paragraph an analyst reads first."""
        counts = ", ".join(f"{n} {s}" for s, n in self.by_status.items() if n) or "none"
        return (
            f"{self.total} processes as of {self.as_of:%Y-%m-%d %H:%M}Z ({counts}); "
            f"{len(self.closing_soon)} decision window(s) close in the next 24 hours; "
            f"{len(self.blocked)} blocked; {len(self.failed)} with a failed run."
        )


def statuses_at(transitions: pd.DataFrame, as_of: datetime) -> pd.Series:
    """Each process's status at as_of (naive UTC): the target of its last transition by then."""
    seen = transitions[transitions["at"] <= as_of].sort_values(["process_id", "at", "id"])
    return seen.groupby("process_id")["to_status"].last()


def median_hours_in_status(transitions: pd.DataFrame, as_of: datetime) -> dict[str, float]:
    """Median hours a process stayed in each status before leaving it, by as_of."""
    seen = transitions[transitions["at"] <= as_of].sort_values(["process_id", "at", "id"])
    left_at = seen.groupby("process_id")["at"].shift(-1)
    stays = seen.assign(hours=(left_at - seen["at"]).dt.total_seconds() / 3600).dropna(
        subset=["hours"]
    )
    medians = stays.groupby("to_status")["hours"].median()
    return {str(s): round(float(medians[s]), 2) for s in S if s in medians.index}


def closing_within(
    processes: pd.DataFrame, status_now: pd.Series, as_of: datetime, horizon: timedelta
) -> pd.DataFrame:
    """Open decision windows that close in (as_of, as_of + horizon], soonest first."""
    open_now = processes[
        processes["process_id"].map(status_now).eq(S.DECISION_WINDOW_OPEN)
        & processes["window_closes_at"].notna()
    ]
    closes = pd.to_datetime(open_now["window_closes_at"])
    soon = open_now[(closes > as_of) & (closes <= as_of + horizon)]
    hours_left = (pd.to_datetime(soon["window_closes_at"]) - as_of).dt.total_seconds() / 3600
    return (
        soon.assign(hours_left=hours_left.round(1))[
            ["process_id", "occasion_id", "window_closes_at", "hours_left"]
        ]
        .sort_values(["window_closes_at", "process_id"])
        .reset_index(drop=True)
    )


def _attention(
    processes: pd.DataFrame, status_now: pd.Series, as_of: datetime, column: str
) -> pd.DataFrame:
    """Live processes (not terminal at as_of) whose `column` holds a reason set by as_of."""
    status = processes["process_id"].map(status_now)
    rows = processes[
        processes[column].notna()
        & status.notna()
        & ~status.isin(list(TERMINAL_STATUSES))
        & (pd.to_datetime(processes["updated_at"]) <= as_of)
    ]
    return (
        rows.assign(status=rows["process_id"].map(status_now), reason=rows[column])[
            ["process_id", "status", "reason"]
        ]
        .sort_values("process_id")
        .reset_index(drop=True)
    )


def build_report(
    transitions: pd.DataFrame,
    processes: pd.DataFrame,
    as_of: datetime,
    horizon: timedelta = CLOSING_HORIZON,
) -> FunnelReport:
    """The funnel from transitions (id, process_id, to_status, at) and process rows."""
    naive = to_db(as_of)
    status_now = statuses_at(transitions, naive)
    counts = status_now.value_counts()
    return FunnelReport(
        as_of=as_of,
        by_status={str(s): int(counts.get(s, 0)) for s in S},
        median_hours=median_hours_in_status(transitions, naive),
        closing_soon=closing_within(processes, status_now, naive, horizon),
        blocked=_attention(processes, status_now, naive, "blocked_reason"),
        failed=_attention(processes, status_now, naive, "last_error"),
    )


def funnel_report(
    engine: sa.Engine, as_of: datetime, horizon: timedelta = CLOSING_HORIZON
) -> FunnelReport:
    """Read the transitions and processes, and build the funnel as of as_of."""
    pt, gp = process_transitions, gift_processes
    with engine.connect() as conn:
        transitions = read_frame(
            conn,
            sa.select(pt.c.id, pt.c.process_id, pt.c.to_status, pt.c.at).where(
                pt.c.at <= to_db(as_of)
            ),
        )
        processes = read_frame(
            conn,
            sa.select(
                gp.c.id.label("process_id"),
                gp.c.occasion_id,
                gp.c.window_closes_at,
                gp.c.blocked_reason,
                gp.c.last_error,
                gp.c.updated_at,
            ),
        )
    transitions["at"] = pd.to_datetime(transitions["at"])
    return build_report(transitions, processes, as_of, horizon)


def transitions_of(conn: sa.Connection, process_ids: Sequence[str]) -> pd.DataFrame:
    """The history of the listed processes, oldest first: status, event, reason, time."""
    pt = process_transitions
    query = sa.select(pt.c.process_id, pt.c.to_status, pt.c.event, pt.c.reason, pt.c.at).order_by(
        pt.c.process_id, pt.c.at, pt.c.id
    )
    return frame_in(conn, query, pt.c.process_id, list(process_ids))


def transition_instants(engine: sa.Engine) -> list[datetime]:
    """The distinct instants (naive UTC) at which processes moved, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(process_transitions.c.at).distinct().order_by("at"))
        return [row[0] for row in rows]
