"""Bulk writes of a data set: COPY on PostgreSQL, chunked executemany elsewhere."""

import csv
import io

import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.data.dataset import Dataset
from ivyi_pipeline.data.origin import Origin, record_origin
from ivyi_pipeline.db.reads import frame_chunks
from ivyi_pipeline.db.schema import gifts, occasions, preferences, relationships, users
from ivyi_pipeline.errors import InvalidInput

TABLES: dict[str, sa.Table] = {
    "users": users,
    "relationships": relationships,
    "occasions": occasions,
    "gifts": gifts,
    "preferences": preferences,
}
"""The table each data set part is written to."""

CHUNK_ROWS = 50_000


def write_dataset(conn: sa.Connection, dataset: Dataset) -> dict[str, int]:
    """Insert every row of dataset within the caller's transaction; return rows written per part."""
    return {name: write_frame(conn, TABLES[name], frame) for name, frame in dataset.parts()}


def write_frame(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> int:
    """Insert frame's rows into table (its columns are the frame's), in chunks."""
    if frame.empty:
        return 0
    write = _copy_chunk if conn.dialect.name == "postgresql" else _insert_chunk
    for chunk in frame_chunks(frame, CHUNK_ROWS):
        write(conn, table, chunk)
    return len(frame)


def _insert_chunk(conn: sa.Connection, table: sa.Table, chunk: pd.DataFrame) -> None:
    columns = list(chunk.columns)
    values = [_python_values(chunk[column]) for column in columns]
    conn.execute(
        table.insert(), [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
    )


def _python_values(values: pd.Series) -> list:
    """The column as Python objects (dates as datetime.date), which every driver accepts."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.date.tolist()
    return values.tolist()


def _copy_chunk(conn: sa.Connection, table: sa.Table, chunk: pd.DataFrame) -> None:
    buffer = io.StringIO()
    # Quoting every field keeps empty strings (tags) apart from NULL.
    chunk.to_csv(buffer, index=False, header=False, quoting=csv.QUOTE_ALL, date_format="%Y-%m-%d")
    buffer.seek(0)
    columns = ", ".join(f'"{name}"' for name in chunk.columns)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT csv)', buffer)
    finally:
        cursor.close()


def seed_database(engine: sa.Engine, dataset: Dataset) -> dict[str, int]:
    """Write dataset in one transaction; raises InvalidInput, writing nothing, if an id is taken."""
    try:
        with engine.begin() as conn:
            written = write_dataset(conn, dataset)
            if any(written.values()):
                record_origin(conn, Origin.SEED)
            return written
    except (sa.exc.IntegrityError, engine.dialect.loaded_dbapi.IntegrityError):
        raise InvalidInput(
            "some of these ids are already in the database (seeded before with this --seed?); "
            "nothing was written: use another --seed or an empty database"
        ) from None
