"""Retries: transient database and provider errors are retried with backoff; refusals never."""

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.db.schema import gift_processes, orders, simulated_provider_orders
from ivyi_pipeline.errors import InvalidInput
from ivyi_pipeline.faults import is_retryable
from ivyi_pipeline.features.fulfilment import ProviderError
from ivyi_pipeline.orchestration.failures import record_run_failure
from ivyi_pipeline.orchestration.resources import SimulatedFulfilment
from ivyi_pipeline.settings import RETRY_DELAY_ENV, retry_delay_seconds
from ivyi_pipeline_tests.driver_calls import listening
from ivyi_pipeline_tests.factories import AT, make_confirmation, make_gift, make_process
from ivyi_pipeline_tests.reliability import (
    confirmed_processes,
    definitions,
    events_of,
    run_job,
)

RETRIED = dg.DagsterEventType.STEP_UP_FOR_RETRY


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def _statuses(engine, ids) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(gift_processes.c.status).where(gift_processes.c.id.in_(ids))
            ).scalars()
        )


def _an_order_insert_that_always_fails(tmp_path):
    """One confirmed process whose order insert loses its connection every time: (the run's
    result, its events, the engine, the process, {process: error} the failure bookkeeping
    stored)."""
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    upgrade(url)
    engine = get_engine(url)
    (pid,) = confirmed_processes(engine, 1)

    def lose_every_order_insert(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO ORDERS"):
            raise sa.exc.OperationalError(statement, None, Exception("connection reset by peer"))

    with listening(engine, "before_cursor_execute", lose_every_order_insert):
        with dg.instance_for_test() as instance:
            result = run_job(instance, definitions(url), [pid])
            records = instance.get_records_for_run(result.run_id).records
            # What the failure sensor (or the local driver) does after a failed run.
            booked = record_run_failure(instance, engine, result.dagster_run)
    events = [r.event_log_entry for r in records if r.event_log_entry.dagster_event]
    return result, events, engine, pid, booked


def _of(events, event_type):
    return [e for e in events if e.dagster_event.event_type == event_type]


def test_a_step_that_keeps_failing_transiently_is_retried_three_times_waiting_longer_each_time(
    tmp_path, monkeypatch
):
    monkeypatch.delenv(RETRY_DELAY_ENV, raising=False)  # the default waits, not the suite's
    result, events, engine, pid, _ = _an_order_insert_that_always_fails(tmp_path)

    retries, restarts = _of(events, RETRIED), _of(events, dg.DagsterEventType.STEP_RESTARTED)
    waits = [e.dagster_event.event_specific_data.seconds_to_wait for e in retries]
    assert not result.success
    assert [e.dagster_event.step_key for e in retries] == ["gifting_process.place_order"] * 3
    assert waits == sorted(waits)
    assert waits[-1] > waits[0] + 1, "the waits should back off, not repeat"
    for retry, restart, wait in zip(retries, restarts, waits, strict=True):
        assert restart.timestamp - retry.timestamp >= wait - 0.05, "each wait is waited"
    (failure,) = _of(events, dg.DagsterEventType.STEP_FAILURE)
    assert failure.dagster_event.step_key == "gifting_process.place_order"
    assert _statuses(engine, [pid]) == {"CONFIRMED"}
    assert _count(engine, orders) == 0
    assert _count(engine, simulated_provider_orders) == 1, "four attempts, one provider order"
    engine.dispose()


def test_the_configured_first_delay_sets_every_retrys_wait(tmp_path, monkeypatch):
    monkeypatch.setenv(RETRY_DELAY_ENV, "0.02")
    result, events, engine, _, booked = _an_order_insert_that_always_fails(tmp_path)

    waits = [e.dagster_event.event_specific_data.seconds_to_wait for e in _of(events, RETRIED)]
    assert not result.success
    assert len(waits) == 3
    # RETRY_POLICY's exponential backoff on 0.02 s: 0.02, 0.06, 0.14, each +/- 0.02.
    for wait, expected in zip(waits, (0.02, 0.06, 0.14), strict=True):
        assert expected - 0.02 <= wait <= expected + 0.02, waits
    # Past the last retry the process's error names what failed, not Dagster's retry request.
    (error,) = booked.values()
    assert error.endswith(
        "step place_order: order could not be placed: the database was "
        "unavailable (OperationalError)"
    ), error
    engine.dispose()


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "301"])
def test_a_bad_retry_delay_is_refused_in_one_line_before_a_command_runs(value, ivyi, tmp_path):
    env_home = tmp_path / "home"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVYI_HOME", str(env_home))
        env.delenv("IVYI_DATABASE_URL", raising=False)
        env.delenv("DAGSTER_HOME", raising=False)
        env.setenv(RETRY_DELAY_ENV, value)
        with pytest.raises(InvalidInput):
            retry_delay_seconds()
        result = ivyi("db", "upgrade")

    assert result.returncode != 0
    assert result.stderr == (
        f"error: {RETRY_DELAY_ENV}={value!r} is not a number of seconds from 0 to 300\n"
    )
    assert not (env_home / "ivyi.db").exists(), "nothing is written"


