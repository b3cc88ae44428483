"""Synthetic data whose occasions fall exactly where a scenario needs them, written with COPY."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.data.dataset import Dataset, month_day
from ivyi_pipeline.data.db_write import write_dataset
from ivyi_pipeline.data.synthetic import generate_dataset
from ivyi_pipeline.db.engine import get_engine

# A Monday far from 29 February, so that every shifted date exists in every year.
AS_OF = dt.datetime(2026, 5, 4, 6, 0, tzinfo=dt.UTC)
# A decision window closes at most this many days before its occurrence (GiftingSettings).
WINDOW_DAYS_BEFORE = 3


def place_occurrences(data: Dataset, as_of: dt.date, offsets: np.ndarray) -> Dataset:
    """The data set with occasion i occurring next on as_of + offsets[i] days."""
    frame = data.occasions.copy()
    target = pd.Series(pd.Timestamp(as_of) + pd.to_timedelta(offsets, unit="D"))
    original = frame["date"]
    # Yearly occasions keep a past year (a birthday stays a birthday); one-offs take the date.
    year = np.minimum(original.dt.year.to_numpy(), target.dt.year.to_numpy() - 1)
    yearly = pd.to_datetime(
        pd.DataFrame({"year": year, "month": target.dt.month, "day": target.dt.day})
    )
    frame["date"] = (
        yearly.where(frame["recurs_yearly"].to_numpy(), target).astype("datetime64[s]").to_numpy()
    )
    frame["month_day"] = month_day(frame["date"])
    return dataclasses.replace(data, occasions=frame)


def seed(
    url: str,
    offsets: np.ndarray,
    as_of: dt.datetime = AS_OF,
    gifts: int = 300,
    seed_value: int = 0,
    age: dt.timedelta = dt.timedelta(days=30),
) -> dict[str, int]:
    """Write a data set with one occasion per offset (days after as_of); rows written per part.

    The occasions are stamped as created `age` ago (wall clock), like a table that filled
    up over time, so that a detection cursor sees none of them as new.
    """
    data = generate_dataset(
        as_of=as_of.date(), occasions=len(offsets), gifts=gifts, seed=seed_value
    )
    data = place_occurrences(data, as_of.date(), np.asarray(offsets))
    created = (dt.datetime.now(dt.UTC) - age).replace(tzinfo=None)
    data = dataclasses.replace(data, occasions=data.occasions.assign(created_at=created))
    engine = get_engine(url)
    with engine.begin() as conn:
        written = write_dataset(conn, data)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    return written


def due_offsets(n: int, lead_days: int, rng_seed: int = 0) -> np.ndarray:
    """n offsets in the lead window but beyond the last window's close: all stop at the window."""
    rng = np.random.default_rng(rng_seed)
    return rng.integers(WINDOW_DAYS_BEFORE + 4, lead_days + 1, n)


def later_offsets(n: int, lead_days: int, rng_seed: int = 0) -> np.ndarray:
    """n offsets beyond tomorrow's lead window: none of them is due for weeks."""
    rng = np.random.default_rng(rng_seed)
    return rng.integers(lead_days + 2, 365, n)
