"""Execute gifting_process_job in process over one process or a contiguous range of them."""

import datetime as dt

import dagster as dg

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.partitions import ensure_process_partitions
from ivyi_pipeline.orchestration.resources import IvyiDatabase


def execute_gifting_job(
    instance: dg.DagsterInstance,
    database_url: str,
    process_ids: tuple[str, ...],
    as_of: dt.datetime,
    **resources,
) -> dg.ExecuteInProcessResult:
    """Ensure the processes' partitions in the given order, then run them as one run.

    Several processes run as the range from the first to the last, which covers them all only
    when their partitions are new and contiguous (added here, in this order).
    """
    keys = ensure_process_partitions(instance, list(process_ids), get_engine(database_url))
    first, last = keys[process_ids[0]], keys[process_ids[-1]]
    run_tags = {tags.AS_OF: as_of.isoformat()}
    partition_key = first if len(process_ids) == 1 else None
    if partition_key is None:
        run_tags |= {tags.RANGE_START: first, tags.RANGE_END: last}
    return defs.resolve_job_def("gifting_process_job").execute_in_process(
        instance=instance,
        partition_key=partition_key,
        tags=run_tags,
        resources={"ivyi_db": IvyiDatabase(url=database_url), **resources},
        raise_on_error=False,
    )
