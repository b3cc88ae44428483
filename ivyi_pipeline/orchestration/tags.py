"""Run tags an analyst filters on, and how runs are named."""

PROCESS_ID = "ivyi/process_id"
OCCASION_ID = "ivyi/occasion_id"
EVENT = "ivyi/event"
AS_OF = "ivyi/as_of"
BATCH_SIZE = "ivyi/batch_size"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
