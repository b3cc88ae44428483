"""Failure handling: a failed run leaves last_error, `ivyi redrive`, the reconciler."""

import datetime as dt
import json

import dagster as dg
import sqlalchemy as sa
from click.testing import CliRunner

from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.entrypoints.cli import main
from ivyi_pipeline.orchestration.failures import record_run_failure
from ivyi_pipeline.orchestration.partitions import process_ids_of
from ivyi_pipeline.orchestration.resources import Clock, GiftingSettings, IvyiDatabase
from ivyi_pipeline.orchestration.sensors import gifting_failure_sensor, reconciler_sensor
from ivyi_pipeline.workflows.gifting_process.redrive import standing_of
from ivyi_pipeline_tests.driver_calls import listening
from ivyi_pipeline_tests.factories import AT, make_process
from ivyi_pipeline_tests.reliability import confirmed_processes, definitions, run_job


def _fail_order_inserts(conn, cursor, statement, params, context, executemany):
    if statement.lstrip().upper().startswith("INSERT INTO ORDERS"):
        raise sa.exc.ProgrammingError(statement, None, Exception("relation is read-only"))


def broken_orders(engine):
    """Makes every INSERT into orders fail with a non-transient error while active."""
    return listening(engine, "before_cursor_execute", _fail_order_inserts)


def _set(engine, pid, **values):
    with engine.begin() as conn:
        conn.execute(gift_processes.update().where(gift_processes.c.id == pid).values(**values))


def test_a_failed_range_records_the_step_and_error_on_the_processes_it_left_behind(
    engine, database_url
):
    ordered = make_process(engine, status="ORDERED")
    confirmed = confirmed_processes(engine, 2)
    with dg.instance_for_test() as instance:
        with broken_orders(engine):
            result = run_job(instance, definitions(database_url), [ordered, *confirmed])
        errors = record_run_failure(instance, engine, result.dagster_run)

    assert not result.success
    assert sorted(errors) == confirmed
    for pid in confirmed:
        status, last_error = standing_of(engine, pid)
        assert status == "CONFIRMED"
        assert "step place_order" in last_error
        assert "relation is read-only" in last_error
    assert standing_of(engine, ordered) == ("ORDERED", None)


def test_the_run_failure_sensor_records_the_failure(engine, database_url):
    (pid,) = confirmed_processes(engine, 1)
    with dg.instance_for_test() as instance:
        with broken_orders(engine):
            result = run_job(instance, definitions(database_url), [pid])
        context = dg.build_run_status_sensor_context(
            sensor_name=gifting_failure_sensor.name,
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"ivyi_db": IvyiDatabase(url=database_url)},
        ).for_run_failure()
        gifting_failure_sensor(context)

    assert "step place_order" in standing_of(engine, pid)[1]


def test_ivyi_redrive_clears_the_error_and_moves_the_process_on(engine, ivyi_env):
    (pid,) = confirmed_processes(engine, 1)
    with dg.DagsterInstance.get() as instance:
        with broken_orders(engine):
            result = run_job(instance, definitions(ivyi_env["database_url"]), [pid])
        record_run_failure(instance, engine, result.dagster_run)
    runner = CliRunner()
    shown = json.loads(runner.invoke(main, ["status", "--json"]).output)
    assert "step place_order" in shown[0]["last_error"]

    outcome = runner.invoke(main, ["redrive", pid, "--as-of", AT.isoformat()])

    assert outcome.exit_code == 0, outcome.output
    assert "now ORDERED" in outcome.output
    assert standing_of(engine, pid) == ("ORDERED", None)


def test_ivyi_redrive_of_an_unknown_or_malformed_id_names_the_problem(ivyi_env):
    runner = CliRunner()
    unknown = runner.invoke(main, ["redrive", "00000000-0000-0000-0000-000000000000"])
    malformed = runner.invoke(main, ["redrive", "not-a-uuid"])

    assert unknown.exit_code == 1
    assert "does not exist" in unknown.output
    assert malformed.exit_code == 1
    assert "'not-a-uuid' is not a UUID" in malformed.output
    assert "Traceback" not in unknown.output + malformed.output


def _reconcile(database_url, now):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance,
            resources={
                "ivyi_db": IvyiDatabase(url=database_url),
                "gifting": GiftingSettings(),
                "clock": Clock(as_of=now.isoformat()),
            },
        )
        result = reconciler_sensor(context)
        # The requests themselves (the sensor ensures their partitions before it returns them).
        return result.run_requests if isinstance(result, dg.SensorResult) else result


def test_the_reconciler_redrives_processes_past_their_deadline_once_an_hour(engine, database_url):
    stuck = make_process(engine, status="OPTIONS_GENERATED")
    recent = make_process(engine, status="OPTIONS_GENERATED")
    blocked = make_process(engine, status="OCCASION_DETECTED")
    failed = make_process(engine, status="ORDERED")
    waiting = make_process(engine, status="ORDERED")
    done = make_process(engine, status="COMPLETED")
    now = AT + dt.timedelta(hours=2)
    _set(engine, recent, updated_at=(now - dt.timedelta(minutes=30)).replace(tzinfo=None))
    _set(engine, blocked, blocked_reason="no gift in stock within the budget of 100 cents")
    _set(engine, failed, last_error="run 1234abcd, step record_shipment: timeout")
    _set(engine, done, last_error="old")

    first = _reconcile(database_url, now)
    same_hour = _reconcile(database_url, now + dt.timedelta(minutes=20))
    next_hour = _reconcile(database_url, now + dt.timedelta(hours=1))

    assert sorted(process_ids_of(r.partition_key for r in first)) == sorted([stuck, failed])
    assert {r.run_key for r in first} == {r.run_key for r in same_hour}
    assert not {r.run_key for r in first} & {r.run_key for r in next_hour}
    assert all("@2026-06-01T14" in r.run_key for r in first)
    assert waiting not in process_ids_of(r.partition_key for r in first)


def test_the_reconciler_skips_when_nothing_is_stuck(engine, database_url):
    make_process(engine, status="DECISION_WINDOW_OPEN")
    _set(engine, make_process(engine, status="CONFIRMED"), updated_at=AT.replace(tzinfo=None))
    assert isinstance(_reconcile(database_url, AT + dt.timedelta(minutes=59)), dg.SkipReason)
