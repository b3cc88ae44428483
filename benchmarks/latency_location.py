"""The code location the latency scenario's daemon loads: production's, plus an empty job.

The sensors named in IVYI_BENCH_SENSORS (comma-separated; by default the detection sensor)
are production's functions with a shorter minimum interval (by default 1 s,
IVYI_BENCH_SENSOR_INTERVAL), so that the figure measures the pipeline, not the 30 s polling
interval; other sensors and schedules are left out so that nothing else runs.
"""

import os

import dagster as dg

from benchmarks.throughput import pipeline_definitions
from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.resources import GiftingSettings
from ivyi_pipeline.orchestration.sensors import gifting_sensors, occasion_detection_sensor

SENSOR_INTERVAL = int(os.environ.get("IVYI_BENCH_SENSOR_INTERVAL", "1"))
SENSORS = os.environ.get("IVYI_BENCH_SENSORS", occasion_detection_sensor.name).split(",")


@dg.op
def do_nothing() -> None:
    """Nothing: the run's cost is Dagster's alone."""


@dg.job(description="The latency baseline: a run that does nothing.")
def bench_empty_job():
    """One op that does nothing."""
    do_nothing()


def _fast(sensor: dg.SensorDefinition) -> dg.SensorDefinition:
    """The production sensor, evaluated every SENSOR_INTERVAL seconds.

    It calls the production definition through its public call (which takes the resources
    from the context), so the wrapper only declares the resource keys it needs.
    """

    @dg.sensor(
        name=sensor.name,
        job=gifting_process_job,
        minimum_interval_seconds=SENSOR_INTERVAL,
        default_status=dg.DefaultSensorStatus.RUNNING,
        required_resource_keys=set(sensor.required_resource_keys),
    )
    def fast(context: dg.SensorEvaluationContext):
        return sensor(context)

    return fast


fast_sensors = [_fast(sensor) for sensor in gifting_sensors if sensor.name in SENSORS]

defs = dg.Definitions.merge(
    pipeline_definitions(
        os.environ.get("IVYI_DATABASE_URL"),
        batch_size=500,
        sensors=fast_sensors,
        single_runs_up_to=GiftingSettings().single_runs_up_to,
    ),
    dg.Definitions(jobs=[bench_empty_job]),
)
