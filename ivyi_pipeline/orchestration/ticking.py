"""`ivyi tick`: evaluate the sensors as of an instant and execute the runs they request."""

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg

from ivyi_pipeline.orchestration.failures import record_run_failure
from ivyi_pipeline.orchestration.resources import Clock

CURSOR_KEY = "ivyi/tick_cursor/{}"
TICK_PID, TICK_HOST = "ivyi/tick_pid", "ivyi/tick_host"
MAX_ROUNDS = 12
# The event log keeps everything; the terminal only hears about problems.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class TickSummary:
    """The runs one tick executed, and whether each succeeded."""

    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_run_keys: int = 0

    @property
    def ok(self) -> bool:
        """True when no run failed."""
        return not self.failed


def _orphaned(run: dg.DagsterRun) -> bool:
    """An unfinished run whose tick, on this host, no longer exists (it was killed)."""
    pid = run.tags.get(TICK_PID)
    if run.is_finished or not pid or run.tags.get(TICK_HOST) != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
KEPT_DAGSTER_TAGS = {
    "dagster/sensor_name",
    "dagster/run_key",
    "dagster/asset_partition_range_start",
    "dagster/asset_partition_range_end",
}


def _recover_orphans(instance: dg.DagsterInstance, job, engine, summary) -> None:
    """Fail the runs a killed tick left unfinished and execute each again, as run retries do."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=job.name, statuses=UNFINISHED)
    )
    for record in records:
        run = record.dagster_run
        if not _orphaned(run):
            continue
        instance.report_run_failed(run, "interrupted: its tick died")
        tags = {
            k: v
            for k, v in run.tags.items()
            if not k.startswith("dagster/") or k in KEPT_DAGSTER_TAGS
        }
        result = job.execute_in_process(
            instance=instance,
            partition_key=run.tags.get("dagster/partition"),
            tags={**tags, TICK_PID: str(os.getpid()), TICK_HOST: socket.gethostname()},
            run_config=QUIET_CONSOLE,
            raise_on_error=False,
        )
        (summary.succeeded if result.success else summary.failed).append(result.run_id)
        if not result.success:
            record_run_failure(instance, engine, result.dagster_run)


def _already_ran(instance: dg.DagsterInstance, sensor_name: str, run_key: str) -> bool:
    """True when a run with this key succeeded, is running, or failed past the run retries.

    A failed run is executed again, like the daemon's run retries (`run_retries` in
    dagster.yaml); a run left unfinished by a killed tick counts as failed.
    """
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            tags={"dagster/sensor_name": sensor_name, "dagster/run_key": run_key}
        ),
    )
    failures = 0
    for record in records:
        run = record.dagster_run
        if _orphaned(run):
            # Executed again below; its steps are idempotent, so nothing is done twice.
            instance.report_run_failed(run, "interrupted: its tick died")
            failures += 1
        elif run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            failures += 1
        else:
            return True
    retries = instance.run_retries_max_retries if instance.run_retries_enabled else 0
    return failures > retries


def _evaluate(instance, defs, sensor, clock) -> tuple[list[dg.RunRequest], list[str], str | None]:
    key = CURSOR_KEY.format(sensor.name)
    cursor = instance.run_storage.get_cursor_values({key}).get(key)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        sensor_name=sensor.name,
        resources={**(defs.resources or {}), "clock": clock},
    )
    result = sensor(context)
    if isinstance(result, dg.SensorResult):
        for event in result.asset_events or []:
            instance.report_runless_asset_event(event)
        new_keys = [
            k
            for request in result.dynamic_partitions_requests or []
            if isinstance(request, dg.AddDynamicPartitionsRequest)
            for k in request.partition_keys
        ]
        return list(result.run_requests or []), new_keys, result.cursor or context.cursor
    if isinstance(result, list):
        return result, [], context.cursor
    return [], [], context.cursor


def tick(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    as_of: datetime,
    sensor_names: Sequence[str] | None = None,
) -> TickSummary:
    """Evaluate each sensor once, run what it asks, and repeat until nothing more is due."""
    clock = Clock(as_of=as_of.isoformat())
    job = defs.resolve_job_def("gifting_process_job")
    engine = defs.resources["ivyi_db"].get_engine()
    sensors = [
        s
        for s in defs.sensors
        if (sensor_names is None or s.name in sensor_names)
        and not isinstance(s, dg.RunStatusSensorDefinition)
    ]
    summary = TickSummary()
    _recover_orphans(instance, job, engine, summary)
    for _ in range(MAX_ROUNDS):
        launched = 0
        for sensor in sensors:
            requests, new_keys, cursor = _evaluate(instance, defs, sensor, clock)
            if new_keys:
                instance.add_dynamic_partitions("gift_processes", new_keys)
            for request in requests:
                if request.run_key and _already_ran(instance, sensor.name, request.run_key):
                    summary.skipped_run_keys += 1
                    continue
                tags = {
                    **request.tags,
                    "dagster/sensor_name": sensor.name,
                    "dagster/run_key": request.run_key or "",
                    TICK_PID: str(os.getpid()),
                    TICK_HOST: socket.gethostname(),
                }
                result = job.execute_in_process(
                    instance=instance,
                    partition_key=request.partition_key,
                    tags=tags,
                    run_config=QUIET_CONSOLE,
                    raise_on_error=False,
                )
                (summary.succeeded if result.success else summary.failed).append(result.run_id)
                if not result.success:
                    # What the failure sensor does for the daemon's runs.
                    record_run_failure(instance, engine, result.dagster_run)
                launched += 1
            if cursor is not None:
                instance.run_storage.set_cursor_values({CURSOR_KEY.format(sensor.name): cursor})
        if not launched:
            break
    return summary
