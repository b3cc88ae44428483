"""Turn a CSV file's text into a typed frame, or fail naming the file, line and column."""

import pandas as pd

from ivyi_pipeline.data.csv_columns import FILE_COLUMNS
from ivyi_pipeline.data.csv_source import CsvSource
from ivyi_pipeline.data.dataset import KEYS, month_day
from ivyi_pipeline.data.problems import Problems, show
from ivyi_pipeline.errors import InvalidInput


def parse_source(source: CsvSource) -> pd.DataFrame:
    """The file's required columns, typed and indexed by row position; raises InvalidInput."""
    spec = FILE_COLUMNS[source.name]
    missing = [column for column in spec if column not in source.frame.columns]
    if missing:
        raise InvalidInput(f"{source.file} line 1, column {missing[0]}: the column is missing")
    problems = Problems(source, list(spec))
    parsed = {}
    for column, kind in spec.items():
        raw = source.frame[column]
        if kind.required:
            problems.flag(raw == "", column, lambda _: "a value is required")
        parsed[column] = kind.parse(raw, problems.flagger(column))
    frame = pd.DataFrame(parsed, index=source.frame.index)
    _flag_duplicates(frame, KEYS[source.name], problems)
    _flag_row_rules(source.name, frame, problems)
    problems.raise_first()
    if source.name == "occasions":
        frame["month_day"] = month_day(frame["date"])
    return frame


def _flag_duplicates(frame: pd.DataFrame, keys: tuple[str, ...], problems: Problems) -> None:
    duplicate = frame.duplicated(list(keys), keep="first")
    if not duplicate.any():
        return

    def describe(position: int) -> str:
        same = (frame[list(keys)] == frame.loc[position, list(keys)]).all(axis=1)
        first = problems.source.line(int(same.idxmax()))
        key = ", ".join(f"{k} {show(frame.at[position, k])}" for k in keys)
        return f"duplicate {key}, first on line {first}"

    problems.flag(duplicate, keys[-1] if len(keys) > 1 else keys[0], describe)


def _flag_row_rules(name: str, frame: pd.DataFrame, problems: Problems) -> None:
    if name == "relationships":
        problems.flag(
            frame["giver_id"] == frame["recipient_id"],
            "recipient_id",
            lambda _: "the recipient is the giver; a relationship needs two people",
        )
