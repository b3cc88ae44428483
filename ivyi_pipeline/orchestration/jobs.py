"""The jobs: the gifting process over one process or a range, occasion detection by date."""

import dagster as dg

from ivyi_pipeline.orchestration.assets import gifting_process
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions

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
        selection=dg.AssetSelection.assets(occasion_detection),
        partitions_def=occasion_detection.partitions_def,
        executor_def=dg.in_process_executor,
        description="Detect the occurrences of a date range that have no process (a backfill).",
    )
