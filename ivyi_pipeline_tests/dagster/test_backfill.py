"""Backfills of missed occasions: on time, belated and too old; twice; racing the sensor tick."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.db.schema import gift_processes, orders
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.entrypoints.local_runs import backfill as run_backfill
from ivyi_pipeline.errors import InvalidInput
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.occasion_dates import OCCASION_DETECTION, check_range
from ivyi_pipeline.orchestration.occasion_detection import build_occasion_detection
from ivyi_pipeline.orchestration.partitions import process_ids_of
from ivyi_pipeline.orchestration.resources import Clock, GiftingSettings, IvyiDatabase
from ivyi_pipeline.workflows.gifting_process.backfill_policy import (
    BelatedPolicy,
    Outcome,
    backfill_missed,
)
from ivyi_pipeline.workflows.gifting_process.create import process_id_for
from ivyi_pipeline.workflows.gifting_process.detection import detect_due_occurrences
from ivyi_pipeline_tests.factories import make_gift, make_occasion, make_process, race

AS_OF = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
TODAY = AS_OF.date()
START, END = dt.date(2026, 5, 1), dt.date(2026, 6, 20)
ON_TIME, BELATED, TOO_OLD, KNOWN = (
    dt.date(2026, 6, 10),
    dt.date(2026, 5, 18),
    dt.date(2026, 5, 17),
    dt.date(2026, 5, 25),
)


@pytest.fixture
def instance(ivyi_env):
    """A throwaway Dagster instance; the definitions' database is the test database."""
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def occasions(engine) -> dict[dt.date, str]:
    """One one-off occasion per date: on time, belated (14 days ago), too old (15), known."""
    for price in (1500, 2500, 3500):
        make_gift(engine, price_cents=price)
    found = {
        day: make_occasion(engine, date=day, recurs_yearly=False)
        for day in (ON_TIME, BELATED, TOO_OLD, KNOWN)
    }
    make_process(engine, found[KNOWN], status="COMPLETED")
    return found


def _processes(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                gift_processes.c.id,
                gift_processes.c.status,
                gift_processes.c.belated,
                gift_processes.c.selected_gift_id,
            )
        ).all()
    return {row.id: (row.status, row.belated, row.selected_gift_id) for row in rows}


def _metadata(instance, day: dt.date) -> dict:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(OCCASION_DETECTION, asset_partitions=[day.isoformat()]), limit=1
    ).records
    return {key: value.value for key, value in records[0].asset_materialization.metadata.items()}


@pytest.mark.parametrize("lead_days", [21, 10])
def test_the_occasion_date_calendar_ends_where_detection_looks_with_the_configured_lead_days(
    tmp_path, lead_days
):
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    upgrade(url)
    engine = get_engine(url)
    _, cursor = detect_due_occurrences(engine, AS_OF, None, lead_days)
    engine.dispose()
    calendar = build_occasion_detection(START, lead_days).partitions_def

    with dg.partition_loading_context(effective_dt=AS_OF):
        last = calendar.get_last_partition_key()
    assert last == cursor.horizon.isoformat()
    check_range(START, cursor.horizon, AS_OF, START, lead_days)
    with pytest.raises(InvalidInput, match="after the last occasion date"):
        check_range(START, cursor.horizon + dt.timedelta(days=1), AS_OF, START, lead_days)


def test_the_grace_period_decides_between_belated_and_too_old():
    policy = BelatedPolicy(grace_days=14, lead_days=21)
    day = dt.timedelta(days=1)

    assert policy.outcome(TODAY - 14 * day, TODAY) == Outcome.BELATED
    assert policy.outcome(TODAY - 15 * day, TODAY) == Outcome.TOO_OLD
    assert policy.outcome(TODAY - day, TODAY) == Outcome.BELATED
    assert policy.outcome(TODAY, TODAY) == Outcome.CREATED
    assert policy.outcome(TODAY + 21 * day, TODAY) == Outcome.CREATED
    assert policy.outcome(TODAY + 22 * day, TODAY) == Outcome.NOT_YET_DUE
    assert "15 days ago, beyond the 14-day grace period" in policy.reason(TODAY - 15 * day, TODAY)


def test_a_backfill_gives_on_time_and_belated_occurrences_a_process_and_skips_older_ones(
    instance, engine, occasions
):
    summary = run_backfill(instance, defs, START, END, AS_OF)

    assert summary.ok
    assert summary.counts == {
        "already_had_process": 1,
        "created": 1,
        "belated": 1,
        "skipped_too_old": 1,
        "skipped_not_yet_due": 0,
    }
    processes = _processes(engine)
    on_time = processes[process_id_for(occasions[ON_TIME], ON_TIME)]
    belated = processes[process_id_for(occasions[BELATED], BELATED)]
    assert on_time[:2] == ("DECISION_WINDOW_OPEN", False)
    assert belated[:2] == ("ORDERED", True)
    with engine.connect() as conn:
        ordered = conn.execute(sa.select(orders.c.process_id, orders.c.gift_id)).all()
    assert ordered == [(process_id_for(occasions[BELATED], BELATED), belated[2])]
    assert process_id_for(occasions[TOO_OLD], TOO_OLD) not in processes
    skipped = _metadata(instance, TOO_OLD)
    assert skipped["skipped_too_old"] == 1
    assert occasions[TOO_OLD] in skipped["skipped"]
    assert "beyond the 14-day grace period" in skipped["skipped"]
    assert _metadata(instance, BELATED)["belated"] == 1
    covered = instance.fetch_materializations(OCCASION_DETECTION, limit=1000).records
    assert {r.partition_key for r in covered} == {
        (START + dt.timedelta(days=i)).isoformat() for i in range((END - START).days + 1)
    }
    options = instance.fetch_materializations(dg.AssetKey("gift_options"), limit=10).records
    assert set(process_ids_of(r.partition_key for r in options)) == {
        process_id_for(occasions[ON_TIME], ON_TIME),
        process_id_for(occasions[BELATED], BELATED),
    }


