"""Guarded state changes and their history rows, alone and under racing writers."""

import datetime as dt

import pytest
import sqlalchemy as sa

from ivyi_pipeline.db import reads
from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline.errors import InvalidTransition, NotFound, StaleState
from ivyi_pipeline.workflows.gifting_process.create import create_processes
from ivyi_pipeline.workflows.gifting_process.update import transition, transition_many
from ivyi_pipeline_tests.factories import (
    AT,
    make_occasion,
    make_process,
    new_id,
    occurrence_of,
    process_status,
    race,
)

LATER = AT + dt.timedelta(days=1)
STORED_LATER = LATER.replace(tzinfo=None)


def _history(engine, process_id=None):
    query = sa.select(
        process_transitions.c.process_id,
        process_transitions.c.from_status,
        process_transitions.c.to_status,
        process_transitions.c.event,
        process_transitions.c.reason,
        process_transitions.c.at,
    ).order_by(process_transitions.c.id)
    if process_id is not None:
        query = query.where(process_transitions.c.process_id == process_id)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def _process(engine, process_id):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(gift_processes).where(gift_processes.c.id == process_id)
        ).one()


def _move(engine, process_id, expected, target, event="test-event", **updates):
    with engine.begin() as conn:
        transition(conn, process_id, expected, target, event, LATER, **updates)
    return target


def test_a_transition_moves_the_process_and_records_its_history_row(engine):
    process_id = make_process(engine, status="OPTIONS_GENERATED")
    closes = dt.datetime(2026, 6, 8, 12, 0)

    with engine.begin() as conn:
        transition(
            conn,
            process_id,
            "OPTIONS_GENERATED",
            "DECISION_WINDOW_OPEN",
            "decision-window-open",
            LATER,
            reason="window opened",
            window_closes_at=closes,
        )

    row = _process(engine, process_id)
    assert row.status == "DECISION_WINDOW_OPEN"
    assert (row.updated_at, row.window_closes_at) == (STORED_LATER, closes)
    assert _history(engine, process_id)[-1] == (
        process_id,
        "OPTIONS_GENERATED",
        "DECISION_WINDOW_OPEN",
        "decision-window-open",
        "window opened",
        STORED_LATER,
    )
    assert [h[2] for h in _history(engine, process_id)] == [
        "CREATED",
        "OCCASION_DETECTED",
        "OPTIONS_GENERATED",
        "DECISION_WINDOW_OPEN",
    ]


def test_eight_threads_racing_the_same_transition_have_exactly_one_winner(engine):
    process_id = make_process(engine, status="DECISION_WINDOW_OPEN")

    outcomes = race(
        8, lambda _: _move(engine, process_id, "DECISION_WINDOW_OPEN", "CONFIRMED", "confirm")
    )

    assert outcomes.count("CONFIRMED") == 1
    losers = [o for o in outcomes if o != "CONFIRMED"]
    assert len(losers) == 7
    assert all(isinstance(o, StaleState) for o in losers), losers
    assert {(o.expected, o.actual) for o in losers} == {("DECISION_WINDOW_OPEN", "CONFIRMED")}
    assert process_status(engine, process_id) == "CONFIRMED"
    assert [h for h in _history(engine, process_id) if h[2] == "CONFIRMED"] == [
        (process_id, "DECISION_WINDOW_OPEN", "CONFIRMED", "confirm", None, STORED_LATER)
    ]


def test_a_default_selection_racing_a_confirmation_lets_only_one_leave_the_window(engine):
    process_id = make_process(engine, status="DECISION_WINDOW_OPEN")
    targets = ["DEFAULT_SELECTED", "CONFIRMED"] * 4

    outcomes = race(
        8, lambda i: _move(engine, process_id, "DECISION_WINDOW_OPEN", targets[i], targets[i])
    )

    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1
    assert all(isinstance(o, StaleState) for o in outcomes if o not in winners)
    assert process_status(engine, process_id) == winners[0]
    left_window = [h for h in _history(engine, process_id) if h[1] == "DECISION_WINDOW_OPEN"]
    assert [h[2] for h in left_window] == winners


