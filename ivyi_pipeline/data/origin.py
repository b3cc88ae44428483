"""Where the domain database's data set came from, kept in pipeline_state as `dataset_origin`.

`ivyi demo` writes `demo` in the transaction that seeds its data; `ivyi load` and `ivyi seed`
write `load` and `seed` in the transaction that writes their rows. `ivyi demo --reset` deletes
only a data set whose origin is `demo`.
"""

from enum import StrEnum

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db, utcnow
from ivyi_pipeline.db.schema import metadata, pipeline_state

ORIGIN = "dataset_origin"


class Origin(StrEnum):
    """Who wrote the data set."""

    DEMO = "demo"
    LOAD = "load"
    SEED = "seed"


def record_origin(conn: sa.Connection, origin: Origin) -> None:
    """Set the data set's origin, within the caller's transaction (the one writing the rows)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = {"name": ORIGIN, "value": origin.value, "updated_at": to_db(utcnow())}
    statement = insert(pipeline_state).values(**values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[pipeline_state.c.name],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
    )


def dataset_origin(conn: sa.Connection) -> str | None:
    """The recorded origin, None when nothing recorded one (an empty or older database)."""
    return conn.execute(
        sa.select(pipeline_state.c.value).where(pipeline_state.c.name == ORIGIN)
    ).scalar()


def domain_tables() -> list[sa.Table]:
    """Every table of the data set and its processes (pipeline_state is not one)."""
    return [table for table in metadata.sorted_tables if table is not pipeline_state]


def holds_data(conn: sa.Connection) -> bool:
    """True when any domain table has a row."""
    return any(
        conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None
        for table in domain_tables()
    )
