"""`ivyi tick`: evaluate the sensors as of an instant and execute the runs they request."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg

from ivyi_pipeline.orchestration.resources import Clock

CURSOR_KEY = "ivyi/tick_cursor/{}"
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


def _already_ran(instance: dg.DagsterInstance, sensor_name: str, run_key: str) -> bool:
    runs = instance.get_run_records(
        filters=dg.RunsFilter(
            tags={"dagster/sensor_name": sensor_name, "dagster/run_key": run_key}
        ),
        limit=1,
    )
    return bool(runs)


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
    sensors = [s for s in defs.sensors if sensor_names is None or s.name in sensor_names]
    summary = TickSummary()
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
                }
                result = job.execute_in_process(
                    instance=instance,
                    partition_key=request.partition_key,
                    tags=tags,
                    run_config=QUIET_CONSOLE,
                    raise_on_error=False,
                )
                (summary.succeeded if result.success else summary.failed).append(result.run_id)
                launched += 1
            if cursor is not None:
                instance.run_storage.set_cursor_values({CURSOR_KEY.format(sensor.name): cursor})
        if not launched:
            break
    return summary
