"""Every job: the gifting process (in process or on Celery workers) over one process or a range,
occasion detection by date, the funnel, and Dagster's own retention."""

import dagster as dg

from ivyi_pipeline.orchestration.assets import gifting_process
from ivyi_pipeline.orchestration.celery_executor import gifting_celery_executor
from ivyi_pipeline.orchestration.funnel import gifting_funnel
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.orchestration.retention import purge_old_runs, retire_completed_partitions

gifting_process_job = dg.define_asset_job(
    "gifting_process_job",
    selection=dg.AssetSelection.assets(gifting_process).without_checks(),
    partitions_def=gift_processes_partitions,
    executor_def=dg.in_process_executor,
    description="Advance each gift process of the run's partition (range) as far as it can go.",
)

OCCASION_DETECTION_JOB = "occasion_detection_job"


def build_occasion_detection_job(
    occasion_detection: dg.AssetsDefinition,
):
    """Detect the occurrences of a date range that have no process (a backfill)."""
    return dg.define_asset_job(
        OCCASION_DETECTION_JOB,
        # Its check (no_missed_dates) is evaluated apart, once per command or daemon audit.
        selection=dg.AssetSelection.assets(occasion_detection).without_checks(),
        partitions_def=occasion_detection.partitions_def,
        executor_def=dg.in_process_executor,
        description="Detect the occurrences of a date range that have no process (a backfill).",
    )


gifting_process_celery_job = dg.define_asset_job(
    "gifting_process_celery_job",
    selection=dg.AssetSelection.assets(gifting_process).without_checks(),
    partitions_def=gift_processes_partitions,
    executor_def=gifting_celery_executor,
    description="The gifting job with each step executed by a dagster-celery worker.",
)

gifting_funnel_job = dg.define_asset_job(
    "gifting_funnel_job",
    selection=dg.AssetSelection.assets(gifting_funnel),
    description="Recompute the daily gifting funnel.",
)


@dg.job(description="Retire completed processes' partitions and purge old runs from Dagster.")
def dagster_retention_job():
    """Both clean-ups; domain history stays in process_transitions and the other tables."""
    retire_completed_partitions()
    purge_old_runs()
