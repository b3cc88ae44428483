"""What an op needs from its run: the processes it covers and the instant it acts at."""

from collections import OrderedDict
from datetime import UTC, datetime

import dagster as dg

from ivyi_pipeline.clock import parse_instant, utcnow
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.partitions import process_ids_of

RUNS_REMEMBERED = 8


def partition_keys_by_process(context: dg.OpExecutionContext) -> dict[str, str]:
    """{process id: partition key} of this run: its partition, or every partition of its range.

    Resolving a range reads every dynamic partition from storage, so it is done once per run
    in each process that executes its steps (ten ops ask; in process, that is once per run).
    """
    run = (context.run.run_id, context.partition_key_range)
    keys = _RUN_KEYS.get(run)
    if keys is None:
        found = tuple(context.partition_keys)
        keys = _RUN_KEYS[run] = tuple(zip(process_ids_of(found), found, strict=True))
        while len(_RUN_KEYS) > RUNS_REMEMBERED:
            _RUN_KEYS.popitem(last=False)
    return dict(keys)


def process_ids(context: dg.OpExecutionContext) -> list[str]:
    """The gift processes of this run, in its partitions' order."""
    return list(partition_keys_by_process(context))


# (process id, partition key) of the last few runs executed in this process, by (run id, range).
_RUN_KEYS: OrderedDict[tuple[str, dg.PartitionKeyRange], tuple[tuple[str, str], ...]] = (
    OrderedDict()
)


def as_of(context: dg.OpExecutionContext) -> datetime:
    """The instant the run acts at: the `ivyi/as_of` tag its sensor set, else its start."""
    tagged = context.run.tags.get(tags.AS_OF)
    if tagged:
        return parse_instant(tagged)
    record = context.instance.get_run_record_by_id(context.run_id)
    if record is not None and record.start_time:
        return datetime.fromtimestamp(record.start_time, UTC)
    return utcnow()
