"""The step table drives the Dagster layer: only its steps can be wired as ops, the run
story, redrive and the failure lookup follow it, and every history the factories or a real
pipeline write holds only moves the table answers (edge and event)."""

import dataclasses
import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.db.schema import process_transitions
from ivyi_pipeline.domain.events import GiftingProcessEvent as E
from ivyi_pipeline.domain.states import (
    CREATED_IN_LEAD_WINDOW,
    GIVER_OVERRODE_DEFAULT,
    ORDERED_A_SUBSTITUTE,
    PLACE_ORDER,
    STEPS,
    Edge,
    GiftProcessStatus,
    Step,
    edge_answering,
)
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.ops import step_of_key, step_op
from ivyi_pipeline.workflows.gifting_process.redrive import STUCK_AFTER, stuck_processes
from ivyi_pipeline_tests.dagster_runs import execute_gifting_job
from ivyi_pipeline_tests.factories import (
    AT,
    make_confirmation,
    make_gift,
    make_new_process,
    make_process,
    process_status,
)

S = GiftProcessStatus


def _history(engine: sa.Engine) -> list[sa.Row]:
    pt = process_transitions
    query = sa.select(pt.c.process_id, pt.c.from_status, pt.c.to_status, pt.c.event, pt.c.at)
    with engine.connect() as conn:
        return conn.execute(query.order_by(pt.c.process_id, pt.c.id)).all()


def _unanswered(history: list[sa.Row]) -> list[str]:
    """The history rows no edge of the table answers (source, target and event)."""
    return [
        f"{row.from_status} -> {row.to_status} on {row.event}"
        for row in history
        if edge_answering(row.from_status, row.to_status, row.event) is None
    ]


def test_an_op_for_a_step_the_table_does_not_hold_cannot_be_built():
    thank_you = Step("send_thank_you_card", (Edge(S.COMPLETED, None, E.FULFILMENT_UPDATED),))

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="not in the gifting step table"):

        @step_op(thank_you)
        def send_thank_you_card(context: dg.OpExecutionContext) -> None:
            """Never built."""


def test_an_op_for_a_step_that_differs_from_its_table_entry_cannot_be_built():
    renamed_statuses = dataclasses.replace(
        PLACE_ORDER, edges=(Edge(S.ORDERED, S.SHIPPED, E.ORDER_PLACED),)
    )

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="'place_order'"):
        step_op(renamed_statuses)


def test_an_op_built_for_a_table_step_is_named_after_it_and_retried():
    @step_op(PLACE_ORDER)
    def anything(context: dg.OpExecutionContext) -> None:
        """A stand-in body."""

    assert anything.name == "place_order"
    assert anything.retry_policy is not None


def test_the_failure_lookup_follows_the_table():
    assert step_of_key("gifting_process.confirm_selection").acts_on == (
        S.DECISION_WINDOW_OPEN,
        S.DEFAULT_SELECTED,
    )
    assert step_of_key("gifting_rules") is None


def test_redrive_finds_a_process_left_where_a_run_passes_through_but_not_where_it_waits(tmp_path):
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    upgrade(url)
    engine = get_engine(url)
    made = {status: make_process(engine, status=status) for status in S}

    stuck = stuck_processes(engine, AT + STUCK_AFTER + dt.timedelta(minutes=1))
    engine.dispose()

    # CREATED has its own, shorter deadline (the detection sensor re-requests it); a process
    # waiting for the giver, the provider or nothing (COMPLETED) is not stuck.
    expected = {S.OCCASION_DETECTED, S.OPTIONS_GENERATED, S.DEFAULT_SELECTED, S.CONFIRMED}
    assert set(stuck) == {made[status] for status in expected}
    assert {stuck[made[status]][1] for status in expected} == {s.value for s in expected}


def test_every_history_the_factories_write_holds_only_moves_the_table_answers(tmp_path):
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    upgrade(url)
    engine = get_engine(url)
    for status in S:
        make_process(engine, status=status)
    make_process(engine, belated=True)

    history = _history(engine)
    engine.dispose()

    assert {row.to_status for row in history} == set(S)
    assert _unanswered(history) == []


@pytest.fixture(scope="module")
def pipeline_history(tmp_path_factory):
    """Two processes driven by two real gifting runs, three days apart: one to COMPLETED by
    the default (its window closes as it opens), one to ORDERED by the giver's confirmation.
    The history, each run's outcome tag, and the ops the first run started, in order."""
    url = f"sqlite:///{tmp_path_factory.mktemp('pipeline') / 'ivyi.db'}"
    upgrade(url)
    engine = get_engine(url)
    gift = make_gift(engine, category="games", price_cents=2000)
    by_default = make_new_process(engine, dt.date(2026, 6, 4))
    by_giver = make_new_process(engine, dt.date(2026, 6, 15))
    outcomes, started = [], []
    with dg.instance_for_test() as instance:
        for days in (0, 3):
            if days:
                received = (AT + dt.timedelta(hours=1)).replace(tzinfo=None)
                make_confirmation(engine, by_giver, gift, received)
            at = AT + dt.timedelta(days=days)
            result = execute_gifting_job(instance, url, (by_default, by_giver), at)
            assert result.success
            outcomes.append(instance.get_run_by_id(result.run_id).tags.get(tags.OUTCOME, ""))
            if not days:
                records = instance.get_records_for_run(
                    result.run_id, of_type=dg.DagsterEventType.STEP_START
                ).records
                started = [r.event_log_entry.dagster_event.step_key for r in records]
    statuses = [process_status(engine, pid) for pid in (by_default, by_giver)]
    history = _history(engine)
    engine.dispose()
    return history, outcomes, statuses, started


def test_every_history_a_real_pipeline_writes_holds_only_moves_the_table_answers(
    pipeline_history,
):
    history, _, statuses, _ = pipeline_history

    assert statuses == [S.COMPLETED, S.ORDERED]
    assert _unanswered(history) == []
    taken = {edge_answering(r.from_status, r.to_status, r.event) for r in history}
    every_step_edge = {edge for step in STEPS for edge in step.edges if edge.target is not None}
    # Every edge but the giver's override of a default and the substitute order (their tests
    # are test_sensors' and test_confirmed_gift_sold_out's).
    assert every_step_edge - taken == {GIVER_OVERRODE_DEFAULT, ORDERED_A_SUBSTITUTE}
    assert CREATED_IN_LEAD_WINDOW in taken


def test_the_run_story_names_each_status_the_runs_moved_processes_into(pipeline_history):
    history, outcomes, _, _ = pipeline_history

    entered = {row.to_status for row in history if row.from_status is not None}
    told = " → ".join(outcomes)
    for status in entered:
        assert status in told, f"{status} is missing from the runs' story: {told}"
    assert len(entered) == len(S) - 1


def test_a_gifting_run_executes_an_op_for_every_step_in_the_tables_order(pipeline_history):
    *_, started = pipeline_history

    ran = [step_of_key(key) for key in started]
    assert [step.name for step in ran if step is not None] == [step.name for step in STEPS]
    assert ran.count(None) == len(ran) - len(STEPS), "only the checks run outside the table"
