"""What the pipeline keeps about itself in `pipeline_state` (name -> value): the local
driver's cursors, clock and last command, and the data set's origin. One way to read and write.

Each function takes a connection (it joins the caller's transaction) or an engine (a write
opens a transaction of its own).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from ivyi_pipeline.clock import to_db, utcnow
from ivyi_pipeline.db.schema import pipeline_state


@contextmanager
def _connection(bind: sa.Engine | sa.Connection, write: bool) -> Iterator[sa.Connection]:
    """The caller's connection, or one of the engine's (in a transaction when it writes: on
    SQLite that is BEGIN IMMEDIATE, which a read must not take)."""
    if isinstance(bind, sa.Connection):
        yield bind
        return
    with bind.begin() if write else bind.connect() as conn:
        yield conn


def read_state(bind: sa.Engine | sa.Connection, name: str) -> str | None:
    """The value stored under name, or None."""
    with _connection(bind, write=False) as conn:
        return conn.execute(
            sa.select(pipeline_state.c.value).where(pipeline_state.c.name == name)
        ).scalar()


def write_state(bind: sa.Engine | sa.Connection, name: str, value: str) -> None:
    """Store value under name, inserting or replacing it (INSERT ... ON CONFLICT)."""
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(pipeline_state).values(name=name, value=value, updated_at=to_db(utcnow()))
    with _connection(bind, write=True) as conn:
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[pipeline_state.c.name],
                set_={
                    "value": statement.excluded.value,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )


def forget_state(bind: sa.Engine | sa.Connection, names: Iterable[str] | None = None) -> None:
    """Delete the values stored under names; every value when names is None."""
    statement = pipeline_state.delete()
    if names is not None:
        statement = statement.where(pipeline_state.c.name.in_(list(names)))
    with _connection(bind, write=True) as conn:
        conn.execute(statement)
