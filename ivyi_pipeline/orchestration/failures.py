"""Failure handling: record a failed run's processes as dead letters, re-drive stuck ones."""

from collections.abc import Sequence
from datetime import datetime

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.ops import op_name_of_key, step_of_key
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.orchestration.resources import Clock, GiftingSettings, IvyiDatabase
from ivyi_pipeline.orchestration.run_requests import plan_runs
from ivyi_pipeline.workflows.gifting_process import redrive

RECONCILE = "reconcile"
REDRIVE = "redrive"
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_process_ids(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[str]:
    """The processes a run covered: its partition, or every partition of its range."""
    if run.tags.get("dagster/partition"):
        return [run.tags["dagster/partition"]]
    start, end = run.tags.get(tags.RANGE_START), run.tags.get(tags.RANGE_END)
    if not start or not end:
        return []
    keys = instance.get_dynamic_partitions(gift_processes_partitions.name)
    if start not in keys or end not in keys:
        return []
    return list(keys[keys.index(start) : keys.index(end) + 1])


def _step_errors(instance, engine, run, covered: Sequence[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    records = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        step = step_of_key(event.step_key)
        data = event.step_failure_data
        message = data.error.message.strip() if data.error else "step failed"
        named = ""
        if data.user_failure_data and "process_ids" in data.user_failure_data.metadata:
            named = str(data.user_failure_data.metadata["process_ids"].value)
        pids = [p for p in named.split(", ") if p] or redrive.not_advanced(engine, covered, step)
        for pid in pids:
            errors[pid] = f"run {run.run_id[:8]}, step {op_name_of_key(event.step_key)}: {message}"
    return errors


def record_run_failure(
    instance: dg.DagsterInstance, engine: sa.Engine, run: dg.DagsterRun, reason: str | None = None
) -> dict[str, str]:
    """Store why the run failed on each process it left behind; return {process id: error}."""
    covered = run_process_ids(instance, run)
    errors = _step_errors(instance, engine, run, covered)
    if not errors:
        why = reason or "the run failed before any step reported an error"
        errors = {
            pid: f"run {run.run_id[:8]}: {why}"
            for pid in redrive.not_advanced(engine, covered, None)
        }
    redrive.record_errors(engine, errors)
    return errors


@dg.run_failure_sensor(
    monitored_jobs=[gifting_process_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def gifting_failure_sensor(context: dg.RunFailureSensorContext, ivyi_db: IvyiDatabase):
    """A failed gifting run: its failed step and error become the processes' last_error."""
    errors = record_run_failure(context.instance, ivyi_db.get_engine(), context.dagster_run)
    context.log.info(
        "recorded the failure of run %s on %d process(es)", context.dagster_run.run_id, len(errors)
    )


@dg.sensor(
    job=gifting_process_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def reconciler_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
):
    """Re-drive processes that sit past their state's deadline, at most once an hour each."""
    now = clock.now()
    stuck = redrive.stuck_processes(ivyi_db.get_engine(), now)
    if not stuck:
        return dg.SkipReason("no process sits past its deadline")
    known = set(context.instance.get_dynamic_partitions(gift_processes_partitions.name))
    order = None
    if len(stuck) > gifting.single_runs_up_to:
        order = context.instance.get_dynamic_partitions(gift_processes_partitions.name)
    hour = f"{now:%Y-%m-%dT%H}"
    runs = [
        dg.RunRequest(
            run_key=f"{request.run_key}@{hour}",
            partition_key=request.partition_key,
            tags=request.tags,
        )
        for request in plan_runs(
            list(stuck),
            RECONCILE,
            now,
            order,
            gifting.batch_size,
            gifting.single_runs_up_to,
            stuck,
        )
    ]
    missing = sorted(set(stuck) - known)
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=(
            [gift_processes_partitions.build_add_request(missing)] if missing else []
        ),
    )


def redrive_process(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    engine: sa.Engine,
    process_id: str,
    as_of: datetime,
) -> dg.ExecuteInProcessResult:
    """Clear a process's last error and run the gifting job on it now, in this process."""
    redrive.clear_error(engine, process_id)
    if not instance.has_dynamic_partition(gift_processes_partitions.name, process_id):
        instance.add_dynamic_partitions(gift_processes_partitions.name, [process_id])
    result = defs.resolve_job_def(gifting_process_job.name).execute_in_process(
        instance=instance,
        partition_key=process_id,
        tags={tags.PROCESS_ID: process_id, tags.EVENT: REDRIVE, tags.AS_OF: as_of.isoformat()},
        run_config=QUIET_CONSOLE,
        raise_on_error=False,
    )
    if not result.success:
        record_run_failure(instance, engine, result.dagster_run)
    return result
