"""Metadata tables: a DataFrame's rows as a Dagster table the UI renders."""

from datetime import UTC, date, datetime
from enum import Enum

import dagster as dg
import numpy as np
import pandas as pd

DECIMALS = 4


def cell(value: object) -> str | int | float | bool | None:
    """One plain value as the UI shows it: UTC minutes, ISO dates, rounded floats, None for gaps.

    Naive instants are UTC already (the database keeps UTC); aware ones are converted.
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return f"{value:%Y-%m-%d %H:%M}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):  # e.g. a status: Dagster serializes only plain values
        return str(value.value)
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    return round(value, DECIMALS) if isinstance(value, float) else value


def cells(column: pd.Series) -> list:
    """`cell` of every value of a column, converted once for the whole column."""
    if pd.api.types.is_datetime64_any_dtype(column):
        if column.dt.tz is not None:
            column = column.dt.tz_convert(UTC).dt.tz_localize(None)
        text = column.dt.strftime("%Y-%m-%d %H:%MZ")
        return [value if isinstance(value, str) else None for value in text.tolist()]
    values = column.tolist()  # numpy scalars become Python ones
    if pd.api.types.is_float_dtype(column):
        return [None if value != value else round(value, DECIMALS) for value in values]
    if pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column):
        return values
    return [value if type(value) is str else cell(value) for value in values]


def _records(frame: pd.DataFrame, schema: dg.TableSchema) -> list[dg.TableRecord]:
    columns = [c.name for c in schema.columns]
    converted = [cells(frame[col]) for col in columns]
    return [
        dg.TableRecord(dict(zip(columns, row, strict=True))) for row in zip(*converted, strict=True)
    ]


def metadata_table(
    frame: pd.DataFrame, schema: dg.TableSchema, limit: int | None = None
) -> dg.MetadataValue:
    """The frame's columns named in the schema, in its order, up to `limit` rows."""
    rows = frame if limit is None else frame.head(limit)
    return dg.MetadataValue.table(_records(rows, schema), schema=schema)


def metadata_tables(
    frame: pd.DataFrame, schema: dg.TableSchema, by: str, limit: int | None = None
) -> dict[str, dg.MetadataValue]:
    """`metadata_table` of each value of column `by`, its rows in the frame's order.

    One pass over the whole frame (each column converted once), for a run's processes at once.
    """
    if frame.empty:
        return {}
    frame = frame.iloc[np.argsort(frame[by].to_numpy(), kind="stable")]
    if limit is not None:  # convert only the rows that are shown
        frame = frame[frame.groupby(by, sort=False).cumcount().to_numpy() < limit]
    keys = frame[by].to_numpy()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    records = _records(frame, schema)
    return {
        keys[s]: dg.MetadataValue.table(records[s:e], schema=schema)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    }
