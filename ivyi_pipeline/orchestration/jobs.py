"""The job that runs the gifting process over one process or a range of processes."""

import dagster as dg

from ivyi_pipeline.orchestration.assets import gifting_process
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions

gifting_process_job = dg.define_asset_job(
    "gifting_process_job",
    selection=dg.AssetSelection.assets(gifting_process),
    partitions_def=gift_processes_partitions,
    executor_def=dg.in_process_executor,
    description="Advance each gift process of the run's partition (range) as far as it can go.",
)
