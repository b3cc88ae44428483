"""The gifting funnel as of an instant, rebuilt from the process transitions (no Dagster).

Where processes stand comes from the audit trail in `process_transitions`, so the funnel can
be computed for any past instant as well as for now. Time in a status counts only stays that
had ended by then; processes still in a status do not pull its median down.

What it reads follows the live and recent processes, not the history: a process unchanged for
RECENT before the instant is *settled* (its stored status is its status then) and is counted
by the database; only processes changed since, or not finished, are read row by row, and only
the transitions of processes changed since (so the medians are those of the last RECENT).
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
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class FunnelReport:
    """Processes by status, time spent per status, and what needs an analyst's attention."""

    as_of: datetime
    by_status: dict[str, int]
    median_hours: dict[str, float]
    open_windows: pd.DataFrame
    blocked: pd.DataFrame
    failed: pd.DataFrame

    @property
    def closing_soon(self) -> pd.DataFrame:
        """The open windows that close in the next 24 hours (CLOSING_HORIZON)."""
        hours = self.open_windows["hours_left"]
        soon = (hours > 0) & (hours <= CLOSING_HORIZON.total_seconds() / 3600)
        return self.open_windows[soon].reset_index(drop=True)

    @property
    def total(self) -> int:
        """How many processes existed at as_of."""
        return sum(self.by_status.values())

    def headline(self) -> str:
        """A few words for a run tag: the counts that need attention."""
        return (
            f"{self.total} processes, {self.by_status.get(S.COMPLETED, 0)} completed, "
            f"{len(self.open_windows)} windows open, "
            f"{len(self.closing_soon)} closing in 24h, {len(self.blocked)} blocked, "
            f"{len(self.failed)} failed"
        )

    def summary(self) -> str:
        """One paragraph an analyst reads first."""
        counts = ", ".join(f"{n} {s}" for s, n in self.by_status.items() if n) or "none"
        return (
            f"{self.total} processes as of {self.as_of:%Y-%m-%d %H:%M}Z ({counts}); "
            f"{len(self.open_windows)} decision window(s) open, "
            f"{len(self.closing_soon)} of them close in the next 24 hours; "
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


def open_windows(processes: pd.DataFrame, status_now: pd.Series, as_of: datetime) -> pd.DataFrame:
    """Every decision window open at as_of, soonest closing first, with the hours left.

    A window past its closing time whose default is not taken yet is open still (negative
    hours left): the next run selects its default.
    """
    open_now = processes[
        processes["process_id"].map(status_now).eq(S.DECISION_WINDOW_OPEN)
        & processes["window_closes_at"].notna()
    ]
    closes = pd.to_datetime(open_now["window_closes_at"])
    hours_left = (closes - as_of).dt.total_seconds() / 3600
    return (
        open_now.assign(window_closes_at=closes, hours_left=hours_left.round(1))[
            ["process_id", "occasion_id", "occurrence_date", "window_closes_at", "hours_left"]
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
    settled: pd.Series | None = None,
    settled_counts: dict[str, int] | None = None,
) -> FunnelReport:
    """The funnel from transitions (id, process_id, to_status, at) and process rows.

    `settled` is the status of the listed processes that changed before the transitions read
    (unfinished ones, for the lists); `settled_counts` counts every settled process by status.
    """
    naive = to_db(as_of)
    moving = statuses_at(transitions, naive)
    counts = moving.value_counts()
    status_now = moving if settled is None else pd.concat([settled, moving])
    settled_counts = settled_counts or {}
    return FunnelReport(
        as_of=as_of,
        by_status={str(s): int(counts.get(s, 0)) + settled_counts.get(str(s), 0) for s in S},
        median_hours=median_hours_in_status(transitions, naive),
        open_windows=open_windows(processes, status_now, naive),
        blocked=_attention(processes, status_now, naive, "blocked_reason"),
        failed=_attention(processes, status_now, naive, "last_error"),
    )


def funnel_report(engine: sa.Engine, as_of: datetime) -> FunnelReport:
    """Read what changed since RECENT before as_of and what is unfinished; build the funnel."""
    pt, gp = process_transitions, gift_processes
    cutoff = to_db(as_of - RECENT)
    recent = gp.c.updated_at > cutoff
    with engine.connect() as conn:
        settled_counts = {
            str(status): int(n)
            for status, n in conn.execute(
                sa.select(gp.c.status, sa.func.count()).where(~recent).group_by(gp.c.status)
            )
        }
        transitions = read_frame(
            conn,
            sa.select(pt.c.id, pt.c.process_id, pt.c.to_status, pt.c.at)
            .join(gp, gp.c.id == pt.c.process_id)
            .where(pt.c.at <= to_db(as_of), recent),
        )
        processes = read_frame(
            conn,
            sa.select(
                gp.c.id.label("process_id"),
                gp.c.status,
                gp.c.occasion_id,
                gp.c.occurrence_date,
                gp.c.window_closes_at,
                gp.c.blocked_reason,
                gp.c.last_error,
                gp.c.updated_at,
            ).where(sa.or_(recent, gp.c.status.not_in([s.value for s in TERMINAL_STATUSES]))),
        )
    transitions["at"] = pd.to_datetime(transitions["at"])
    is_settled = pd.to_datetime(processes["updated_at"]) <= cutoff
    settled = processes[is_settled].set_index("process_id")["status"].map(str)
    return build_report(transitions, processes, as_of, settled, settled_counts)


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
