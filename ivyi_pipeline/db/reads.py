"""Chunked reads: every IN (...) list cut to a size every backend and driver accepts, once."""

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import pandas as pd
import sqlalchemy as sa

IN_CHUNK = 500
"""Most values one IN (...) list holds."""

T = TypeVar("T")


def chunks(items: Sequence[T], size: int | None = None) -> Iterator[list[T]]:
    """The items in lists of `size` (default IN_CHUNK), in their order."""
    size = size or IN_CHUNK
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def frame_chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    """The frame's rows in frames of `size`, in their order."""
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def rows_in(
    conn: sa.Connection, query: sa.Select, column: sa.ColumnElement, ids: Iterable[str]
) -> list[sa.Row]:
    """The query's rows whose column is one of ids, read in chunks in id order."""
    return [
        row
        for chunk in chunks(sorted(set(ids)))
        for row in conn.execute(query.where(column.in_(chunk)))
    ]


def read_frame(conn: sa.Connection, query: sa.Select) -> pd.DataFrame:
    """The query's rows as a DataFrame with its column names (also when empty)."""
    result = conn.execute(query)
    # Plain tuples: pandas builds a frame from them about twice as fast as from Row objects.
    rows = list(map(tuple, result.all()))
    return pd.DataFrame.from_records(rows, columns=list(result.keys()))


def frame_in(
    conn: sa.Connection, query: sa.Select, column: sa.ColumnElement, values: Sequence
) -> pd.DataFrame:
    """The query's rows whose column is one of values, read in chunks, as one DataFrame with
    the query's column names (also when empty)."""
    frames = [read_frame(conn, query.where(column.in_(chunk))) for chunk in chunks(values)]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=[c.name for c in query.selected_columns])
    return pd.concat(frames, ignore_index=True)
