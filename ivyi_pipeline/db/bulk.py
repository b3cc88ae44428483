"""Bulk writes of a step's rows: one statement per table on PostgreSQL, whatever the row count."""

from collections.abc import Mapping

import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.db.engine import insert_ignoring_conflicts
from ivyi_pipeline.db.reads import chunks, frame_chunks

UNNEST_ROWS = 50_000
"""Rows sent in one INSERT ... SELECT FROM unnest(...) (a few MB of SQL text)."""


def insert_frame_ignoring_conflicts(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame):
    """Insert the frame's rows (its columns are table columns), skipping existing keys.

    On PostgreSQL each column goes as one array literal of a single
    `INSERT ... SELECT * FROM unnest(...) ON CONFLICT DO NOTHING`: one round trip and one
    short plan for 25,000 option rows. A multi-row INSERT sends 25 statements of 1,000 rows
    and binds every value on its own; a Python list as parameter becomes ARRAY[...] of
    25,000 constants, which takes PostgreSQL 0.2 s to parse and plan (BENCHMARKS.md,
    scenario 2). Elsewhere (SQLite) it is `insert_ignoring_conflicts`' multi-row INSERT.
    """
    if frame.empty:
        return
    columns = [table.c[name] for name in frame.columns]
    if conn.dialect.name != "postgresql":
        cleaned = {
            col.name: [_plain(v, col.type) for v in frame[col.name].tolist()] for col in columns
        }
        names = list(cleaned)
        rows = [dict(zip(names, v, strict=True)) for v in zip(*cleaned.values(), strict=True)]
        insert_ignoring_conflicts(conn, table, rows)
        return
    arrays = ", ".join(
        f"CAST(:c{i} AS {col.type.compile(dialect=conn.dialect)}[])"
        for i, col in enumerate(columns)
    )
    statement = sa.text(
        f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "
        f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"
    )
    for part in frame_chunks(frame, UNNEST_ROWS):
        conn.execute(
            statement,
            {
                f"c{i}": array_literal(part[col.name].tolist(), col.type)
                for i, col in enumerate(columns)
            },
        )


def array_literal(values: list, column_type: sa.types.TypeEngine) -> str:
    """PostgreSQL's text form of a one-dimensional array of a column's values ('{"a",NULL}').

    None, NaT and NaN are NULL, except NaN in a float column; an integer column's floats
    (pandas' way of holding an integer column with gaps) are written as integers.
    """
    floats = isinstance(column_type, sa.Float)
    integers = isinstance(column_type, sa.Integer)
    kinds = set(map(type, values))
    # The common columns in one join each: plain text needing no escape, integers, and
    # floats of a float column (NaN is written as `nan`, which PostgreSQL reads as NaN).
    if kinds == {str}:
        joined = '","'.join(values)
        if "\\" not in joined and joined.count('"') == 2 * (len(values) - 1):
            return '{"' + joined + '"}'
    elif kinds == {int} or (kinds == {float} and floats):
        return "{" + ",".join(map(repr, values)) + "}"
    return "{" + ",".join(_element(v, floats, integers) for v in values) + "}"


def _plain(value, column_type: sa.types.TypeEngine):
    """A frame's value as the driver takes it: None for gaps, int for an integer column."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and not isinstance(column_type, sa.Float):
        if value != value:
            return None
        return int(value) if isinstance(column_type, sa.Integer) else value
    return value


def _element(value, floats: bool, integers: bool) -> str:
    if value is None or value is pd.NaT or (not floats and value != value):
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "t" if value else "f"
    if integers and isinstance(value, float):
        return repr(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if hasattr(value, "isoformat"):
        return '"' + value.isoformat() + '"'
    raise TypeError(f"no array literal for {type(value).__name__} values")


def update_rows(
    conn: sa.Connection,
    table: sa.Table,
    key: str,
    rows: Mapping[str, Mapping[str, object]],
    common: Mapping[str, object] | None = None,
) -> None:
    """Set each keyed row's own values (and the common ones), in one statement on PostgreSQL.

    `rows` maps a key to {column: value}; every row names the same columns. PostgreSQL gets
    `UPDATE ... FROM (VALUES ...)`, one statement per 1,000 rows; psycopg2's executemany,
    which the generic path uses, sends one UPDATE per row.
    """
    if not rows:
        return
    names = sorted({name for values in rows.values() for name in values})
    common = dict(common or {})
    if conn.dialect.name != "postgresql":
        statement = (
            table.update()
            .where(table.c[key] == sa.bindparam("_key"))
            .values(**common, **{name: sa.bindparam(f"_{name}") for name in names})
        )
        conn.execute(
            statement,
            [{"_key": k, **{f"_{n}": v.get(n) for n in names}} for k, v in rows.items()],
        )
        return
    for part in chunks(list(rows.items()), 1000):
        values = sa.values(
            sa.column("_key", table.c[key].type),
            *(sa.column(name, table.c[name].type) for name in names),
            name="new_values",
        ).data([(k, *(v.get(n) for n in names)) for k, v in part])
        conn.execute(
            table.update()
            .where(table.c[key] == values.c["_key"])
            .values(**common, **{n: sa.cast(values.c[n], table.c[n].type) for n in names})
        )
