"""Idempotent gift process creation, alone and under concurrent callers, on both backends."""

import dataclasses
import datetime as dt

import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline.workflows.gifting_process.create import create_processes, process_id_for
from ivyi_pipeline_tests.driver_calls import inserts_sent
from ivyi_pipeline_tests.factories import AT, make_occasion, occurrence_of, race


def _process_rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(gift_processes).order_by(gift_processes.c.id)).all()


def _history_rows(engine):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(process_transitions).order_by(process_transitions.c.process_id)
        ).all()


def test_process_ids_are_derived_from_the_occasion_and_the_occurrence_date():
    first = process_id_for("occ-1", dt.date(2026, 6, 15))

    assert process_id_for("occ-1", dt.date(2026, 6, 15)) == first
    assert process_id_for("occ-1", dt.date(2027, 6, 15)) != first
    assert process_id_for("occ-2", dt.date(2026, 6, 15)) != first


def test_a_new_process_is_created_in_created_with_one_history_row(engine):
    occurrence = occurrence_of(engine, make_occasion(engine), dt.date(2026, 6, 15))

    (process_id,) = create_processes(engine, [occurrence], AT)

    (row,) = _process_rows(engine)
    assert row.id == process_id == process_id_for(occurrence.occasion_id, dt.date(2026, 6, 15))
    assert (row.status, row.belated) == ("CREATED", False)
    assert row.occurrence_date == dt.date(2026, 6, 15)
    assert (row.recipient_id, row.relationship_id) == (
        occurrence.recipient_id,
        occurrence.relationship_id,
    )
    (history,) = _history_rows(engine)
    assert (history.process_id, history.from_status, history.to_status) == (
        process_id,
        None,
        "CREATED",
    )
    assert (history.event, history.at) == ("start-workflow", AT.replace(tzinfo=None))


def test_a_belated_process_is_flagged_and_its_history_says_why(engine):
    occurrence = occurrence_of(engine, make_occasion(engine), dt.date(2026, 6, 15))

    create_processes(engine, [occurrence], AT, belated=True)

    assert [row.belated for row in _process_rows(engine)] == [True]
    assert [row.reason for row in _history_rows(engine)] == ["belated occurrence"]


def test_creating_the_same_occurrence_again_returns_the_same_id_and_adds_nothing(engine):
    occurrence = occurrence_of(engine, make_occasion(engine), dt.date(2026, 6, 15))
    first = create_processes(engine, [occurrence], AT)

    again = create_processes(engine, [occurrence, occurrence], AT + dt.timedelta(hours=1))

    assert again == first * 2
    assert len(_process_rows(engine)) == 1
    assert len(_history_rows(engine)) == 1


def test_a_batch_mixing_known_and_new_occurrences_inserts_only_the_new_ones(engine):
    occasion_id = make_occasion(engine)
    known = occurrence_of(engine, occasion_id, dt.date(2026, 6, 15))
    new = occurrence_of(engine, occasion_id, dt.date(2027, 6, 15))
    (known_id,) = create_processes(engine, [known], AT)

    ids = create_processes(engine, [new, known], AT, chunk_size=1)

    assert ids == [process_id_for(occasion_id, dt.date(2027, 6, 15)), known_id]
    assert sorted(row.id for row in _process_rows(engine)) == sorted(ids)
    assert sorted(row.process_id for row in _history_rows(engine)) == sorted(ids)


def test_a_yearly_occasion_gets_one_process_for_each_year(engine):
    occasion_id = make_occasion(engine, date=dt.date(1990, 6, 15), recurs_yearly=True)
    this_year = occurrence_of(engine, occasion_id, dt.date(2026, 6, 15))
    next_year = occurrence_of(engine, occasion_id, dt.date(2027, 6, 15))

    first = create_processes(engine, [this_year], AT)
    second = create_processes(engine, [next_year], AT.replace(year=2027))

    assert first != second
    rows = _process_rows(engine)
    assert sorted(row.occurrence_date for row in rows) == [
        dt.date(2026, 6, 15),
        dt.date(2027, 6, 15),
    ]
    assert {row.occasion_id for row in rows} == {occasion_id}
    assert sorted(h.process_id for h in _history_rows(engine)) == sorted(first + second)


def test_eight_concurrent_callers_for_one_occurrence_create_exactly_one_process(engine):
    occurrence = occurrence_of(engine, make_occasion(engine), dt.date(2026, 6, 15))

    outcomes = race(8, lambda _: create_processes(engine, [occurrence], AT))

    expected_id = process_id_for(occurrence.occasion_id, dt.date(2026, 6, 15))
    assert outcomes == [[expected_id]] * 8
    assert [row.id for row in _process_rows(engine)] == [expected_id]
    history = _history_rows(engine)
    assert [(h.process_id, h.to_status) for h in history] == [(expected_id, "CREATED")]


def test_concurrent_callers_listing_occurrences_in_opposite_orders_both_succeed(engine):
    occasion_id = make_occasion(engine)
    days = [dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(300)]
    occurrences = [occurrence_of(engine, occasion_id, day) for day in days]

    outcomes = race(
        2, lambda i: create_processes(engine, occurrences if i == 0 else occurrences[::-1], AT)
    )

    expected = [process_id_for(occasion_id, day) for day in days]
    assert outcomes == [expected, expected[::-1]]
    assert len(_process_rows(engine)) == 300
    assert len(_history_rows(engine)) == 300


def test_each_chunk_of_processes_is_one_multi_row_insert_per_table(engine):
    first = occurrence_of(engine, make_occasion(engine), dt.date(2000, 1, 1))
    occurrences = [
        dataclasses.replace(first, occurrence_date=dt.date(2000, 1, 1) + dt.timedelta(days=i))
        for i in range(25)
    ]

    sent = inserts_sent(engine, lambda: create_processes(engine, occurrences, AT, chunk_size=10))

    assert [(call, table) for call, table, _ in sent] == [
        ("execute", "gift_processes"),
        ("execute", "process_transitions"),
    ] * 3
    assert len(_process_rows(engine)) == len(_history_rows(engine)) == 25


def test_a_chunk_past_the_bind_parameter_limit_is_sent_in_statements_below_it(engine):
    first = occurrence_of(engine, make_occasion(engine), dt.date(2000, 1, 1))
    occurrences = [
        dataclasses.replace(first, occurrence_date=dt.date(2000, 1, 1) + dt.timedelta(days=i))
        for i in range(8000)
    ]

    sent = inserts_sent(engine, lambda: create_processes(engine, occurrences, AT, chunk_size=8000))

    assert {call for call, _, _ in sent} == {"execute"}
    assert max(count for _, _, count in sent) <= 32_766
    assert len(sent) <= 16
    assert len(_process_rows(engine)) == len(_history_rows(engine)) == 8000
