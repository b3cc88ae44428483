"""Check parsed CSV rows against the database: references resolve, reloaded rows match."""

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.data.csv_source import CsvSource
from ivyi_pipeline.data.dataset import CSV_COLUMNS, KEYS
from ivyi_pipeline.data.db_write import TABLES
from ivyi_pipeline.data.problems import Problems, show
from ivyi_pipeline.db.reads import chunks

REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "relationships": (("giver_id", "users"), ("recipient_id", "users")),
    "occasions": (("relationship_id", "relationships"), ("recipient_id", "users")),
    "preferences": (("user_id", "users"),),
}
"""Per file, (column, file whose id it names); the id may also be in the database."""

_CHUNK = {"sqlite": 5_000}
_DEFAULT_CHUNK = 10_000


def reconcile(
    conn: sa.Connection, frames: dict[str, pd.DataFrame], sources: dict[str, CsvSource]
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The rows still to write per file and the count already present; raises InvalidInput."""
    new, present = {}, {}
    for name, frame in frames.items():
        if frame.empty:
            new[name], present[name] = frame, 0
            continue
        problems = Problems(sources[name], list(CSV_COLUMNS[name]))
        for column, target in REFERENCES.get(name, ()):
            _flag_unknown(conn, frame, column, frames[target], target, problems)
        if name == "occasions":
            _flag_wrong_recipient(conn, frame, frames["relationships"], problems)
        new[name], present[name] = _split_existing(conn, name, frame, problems)
        problems.raise_first()
    return new, present


def fetch_rows(
    conn: sa.Connection, table: sa.Table, key: str, values: list, columns: list[str]
) -> pd.DataFrame:
    """The rows of table whose key is one of values, in chunks that fit any driver."""
    empty = pd.DataFrame({column: [] for column in columns})
    if not values or conn.execute(sa.select(table.c[key]).limit(1)).first() is None:
        return empty
    chunk = _CHUNK.get(conn.dialect.name, _DEFAULT_CHUNK)
    query = sa.select(*(table.c[c] for c in columns)).where(
        table.c[key].in_(sa.bindparam("keys", expanding=True))
    )
    rows = []
    for part in chunks(values, chunk):
        rows.extend(conn.execute(query, {"keys": part}).all())
    if not rows:
        return empty
    # Columns from transposed rows: much faster than a frame built from Row objects.
    return pd.DataFrame(dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)))


def _unique(values: pd.Series) -> list:
    return values.drop_duplicates().tolist()


def _flag_unknown(
    conn: sa.Connection,
    frame: pd.DataFrame,
    column: str,
    target: pd.DataFrame,
    target_name: str,
    problems: Problems,
) -> None:
    refs = frame[column]
    unknown = ~refs.isin(target["id"])
    if unknown.any():
        found = fetch_rows(conn, TABLES[target_name], "id", _unique(refs[unknown]), ["id"])
        unknown &= ~refs.isin(found["id"])
    problems.flag(
        unknown,
        column,
        lambda pos: f"{show(refs[pos])} is not an id in {target_name}.csv or in the database",
    )


def _flag_wrong_recipient(
    conn: sa.Connection, occasions: pd.DataFrame, relationships: pd.DataFrame, problems: Problems
) -> None:
    """An occasion's recipient must be its relationship's recipient."""
    wanted = occasions["relationship_id"]
    stored = fetch_rows(
        conn,
        TABLES["relationships"],
        "id",
        _unique(wanted[~wanted.isin(relationships["id"])]),
        ["id", "recipient_id"],
    )
    known = pd.concat([relationships[["id", "recipient_id"]], stored], ignore_index=True)
    expected = wanted.map(known.set_index("id")["recipient_id"])
    recipient = occasions["recipient_id"]
    problems.flag(
        expected.notna() & (expected != recipient),
        "recipient_id",
        lambda pos: (
            f"{show(recipient[pos])} is not the recipient of relationship "
            f"{show(wanted[pos])}, whose recipient is {show(expected[pos])}"
        ),
    )


def _split_existing(
    conn: sa.Connection, name: str, frame: pd.DataFrame, problems: Problems
) -> tuple[pd.DataFrame, int]:
    """Rows whose key is not in the database yet; flag stored rows that differ."""
    keys = list(KEYS[name])
    columns = list(CSV_COLUMNS[name])
    stored = fetch_rows(conn, TABLES[name], keys[0], _unique(frame[keys[0]]), columns)
    if stored.empty:
        return frame, 0
    stored = _like(stored, frame[columns])
    both = (
        frame[columns]
        .reset_index(names="_position")
        .merge(stored, on=keys, how="inner", suffixes=("", "_stored"))
    )
    positions = both["_position"].to_numpy()
    for column in columns:
        if column in keys:
            continue
        differs = _differs(both[column], both[f"{column}_stored"])
        problems.flag(
            pd.Series(differs, index=positions),
            column,
            lambda pos, c=column: (
                f"{_key_text(frame, keys, pos)} is already in the database with a different {c}"
            ),
        )
    already = frame.index.isin(positions)
    return frame[~already], int(already.sum())


def _like(stored: pd.DataFrame, parsed: pd.DataFrame) -> pd.DataFrame:
    """Stored values in the parsed frame's types (enums as their text, dates as datetime64)."""
    out = {}
    for column in stored.columns:
        dtype = parsed[column].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            out[column] = pd.to_datetime(stored[column])
        elif pd.api.types.is_numeric_dtype(dtype):
            out[column] = stored[column].astype(dtype)
        else:
            out[column] = stored[column].map(str).astype(dtype)
    return pd.DataFrame(out)


def _differs(parsed: pd.Series, stored: pd.Series) -> np.ndarray:
    if pd.api.types.is_float_dtype(parsed.dtype):
        return ~np.isclose(parsed.to_numpy(), stored.to_numpy(), rtol=0.0, atol=1e-9)
    return (parsed != stored).to_numpy(dtype=bool)


def _key_text(frame: pd.DataFrame, keys: list[str], position: int) -> str:
    return " ".join(f"{key} {show(frame.at[position, key])}" for key in keys)
