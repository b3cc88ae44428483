"""Time runs forwards: an inbox event is never applied before it was received, and a tick back
in time never writes history stamped before a process's last change."""

import datetime as dt

import pytest
import sqlalchemy as sa

from ivyi_pipeline.clock import from_db
from ivyi_pipeline.db.schema import gift_processes, inbox_events, process_transitions
from ivyi_pipeline.workflows.gifting_process.create import process_id_for
from ivyi_pipeline.workflows.gifting_process.steps import confirm_selection
from ivyi_pipeline.workflows.gifting_process.update import set_blocked, transition_many
from ivyi_pipeline_tests.e2e.test_cli_scenario import TODAY, build_scenario, stored_ranking, tick
from ivyi_pipeline_tests.factories import make_process

OPENED = "2026-06-01T09:00:00Z"
BEFORE_RECEIVED = "2026-06-01T11:00:00Z"
RECEIVED = dt.datetime(2026, 6, 2, 9, tzinfo=dt.UTC)
AFTER_RECEIVED = "2026-06-02T10:00:00Z"


def _inbox(engine, process_id: str):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(inbox_events.c.received_at, inbox_events.c.processed_at).where(
                inbox_events.c.process_id == process_id, inbox_events.c.kind == "CONFIRMATION"
            )
        ).one()


def _history(engine) -> dict[str, list[tuple[int, dt.datetime]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                process_transitions.c.process_id, process_transitions.c.id, process_transitions.c.at
            ).order_by(process_transitions.c.id)
        ).all()
    by_process: dict[str, list[tuple[int, dt.datetime]]] = {}
    for pid, row_id, at in rows:
        by_process.setdefault(pid, []).append((row_id, at))
    return by_process


def _tables(engine):
    with engine.connect() as conn:
        return (
            conn.execute(sa.select(gift_processes).order_by(gift_processes.c.id)).all(),
            conn.execute(sa.select(process_transitions).order_by(process_transitions.c.id)).all(),
            conn.execute(sa.select(inbox_events).order_by(inbox_events.c.id)).all(),
        )


def _process(engine, process_id: str):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(gift_processes.c.status, gift_processes.c.selected_gift_id).where(
                gift_processes.c.id == process_id
            )
        ).one()


# Ticks are subprocesses of about 10 s each on a loaded machine: SQLite only; the guard they
# rely on (transition_many) is tested on both backends below.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_confirmation_is_not_applied_by_a_tick_before_it_was_received_and_history_stays_ordered(
    ivyi_env, engine, ivyi
):
    ids = build_scenario(engine)
    tick(ivyi, OPENED)
    pid = process_id_for(ids["inside"], TODAY + dt.timedelta(days=9))
    gift = stored_ranking(engine, pid)[1]
    confirmed = ivyi("confirm", pid, gift, "--as-of", RECEIVED.isoformat())
    assert confirmed.returncode == 0, confirmed.stderr

    tick(ivyi, BEFORE_RECEIVED)

    assert _process(engine, pid).status == "DECISION_WINDOW_OPEN"
    assert _inbox(engine, pid).processed_at is None
    early = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    report = confirm_selection(engine, [pid], early)
    assert report.advanced == []
    assert report.waiting == {
        pid: "the giver's confirmation was received at 2026-06-02 09:00Z, after "
        "2026-06-01 12:00Z: not applied before it was received"
    }

    tick(ivyi, AFTER_RECEIVED)

    after = _process(engine, pid)
    assert after.status in ("CONFIRMED", "ORDERED")
    assert after.selected_gift_id == gift
    received_at, processed_at = _inbox(engine, pid)
    assert processed_at >= received_at
    before_going_back = _tables(engine)

    back = ivyi("tick", "--as-of", BEFORE_RECEIVED)

    # A tick back in time is refused as a whole (the derived-state rule), and changes nothing.
    assert back.returncode == 1
    assert "is earlier than the last tick's" in back.stderr
    assert "Traceback" not in back.stdout + back.stderr
    assert _tables(engine) == before_going_back
    for steps in _history(engine).values():
        stamps = [at for _, at in steps]
        assert stamps == sorted(stamps)


def test_a_transition_is_never_stamped_before_the_process_last_changed(engine):
    late = dt.datetime(2026, 6, 10, 9, tzinfo=dt.UTC)
    pid = make_process(engine, status="OCCASION_DETECTED", at=late)

    with engine.begin() as conn:
        moved_early = transition_many(
            conn, [pid], "OCCASION_DETECTED", "OPTIONS_GENERATED", "test", late - dt.timedelta(1)
        )
    with engine.begin() as conn:
        moved_late = transition_many(
            conn, [pid], "OCCASION_DETECTED", "OPTIONS_GENERATED", "test", late
        )

    with engine.begin() as conn:
        set_blocked(conn, {pid: "blocked back in time"}, late - dt.timedelta(1))
        stored = conn.execute(
            sa.select(gift_processes.c.updated_at, gift_processes.c.blocked_reason).where(
                gift_processes.c.id == pid
            )
        ).one()

    assert moved_early == []
    assert moved_late == [pid]
    assert (from_db(stored.updated_at), stored.blocked_reason) == (late, None)
    stamps = [from_db(at) for _, at in _history(engine)[pid]]
    assert stamps == sorted(stamps)
    assert stamps[-1] == late
