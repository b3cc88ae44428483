"""The step table drives the Dagster layer: only its steps can be wired as ops, and the run
story, redrive and the failure lookup follow it."""

import dataclasses
import datetime as dt

import dagster as dg
import pytest

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.domain.states import (
    PASSED_THROUGH,
    PLACE_ORDER,
    STEPS,
    GiftProcessStatus,
    Step,
)
from ivyi_pipeline.orchestration.ops import step_of_key, step_op
from ivyi_pipeline.orchestration.run_context import ENTERS, LAST_STEP
from ivyi_pipeline.workflows.gifting_process.redrive import MOVE_ON_AT_ONCE
from ivyi_pipeline_tests.dagster_runs import execute_gifting_job
from ivyi_pipeline_tests.factories import AT, make_gift, make_new_process

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
    assert step_of_key("gifting_rules") is None
    assert set(MOVE_ON_AT_ONCE) == set(PASSED_THROUGH) - {S.CREATED}


def test_a_gifting_run_executes_an_op_for_every_step_in_the_tables_order(tmp_path):
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    upgrade(url)
    engine = get_engine(url)
    make_gift(engine, category="games", price_cents=2000)
    process = make_new_process(engine, dt.date(2026, 6, 15))

    with dg.instance_for_test() as instance:
        result = execute_gifting_job(instance, url, (process,), AT)
        started = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.STEP_START
        ).records
    engine.dispose()

    ran = [step_of_key(r.event_log_entry.dagster_event.step_key) for r in started]
    assert result.success
    assert [step.name for step in ran if step is not None] == [step.name for step in STEPS]
    assert ran.count(None) == len(ran) - len(STEPS), "only the checks run outside the table"
