"""Which completed processes are old enough to leave Dagster; their history stays in our tables."""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.domain.states import TERMINAL_STATUSES
from ivyi_pipeline.workflows.gifting_process.find import rows_in


def completed_before(engine: sa.Engine, cutoff: datetime, among: Sequence[str]) -> set[str]:
    """Those of `among` (live partition keys) that reached a terminal status (COMPLETED) before
    cutoff.

    Looked up among the live keys, not over every completed process: after a year the table
    holds millions of those, while Dagster keeps at most about 100,000 partitions.
    """
    gp = gift_processes
    query = sa.select(gp.c.id).where(
        gp.c.status.in_([s.value for s in TERMINAL_STATUSES]), gp.c.updated_at < to_db(cutoff)
    )
    with engine.connect() as conn:
        return {row.id for row in rows_in(conn, query, gp.c.id, among)}
