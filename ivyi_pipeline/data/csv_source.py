"""One CSV file read as text: a DataFrame of stripped strings and the lines its rows came from."""

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ivyi_pipeline.data.dataset import csv_name
from ivyi_pipeline.errors import InvalidInput

_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string")

MAX_COLUMNS = 100
"""Most columns a CSV header may name (the files need at most 6; extra columns are ignored)."""
MAX_LINE_BYTES = 64 * 1024
"""Longest physical line a CSV file may hold, in bytes (the longest valid row is about 11 KB)."""


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
        check_limits(path)
        check_first_row(path)
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
        )
    except OSError as exc:
        raise InvalidInput(
            f"{path.name}: the file cannot be read ({exc.strerror or exc}); "
            "make it readable by this user"
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: the file is not UTF-8 text; save it as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise InvalidInput(f"{path.name} line 1: the header row is missing") from None
    except pd.errors.ParserError as exc:
        raise InvalidInput(f"{path.name}: {_parser_problem(exc, path)}") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    # Short rows leave NaN behind even without NA parsing.
    frame = frame.fillna("").apply(lambda values: values.str.strip())
    return CsvSource(name=name, path=path, frame=frame.reset_index(drop=True))


def check_first_row(path: Path) -> None:
    """Refuse a first data row with more fields than the header: pandas would take its first
    column as a row index and shift every value one column right (later rows it reports)."""
    with _records(path) as records:
        header, first = next(records, None), next(records, None)
    if header is not None and first is not None and len(first[1]) > len(header[1]):
        raise InvalidInput(
            f"{path.name}: line {first[0]} has {len(first[1])} fields, "
            f"the header has {len(header[1])}"
        )


def check_limits(path: Path) -> None:
    """Refuse a file whose lines or header exceed MAX_LINE_BYTES or MAX_COLUMNS, reading little."""
    with path.open("rb") as handle:
        number = 0
        while line := handle.readline(MAX_LINE_BYTES + 2):
            number += 1
            if len(line.rstrip(b"\r\n")) > MAX_LINE_BYTES:
                raise InvalidInput(
                    f"{path.name} line {number}: the line is longer than {MAX_LINE_BYTES:,} bytes, "
                    "the most a CSV line may hold; split or shorten it"
                )
            if number == 1:
                _check_header(path, line)


def _check_header(path: Path, line: bytes) -> None:
    # Fields the header names, quoted commas aside; a quoted newline in a header is refused later.
    fields = next(csv.reader([line.decode("utf-8", errors="replace")]), [])
    if len(fields) > MAX_COLUMNS:
        raise InvalidInput(
            f"{path.name} line 1: the header has {len(fields):,} columns, more than the "
            f"{MAX_COLUMNS} a file may have; keep only the columns `ivyi load` reads"
        )


def _parser_problem(exc: Exception, path: Path) -> str:
    match = _FIELD_COUNT.search(str(exc))
    if match:
        expected, line, saw = match.groups()
        return f"line {line} has {saw} fields, the header has {expected}"
    if _OPEN_QUOTE.search(str(exc)):
        # pandas counts records, not lines; the unclosed one is the last record, to the end.
        line = _record_lines(path)[-1]
        return f"the quoted field opened on line {line} is never closed; close its quote"
    return f"not a readable CSV file ({str(exc).strip()})"


def _record_lines(path: Path) -> list[int]:
    """The line each data row starts on (the header's left out)."""
    with _records(path) as records:
        return [line for line, _ in records][1:]


@contextmanager
def _records(path: Path) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """(the line it starts on, its fields) of each record pandas reads, the header first.

    pandas skips empty lines and lines of blanks only; a line of commas is a row of empty
    values, reported on its own line. No field is too long for the csv module meanwhile.
    """
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, path.stat().st_size + 1))
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)

            def read() -> Iterator[tuple[int, list[str]]]:
                previous = 0
                for record in reader:
                    if len(record) > 1 or (record and record[0].strip()):
                        yield previous + 1, record
                    previous = reader.line_num

            yield read()
    finally:
        csv.field_size_limit(limit)
