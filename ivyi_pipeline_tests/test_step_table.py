"""The step table drives the Dagster graph: only its steps can be wired, and runs follow it."""

import dataclasses
import itertools

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import gift_processes, process_transitions
from ivyi_pipeline.domain.events import GiftingProcessEvent
from ivyi_pipeline.domain.states import (
    PASSED_THROUGH,
    PLACE_ORDER,
    STEPS,
    TERMINAL_STATUSES,
    WAITS_IN,
    GiftProcessStatus,
    Step,
)
from ivyi_pipeline.instance import open_instance
from ivyi_pipeline.orchestration.ops import step_of_key, step_op
from ivyi_pipeline.orchestration.run_context import ENTERS, LAST_STEP
from ivyi_pipeline.workflows.gifting_process.redrive import MOVE_ON_AT_ONCE

S = GiftProcessStatus


def test_an_op_for_a_step_the_table_does_not_hold_cannot_be_built():
    thank_you = Step("send_thank_you_card", (S.COMPLETED,), None, ())

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="not in the gifting step table"):

        @step_op(thank_you)
        def send_thank_you_card(context: dg.OpExecutionContext) -> None:
            """Never built."""


def test_an_op_for_a_step_that_differs_from_its_table_entry_cannot_be_built():
    renamed_statuses = dataclasses.replace(PLACE_ORDER, acts_on=(S.ORDERED,))

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="'place_order'"):
        step_op(renamed_statuses)


def test_an_op_built_for_a_table_step_is_named_after_it_and_retried():
    @step_op(PLACE_ORDER)
    def anything(context: dg.OpExecutionContext) -> None:
        """A stand-in body."""

    assert anything.name == "place_order"
    assert anything.retry_policy is not None


def test_the_run_story_and_the_failure_lookup_follow_the_table():
    assert set(ENTERS) == {step.name for step in STEPS if step.moves_to is not None}
    assert LAST_STEP == "complete_process"
    assert step_of_key("gifting_process.confirm_selection").acts_on == (
        S.DECISION_WINDOW_OPEN,
        S.DEFAULT_SELECTED,
    )
    assert step_of_key("gifting_process.check_gifting_process") is None
    assert set(MOVE_ON_AT_ONCE) == set(PASSED_THROUGH) - {S.CREATED}


def _history(database_url: str) -> list[sa.Row]:
    with get_engine(database_url).connect() as conn:
        return conn.execute(
            sa.select(
                process_transitions.c.process_id,
                process_transitions.c.from_status,
                process_transitions.c.to_status,
                process_transitions.c.event,
                process_transitions.c.at,
            ).order_by(process_transitions.c.process_id, process_transitions.c.id)
        ).all()


def test_every_transition_a_demo_made_is_a_step_of_the_table_answering_its_event(demo_home):
    history = _history(demo_home.database_url)
    steps = {
        (source, step.moves_to): step for step in STEPS if step.moves_to for source in step.acts_on
    }

    made = set()
    for row in history:
        if row.from_status is None:  # the creation, by detection or a backfill
            assert (row.to_status, row.event) == (S.CREATED, GiftingProcessEvent.START_WORKFLOW)
            continue
        step = steps.get((S(row.from_status), S(row.to_status)))
        assert step is not None, f"{row.from_status} -> {row.to_status} is no step's"
        assert row.event in step.answers, f"{step.name} recorded {row.event}"
        made.add(step.name)

    assert len(history) > 100
    assert made >= {"start_workflow", "select_default", "confirm_selection", "complete_process"}


def test_in_a_demo_processes_rest_only_where_they_wait_for_the_world(demo_home):
    """A status of PASSED_THROUGH is left by the run that entered it (at the same instant)."""
    with get_engine(demo_home.database_url).connect() as conn:
        blocked = set(
            conn.execute(
                sa.select(gift_processes.c.id).where(gift_processes.c.blocked_reason.is_not(None))
            ).scalars()
        )
    rested_in = set()
    for pid, rows in itertools.groupby(_history(demo_home.database_url), lambda r: r.process_id):
        rows = list(rows)
        for entered, left in zip(rows, rows[1:], strict=False):
            if entered.at != left.at:
                rested_in.add(S(entered.to_status))
        if pid not in blocked:
            assert S(rows[-1].to_status) not in PASSED_THROUGH, f"{pid} rests in a pass-through"

    assert rested_in <= set(WAITS_IN)
    assert rested_in == set(WAITS_IN), "the demo should show a process waiting in each"
    assert not rested_in & TERMINAL_STATUSES


def test_a_gifting_run_executes_the_tables_steps_in_the_tables_order(demo_home, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(demo_home.dagster_home))
    with open_instance(demo_home) as instance:
        (run,) = instance.get_run_records(
            dg.RunsFilter(job_name="gifting_process_job", statuses=[dg.DagsterRunStatus.SUCCESS]),
            limit=1,
        )
        started = instance.get_records_for_run(
            run.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_START
        ).records

    ran = [step_of_key(r.event_log_entry.dagster_event.step_key) for r in started]

    assert [step.name for step in ran if step is not None] == [step.name for step in STEPS]
