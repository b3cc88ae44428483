"""One dynamic partition per gift process, keyed by the process id."""

from collections.abc import Sequence

import dagster as dg
import sqlalchemy as sa

gift_processes_partitions = dg.DynamicPartitionsDefinition(name="gift_processes")

ADD_ATTEMPTS = 3


def add_process_partitions(instance: dg.DagsterInstance, keys: Sequence[str]) -> None:
    """Add the partitions that do not exist yet, also while another writer adds the same keys.

    Dagster checks for existing keys, then inserts; two writers adding one key at once make
    the second insert hit the unique index, so the add is retried (it skips what now exists).
    """
    for attempt in range(ADD_ATTEMPTS):
        try:
            instance.add_dynamic_partitions(gift_processes_partitions.name, list(keys))
            return
        except sa.exc.IntegrityError:
            if attempt == ADD_ATTEMPTS - 1:
                raise
