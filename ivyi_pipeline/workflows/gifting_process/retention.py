"""Which completed processes are old enough to leave Dagster; their history stays in our tables."""

from datetime import datetime, timedelta

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.workflows.gifting_process.states import GiftProcessStatus as S

DEFAULT_RETENTION = timedelta(days=30)


def completed_before(engine: sa.Engine, cutoff: datetime) -> set[str]:
    """Ids of processes that reached COMPLETED before cutoff."""
    query = sa.select(gift_processes.c.id).where(
        gift_processes.c.status == S.COMPLETED.value,
        gift_processes.c.updated_at < to_db(cutoff),
    )
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())