def test_transient_errors_are_told_apart_from_refusals_and_bugs():
    lost = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    assert is_retryable(lost)
    assert is_retryable(ProviderError("timeout"))
    assert not is_retryable(sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_retryable(KeyError("bug"))


@pytest.mark.parametrize("seed", [1003, 1006])
def test_a_flaky_provider_is_retried_until_every_process_is_ordered_once(
    engine, database_url, seed
):
    ids = confirmed_processes(engine, 6)
    seed += 100 * database_url.startswith("postgres")  # a fresh sequence for each test
    defs = definitions(database_url, SimulatedFulfilment(failure_rate=0.5, seed=seed))

    with dg.instance_for_test() as instance:
        result = run_job(instance, defs, ids)

    assert result.success
    assert events_of(result, RETRIED), "the simulated outages should have caused retries"
    assert _statuses(engine, ids) == {"ORDERED"}
    assert _count(engine, orders) == 6
    assert _count(engine, simulated_provider_orders) == 6


def test_a_lost_database_connection_is_retried_and_the_run_succeeds(engine, database_url):
    (pid,) = confirmed_processes(engine, 1)
    failures = []

    def drop_first_order_insert(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO ORDERS") and not failures:
            failures.append(statement)
            raise sa.exc.OperationalError(statement, None, Exception("connection reset by peer"))

    with listening(engine, "before_cursor_execute", drop_first_order_insert):
        with dg.instance_for_test() as instance:
            result = run_job(instance, definitions(database_url), [pid])

    assert result.success
    assert len(failures) == 1
    assert [e.step_key for e in events_of(result, RETRIED)] == ["gifting_process.place_order"]
    assert _statuses(engine, [pid]) == {"ORDERED"}
    assert _count(engine, orders) == 1


def test_a_refused_confirmation_fails_the_step_without_a_retry(engine, database_url):
    gift = make_gift(engine)
    pid = make_process(engine, status="ORDERED")
    make_confirmation(engine, pid, gift, AT)

    with dg.instance_for_test() as instance:
        result = run_job(instance, definitions(database_url), [pid])

    assert not result.success
    failed = events_of(result, dg.DagsterEventType.STEP_FAILURE)
    assert [e.step_key for e in failed] == ["gifting_process.confirm_selection"]
    assert "ORDERED -> CONFIRMED is not allowed" in failed[0].step_failure_data.error.message
    assert not events_of(result, RETRIED)


def test_an_unexpected_error_is_not_retried(engine, database_url):
    (pid,) = confirmed_processes(engine, 1)

    def break_orders(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO ORDERS"):
            raise sa.exc.ProgrammingError(statement, None, Exception("column does not exist"))

    with listening(engine, "before_cursor_execute", break_orders):
        with dg.instance_for_test() as instance:
            result = run_job(instance, definitions(database_url), [pid])

    assert not result.success
    assert not events_of(result, RETRIED)
    (failure,) = events_of(result, dg.DagsterEventType.STEP_FAILURE)
    assert failure.step_failure_data.user_failure_data.description == (
        "the database could not run a statement (Exception: column does not exist); not retried"
    )
