"""No duplicate side effects: an order reaches the provider at most once per process."""

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.schema import orders, simulated_provider_orders
from ivyi_pipeline.features.fulfilment import ProviderError, SimulatedFulfilmentProvider
from ivyi_pipeline.orchestration.resources import SimulatedFulfilment
from ivyi_pipeline.workflows.gifting_process import steps
from ivyi_pipeline_tests.driver_calls import listening
from ivyi_pipeline_tests.factories import AT, process_status
from ivyi_pipeline_tests.reliability import confirmed_processes, definitions, run_job


class CrashAfterProviderCall(Exception):
    """Stands for the worker dying between the provider's reply and the database write."""


def _rows(engine, table) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table))]


def _crash_on_order_insert(conn, cursor, statement, params, context, executemany):
    if statement.lstrip().upper().startswith("INSERT INTO ORDERS"):
        raise CrashAfterProviderCall("worker died after the provider accepted the order")


def test_an_order_write_that_dies_after_the_provider_call_is_placed_once_on_rerun(engine):
    (pid,) = confirmed_processes(engine, 1)
    provider = SimulatedFulfilmentProvider(engine)
    with listening(engine, "before_cursor_execute", _crash_on_order_insert):
        with pytest.raises(CrashAfterProviderCall):
            steps.place_order(engine, [pid], AT, provider)
    assert len(_rows(engine, simulated_provider_orders)) == 1
    assert _rows(engine, orders) == []
    assert process_status(engine, pid) == "CONFIRMED"

    report = steps.place_order(engine, [pid], AT, provider)
    again = steps.place_order(engine, [pid], AT, provider)

    assert report.advanced == [pid]
    assert again.advanced == []
    (provider_row,) = _rows(engine, simulated_provider_orders)
    (order_row,) = _rows(engine, orders)
    assert provider_row[0] == order_row[2] == pid
    assert provider_row[1] == order_row[3]
    assert process_status(engine, pid) == "ORDERED"


def test_a_provider_reply_lost_after_storing_the_order_is_not_a_second_order(engine):
    (pid,) = confirmed_processes(engine, 1)
    lossy = SimulatedFulfilmentProvider(engine, failure_rate=1.0, seed=5)
    while True:
        try:
            lossy.place_order(pid, "gift", AT)
        except ProviderError as exc:
            if "after storing" in str(exc):
                break

    steps.place_order(engine, [pid], AT, SimulatedFulfilmentProvider(engine))

    assert len(_rows(engine, simulated_provider_orders)) == 1
    assert len(_rows(engine, orders)) == 1


def test_the_job_retries_place_order_after_a_lost_write_and_orders_once(engine, database_url):
    ids = confirmed_processes(engine, 3)
    dropped = []

    def lose_first_order_write(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO ORDERS") and not dropped:
            dropped.append(statement)
            raise sa.exc.OperationalError(statement, None, Exception("server closed connection"))

    with listening(engine, "before_cursor_execute", lose_first_order_write):
        with dg.instance_for_test() as instance:
            seed = 77 if database_url.startswith("sqlite") else 78  # a fresh sequence each
            defs = definitions(database_url, SimulatedFulfilment(failure_rate=0.3, seed=seed))
            result = run_job(instance, defs, ids)

    assert result.success
    assert dropped
    assert sorted(r[0] for r in _rows(engine, simulated_provider_orders)) == ids
    assert sorted(r[0] for r in _rows(engine, orders)) == ids
