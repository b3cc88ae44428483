"""Load a directory of CSV files into the database, all or nothing and idempotently."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.data.csv_parse import parse_source
from ivyi_pipeline.data.csv_source import CsvSource, read_source
from ivyi_pipeline.data.dataset import CSV_COLUMNS, OPTIONAL_FILES, Dataset, csv_name
from ivyi_pipeline.data.db_write import write_dataset
from ivyi_pipeline.data.origin import Origin, record_origin
from ivyi_pipeline.data.reconcile import reconcile
from ivyi_pipeline.db.locks import load_lock
from ivyi_pipeline.errors import InvalidInput


@dataclass(frozen=True)
class ParsedDirectory:
    """A directory's CSV files, read and checked on their own (before the database is touched)."""

    sources: dict[str, CsvSource]
    frames: dict[str, pd.DataFrame]


@dataclass(frozen=True)
class LoadSummary:
    """Rows written and rows skipped as already present, per file (users, ..., preferences)."""

    written: dict[str, int]
    already_present: dict[str, int]


def load_directory(engine: sa.Engine, path: Path) -> dict[str, int]:
    """Load the CSV files in path; return the rows written per file. Raises InvalidInput."""
    return load_csv_directory(engine, path).written


def load_csv_directory(engine: sa.Engine, path: Path) -> LoadSummary:
    """Validate every file, then write the new rows in one transaction; rows already there stay."""
    return load_parsed(engine, parse_directory(Path(path)))


def parse_directory(path: Path) -> ParsedDirectory:
    """Read and type every CSV file in path; raises InvalidInput naming file, line and column."""
    sources = read_directory(Path(path))
    frames = {name: parse_source(source) for name, source in sources.items()}
    for name in CSV_COLUMNS:
        frames.setdefault(name, _empty(name))
    return ParsedDirectory(sources, frames)


def load_parsed(engine: sa.Engine, parsed: ParsedDirectory) -> LoadSummary:
    """Check the parsed files against the database and write the new rows in one transaction.

    Concurrent loads run one after another (an advisory lock on PostgreSQL, BEGIN IMMEDIATE
    on SQLite), so the second sees the first one's rows as already present.
    """
    dbapi = engine.dialect.loaded_dbapi
    try:
        with engine.begin() as conn:
            load_lock(conn)
            new, present = reconcile(conn, parsed.frames, parsed.sources)
            written = write_dataset(conn, Dataset(**new))
            if any(written.values()):
                record_origin(conn, Origin.LOAD)
    except (sa.exc.IntegrityError, dbapi.IntegrityError) as exc:
        # Validation passed, so another writer must have changed the tables meanwhile.
        raise InvalidInput(
            f"the database changed while loading ({type(exc).__name__}); nothing was written, "
            "try again"
        ) from None
    return LoadSummary(written=written, already_present=present)


def read_directory(path: Path) -> dict[str, CsvSource]:
    """Read every known CSV file in path; raises InvalidInput if a required one is missing."""
    if not path.is_dir():
        raise InvalidInput(
            f"{path} is not a directory; give the folder that holds users.csv, relationships.csv, "
            "occasions.csv and gifts.csv"
        )
    sources = {}
    for name in CSV_COLUMNS:
        source = read_source(path, name)
        if source is not None:
            sources[name] = source
        elif name not in OPTIONAL_FILES:
            raise InvalidInput(f"{csv_name(name)}: the file is missing from {path}")
    return sources


def _empty(name: str) -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="str") for column in CSV_COLUMNS[name]})
    if name == "preferences":
        frame["affinity"] = frame["affinity"].astype("float64")
    return frame
