"""Collect what is wrong with a CSV file, vectorized, and report the earliest problem."""

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ivyi_pipeline.data.csv_source import CsvSource
from ivyi_pipeline.errors import InvalidInput

Describe = Callable[[int], str]
"""From a row position to what is wrong with its cell, without names or emails."""


@dataclass(frozen=True)
class _Problem:
    position: int
    column: str
    detail: str


class Problems:
    """The first bad row of every check on one file; raises the earliest of them."""

    def __init__(self, source: CsvSource, columns: list[str]):
        self.source = source
        self._order = {column: i for i, column in enumerate(columns)}
        self._found: list[_Problem] = []

    def flag(self, bad: pd.Series, column: str, describe: Describe) -> None:
        """Record the first row where bad (a boolean Series indexed by position) is true."""
        hits = bad.index[bad.to_numpy(dtype=bool, na_value=True)]
        if len(hits):
            position = int(hits.min())
            self._found.append(_Problem(position, column, describe(position)))

    def flagger(self, column: str) -> Callable[[pd.Series, Describe], None]:
        """flag() bound to one column, for a column's parser."""
        return lambda bad, describe: self.flag(bad, column, describe)

    def raise_first(self) -> None:
        """Raise InvalidInput for the earliest line, then leftmost column, if anything was found."""
        if self._found:
            first = min(self._found, key=lambda p: (p.position, self._order.get(p.column, 99)))
            where = self.source.where(first.position, first.column)
            raise InvalidInput(f"{where}: {first.detail}")


def show(value: object) -> str:
    """A value quoted for a message, cut short when long."""
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")
