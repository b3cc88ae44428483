"""Write a data set as the CSV files `ivyi load` reads."""

from pathlib import Path

import pandas as pd

from ivyi_pipeline.atomic_files import write_atomically
from ivyi_pipeline.data.dataset import CSV_COLUMNS, Dataset, csv_name
from ivyi_pipeline.errors import InvalidInput


def write_csv(dataset: Dataset, directory: Path) -> dict[str, Path]:
    """Write one CSV file per part into directory (created if missing); return the paths.

    Refuses, writing nothing, when the directory already holds one of the files: they are
    someone's data. Each file is written atomically.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"--csv {directory} is a file; give a folder to write the CSV files to")
    taken = [csv_name(name) for name, _ in dataset.parts() if (directory / csv_name(name)).exists()]
    if taken:
        raise InvalidInput(
            f"{directory} already holds {', '.join(taken)}; nothing was written: "
            "give a new or empty folder"
        )
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in dataset.parts():
        path = directory / csv_name(name)
        text = _as_text(frame[list(CSV_COLUMNS[name])])
        write_atomically(path, lambda temporary, text=text: text.to_csv(temporary, index=False))
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
