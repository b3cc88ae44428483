"""Keep Dagster small: retire completed processes' partitions and purge old runs' event logs."""

from datetime import timedelta

import dagster as dg

from ivyi_pipeline.orchestration.partitions import (
    gift_processes_partitions,
    partition_order,
    process_ids_of,
)
from ivyi_pipeline.orchestration.resources import IvyiDatabase
from ivyi_pipeline.orchestration.run_context import as_of
from ivyi_pipeline.workflows.gifting_process.retention import completed_before

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


class RetentionConfig(dg.Config):
    """How long completed processes keep their partition, and finished runs their event log."""

    partition_retention_days: int = 2
    run_retention_days: int = 90
    max_runs_per_purge: int = 10_000


@dg.op
def retire_completed_partitions(
    context: dg.OpExecutionContext, config: RetentionConfig, ivyi_db: IvyiDatabase
) -> int:
    """Delete the partitions of processes completed more than the retention ago.

    Partitions are derived state: a process whose partition was retired too early gets it
    back from the next path that asks Dagster to run it (`ensure_process_partitions`).
    """
    cutoff = as_of(context) - timedelta(days=config.partition_retention_days)
    name = gift_processes_partitions.name
    live = partition_order(context.instance)
    key_of = dict(zip(process_ids_of(live), live, strict=True))
    retire = completed_before(ivyi_db.get_engine(), cutoff, among=list(key_of))
    for pid in sorted(retire):
        context.instance.delete_dynamic_partition(name, key_of[pid])
    context.log.info("retired %d completed process partition(s)", len(retire))
    return len(retire)


@dg.op
def purge_old_runs(context: dg.OpExecutionContext, config: RetentionConfig) -> int:
    """Delete finished runs (and their event logs) older than the run retention."""
    cutoff = as_of(context) - timedelta(days=config.run_retention_days)
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=FINISHED, updated_before=cutoff),
        limit=config.max_runs_per_purge,
    )
    for record in records:
        if record.dagster_run.run_id != context.run_id:
            context.instance.delete_run(record.dagster_run.run_id)
    context.log.info("purged %d finished run(s) older than %s", len(records), cutoff.date())
    return len(records)


@dg.job(description="Retire completed processes' partitions and purge old runs from Dagster.")
def dagster_retention_job():
    """Both clean-ups; domain history stays in process_transitions and the other tables."""
    retire_completed_partitions()
    purge_old_runs()
