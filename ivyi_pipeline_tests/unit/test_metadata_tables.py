"""Metadata tables show ids, rounded numbers and UTC minutes, in the schema's column order."""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd

from ivyi_pipeline.domain.states import GiftProcessStatus
from ivyi_pipeline.orchestration.metadata_tables import cell, metadata_table, metadata_tables

SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("process_id", "string"),
        dg.TableColumn("at", "string"),
        dg.TableColumn("score", "float"),
        dg.TableColumn("rank", "int"),
    ]
)


def test_a_frame_becomes_records_in_schema_order_with_plain_python_values():
    frame = pd.DataFrame(
        {
            "rank": np.array([1, 2], dtype="int64"),
            "score": [0.123456789, np.nan],
            "at": [pd.Timestamp("2026-06-01 09:30:12"), dt.datetime(2026, 6, 2, 18, 5)],
            "process_id": ["p-1", GiftProcessStatus.CREATED],
            "extra": ["not shown", "not shown"],
        }
    )

    table = metadata_table(frame, SCHEMA)

    assert [record.data for record in table.records] == [
        {"process_id": "p-1", "at": "2026-06-01 09:30Z", "score": 0.1235, "rank": 1},
        {"process_id": "CREATED", "at": "2026-06-02 18:05Z", "score": None, "rank": 2},
    ]
    assert type(table.records[0].data["rank"]) is int
    assert type(table.records[1].data["process_id"]) is str
    dg.serialize_value(table)  # Dagster accepts it in an event
    assert table.schema == SCHEMA


def test_the_limit_keeps_the_first_rows():
    frame = pd.DataFrame(
        {"process_id": list("abcde"), "at": [None] * 5, "score": [1.0] * 5, "rank": range(5)}
    )

    table = metadata_table(frame, SCHEMA, limit=2)

    assert [record.data["process_id"] for record in table.records] == ["a", "b"]
    assert table.records[0].data["at"] is None


def test_aware_instants_are_shown_in_utc_and_gaps_as_none():
    berlin = dt.timezone(dt.timedelta(hours=1))

    assert cell(dt.datetime(2026, 6, 1, 10, 0, tzinfo=berlin)) == "2026-06-01 09:00Z"
    assert cell(pd.NaT) is None
    assert cell(pd.NA) is None
    assert cell(dt.date(2026, 6, 15)) == "2026-06-15"
    assert cell(np.float64(2.0 / 3)) == 0.6667


def test_tables_by_process_equal_one_table_per_process_in_the_frame_order():
    frame = pd.DataFrame(
        {
            "process_id": ["b", "a", "b", "a", "c", "b"],
            "at": [
                pd.Timestamp("2026-06-01 09:30"),
                None,
                None,
                pd.Timestamp("2026-06-02"),
                None,
                None,
            ],
            "score": [0.5, 1 / 3, np.nan, 2.0, -1.25, 0.0],
            "rank": [3, 1, 2, 2, 1, 1],
        }
    )

    tables = metadata_tables(frame, SCHEMA, "process_id", limit=2)

    assert set(tables) == {"a", "b", "c"}
    for pid, table in tables.items():
        expected = metadata_table(frame[frame["process_id"] == pid], SCHEMA, limit=2)
        assert [r.data for r in table.records] == [r.data for r in expected.records]
        assert table.schema == SCHEMA
    assert [r.data["rank"] for r in tables["b"].records] == [3, 2]  # the frame's order, cut at 2
    assert metadata_tables(frame.iloc[0:0], SCHEMA, "process_id") == {}
