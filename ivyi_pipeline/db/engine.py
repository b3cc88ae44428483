"""Engines for the domain database: PostgreSQL in production, a SQLite file by default."""

import os
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa

from ivyi_pipeline.settings import normalize_database_url


@cache
def get_engine(url: str) -> sa.Engine:
    """One pooled engine per URL, created on first use (never at import)."""
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)

    @sa.event.listens_for(engine, "connect", insert=True)
    def _in_utc(dbapi_connection, _record):
        # CURRENT_TIMESTAMP defaults must store naive UTC whatever the server's timezone.
        autocommit, dbapi_connection.autocommit = dbapi_connection.autocommit, True
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        dbapi_connection.autocommit = autocommit

    return engine


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, emit BEGIN, so that it can be BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers queue on the database lock up front instead of deadlocking on upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def missing_sqlite_file(url: str) -> bool:
    """True when the URL names a SQLite file that does not exist in a folder that does:
    connecting would create an empty one (a missing folder fails without creating anything)."""
    parsed = sa.engine.make_url(url)
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or path in ("", ":memory:"):
        return False
    return os.path.isdir(os.path.dirname(os.path.abspath(path))) and not os.path.exists(path)


def is_postgres(engine: sa.Engine) -> bool:
    """True on PostgreSQL, where ON CONFLICT and row locks are native."""
    return engine.dialect.name == "postgresql"


def insert_ignoring_conflicts(
    conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows, skipping those whose key already exists (the seed's onConflictDoNothing).

    The rows go as multi-row INSERTs of up to 1,000 rows (fewer when that would pass 32,700
    bind parameters), in their order. The RETURNING clause is what gets them there: SQLAlchemy
    2.1 batches an INSERT with ON CONFLICT ("insertmanyvalues") only when it returns rows;
    otherwise it hands the list to the driver's executemany, which psycopg2 sends one row per
    round trip. The returned keys are discarded and the result closed at once: an open result
    would keep SQLite from committing.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).on_conflict_do_nothing()
    if conn.dialect.insert_returning:
        statement = statement.returning(*table.primary_key.columns)
    conn.execute(statement, list(rows)).close()
