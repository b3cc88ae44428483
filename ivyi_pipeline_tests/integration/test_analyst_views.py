"""What an analyst reads after `ivyi tick` on data ticked ahead of the wall clock, both backends.

Through the real CLI (in process, on a fresh Dagster home): the funnel refreshed by the tick
as of its instant, listing every open window; the `no_missed_dates` check telling the one
missed date from the quiet ones, and passing once a backfill recorded why it got no process;
the funnel materialized as from the UI (no as-of tag) counting as of the data's clock.
"""

import datetime as dt

import dagster as dg
import pytest
from click.testing import CliRunner

from ivyi_pipeline.cli import main
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.orchestration import funnel
from ivyi_pipeline.orchestration.occasion_dates import OCCASION_DETECTION
from ivyi_pipeline.orchestration.occasion_gaps import MISSED_DATES_CHECK
from ivyi_pipeline_tests.factories import make_gift, make_occasion, make_preference, make_user

TICK = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)
"""Ahead of the wall clock when these tests were written (2026-12), as a simulation ticks."""
MISSED = dt.date(2027, 2, 10)
"""An occasion recorded in time (2027-01-01) whose occurrence no detection ever covered."""
RECORDED_TOO_LATE = dt.date(2027, 1, 5)
"""An occasion recorded 51 days after its occurrence: no process was possible; quiet."""
WINDOWS = 5
SHOWN = 2


def _one_off(engine, day: dt.date, recorded: dt.datetime | None = None) -> str:
    recipient = make_user(engine)
    make_preference(engine, recipient, "games", 0.9)
    extra = {"created_at": recorded} if recorded else {}
    return make_occasion(engine, recipient_id=recipient, date=day, recurs_yearly=False, **extra)


@pytest.fixture
def ticked(engine, ivyi_env, monkeypatch):
    """One tick as of TICK over WINDOWS upcoming occasions, a missed one and a quiet one."""
    monkeypatch.setattr(funnel, "TABLE_ROWS", SHOWN)
    for category, price in (("games", 2000), ("books", 3000), ("games", 2500)):
        make_gift(engine, category=category, price_cents=price)
    upcoming = [_one_off(engine, TICK.date() + dt.timedelta(days=4 + i)) for i in range(WINDOWS)]
    missed = _one_off(engine, MISSED, dt.datetime(2027, 1, 1))
    _one_off(engine, RECORDED_TOO_LATE, dt.datetime(2027, 2, 25))
    outcome = CliRunner().invoke(main, ["tick", "--as-of", TICK.isoformat()])
    assert outcome.exit_code == 0, outcome.output
    return {"upcoming": upcoming, "missed": missed}


def _latest_funnel(instance: dg.DagsterInstance) -> dict:
    (record,) = instance.fetch_materializations(funnel.GIFTING_FUNNEL, limit=1).records
    return record.asset_materialization.metadata


def _latest_check(instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    key = dg.AssetCheckKey(OCCASION_DETECTION, MISSED_DATES_CHECK)
    record = instance.get_latest_asset_check_evaluation_record(key)
    return record.event.dagster_event.event_specific_data


def test_the_tick_refreshes_the_funnel_with_every_open_window_soonest_first(ticked):
    with dg.DagsterInstance.get() as instance:
        metadata = _latest_funnel(instance)
        funnel_records = instance.fetch_materializations(funnel.GIFTING_FUNNEL, limit=10).records

    assert len(funnel_records) == 1  # once per tick, not per run or per process
    assert metadata["as_of"].value == "2027-03-01 09:00Z"
    assert metadata["refreshed_by"].value == "ivyi tick"
    assert metadata["processes"].value == WINDOWS
    assert metadata["open_windows"].value == WINDOWS
    assert metadata["open_windows_not_listed"].value == WINDOWS - SHOWN
    rows = [record.data for record in metadata["open_windows_soonest"].value.records]
    assert len(rows) == SHOWN
    assert [row["window_closes_at"] for row in rows] == sorted(r["window_closes_at"] for r in rows)
    assert {row["occurrence_date"] for row in rows} <= {
        (TICK.date() + dt.timedelta(days=4 + i)).isoformat() for i in range(WINDOWS)
    }
    assert all(row["hours_left"] > 0 for row in rows)


def test_the_missed_date_fails_the_check_while_the_quiet_dates_pass(ticked):
    with dg.DagsterInstance.get() as instance:
        evaluation = _latest_check(instance)
        covered = instance.get_materialized_partitions(OCCASION_DETECTION)

    assert evaluation.passed is False
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["missed_dates"].value == 1
    assert evaluation.metadata["missed_occurrences"].value == 1
    (row,) = [record.data for record in evaluation.metadata["missed"].value.records]
    assert row == {"occurrence_date": MISSED.isoformat(), "occurrences": 1, "missed": 1}
    assert f"from {MISSED} to {MISSED}" in evaluation.description
    # Every other uncovered past date is quiet, the occasion recorded too late included.
    past = (TICK.date() - dt.date(2025, 1, 1)).days
    uncovered = past - len({d for d in covered if d < TICK.date().isoformat()})
    assert evaluation.metadata["quiet_uncovered_dates"].value == uncovered - 1
    assert MISSED.isoformat() not in covered
    assert RECORDED_TOO_LATE.isoformat() not in covered
    # The calendar reaches the data's dates although they are ahead of the wall clock.
    assert (TICK.date() + dt.timedelta(days=21)).isoformat() in covered


def test_a_backfill_records_why_the_missed_date_got_no_process_and_the_check_passes(ticked, engine):
    runner = CliRunner()
    day = MISSED.isoformat()
    later = (TICK + dt.timedelta(minutes=30)).isoformat()

    outcome = runner.invoke(main, ["backfill-missed", "--from", day, "--to", day, "--as-of", later])

    assert outcome.exit_code == 0, outcome.output
    with dg.DagsterInstance.get() as instance:
        evaluation = _latest_check(instance)
        (coverage,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(OCCASION_DETECTION, asset_partitions=[day]), limit=1
        ).records
    assert coverage.asset_materialization.metadata["skipped_too_old"].value == 1
    assert evaluation.passed is True
    assert evaluation.metadata["missed_dates"].value == 0


def test_the_funnel_materialized_as_from_the_ui_counts_as_of_the_data_clock(ticked):
    with dg.DagsterInstance.get() as instance:
        # What *Materialize* in the UI launches: the job, with no ivyi/as_of tag.
        result = defs.resolve_job_def("gifting_funnel_job").execute_in_process(instance=instance)
        metadata = result.get_asset_materialization_events()[0].materialization.metadata

    assert dt.datetime.now(dt.UTC) < TICK  # the data is ahead of the wall clock
    assert metadata["as_of"].value == "2027-03-01 09:00Z"
    assert metadata["processes"].value == WINDOWS
