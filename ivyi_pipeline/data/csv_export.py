"""Write a data set as the CSV files `ivyi load` reads."""

from pathlib import Path

import pandas as pd

from ivyi_pipeline.data.dataset import CSV_COLUMNS, Dataset, csv_name


def write_csv(dataset: Dataset, directory: Path) -> dict[str, Path]:
    """Write one CSV file per part into directory (created if missing); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in dataset.parts():
        path = directory / csv_name(name)
        _as_text(frame[list(CSV_COLUMNS[name])]).to_csv(path, index=False)
        paths[name] = path
    return paths


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Booleans as true/false and dates as YYYY-MM-DD, the forms the loader accepts."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_bool_dtype(values):
            out[column] = values.map({True: "true", False: "false"})
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.dt.strftime("%Y-%m-%d")
    return out
