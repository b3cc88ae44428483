"""One dynamic partition per gift process: how a process id maps to its key, and back.

Dagster's partitions are derived from the domain database: any path that asks Dagster to run
processes first calls `ensure_process_partitions` with the ids it names, so a new, purged or
raced instance heals at the next tick. Every id -> key mapping goes through
`partition_keys_for` and every key -> id mapping through `process_ids_of` (identity today).
"""

from collections.abc import Iterable, Mapping, Sequence

import dagster as dg
import sqlalchemy as sa

gift_processes_partitions = dg.DynamicPartitionsDefinition(name="gift_processes")

ADD_ATTEMPTS = 3
ADD_CHUNK = 500


def partition_keys_for(
    engine_or_rows: sa.Engine | Mapping[str, object] | None, process_ids: Iterable[str]
) -> dict[str, str]:
    """{process id: partition key} of these processes, in their order.

    `engine_or_rows` is the domain database (or rows already read, by process id) a key
    scheme that names more than the id would read; the key is the process id today.
    """
    del engine_or_rows  # the identity scheme needs nothing but the id
    return {pid: pid for pid in process_ids}


def process_ids_of(keys: Iterable[str]) -> list[str]:
    """The process ids of these partition keys, in their order."""
    return list(keys)


def ensure_process_partitions(
    instance: dg.DagsterInstance,
    process_ids: Sequence[str],
    engine_or_rows: sa.Engine | Mapping[str, object] | None = None,
) -> dict[str, str]:
    """Make sure these processes have partitions (idempotent); return {process id: key}.

    Cost follows the ids: Dagster reads back only the named keys (`partition IN (...)`) and
    inserts the missing ones, in chunks of 500. Two writers adding one key at once make the
    second insert hit the unique index; the chunk is retried and then skips what now exists.
    """
    keys = partition_keys_for(engine_or_rows, process_ids)
    ordered = list(dict.fromkeys(keys.values()))
    for start in range(0, len(ordered), ADD_CHUNK):
        _add(instance, ordered[start : start + ADD_CHUNK])
    return keys


def _add(instance: dg.DagsterInstance, keys: list[str]) -> None:
    for attempt in range(ADD_ATTEMPTS):
        try:
            instance.add_dynamic_partitions(gift_processes_partitions.name, keys)
            return
        except sa.exc.IntegrityError:
            if attempt == ADD_ATTEMPTS - 1:
                raise


def partition_order(instance: dg.DagsterInstance) -> Sequence[str]:
    """Every process partition key in Dagster's order (a ranged run spans this order)."""
    return instance.get_dynamic_partitions(gift_processes_partitions.name)
