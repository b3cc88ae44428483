"""The daily schedule evaluated at a fixed time: the day's work in bulk, whatever sensors did."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.definitions import build_definitions, defs
from ivyi_pipeline.entrypoints.local_runs import batch as run_batch
from ivyi_pipeline.errors import InvalidInput
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.occasion_dates import OCCASION_DETECTION
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions, process_ids_of
from ivyi_pipeline.orchestration.resources import IvyiDatabase
from ivyi_pipeline.orchestration.schedules import DAILY_SCHEDULE, DEFAULT_CRON
from ivyi_pipeline.settings import DAILY_CRON_ENV
from ivyi_pipeline.workflows.gifting_process.create import process_id_for
from ivyi_pipeline_tests.factories import AT, make_gift, make_occasion, make_process

SIX_AM = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)
TODAY = SIX_AM.date()


@pytest.fixture
def evaluate(instance, database_url):
    """Evaluate the daily schedule on the test database at an instant."""

    def run(when: dt.datetime = SIX_AM):
        with dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=when,
            resources={**defs.resources, "ivyi_db": IvyiDatabase(url=database_url)},
        ) as context:
            return defs.resolve_schedule_def(DAILY_SCHEDULE)(context)

    return run


def _one_off(engine, day: dt.date) -> str:
    return make_occasion(engine, date=day, recurs_yearly=False)


def _set(engine, process_id: str, **values) -> None:
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update().where(gift_processes.c.id == process_id).values(values)
        )


def _process_in(engine, status: str, at: dt.datetime = AT, **values) -> str:
    occasion = _one_off(engine, TODAY + dt.timedelta(days=10))
    pid = make_process(engine, occasion, status=status, at=at)
    if values:
        _set(engine, pid, **values)
    return pid


def test_the_schedule_runs_daily_at_six_utc_by_default(monkeypatch):
    monkeypatch.delenv(DAILY_CRON_ENV, raising=False)
    schedule = build_definitions().resolve_schedule_def("daily_gifting_schedule")

    assert (schedule.cron_schedule, schedule.execution_timezone) == (DEFAULT_CRON, "UTC")
    assert schedule.job_name == "gifting_process_job"


def test_the_cron_is_read_when_the_definitions_are_built(monkeypatch):
    monkeypatch.setenv(DAILY_CRON_ENV, "15 4 * * *")

    schedule = build_definitions().resolve_schedule_def("daily_gifting_schedule")

    assert schedule.cron_schedule == "15 4 * * *"


@pytest.mark.parametrize("cron", ["bad cron", "61 25 * * *", "0 6 * *"])
def test_a_cron_dagster_refuses_is_bad_input_naming_the_variable(monkeypatch, cron):
    monkeypatch.setenv(DAILY_CRON_ENV, cron)

    with pytest.raises(InvalidInput) as refused:
        build_definitions()

    assert str(refused.value) == (
        f"{DAILY_CRON_ENV}={cron!r} is not a cron schedule Dagster accepts; give five fields "
        "(minute hour day month weekday, UTC), e.g. '0 6 * * *'"
    )


def test_ivyi_refuses_a_bad_cron_in_one_line(ivyi, tmp_path, monkeypatch):
    monkeypatch.setenv("IVYI_HOME", str(tmp_path))
    monkeypatch.delenv("IVYI_DATABASE_URL", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv(DAILY_CRON_ENV, "bad cron")

    done = ivyi("tick")

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {DAILY_CRON_ENV}='bad cron' is not a cron schedule Dagster accepts; give five "
        "fields (minute hour day month weekday, UTC), e.g. '0 6 * * *'"
    ]


def test_at_six_the_schedule_covers_every_due_process_in_one_ranged_run(instance, engine, evaluate):
    inside = _one_off(engine, TODAY + dt.timedelta(days=21))
    _one_off(engine, TODAY + dt.timedelta(days=22))
    expired = _process_in(
        engine, "DECISION_WINDOW_OPEN", window_closes_at=to_db(SIX_AM - dt.timedelta(hours=1))
    )
    _process_in(
        engine, "DECISION_WINDOW_OPEN", window_closes_at=to_db(SIX_AM + dt.timedelta(hours=1))
    )
    confirmed = _process_in(engine, "CONFIRMED")
    blocked = _process_in(engine, "OCCASION_DETECTED", blocked_reason="no gift in stock")
    interrupted = _process_in(engine, "OPTIONS_GENERATED")
    _process_in(engine, "COMPLETED")

    (request,) = evaluate()

    detected = process_id_for(inside, TODAY + dt.timedelta(days=21))
    due = {detected, expired, confirmed, blocked, interrupted}
    order = instance.get_dynamic_partitions(gift_processes_partitions.name)
    covered = order[order.index(request.tags[tags.RANGE_START]) :]
    covered = covered[: covered.index(request.tags[tags.RANGE_END]) + 1]
    assert due <= set(process_ids_of(covered))
    assert request.tags[tags.AS_OF] == SIX_AM.isoformat()
    assert request.tags[tags.BATCH_SIZE] == str(len(due))
    with engine.connect() as conn:
        created = conn.execute(
            sa.select(gift_processes.c.id).where(gift_processes.c.status == "CREATED")
        ).scalars()
        assert list(created) == [detected]


def test_the_schedule_marks_the_whole_lead_window_as_covered_by_detection(instance, evaluate):
    evaluate()

    records = instance.fetch_materializations(OCCASION_DETECTION, limit=100).records
    days = sorted(dt.date.fromisoformat(r.partition_key) for r in records)
    assert days == [TODAY + dt.timedelta(days=i) for i in range(22)]


def test_with_nothing_due_the_schedule_skips_with_a_reason(instance, engine, evaluate):
    _process_in(engine, "COMPLETED")
    _one_off(engine, TODAY + dt.timedelta(days=40))

    result = evaluate()

    assert isinstance(result, dg.SkipReason)
    assert "nothing is due" in result.skip_message


def test_a_second_evaluation_the_same_morning_creates_nothing_new(instance, engine, evaluate):
    _one_off(engine, TODAY + dt.timedelta(days=3))
    evaluate()
    partitions = instance.get_dynamic_partitions(gift_processes_partitions.name)

    (request,) = evaluate(SIX_AM + dt.timedelta(minutes=5))

    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(gift_processes)).scalar() == 1
    assert instance.get_dynamic_partitions(gift_processes_partitions.name) == partitions
    assert request.tags[tags.RANGE_START] == partitions[0]


def test_with_every_sensor_off_daily_batches_alone_take_a_process_to_completed(
    ivyi_env, instance, engine
):
    make_gift(engine, price_cents=2500)
    occasion = _one_off(engine, TODAY + dt.timedelta(days=10))
    pid = process_id_for(occasion, TODAY + dt.timedelta(days=10))
    statuses = []

    for day in range(7):
        summary = run_batch(instance, defs, SIX_AM + dt.timedelta(days=day))
        assert summary.ok
        with engine.connect() as conn:
            statuses.append(
                conn.execute(
                    sa.select(gift_processes.c.status).where(gift_processes.c.id == pid)
                ).scalar()
            )

    assert statuses == [
        "DECISION_WINDOW_OPEN",
        "DECISION_WINDOW_OPEN",
        "DECISION_WINDOW_OPEN",
        "ORDERED",
        "SHIPPED",
        "SHIPPED",
        "COMPLETED",
    ]


def test_a_blocked_process_is_retried_by_the_batch_and_unblocked_once_it_can_proceed(
    ivyi_env, instance, engine
):
    # Blocked before the batch: a run never stamps history before a process's last change.
    before = SIX_AM - dt.timedelta(hours=6)
    blocked = _process_in(engine, "OCCASION_DETECTED", at=before, blocked_reason="no gift in stock")
    make_gift(engine, price_cents=2500)

    assert run_batch(instance, defs, SIX_AM).ok

    with engine.connect() as conn:
        row = conn.execute(sa.select(gift_processes).where(gift_processes.c.id == blocked)).one()
    assert (row.status, row.blocked_reason) == ("DECISION_WINDOW_OPEN", None)