def test_backfilling_the_same_range_twice_creates_nothing_new(instance, engine, occasions):
    run_backfill(instance, defs, START, END, AS_OF)
    before, runs = _processes(engine), len(instance.get_run_records())

    again = run_backfill(instance, defs, START, END, AS_OF + dt.timedelta(hours=1))

    assert again.ok
    assert (again.counts["created"], again.counts["belated"]) == (0, 0)
    assert again.counts["already_had_process"] == 3
    assert again.counts["skipped_too_old"] == 1
    assert _processes(engine) == before
    assert len(instance.get_run_records()) == runs + 1


def test_a_backfill_racing_a_sensor_tick_creates_no_duplicate_process(
    instance, engine, database_url
):
    days = [TODAY + dt.timedelta(days=i % 22) for i in range(120)]
    ids = [make_occasion(engine, date=day, recurs_yearly=False) for day in days]
    sensor_context = dg.build_sensor_context(
        instance=instance,
        definitions=defs,
        resources={
            **defs.resources,
            "ivyi_db": IvyiDatabase(url=database_url),
            "clock": Clock(as_of=AS_OF.isoformat()),
        },
    )
    sensor = defs.resolve_sensor_def("occasion_detection_sensor")

    def backfill_or_tick(i: int):
        if i == 0:
            return backfill_missed(
                engine, TODAY, TODAY + dt.timedelta(days=21), AS_OF, BelatedPolicy()
            )
        return sensor(sensor_context)

    backfilled, ticked = race(2, backfill_or_tick)

    assert not isinstance(backfilled, Exception), backfilled
    assert not isinstance(ticked, Exception), ticked
    expected = {process_id_for(occasion, day) for occasion, day in zip(ids, days, strict=True)}
    assert set(_processes(engine)) == expected
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(gift_processes)).scalar()
    assert count == len(expected)


def test_ivyi_backfill_missed_runs_the_backfill_and_reports_each_outcome(
    ivyi_env, ivyi, engine, occasions
):
    done = ivyi(
        "backfill-missed", "--from", f"{START}", "--to", f"{END}", "--as-of", AS_OF.isoformat()
    )

    assert done.returncode == 0, done.stderr
    assert "created=1, belated=1, skipped_too_old=1" in done.stdout
    assert "3 run(s) succeeded, 0 failed" in done.stdout
    assert _processes(engine)[process_id_for(occasions[BELATED], BELATED)][0] == "ORDERED"


def test_ivyi_backfill_missed_refuses_a_range_that_ends_before_it_starts(ivyi_env, ivyi, engine):
    done = ivyi("backfill-missed", "--from", "2026-06-02", "--to", "2026-06-01")

    assert done.returncode == 1
    assert done.stderr.strip() == "error: --to 2026-06-01 is before --from 2026-06-02"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(gift_processes)).scalar() == 0


@pytest.fixture
def backfilled(instance, engine, database_url):
    """Occasions missed on the given past days, backfilled by one ranged detection run (the
    backfill sensor then finds the processes it created); asserts the run succeeded."""

    def backfill(days: list[dt.date]) -> None:
        for day in days:
            make_occasion(engine, date=day, recurs_yearly=False)
        detection = defs.resolve_job_def("occasion_detection_job").execute_in_process(
            instance=instance,
            tags={
                tags.RANGE_START: f"{min(days)}",
                tags.RANGE_END: f"{max(days)}",
                tags.AS_OF: AS_OF.isoformat(),
            },
            resources={"ivyi_db": IvyiDatabase(url=database_url)},
        )
        assert detection.success

    return backfill


def test_the_processes_a_backfill_created_get_one_ranged_run_per_batch(
    instance, database_url, backfilled
):
    backfilled([TODAY - dt.timedelta(days=1 + i % 10) for i in range(12)])
    resources = {
        **defs.resources,
        "ivyi_db": IvyiDatabase(url=database_url),
        "gifting": GiftingSettings(batch_size=5, single_runs_up_to=0),
        "clock": Clock(as_of=AS_OF.isoformat()),
    }
    sensor = defs.resolve_sensor_def("occasion_backfill_sensor")

    result = sensor(dg.build_sensor_context(instance=instance, resources=resources))

    assert [int(r.tags[tags.BATCH_SIZE]) for r in result.run_requests] == [5, 5, 2]
    assert {r.tags[tags.EVENT] for r in result.run_requests} == {"start-workflow"}
    again = sensor(
        dg.build_sensor_context(instance=instance, cursor=result.cursor, resources=resources)
    )
    assert not again.run_requests


def test_a_backfill_cursor_from_another_instance_reads_this_ones_history_from_the_start(
    instance, database_url, backfilled
):
    backfilled([TODAY - dt.timedelta(days=1 + i) for i in range(3)])
    resources = {
        **defs.resources,
        "ivyi_db": IvyiDatabase(url=database_url),
        "clock": Clock(as_of=AS_OF.isoformat()),
    }
    sensor = defs.resolve_sensor_def("occasion_backfill_sensor")
    # A cursor kept in the domain database while DAGSTER_HOME was replaced: its event is gone.
    foreign = '{"storage_id": 987654, "timestamp": 1700000000.5}'

    fresh = sensor(dg.build_sensor_context(instance=instance, resources=resources))
    stale = sensor(dg.build_sensor_context(instance=instance, cursor=foreign, resources=resources))

    assert len(fresh.run_requests) == 3
    assert [r.run_key for r in stale.run_requests] == [r.run_key for r in fresh.run_requests]
