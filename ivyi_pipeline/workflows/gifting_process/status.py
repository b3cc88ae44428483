"""Where every gift process stands: the data behind `ivyi status`."""

import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes, ranked_decisions
from ivyi_pipeline.domain.partition_keys import partition_key

STATUS_COLUMNS = [
    "process_id",
    "partition_key",
    "occasion_id",
    "occurrence_date",
    "status",
    "selected_gift_id",
    "ranked_gift_ids",
    "window_closes_at",
    "blocked_reason",
    "last_error",
]


def process_statuses(
    engine: sa.Engine, process_id: str | None = None, occasion_id: str | None = None
) -> list[dict]:
    """One entry per process, oldest occurrence first, with its ranked gifts best first;
    only the process `process_id`, or the processes of `occasion_id`, when given."""
    gp = gift_processes
    where = [gp.c.id == process_id] if process_id is not None else []
    if occasion_id is not None:
        where.append(gp.c.occasion_id == occasion_id)
    ranks_query = sa.select(ranked_decisions.c.process_id, ranked_decisions.c.gift_id)
    if where:
        chosen = sa.select(gp.c.id).where(*where)
        ranks_query = ranks_query.where(ranked_decisions.c.process_id.in_(chosen))
    with engine.connect() as conn:
        procs = (
            conn.execute(
                sa.select(
                    gp.c.id.label("process_id"),
                    gp.c.occasion_id,
                    gp.c.occurrence_date,
                    gp.c.status,
                    gp.c.selected_gift_id,
                    gp.c.window_closes_at,
                    gp.c.blocked_reason,
                    gp.c.last_error,
                )
                .where(*where)
                .order_by(gp.c.occurrence_date, gp.c.occasion_id)
            )
            .mappings()
            .all()
        )
        ranks = conn.execute(
            ranks_query.order_by(ranked_decisions.c.process_id, ranked_decisions.c.rank)
        ).all()
    ranked: dict[str, list[str]] = {}
    for pid, gift_id in ranks:
        ranked.setdefault(pid, []).append(gift_id)
    return [
        {
            **{k: row[k] for k in ("process_id", "occasion_id", "status", "selected_gift_id")},
            "partition_key": partition_key(row["occurrence_date"], row["occasion_id"]),
            "occurrence_date": row["occurrence_date"].isoformat(),
            "ranked_gift_ids": ranked.get(row["process_id"], []),
            "window_closes_at": (
                row["window_closes_at"].isoformat() + "Z" if row["window_closes_at"] else None
            ),
            "blocked_reason": row["blocked_reason"],
            "last_error": row["last_error"],
        }
        for row in procs
    ]


def funnel(engine: sa.Engine) -> dict[str, int]:
    """How many processes are in each status."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(gift_processes.c.status, sa.func.count()).group_by(gift_processes.c.status)
        ).all()
    return {str(status): int(count) for status, count in rows}


def as_frame(entries: list[dict]) -> pd.DataFrame:
    """Status entries as a table for printing."""
    return pd.DataFrame(entries, columns=STATUS_COLUMNS)
