"""PostgreSQL faults: the run's connection terminated mid-step (pg_terminate_backend)."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import gift_options, orders, process_transitions, ranked_decisions
from ivyi_pipeline_tests.conftest import PG_ADMIN_URL, _truncate_all
from ivyi_pipeline_tests.driver_calls import listening
from ivyi_pipeline_tests.factories import make_gift, make_occasion, make_process, process_status
from ivyi_pipeline_tests.reliability import AT, definitions, events_of, run_job

STATEMENTS = [
    "INSERT INTO gift_options",
    "INSERT INTO orders",
    *(
        pytest.param(text, marks=pytest.mark.slow)
        for text in (
            "INSERT INTO ranked_decisions",
            "UPDATE gift_processes",
            "INSERT INTO process_transitions",
        )
    ),
]


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.mark.postgres
@pytest.mark.parametrize("statement", STATEMENTS)
def test_a_connection_terminated_mid_step_is_retried_and_the_run_converges(
    postgres_database, statement
):
    _truncate_all(postgres_database)
    engine = get_engine(postgres_database)
    for price in (1500, 2500, 3500):
        make_gift(engine, price_cents=price)
    # A belated process (its occasion two days ago, within the grace period): one run takes
    # it from detection to ORDERED, through every statement the faults are injected into.
    day = AT.date() - dt.timedelta(days=2)
    occasion = make_occasion(engine, date=day, recurs_yearly=False)
    pid = make_process(engine, occasion, day, belated=True)
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    terminated = []

    def terminate_own_backend(conn, cursor, text, params, context, executemany):
        if text.lstrip().startswith(statement) and not terminated:
            backend = conn.connection.dbapi_connection.get_backend_pid()
            with admin.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            terminated.append(backend)

    try:
        with listening(engine, "before_cursor_execute", terminate_own_backend):
            with dg.instance_for_test() as instance:
                result = run_job(instance, definitions(postgres_database), [pid])
    finally:
        admin.dispose()

    assert terminated, f"no {statement} was executed"
    assert result.success
    assert events_of(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert process_status(engine, pid) == "ORDERED"
    assert _count(engine, orders) == 1
    assert _count(engine, gift_options) == 3
    assert _count(engine, ranked_decisions) == 3
    assert _count(engine, process_transitions) == 7
