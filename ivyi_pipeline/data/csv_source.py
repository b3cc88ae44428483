"""One CSV file read as text: a DataFrame of stripped strings and the lines its rows came from."""

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ivyi_pipeline.data.dataset import csv_name
from ivyi_pipeline.errors import InvalidInput

_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass
class CsvSource:
    """A CSV file's rows as strings, indexed by position (0 is the first row after the header)."""

    name: str
    path: Path
    frame: pd.DataFrame
    _lines: list[int] | None = field(default=None, repr=False)

    @property
    def file(self) -> str:
        """The file's name, as error messages show it."""
        return csv_name(self.name)

    def line(self, position: int) -> int:
        """The physical line a row starts on (the header is line 1), found only when needed."""
        if self._lines is None:
            self._lines = _record_lines(self.path)
        return self._lines[position]

    def where(self, position: int, column: str) -> str:
        """'occasions.csv line 7, column date', the prefix of every message about a cell."""
        return f"{self.file} line {self.line(position)}, column {column}"


def read_source(directory: Path, name: str) -> CsvSource | None:
    """Read directory/<name>.csv with every value as a stripped string; None if there is none."""
    path = directory / csv_name(name)
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
        )
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: the file is not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        raise InvalidInput(f"{path.name} line 1: the header row is missing") from None
    except pd.errors.ParserError as exc:
        raise InvalidInput(f"{path.name}: {_parser_problem(exc)}") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    # Short rows leave NaN behind even without NA parsing.
    frame = frame.fillna("").apply(lambda values: values.str.strip())
    return CsvSource(name=name, path=path, frame=frame.reset_index(drop=True))


def _parser_problem(exc: Exception) -> str:
    match = _FIELD_COUNT.search(str(exc))
    if match:
        expected, line, saw = match.groups()
        return f"line {line} has {saw} fields, the header has {expected}"
    return f"not a readable CSV file ({str(exc).strip()})"


def _record_lines(path: Path) -> list[int]:
    """The line each data row starts on, skipping blank lines as the reader does."""
    starts = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        previous = 0
        for record in reader:
            if any(value.strip() for value in record):
                starts.append(previous + 1)
            previous = reader.line_num
    return starts[1:]
