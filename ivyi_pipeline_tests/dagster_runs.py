"""Dagster runs in tests: execute gifting_process_job in process, read back what was recorded."""

import datetime as dt
import json

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


EVENT_PAGE = 1000


def everything_recorded(instance: dg.DagsterInstance) -> tuple[list[str], int]:
    """Every run's tags, config and job snapshot and every event of every run, serialized;
    and how many events there were."""
    texts, events, snapshots = [], 0, set()
    for record in instance.get_run_records():
        run = record.dagster_run
        texts.append(json.dumps({"tags": dict(run.tags), "config": run.run_config}))
        if run.job_snapshot_id and run.job_snapshot_id not in snapshots:
            snapshots.add(run.job_snapshot_id)
            texts.append(dg.serialize_value(instance.get_job_snapshot(run.job_snapshot_id)))
        cursor = None
        while True:
            page = instance.get_records_for_run(run.run_id, cursor=cursor, limit=EVENT_PAGE)
            texts.extend(dg.serialize_value(r.event_log_entry) for r in page.records)
            events += len(page.records)
            if not page.has_more:
                break
            cursor = page.cursor
    return texts, events
