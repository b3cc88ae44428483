"""Every lock Ivyi takes: PostgreSQL advisory locks, each key named once here, and their
SQLite twins, an exclusive flock on a file beside the database file.

The key values are part of the deployment: running processes of another version take the
same keys, so a key never changes.

- `migration_lock`: one `alembic upgrade` at a time (session-level, released by hand);
- `load_lock`: one CSV load or demo reset at a time, for the caller's transaction;
- `driver_lock`: one local command (`ivyi tick`, `batch`, ...) at a time per database.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine, is_postgres
from ivyi_pipeline.errors import EnvironmentProblem, IvyiError

PG_MIGRATION_LOCK = 0x1791_0001
"""The PostgreSQL advisory lock key every `alembic upgrade` of this project holds."""
PG_LOAD_LOCK = 0x1791_0002
"""The PostgreSQL advisory lock a load holds for its transaction, so loads run one at a time."""
PG_DRIVER_LOCK = 0x1F1D1
"""The PostgreSQL advisory lock of the local driver (one command at a time on a database)."""

BUSY = (
    "another ivyi command (tick, batch, backfill-missed, redrive or demo) is running on this "
    "database; nothing changed: wait for it to end, then run this command again"
)


class DriverBusy(IvyiError):
    """Another `ivyi` run command holds the driver lock of this domain database."""


def flock(handle: IO, wait: bool = True) -> None:
    """Take an exclusive flock on an open file; without `wait`, BlockingIOError if it is held.

    The lock lives as long as the open file (also in a child that inherited it).
    """
    fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)


@contextmanager
def file_lock(handle: IO, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive flock on an open file for the block (see `flock`)."""
    flock(handle, wait)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Hold the database's migration lock: an advisory lock on PostgreSQL, a file lock on SQLite."""
    engine = get_engine(url)
    if is_postgres(engine):
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_lock(PG_MIGRATION_LOCK)))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(PG_MIGRATION_LOCK)))
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    # A file of its own: opening and closing the database file itself would drop the POSIX
    # locks SQLite's pooled connections hold on it (closing any descriptor releases them).
    path = Path(database)
    lock = path.with_name(f".{path.name}.migrate-lock")
    try:
        handle = lock.open("rb") if lock.exists() else lock.open("ab")
    except OSError as exc:
        if not path.parent.is_dir():
            problem, remedy = "cannot create the SQLite database", "create its folder"
        else:
            problem = "cannot write beside the SQLite database"
            remedy = "make the SQLite file and its folder writable by this user"
        raise EnvironmentProblem(f"{problem} {database} ({exc.strerror}); {remedy}") from None
    with handle, file_lock(handle):
        yield


def load_lock(conn: sa.Connection) -> None:
    """Hold the load lock until the caller's transaction ends (PostgreSQL; SQLite's BEGIN
    IMMEDIATE already serializes writers)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_LOAD_LOCK)))


@contextmanager
def driver_lock(engine: sa.Engine, wait: bool = True) -> Iterator[None]:
    """One local command at a time on this domain database; released when the process dies.

    PostgreSQL: a transaction-level advisory lock held by a connection of its own (it also
    works through pgbouncer in transaction mode). SQLite: an exclusive flock on a file beside
    the database file (an in-memory database has nobody to share with). Without `wait`, a
    lock another command holds raises DriverBusy at once.
    """
    if is_postgres(engine):
        with engine.connect() as conn, conn.begin():
            if wait:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_DRIVER_LOCK})
            elif not conn.execute(
                sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PG_DRIVER_LOCK}
            ).scalar():
                raise DriverBusy(BUSY)
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(Path(f"{database}.local-runs.lock"), "a") as handle:
        try:
            flock(handle, wait)
        except BlockingIOError:
            raise DriverBusy(BUSY) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
