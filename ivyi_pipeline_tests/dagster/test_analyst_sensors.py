"""The analyst views under the daemon: the funnel and the missed-dates audit, once per change,
and the calendar reaching the data's clock (IVYI_DATA_CLOCK, as `ivyi ui` passes it)."""

import datetime as dt

import dagster as dg
import pytest

from ivyi_pipeline.definitions import build_definitions, defs
from ivyi_pipeline.errors import InvalidInput
from ivyi_pipeline.orchestration.funnel import GIFTING_FUNNEL
from ivyi_pipeline.orchestration.occasion_dates import OCCASION_DETECTION
from ivyi_pipeline.orchestration.occasion_gaps import MISSED_DATES_CHECK, SENSOR
from ivyi_pipeline.orchestration.resources import Clock, GiftingSettings, IvyiDatabase
from ivyi_pipeline.settings import DATA_CLOCK_ENV
from ivyi_pipeline.workflows.gifting_process.data_clock import LAST_TICK_AS_OF
from ivyi_pipeline_tests.factories import make_occasion, make_process

LATER = dt.datetime.combine(
    dt.datetime.now(dt.UTC).date() + dt.timedelta(days=400), dt.time(9), tzinfo=dt.UTC
)
"""Ahead of the wall clock, as a simulation ticks."""


def _evaluate(instance, name: str, database_url: str, cursor: str | None):
    resources = {
        "ivyi_db": IvyiDatabase(url=database_url),
        "gifting": GiftingSettings(),
        "clock": Clock(),  # the wall clock, as under the daemon
    }
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources=resources
    ) as context:
        return defs.resolve_sensor_def(name)(context)


def _record_last_tick(engine, at: dt.datetime) -> None:
    from ivyi_pipeline.db.pipeline_state import write_state

    write_state(engine, LAST_TICK_AS_OF, at.isoformat())


def test_the_funnel_sensor_reports_once_after_runs_finish_as_of_the_data_clock(
    engine, database_url, instance
):
    make_process(engine, status="DECISION_WINDOW_OPEN")
    _record_last_tick(engine, LATER)

    first = _evaluate(instance, "gifting_funnel_sensor", database_url, None)
    for event in first.asset_events:
        instance.report_runless_asset_event(event)
    again = _evaluate(instance, "gifting_funnel_sensor", database_url, first.cursor)

    (event,) = first.asset_events
    assert event.asset_key == GIFTING_FUNNEL
    assert event.metadata["as_of"].value == f"{LATER:%Y-%m-%d %H:%M}Z"
    assert event.metadata["processes"].value == 1
    assert isinstance(again, dg.SkipReason)
    # A finished run since then (here the funnel job itself) makes it report again.
    defs.resolve_job_def("gifting_funnel_job").execute_in_process(
        instance=instance, resources={"ivyi_db": IvyiDatabase(url=database_url)}
    )
    after_run = _evaluate(instance, "gifting_funnel_sensor", database_url, first.cursor)
    assert isinstance(after_run, dg.SensorResult)
    assert len(after_run.asset_events) == 1


def test_the_gap_sensor_audits_once_per_change_and_reports_one_check_evaluation(
    engine, database_url, instance
):
    # Recorded two days before it occurred; no detection ever covered its date.
    make_occasion(
        engine,
        date=dt.date(2025, 3, 3),
        recurs_yearly=False,
        created_at=dt.datetime(2025, 3, 1),
    )

    first = _evaluate(instance, SENSOR, database_url, None)
    again = _evaluate(instance, SENSOR, database_url, first.cursor)

    (evaluation,) = first.asset_events
    assert isinstance(evaluation, dg.AssetCheckEvaluation)
    assert evaluation.asset_check_key == dg.AssetCheckKey(OCCASION_DETECTION, MISSED_DATES_CHECK)
    assert evaluation.passed is False
    (row,) = [record.data for record in evaluation.metadata["missed"].value.records]
    assert row["occurrence_date"] == "2025-03-03"
    assert isinstance(again, dg.SkipReason)


def test_the_calendar_reaches_the_data_clock_ivyi_ui_passes(monkeypatch):
    monkeypatch.setenv(DATA_CLOCK_ENV, LATER.isoformat())
    ahead = build_definitions().resolve_job_def("occasion_detection_job").partitions_def
    monkeypatch.delenv(DATA_CLOCK_ENV)
    wall = build_definitions().resolve_job_def("occasion_detection_job").partitions_def

    assert ahead.get_last_partition_key() == (LATER.date() + dt.timedelta(days=21)).isoformat()
    today = dt.datetime.now(dt.UTC).date()
    assert wall.get_last_partition_key() == (today + dt.timedelta(days=21)).isoformat()


def test_a_data_clock_that_is_not_an_instant_is_refused_when_the_definitions_are_built(
    monkeypatch,
):
    monkeypatch.setenv(DATA_CLOCK_ENV, "next tuesday")

    with pytest.raises(InvalidInput, match="IVYI_DATA_CLOCK='next tuesday' is not an ISO-8601"):
        build_definitions()
