"""Bulk writes that skip conflicts reach the driver as multi-row INSERTs, on both backends."""

import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_options, ranked_decisions
from ivyi_pipeline.workflows.gifting_process import steps
from ivyi_pipeline_tests.driver_calls import inserts_sent
from ivyi_pipeline_tests.factories import AT, make_gift, make_process


def _inserts_sent(engine, run) -> list[tuple[str, str]]:
    return [(call, table) for call, table, _ in inserts_sent(engine, run)]


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_options_and_rankings_of_several_processes_are_one_insert_each(engine):
    for i in range(30):
        make_gift(engine, category=("books", "games", "food")[i % 3], price_cents=1000 + 50 * i)
    process_ids = [make_process(engine, status="OCCASION_DETECTED") for _ in range(3)]
    rules = steps.GiftingRules()

    options_sent = _inserts_sent(
        engine, lambda: steps.generate_options(engine, process_ids, AT, rules)
    )
    ranking_sent = _inserts_sent(engine, lambda: steps.rank_options(engine, process_ids, AT, rules))

    assert [s for s in options_sent if s[1] == "gift_options"] == [("execute", "gift_options")]
    assert [s for s in ranking_sent if s[1] == "ranked_decisions"] == [
        ("execute", "ranked_decisions")
    ]
    assert _count(engine, gift_options) == 3 * 30
    assert _count(engine, ranked_decisions) == 3 * rules.top_n


def test_a_frame_is_written_as_it_is_awkward_text_nulls_and_existing_keys_included(engine):
    from datetime import datetime

    import pandas as pd

    from ivyi_pipeline.db.bulk import insert_frame_ignoring_conflicts

    table = sa.Table(
        "bulk_probe",
        sa.MetaData(),
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("count", sa.BigInteger, nullable=True),
        sa.Column("share", sa.Float, nullable=True),
        sa.Column("flag", sa.Boolean, nullable=True),
        sa.Column("at", sa.DateTime, nullable=True),
    )
    table.create(engine)
    awkward = ['a "quoted" word', "back\\slash", "{braces},comma", "NULL", "é ✓", "", None]
    frame = pd.DataFrame(
        {
            "id": [f"k{i}" for i in range(len(awkward))],
            "note": awkward,
            "count": [1, -2, 3, None, 5, 6, 7],
            "share": [0.5, float("nan"), 1e-300, -3.25, 0.0, 2.0, 7.0],
            "flag": [True, False, None, True, False, True, None],
            "at": [datetime(2026, 5, 4, 6, 0, 30, 123456), None, *[datetime(2026, 1, 1)] * 5],
        }
    )
    with engine.begin() as conn:
        insert_frame_ignoring_conflicts(conn, table, frame.iloc[:3])
        insert_frame_ignoring_conflicts(conn, table, frame)  # the first three exist already
        insert_frame_ignoring_conflicts(conn, table, frame.iloc[:0])
    with engine.connect() as conn:
        stored = pd.DataFrame(conn.execute(sa.select(table).order_by(table.c.id)).mappings().all())

    assert [None if pd.isna(note) else note for note in stored["note"]] == awkward
    assert stored["count"].astype("Int64").tolist() == [1, -2, 3, pd.NA, 5, 6, 7]
    assert stored["share"].iloc[0] == 0.5
    assert pd.isna(stored["share"].iloc[1])
    assert stored["share"].iloc[2:].tolist() == [1e-300, -3.25, 0.0, 2.0, 7.0]
    assert [None if pd.isna(f) else bool(f) for f in stored["flag"]] == [
        True,
        False,
        None,
        True,
        False,
        True,
        None,
    ]
    assert stored["at"].iloc[0] == pd.Timestamp(datetime(2026, 5, 4, 6, 0, 30, 123456))
    assert pd.isna(stored["at"].iloc[1])
