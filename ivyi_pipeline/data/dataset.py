"""A data set of users, relationships, occasions, gifts and preferences, one DataFrame per table."""

from collections.abc import Iterator
from dataclasses import dataclass, fields

import pandas as pd

CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "name", "email"),
    "relationships": ("id", "giver_id", "recipient_id", "depth", "budget_cents"),
    "occasions": ("id", "relationship_id", "recipient_id", "kind", "date", "recurs_yearly"),
    "gifts": ("id", "name", "category", "price_cents", "tags", "in_stock"),
    "preferences": ("user_id", "category", "affinity"),
}
"""The columns of each CSV file, in the order the exporter writes them."""

KEYS: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "relationships": ("id",),
    "occasions": ("id",),
    "gifts": ("id",),
    "preferences": ("user_id", "category"),
}
"""The columns that identify a row of each file (the table's primary key)."""

OPTIONAL_FILES = frozenset({"preferences"})
"""Files a directory may leave out."""


def csv_name(name: str) -> str:
    """The file name of a data set part: users -> users.csv."""
    return f"{name}.csv"


@dataclass(frozen=True)
class Dataset:
    """One DataFrame per table, typed: ids and text as str, cents as int64, dates as datetime64.

    Occasions carry `month_day` (month * 100 + day of `date`) besides the CSV columns.
    """

    users: pd.DataFrame
    relationships: pd.DataFrame
    occasions: pd.DataFrame
    gifts: pd.DataFrame
    preferences: pd.DataFrame

    def parts(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """(name, frame) pairs in an order that respects foreign keys."""
        for field in fields(self):
            yield field.name, getattr(self, field.name)

    def counts(self) -> dict[str, int]:
        """Rows per part."""
        return {name: len(frame) for name, frame in self.parts()}


def month_day(dates: pd.Series) -> pd.Series:
    """MMDD of each date, the key yearly occurrences are looked up by."""
    return (dates.dt.month * 100 + dates.dt.day).astype("int64")
