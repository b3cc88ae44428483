"""The code location: every Dagster definition of the gifting pipeline, assembled."""

import dagster as dg

from ivyi_pipeline.orchestration.assets import gifting_process
from ivyi_pipeline.orchestration.backfill import (
    occasion_backfill_sensor,
    occasion_detection,
    occasion_detection_job,
)
from ivyi_pipeline.orchestration.celery_job import gifting_process_celery_job
from ivyi_pipeline.orchestration.failures import gifting_failure_sensor, reconciler_sensor
from ivyi_pipeline.orchestration.funnel import (
    gifting_funnel,
    gifting_funnel_job,
    gifting_funnel_schedule,
)
from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.resources import resources_from_environment
from ivyi_pipeline.orchestration.retention import dagster_retention_job, dagster_retention_schedule
from ivyi_pipeline.orchestration.schedules import daily_gifting_schedule
from ivyi_pipeline.orchestration.sensors import gifting_sensors

defs = dg.Definitions(
    assets=[gifting_process, occasion_detection, gifting_funnel],
    jobs=[
        gifting_process_job,
        gifting_process_celery_job,
        occasion_detection_job,
        gifting_funnel_job,
        dagster_retention_job,
    ],
    schedules=[daily_gifting_schedule, gifting_funnel_schedule, dagster_retention_schedule],
    sensors=[*gifting_sensors, reconciler_sensor, gifting_failure_sensor, occasion_backfill_sensor],
    resources=resources_from_environment(),
)
