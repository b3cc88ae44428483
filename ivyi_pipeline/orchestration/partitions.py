"""One dynamic partition per gift process, keyed by the process id."""

import dagster as dg

gift_processes_partitions = dg.DynamicPartitionsDefinition(name="gift_processes")
