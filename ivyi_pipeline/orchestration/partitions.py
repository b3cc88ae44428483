"""One dynamic partition per gift process, keyed by its occurrence: `2027-03-11.occ-in-10`.

Dagster's partitions are derived from the domain database: any path that asks Dagster to run
processes first calls `ensure_process_partitions` with the ids it names, so a new, purged or
raced instance heals at the next tick. Every id -> key mapping goes through
`partition_keys_for` (it reads each process's occasion id and occurrence date) and every
key -> id mapping through `process_ids_of` (pure: the key names the occurrence, and a process
id is derived from its occurrence). The key scheme is `domain/partition_keys.py`. A key of
the scheme before this one (the process id itself) still maps to its process, so runs and
tags of an instance made before keep working until the retention job retires those keys.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.db.reads import chunks, rows_in
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.domain.partition_keys import is_partition_key, parse_partition_key, partition_key
from ivyi_pipeline.workflows.gifting_process.create import process_id_for

gift_processes_partitions = dg.DynamicPartitionsDefinition(name="gift_processes")

ADD_ATTEMPTS = 3
ADD_CHUNK = 500

Occurrences = Mapping[str, tuple[str, date]]
"""{process id: (occasion id, occurrence date)}"""


def occurrences_of(engine: sa.Engine, process_ids: Iterable[str]) -> dict[str, tuple[str, date]]:
    """{process id: (occasion id, occurrence date)} of the listed processes that exist."""
    gp = gift_processes
    query = sa.select(gp.c.id, gp.c.occasion_id, gp.c.occurrence_date)
    with engine.connect() as conn:
        rows = rows_in(conn, query, gp.c.id, process_ids)
    return {row.id: (row.occasion_id, row.occurrence_date) for row in rows}


def partition_keys_for(
    engine_or_rows: sa.Engine | Occurrences | None, process_ids: Iterable[str]
) -> dict[str, str]:
    """{process id: partition key} of these processes, in their order.

    `engine_or_rows` is the domain database, or the processes' occurrences already read; a
    process it does not know (deleted, or None given) gets no key.
    """
    ids = list(dict.fromkeys(process_ids))
    if engine_or_rows is None:
        return {}
    occurrences = (
        engine_or_rows
        if isinstance(engine_or_rows, Mapping)
        else occurrences_of(engine_or_rows, ids)
    )
    return {
        pid: partition_key(occurrences[pid][1], occurrences[pid][0])
        for pid in ids
        if pid in occurrences
    }


def process_id_of(key: str) -> str:
    """The process id of one partition key (a key of the former scheme is the id itself)."""
    if not is_partition_key(key):
        return key
    occurrence_date, occasion_id = parse_partition_key(key)
    return process_id_for(occasion_id, occurrence_date)


def process_ids_of(keys: Iterable[str]) -> list[str]:
    """The process ids of these partition keys, in their order."""
    return [process_id_of(key) for key in keys]


def ensure_process_partitions(
    instance: dg.DagsterInstance,
    process_ids: Sequence[str],
    engine_or_rows: sa.Engine | Occurrences | None = None,
) -> dict[str, str]:
    """Make sure these processes have partitions (idempotent); return {process id: key}.

    Cost follows the ids: Dagster reads back only the named keys (`partition IN (...)`) and
    inserts the missing ones, in chunks of 500. Two writers adding one key at once make the
    second insert hit the unique index; the chunk is retried and then skips what now exists.
    """
    keys = partition_keys_for(engine_or_rows, process_ids)
    ordered = list(dict.fromkeys(keys.values()))
    for chunk in chunks(ordered, ADD_CHUNK):
        _add(instance, chunk)
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
