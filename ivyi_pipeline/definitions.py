"""The code location: every Dagster definition of the gifting pipeline, assembled.

Configuration is read when the definitions are built (`build_definitions`), not when a module
is imported: the daily schedule's cron (IVYI_DAILY_SCHEDULE_CRON) and the first occasion date
(IVYI_FIRST_OCCASION_DATE); the step retries' first delay (IVYI_RETRY_DELAY_SECONDS) is checked
here and read at each retry. Dagster's tools load `defs`.
"""

import dagster as dg

from ivyi_pipeline import settings
from ivyi_pipeline.orchestration.assets import gifting_process
from ivyi_pipeline.orchestration.checks import gifting_rules
from ivyi_pipeline.orchestration.funnel import gifting_funnel
from ivyi_pipeline.orchestration.jobs import (
    build_occasion_detection_job,
    dagster_retention_job,
    gifting_funnel_job,
    gifting_process_celery_job,
    gifting_process_job,
)
from ivyi_pipeline.orchestration.occasion_dates import first_occasion_date
from ivyi_pipeline.orchestration.occasion_detection import build_occasion_detection
from ivyi_pipeline.orchestration.occasion_gaps import build_missed_dates_check
from ivyi_pipeline.orchestration.resources import resources_from_environment
from ivyi_pipeline.orchestration.schedules import (
    build_daily_gifting_schedule,
    dagster_retention_schedule,
    daily_cron,
    gifting_funnel_schedule,
)
from ivyi_pipeline.orchestration.sensors import (
    all_sensors,
    build_occasion_gaps_sensor,
    gifting_funnel_sensor,
)


def build_definitions() -> dg.Definitions:
    """The definitions, with the configuration the environment holds now."""
    settings.retry_delay_seconds()  # read again at each retry; a bad value fails the load here
    resources = resources_from_environment()
    first = first_occasion_date()
    occasion_detection = build_occasion_detection(first, resources["gifting"].lead_days)
    return dg.Definitions(
        assets=[gifting_process, occasion_detection, gifting_funnel],
        asset_checks=[gifting_rules, build_missed_dates_check(first)],
        jobs=[
            gifting_process_job,
            gifting_process_celery_job,
            build_occasion_detection_job(occasion_detection),
            gifting_funnel_job,
            dagster_retention_job,
        ],
        schedules=[
            build_daily_gifting_schedule(daily_cron()),
            gifting_funnel_schedule,
            dagster_retention_schedule,
        ],
        sensors=[*all_sensors, gifting_funnel_sensor, build_occasion_gaps_sensor(first)],
        resources=resources,
    )


defs = build_definitions()
