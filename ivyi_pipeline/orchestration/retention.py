"""Keep Dagster small: the ops that retire completed processes' partitions and purge old
runs' event logs (their job, `dagster_retention_job`, is in jobs.py)."""

from datetime import timedelta

import dagster as dg

from ivyi_pipeline.orchestration.checks import GIFTING_CHECK_KEYS
from ivyi_pipeline.orchestration.dagster_internals import (
    forget_check_results,
    forget_check_results_of_runs,
    forget_partition_history,
)
from ivyi_pipeline.orchestration.partitions import (
    ensure_process_partitions,
    gift_processes_partitions,
    partition_keys_for,
    partition_order,
    process_ids_of,
)
from ivyi_pipeline.orchestration.resources import IvyiDatabase
from ivyi_pipeline.orchestration.run_scope import as_of
from ivyi_pipeline.workflows.gifting_process.retention import completed_before

GIFTING_ASSET_KEYS = [
    dg.AssetKey(name) for name in ("gift_options", "ranked_decisions", "gift_process_state")
]
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
    """Delete the partitions of processes completed more than the retention ago, and every
    partition that is no process's current key (a key of the former scheme, or of a process
    the domain database no longer holds); a live process moves to its current key first.

    Partitions are derived state: a process whose partition was retired too early gets it
    back from the next path that asks Dagster to run it (`ensure_process_partitions`).
    """
    cutoff = as_of(context) - timedelta(days=config.partition_retention_days)
    name, engine = gift_processes_partitions.name, ivyi_db.get_engine()
    live = list(partition_order(context.instance))
    process_of = dict(zip(live, process_ids_of(live), strict=True))
    current = partition_keys_for(engine, set(process_of.values()))
    completed = completed_before(engine, cutoff, among=list(current))
    retire = {key for key, pid in process_of.items() if pid in completed or current.get(pid) != key}
    moving = sorted({process_of[key] for key in retire} & current.keys() - completed)
    ensure_process_partitions(context.instance, moving, engine)
    for key in sorted(retire):
        context.instance.delete_dynamic_partition(name, key)
    # Their check results and asset events would stay, read by every page that shows the
    # checks' or the assets' partitions: history would cost the UI (dagster_internals).
    forgotten = forget_check_results(context.instance, GIFTING_CHECK_KEYS, sorted(retire))
    forgotten += forget_partition_history(context.instance, GIFTING_ASSET_KEYS, sorted(retire))
    context.log.info(
        "retired %d partition(s): %d of completed processes, %d stale key(s), %d moved to "
        "their current key; %d check result and asset event row(s) forgotten",
        len(retire),
        len(completed),
        len(retire) - sum(1 for key in retire if process_of[key] in completed),
        len(moving),
        forgotten,
    )
    return len(retire)


@dg.op
def purge_old_runs(context: dg.OpExecutionContext, config: RetentionConfig) -> int:
    """Delete finished runs (their event logs and check results) older than the run retention."""
    cutoff = as_of(context) - timedelta(days=config.run_retention_days)
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=FINISHED, updated_before=cutoff),
        limit=config.max_runs_per_purge,
    )
    purged = [r.dagster_run.run_id for r in records if r.dagster_run.run_id != context.run_id]
    # Their check results first: `delete_run` leaves them (dagster_internals).
    forgotten = forget_check_results_of_runs(context.instance, purged)
    for run_id in purged:
        context.instance.delete_run(run_id)
    context.log.info(
        "purged %d finished run(s) older than %s and their %d check result row(s)",
        len(records),
        cutoff.date(),
        forgotten,
    )
    return len(records)