@pytest.mark.parametrize(
    ("current", "target"),
    [("CONFIRMED", "SHIPPED"), ("CONFIRMED", "DECISION_WINDOW_OPEN"), ("CONFIRMED", "CONFIRMED")],
)
def test_a_forbidden_transition_raises_invalid_transition_and_changes_nothing(
    engine, current, target
):
    process_id = make_process(engine, status=current)
    before, history_before = _process(engine, process_id), _history(engine)

    with pytest.raises(InvalidTransition) as refused:
        _move(engine, process_id, current, target)

    assert f"{current} -> {target} is not allowed" in str(refused.value)
    assert process_id in str(refused.value)
    assert _process(engine, process_id) == before
    assert _history(engine) == history_before


def test_a_forbidden_bulk_transition_raises_before_touching_any_row(engine):
    process_id = make_process(engine, status="CONFIRMED")
    history_before = _history(engine)

    with pytest.raises(InvalidTransition, match="CONFIRMED -> SHIPPED is not allowed"):
        with engine.begin() as conn:
            transition_many(conn, [process_id], "CONFIRMED", "SHIPPED", "ship", LATER)

    assert process_status(engine, process_id) == "CONFIRMED"
    assert _history(engine) == history_before


def test_an_unknown_process_id_raises_not_found_and_writes_no_history(engine):
    unknown = new_id()

    with pytest.raises(NotFound, match=unknown):
        _move(engine, unknown, "CREATED", "OCCASION_DETECTED")

    assert _history(engine) == []


def test_a_stale_expectation_raises_stale_state_naming_the_actual_status(engine):
    process_id = make_process(engine, status="CREATED")
    before = _process(engine, process_id)

    with pytest.raises(StaleState) as stale:
        _move(engine, process_id, "OCCASION_DETECTED", "OPTIONS_GENERATED")

    assert (stale.value.expected, stale.value.actual) == ("OCCASION_DETECTED", "CREATED")
    assert "is CREATED, not OCCASION_DETECTED" in str(stale.value)
    assert _process(engine, process_id) == before
    assert [h[2] for h in _history(engine, process_id)] == ["CREATED"]


def test_transition_many_moves_only_the_processes_still_in_the_expected_state(engine):
    waiting = make_process(engine, status="CREATED")
    ahead = make_process(engine, status="OCCASION_DETECTED")

    with engine.begin() as conn:
        moved = transition_many(
            conn, [waiting, ahead, new_id()], "CREATED", "OCCASION_DETECTED", "detect", LATER
        )

    assert moved == [waiting]
    assert process_status(engine, waiting) == process_status(engine, ahead) == "OCCASION_DETECTED"
    detected = [h[0] for h in _history(engine) if h[2] == "OCCASION_DETECTED"]
    assert sorted(detected) == sorted([waiting, ahead])


def test_transition_many_moves_more_processes_than_fit_in_one_chunk(engine):
    occasion_id = make_occasion(engine)
    count = reads.IN_CHUNK + 7
    days = [dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(count)]
    ids = create_processes(engine, [occurrence_of(engine, occasion_id, d) for d in days], AT)

    with engine.begin() as conn:
        moved = transition_many(conn, ids, "CREATED", "OCCASION_DETECTED", "detect", LATER)

    assert sorted(moved) == sorted(ids)
    with engine.connect() as conn:
        statuses = conn.execute(
            sa.select(gift_processes.c.status, sa.func.count()).group_by(gift_processes.c.status)
        ).all()
    assert [tuple(s) for s in statuses] == [("OCCASION_DETECTED", count)]
    assert sum(1 for h in _history(engine) if h[2] == "OCCASION_DETECTED") == count


def test_a_rolled_back_caller_transaction_keeps_neither_the_move_nor_its_history(engine):
    process_id = make_process(engine, status="CREATED")

    def move_then_fail():
        with engine.begin() as conn:
            transition(conn, process_id, "CREATED", "OCCASION_DETECTED", "detect", LATER)
            raise RuntimeError("the caller's next step failed")

    with pytest.raises(RuntimeError):
        move_then_fail()

    assert process_status(engine, process_id) == "CREATED"
    assert [h[2] for h in _history(engine, process_id)] == ["CREATED"]
