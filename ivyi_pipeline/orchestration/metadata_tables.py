"""Metadata tables: a DataFrame's rows as a Dagster table the UI renders."""

from datetime import UTC, date, datetime
from enum import Enum

import dagster as dg
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


def metadata_table(
    frame: pd.DataFrame, schema: dg.TableSchema, limit: int | None = None
) -> dg.MetadataValue:
    """The frame's columns named in the schema, in its order, up to `limit` rows."""
    columns = [c.name for c in schema.columns]
    rows = frame[columns] if limit is None else frame[columns].head(limit)
    records = [
        dg.TableRecord({col: cell(value) for col, value in zip(columns, row, strict=True)})
        for row in rows.itertuples(index=False, name=None)
    ]
    return dg.MetadataValue.table(records, schema=schema)
