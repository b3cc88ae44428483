"""Why a process failed, as an analyst reads it: domain words, ids only, on both backends.

A constraint the database enforces refuses the order (a CHECK constraint on PostgreSQL, a
trigger raising a constraint error on SQLite); `ivyi redrive` runs the process through the
real CLI, then `ivyi status --json` and the run's step failure are read back.
"""

import json

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ivyi_pipeline.domain.states import STEPS
from ivyi_pipeline.entrypoints.cli import main
from ivyi_pipeline.workflows.gifting_process import failure_reasons, redrive
from ivyi_pipeline_tests.factories import AT
from ivyi_pipeline_tests.reliability import confirmed_processes

CAP = "orders_price_cap"


def _refuse_orders(engine: sa.Engine) -> None:
    """A constraint that refuses every order row, as the database enforces it."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(f"ALTER TABLE orders ADD CONSTRAINT {CAP} CHECK (price_cents < 1)")
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse_orders BEFORE INSERT ON orders BEGIN "
                    f"SELECT RAISE(ABORT, 'CHECK constraint failed: {CAP}'); END"
                )
            )


def _drop_refusal(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"ALTER TABLE orders DROP CONSTRAINT {CAP}"))
        else:
            conn.execute(sa.text("DROP TRIGGER refuse_orders"))


def test_every_step_of_the_table_says_what_its_failure_left_undone():
    assert set(failure_reasons.WHAT_FAILED) == {step.name for step in STEPS}


@pytest.mark.parametrize(
    ("message", "constraint"),
    [
        ('new row for relation "orders" violates check constraint "cap"', "check constraint cap"),
        (
            'duplicate key value violates unique constraint "orders_idempotency_key_key"\n'
            "DETAIL:  Key (idempotency_key)=(secret) already exists.",
            "unique constraint orders_idempotency_key_key",
        ),
        (
            'null value in column "gift_id" of relation "orders" violates not-null constraint',
            "not-null constraint orders.gift_id",
        ),
        (
            "UNIQUE constraint failed: orders.idempotency_key",
            "unique constraint orders.idempotency_key",
        ),
        ("NOT NULL constraint failed: orders.gift_id", "not-null constraint orders.gift_id"),
        ("FOREIGN KEY constraint failed", "foreign key constraint"),
        ("something else entirely", None),
    ],
)
def test_a_database_refusal_names_its_constraint_and_never_a_value(message, constraint):
    assert failure_reasons.constraint_of(message) == constraint


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("orders are closed", "orders are closed"),
        (
            "sqlalchemy.exc.IntegrityError: (psycopg2.errors.CheckViolation) orders are closed\n"
            "CONTEXT:  PL/pgSQL function refuse() line 1 at RAISE",
            "orders are closed",
        ),
        (
            "(sqlite3.IntegrityError) orders are closed\n[SQL: INSERT INTO orders ...]\n"
            "[parameters: ('secret', 2500)]",
            "orders are closed",
        ),
        (
            'duplicate key value violates unique constraint "orders_idempotency_key_key"\n'
            "DETAIL:  Key (idempotency_key)=(secret) already exists.",
            "unique constraint orders_idempotency_key_key",
        ),
        ("", "a constraint"),
    ],
)
def test_a_refusal_a_trigger_raises_keeps_its_first_line_and_never_a_later_one(message, words):
    assert failure_reasons.refusal_of(message) == words
    assert "secret" not in failure_reasons.cause_of_class("IntegrityError", message)


def test_a_refused_order_reads_in_domain_words_in_status_and_in_the_run(engine, ivyi_env):
    (pid,) = confirmed_processes(engine, 1)
    _refuse_orders(engine)
    runner = CliRunner()

    refused = runner.invoke(main, ["redrive", pid, "--as-of", AT.isoformat()])
    (shown,) = json.loads(runner.invoke(main, ["status", "--json"]).output)

    assert refused.exit_code == 1
    with dg.DagsterInstance.get() as instance:
        (record,) = instance.get_run_records()
        (failure,) = instance.get_records_for_run(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        ).records
    step_failure = failure.event_log_entry.dagster_event.step_failure_data
    words = f"order could not be placed: the database refused it (check constraint {CAP})"
    cause = f"the database refused it (check constraint {CAP}); not retried"
    assert step_failure.user_failure_data.description == cause  # in step place_order
    assert shown["status"] == "CONFIRMED"
    # A refusal no retry cures waits for a re-drive (redrive.PERMANENT), then says why.
    assert shown["last_error"] == redrive.PERMANENT + (
        f"run {record.dagster_run.run_id[:8]}, step place_order: {words}; not retried"
    )

    _drop_refusal(engine)
    assert runner.invoke(main, ["redrive", pid, "--as-of", AT.isoformat()]).exit_code == 0
    (after,) = json.loads(runner.invoke(main, ["status", "--json"]).output)
    assert (after["status"], after["last_error"]) == ("ORDERED", None)
