"""Where the domain database's data set came from, kept in pipeline_state as `dataset_origin`.

`ivyi demo` writes `demo` in the transaction that seeds its data; `ivyi load` and `ivyi seed`
write `load` and `seed` in the transaction that writes their rows. `ivyi demo --reset` deletes
only a data set whose origin is `demo`.
"""

from enum import StrEnum

import sqlalchemy as sa

from ivyi_pipeline.db.pipeline_state import read_state, write_state
from ivyi_pipeline.db.schema import metadata, pipeline_state

ORIGIN = "dataset_origin"


class Origin(StrEnum):
    """Who wrote the data set."""

    DEMO = "demo"
    LOAD = "load"
    SEED = "seed"


def record_origin(conn: sa.Connection, origin: Origin) -> None:
    """Set the data set's origin, within the caller's transaction (the one writing the rows)."""
    write_state(conn, ORIGIN, origin.value)


def dataset_origin(conn: sa.Connection) -> str | None:
    """The recorded origin, None when nothing recorded one (an empty or older database)."""
    return read_state(conn, ORIGIN)


def domain_tables() -> list[sa.Table]:
    """Every table of the data set and its processes (pipeline_state is not one)."""
    return [table for table in metadata.sorted_tables if table is not pipeline_state]


def holds_data(conn: sa.Connection) -> bool:
    """True when any domain table has a row."""
    return any(
        conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None
        for table in domain_tables()
    )
