"""What a run tells an analyst: one sentence per failing process, and an outcome tag."""

import datetime as dt
import logging
from collections.abc import Sequence

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import gift_processes, relationships
from ivyi_pipeline.features.fulfilment import FulfilmentProvider, ProviderError, Tracking
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.resources import FulfilmentService
from ivyi_pipeline_tests.dagster_runs import execute_gifting_job
from ivyi_pipeline_tests.factories import (
    make_confirmation,
    make_gift,
    make_new_process,
    make_process,
)

AS_OF = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
OCCURRENCE = dt.date(2026, 6, 15)


class _TimingOutProvider(FulfilmentProvider):
    """A provider whose every order times out."""

    def place_order(self, idempotency_key: str, gift_id: str, at: dt.datetime) -> str:
        raise ProviderError("the provider timed out after 30 s")

    def tracking(self, idempotency_keys: Sequence[str], as_of: dt.datetime) -> dict[str, Tracking]:
        return {}


class TimingOutFulfilment(FulfilmentService):
    """Fulfilment resource backed by the timing-out provider."""

    def provider(self, engine: sa.Engine) -> FulfilmentProvider:
        return _TimingOutProvider()


@pytest.fixture
def run(instance, database_url):
    """Execute gifting_process_job over the given processes, with optional resource overrides."""

    def execute(*process_ids: str, **resources) -> dg.ExecuteInProcessResult:
        return execute_gifting_job(instance, database_url, process_ids, AS_OF, **resources)

    return execute


def _log_lines(instance, result, level: int, process_id: str) -> list[str]:
    """The run's own log messages at this level that name the process."""
    return [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.dagster_event is None and entry.level == level and process_id in entry.user_message
    ]


def _one_sentence(line: str) -> bool:
    return line.endswith(".") and ". " not in line and "\n" not in line


def test_a_forbidden_transition_is_one_error_sentence_naming_the_process(engine, instance, run):
    process_id, gift_id = make_process(engine, status="ORDERED"), make_gift(engine)
    make_confirmation(engine, process_id, gift_id, to_db(AS_OF))

    result = run(process_id)

    assert not result.success
    (line,) = _log_lines(instance, result, logging.ERROR, process_id)
    assert line == (
        f"Process {process_id} was refused in confirm_selection: "
        "ORDERED -> CONFIRMED is not allowed by the gifting state machine."
    )
    assert _one_sentence(line)
    (failure,) = result.get_step_failure_events()
    assert failure.step_failure_data.error.message.strip().endswith(line)


def test_a_deleted_relationship_is_one_warning_sentence_naming_the_process(engine, instance, run):
    process_id = make_new_process(engine, OCCURRENCE)
    with engine.begin() as conn:
        conn.execute(relationships.update().values(deleted_at=to_db(AS_OF)))

    result = run(process_id)

    assert result.success
    (line,) = _log_lines(instance, result, logging.WARNING, process_id)
    assert line.startswith(f"Process {process_id} is blocked in start_workflow: relationship ")
    assert line.endswith(" was deleted.")
    assert _one_sentence(line)


def test_a_provider_error_is_one_error_sentence_naming_the_process(engine, instance, run):
    process_id = make_process(engine, status="CONFIRMED")

    result = run(process_id, fulfilment=TimingOutFulfilment())

    assert not result.success
    (line,) = set(_log_lines(instance, result, logging.ERROR, process_id))
    assert line == (
        f"Process {process_id} failed in place_order: "
        "fulfilment provider error: the provider timed out after 30 s."
    )
    assert _one_sentence(line)
    assert instance.get_run_by_id(result.run_id).tags[tags.OUTCOME] == "failed in place_order"


@pytest.mark.usefixtures("engine")
def test_a_run_on_a_new_process_is_tagged_with_the_statuses_it_went_through(engine, instance, run):
    make_gift(engine, category="games", price_cents=3000)
    process_id = make_new_process(engine, OCCURRENCE)

    result = run(process_id)

    outcome = instance.get_run_by_id(result.run_id).tags[tags.OUTCOME]
    assert outcome == (
        "OCCASION_DETECTED → OPTIONS_GENERATED → DECISION_WINDOW_OPEN → "
        "waits: decision window open until 2026-06-04 12:00Z"
    )


def test_a_ranged_run_is_tagged_with_counts(engine, instance, run):
    make_gift(engine, category="games", price_cents=3000)
    ids = sorted(make_new_process(engine, OCCURRENCE + dt.timedelta(days=i)) for i in range(3))
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update().where(gift_processes.c.id == ids[0]).values(status="COMPLETED")
        )

    result = run(*ids)

    outcome = instance.get_run_by_id(result.run_id).tags[tags.OUTCOME]
    assert outcome.startswith("OCCASION_DETECTED ×2 → OPTIONS_GENERATED ×2 → ")
