"""`ivyi confirm` through the real command: a good choice is recorded, every bad one refused."""

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes, gifts, inbox_events, process_transitions
from ivyi_pipeline.workflows.gifting_process import find, steps
from ivyi_pipeline_tests.factories import (
    AT,
    make_gift,
    make_occasion,
    make_process,
    make_relationship,
    process_status,
)

OCCURRENCE = dt.date(2026, 6, 10)
INSIDE_WINDOW = "2026-06-01T13:00:00Z"
WINDOW_CLOSES = dt.datetime(2026, 6, 4, 12, 0)


@pytest.fixture
def scene(engine) -> dict:
    """One process with its decision window open and one whose window never opened."""
    make_gift(engine, category="books", price_cents=2500)
    make_gift(engine, category="games", price_cents=4000)
    too_dear = make_gift(engine, category="watches", price_cents=9000)
    open_pid = make_process(
        engine, make_occasion(engine, date=OCCURRENCE, recurs_yearly=False), OCCURRENCE
    )
    poor = make_relationship(engine, budget_cents=100)
    blocked_pid = make_process(
        engine,
        make_occasion(engine, relationship_id=poor, date=OCCURRENCE, recurs_yearly=False),
        OCCURRENCE,
    )
    ids, rules = [open_pid, blocked_pid], steps.GiftingRules()
    steps.start_workflow(engine, ids, AT)
    steps.generate_options(engine, ids, AT, rules)
    steps.rank_options(engine, ids, AT, rules)
    steps.open_decision_window(engine, ids, AT, rules)
    with engine.connect() as conn:
        closes = conn.execute(
            sa.select(gift_processes.c.window_closes_at).where(gift_processes.c.id == open_pid)
        ).scalar_one()
        ranked = find.ranked_gift_ids(conn, open_pid)
    assert closes == WINDOW_CLOSES
    assert (process_status(engine, open_pid), process_status(engine, blocked_pid)) == (
        "DECISION_WINDOW_OPEN",
        "OCCASION_DETECTED",
    )
    return {
        "pid": open_pid,
        "ranked": ranked,
        "too_dear": too_dear,
        "blocked_pid": blocked_pid,
    }


def snapshot(engine: sa.Engine) -> dict[str, list]:
    """Every row a confirmation could write."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            for table in (inbox_events, gift_processes, process_transitions)
        }


def assert_refused(result, fragment: str) -> None:
    """Exit status 1, nothing on stdout, one clear line on stderr naming the problem."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert fragment in line


def test_a_confirmation_inside_the_open_window_is_recorded_in_the_inbox(
    ivyi_env, engine, ivyi, scene
):
    pid, gift = scene["pid"], scene["ranked"][1]

    result = ivyi("confirm", pid, gift, "--as-of", INSIDE_WINDOW)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"confirmation of gift {gift} recorded for process {pid}"
    with engine.connect() as conn:
        (event,) = conn.execute(sa.select(inbox_events)).all()
    assert (event.process_id, event.kind, event.gift_id) == (pid, "CONFIRMATION", gift)
    assert (event.received_at, event.processed_at) == (dt.datetime(2026, 6, 1, 13, 0), None)
    assert process_status(engine, pid) == "DECISION_WINDOW_OPEN"


REFUSALS = {
    "an unknown process": (
        lambda s: [str(uuid.uuid4()), s["ranked"][0], "--as-of", INSIDE_WINDOW],
        "does not exist",
    ),
    "a malformed process id": (
        lambda s: ["process-42", s["ranked"][0], "--as-of", INSIDE_WINDOW],
        "process id 'process-42' is not a UUID",
    ),
    "a malformed gift id": (
        lambda s: [s["pid"], "gift-42", "--as-of", INSIDE_WINDOW],
        "gift id 'gift-42' is not a UUID",
    ),
    "a gift beyond the budget, not among the ranked options": (
        lambda s: [s["pid"], s["too_dear"], "--as-of", INSIDE_WINDOW],
        "is not among the ranked options",
    ),
    "a gift that does not exist": (
        lambda s: [s["pid"], str(uuid.uuid4()), "--as-of", INSIDE_WINDOW],
        "is not among the ranked options",
    ),
    "the instant the window closes": (
        lambda s: [s["pid"], s["ranked"][0], "--as-of", "2026-06-04T12:00:00Z"],
        "closed at 2026-06-04 12:00Z",
    ),
    "a day after the window closed": (
        lambda s: [s["pid"], s["ranked"][0], "--as-of", "2026-06-05T12:00:00Z"],
        "closed at 2026-06-04 12:00Z",
    ),
    "a process whose window never opened": (
        lambda s: [s["blocked_pid"], s["ranked"][0], "--as-of", INSIDE_WINDOW],
        "is OCCASION_DETECTED: its decision window is not open",
    ),
    "an instant before the window opened": (
        lambda s: [s["pid"], s["ranked"][0], "--as-of", "2026-06-01T11:00:00Z"],
        "its decision window is not open at 2026-06-01 11:00Z",
    ),
    "a malformed --as-of": (
        lambda s: [s["pid"], s["ranked"][0], "--as-of", "next tuesday"],
        "--as-of 'next tuesday' is not an ISO-8601 date or time",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_confirmation_is_refused_with_one_line_and_nothing_written(
    ivyi_env, engine, ivyi, scene, case
):
    arguments, message = REFUSALS[case]
    before = snapshot(engine)

    result = ivyi("confirm", *arguments(scene))

    assert_refused(result, message)
    assert snapshot(engine) == before


def test_a_second_confirmation_of_the_same_process_is_refused_and_the_first_one_stands(
    ivyi_env, engine, ivyi, scene
):
    pid, first, second = scene["pid"], scene["ranked"][1], scene["ranked"][0]
    assert ivyi("confirm", pid, first, "--as-of", INSIDE_WINDOW).returncode == 0
    before = snapshot(engine)

    result = ivyi("confirm", pid, second, "--as-of", "2026-06-01T14:00:00Z")

    assert_refused(result, f"process {pid} already has a confirmation; the first one stands")
    assert snapshot(engine) == before
    assert [event.gift_id for event in before["inbox_events"]] == [first]


def test_a_confirmation_of_a_process_already_confirmed_is_refused(ivyi_env, engine, ivyi, scene):
    pid, gift = scene["pid"], scene["ranked"][1]
    assert ivyi("confirm", pid, gift, "--as-of", INSIDE_WINDOW).returncode == 0
    steps.confirm_selection(engine, [pid], AT + dt.timedelta(hours=2))
    assert process_status(engine, pid) == "CONFIRMED"
    before = snapshot(engine)

    result = ivyi("confirm", pid, scene["ranked"][0], "--as-of", "2026-06-01T15:00:00Z")

    assert_refused(result, f"process {pid} is CONFIRMED: its decision window is not open")
    assert snapshot(engine) == before


def test_a_ranked_gift_that_went_out_of_stock_is_refused(ivyi_env, engine, ivyi, scene):
    pid, gift = scene["pid"], scene["ranked"][0]
    with engine.begin() as conn:
        conn.execute(gifts.update().where(gifts.c.id == gift).values(in_stock=False))
    before = snapshot(engine)

    result = ivyi("confirm", pid, gift, "--as-of", INSIDE_WINDOW)

    assert_refused(result, f"gift {gift} is out of stock")
    assert snapshot(engine) == before
