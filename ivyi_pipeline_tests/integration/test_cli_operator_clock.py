"""Issue 21, part B, through the real `ivyi` command on both backends: the clock's horizon and
its recovery (`ivyi clock show` / `ivyi clock reset`), catch-up under the belated rule, and a
command that says it succeeded only when its work is done (permanent faults, signals, kills,
a full disk, a deleted database file)."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.clock import HORIZON_YEARS, utcnow
from ivyi_pipeline.data import generate_dataset, seed_database
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.locks import driver_lock
from ivyi_pipeline.db.schema import gift_processes, orders, pipeline_state, process_transitions
from ivyi_pipeline_tests.factories import make_gift, make_occasion
from ivyi_pipeline_tests.reliability import Deployment
from ivyi_pipeline_tests.tiny_disk import mount_tiny_disk


def _history(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every process row, transition and order: what no clock command may change."""
    with engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table)).all()), key=repr)
            for table in (gift_processes, process_transitions, orders)
        }


def _state(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(pipeline_state.c.name, pipeline_state.c.value)).all())


def _one_error(done) -> str:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines
    assert done.returncode == 1, done
    return lines[0]


def _ok(done) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow_on_postgres
def test_a_wrong_clock_is_refused_beyond_the_horizon_and_recovered_by_clock_reset(
    database_url, engine, tmp_path
):
    today = utcnow().date()
    t0 = dt.datetime.combine(today, dt.time(9), tzinfo=dt.UTC)
    wrong = t0.replace(year=t0.year + HORIZON_YEARS - 1)  # a simulation run on the real data
    make_gift(engine, price_cents=1000)
    make_occasion(engine, date=today + dt.timedelta(days=5))  # yearly: one in the wrong year too
    entering = make_occasion(engine, date=today + dt.timedelta(days=25), recurs_yearly=False)
    ivyi = Deployment(database_url, tmp_path / "d")

    _ok(ivyi.run("tick", "--as-of", t0.isoformat()))
    before = _history(engine)
    typo = _one_error(ivyi.run("tick", "--as-of", "9000-12-31T00:00Z"))
    assert f"is more than {HORIZON_YEARS} years after the wall clock" in typo, typo
    assert "is the year a typo?" in typo
    assert _history(engine) == before
    _ok(ivyi.run("tick", "--as-of", wrong.isoformat()))
    later = _one_error(ivyi.run("tick", "--as-of", (t0 + dt.timedelta(hours=1)).isoformat()))
    assert "is earlier than the last tick's" in later
    assert "ivyi clock reset --to INSTANT" in later

    shown = _ok(ivyi.run("clock", "show"))
    assert f"last tick as of: {wrong.isoformat()}" in shown, shown
    assert "process(es) last changed after" in shown, shown
    history, state = _history(engine), _state(engine)
    with driver_lock(get_engine(database_url)):
        busy = _one_error(ivyi.run("clock", "reset", "--to", t0.isoformat()))
    assert "another ivyi command" in busy, busy
    assert "nothing changed" in busy, busy
    assert _state(engine) == state

    reset = _ok(ivyi.run("clock", "reset", "--to", t0.isoformat()))
    assert f"moved from {wrong.isoformat()} to {t0.isoformat()}" in reset, reset
    assert "no process history changed" in reset
    assert _history(engine) == history
    assert json.loads(_state(engine)["local_runs/last_clock_reset"])["to"] == t0.isoformat()
    again = _ok(ivyi.run("clock", "reset", "--to", t0.isoformat()))
    assert "nothing changed" in again
    assert _history(engine) == history

    # Real ticks run again, and the detection cursor (dropped) no longer holds the wrong year's
    # lead window: an occasion entering the real lead window gets its process.
    _ok(ivyi.run("tick", "--as-of", (t0 + dt.timedelta(days=10)).isoformat()))
    with engine.connect() as conn:
        created = conn.execute(
            sa.select(sa.func.count())
            .select_from(gift_processes)
            .where(gift_processes.c.occasion_id == entering)
        ).scalar()
    assert created == 1
    # The wrong year's process rows are still there, unchanged.
    after = {row[0]: row for row in _history(engine)["gift_processes"]}
    for row in history["gift_processes"]:
        if row[0] in after and row[0] not in {r[0] for r in before["gift_processes"]}:
            assert after[row[0]] == row


@pytest.mark.slow_on_postgres
def test_a_catch_up_orders_nothing_for_an_occasion_past_the_grace_period(
    database_url, engine, tmp_path
):
    start = dt.datetime(2027, 2, 20, 9, tzinfo=dt.UTC)
    make_gift(engine, price_cents=1000)
    old = make_occasion(engine, date=start.date() + dt.timedelta(days=6), recurs_yearly=False)
    recent = make_occasion(engine, date=start.date() + dt.timedelta(days=20), recurs_yearly=False)
    ivyi = Deployment(database_url, tmp_path / "d")
    _ok(ivyi.run("tick", "--as-of", start.isoformat()))
    with engine.connect() as conn:
        waiting = conn.execute(sa.select(gift_processes.c.status)).scalars().all()
    assert waiting == ["DECISION_WINDOW_OPEN"] * 2

    # Both wait in an open window. 25 days later: `recent` passed 5 days ago (within the 14-day
    # grace period), `old` 19 days ago.
    catch_up = start + dt.timedelta(days=25)
    _ok(ivyi.run("tick", "--as-of", catch_up.isoformat()))

    status = {e["occasion_id"]: e for e in json.loads(_ok(ivyi.run("status", "--json")))}
    assert status[recent]["status"] == "ORDERED"
    assert status[recent]["blocked_reason"] is None
    blocked = status[old]
    assert blocked["status"] == "DECISION_WINDOW_OPEN"
    reason = (
        "too late: the occasion on 2027-02-26 passed 19 days before 2027-03-17, beyond the "
        "14-day grace period; no gift is ordered"
    )
    assert blocked["blocked_reason"] == reason
    with engine.connect() as conn:
        ordered = set(conn.execute(sa.select(orders.c.process_id)).scalars())
    assert ordered == {status[recent]["process_id"]}

    with dg.DagsterInstance.from_config(str(tmp_path / "d" / "dagster_home")) as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                dg.AssetKey("gift_process_state"), asset_partitions=[blocked["partition_key"]]
            ),
            limit=1,
        ).records
    assert records, "the blocked process's state was not materialized"
    assert records[0].asset_materialization.metadata["blocked_reason"].value == reason

    # Later ticks and the daily batch keep it blocked, without an order or a failure; the
    # batch prints its summary only (the schedule's own log line is the daemon's).
    batch = ivyi.run("batch", "--as-of", (catch_up + dt.timedelta(days=1)).isoformat())
    assert _ok(batch).startswith("daily batch as of ")
    assert batch.stderr == ""
    with engine.connect() as conn:
        assert set(conn.execute(sa.select(orders.c.process_id)).scalars()) == ordered


def _refuse_orders(engine: sa.Engine, refuse: bool) -> None:
    """A constraint the database enforces on every new order (a permanent fault), or none."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "ALTER TABLE orders ADD CONSTRAINT test_refuses_orders "
                    "CHECK (price_cents < 0) NOT VALID"
                    if refuse
                    else "ALTER TABLE orders DROP CONSTRAINT test_refuses_orders"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE TRIGGER test_refuses_orders BEFORE INSERT ON orders BEGIN "
                    "SELECT RAISE(ABORT, 'CHECK constraint failed: test_refuses_orders'); END"
                    if refuse
                    else "DROP TRIGGER test_refuses_orders"
                )
            )


@pytest.mark.slow_on_postgres
def test_a_permanent_fault_fails_once_per_process_and_waits_for_a_redrive(
    database_url, engine, tmp_path
):
    start = dt.datetime(2027, 2, 20, 9, tzinfo=dt.UTC)
    make_gift(engine, price_cents=1000)
    make_occasion(engine, date=start.date() + dt.timedelta(days=6), recurs_yearly=False)
    ivyi = Deployment(database_url, tmp_path / "d")
    _ok(ivyi.run("tick", "--as-of", start.isoformat()))
    _refuse_orders(engine, True)

    expired = start + dt.timedelta(days=4)  # the window closed; the default is ordered
    failed = ivyi.run("tick", "--as-of", expired.isoformat())
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "run(s) succeeded, 1 failed" in failed.stdout, failed.stdout
    # Later ticks (the reconciler re-drives failures an hour old) and the next daily batch
    # leave it: a permanent fault waits for `ivyi redrive`.
    _ok(ivyi.run("tick", "--as-of", (expired + dt.timedelta(hours=2)).isoformat()))
    _ok(ivyi.run("batch", "--as-of", (expired + dt.timedelta(days=1)).isoformat()))

    (entry,) = json.loads(_ok(ivyi.run("status", "--json")))
    assert entry["status"] == "CONFIRMED"
    assert entry["last_error"].startswith("permanent fault, not retried until `ivyi redrive`: ")
    assert "step place_order" in entry["last_error"]
    with dg.DagsterInstance.from_config(str(tmp_path / "d" / "dagster_home")) as instance:
        runs = [
            r.dagster_run
            for r in instance.get_run_records(
                filters=dg.RunsFilter(tags={"ivyi/process_id": entry["process_id"]})
            )
        ]
    failures = [run for run in runs if run.status == dg.DagsterRunStatus.FAILURE]
    assert len(failures) == 1, [(run.run_id, run.status) for run in runs]
    assert failures[0].tags["dagster/will_retry"] == "false"  # nor by Dagster's run retries

    _refuse_orders(engine, False)
    redriven = _ok(ivyi.run("redrive", entry["process_id"], "--as-of", expired.isoformat()))
    assert "now ORDERED" in redriven


# --- a command says it succeeded only when its work is done ---

BUSY_DAY = dt.datetime(2026, 12, 2, 8, tzinfo=dt.UTC)
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
LEFT_BEHIND = ("CREATED", "OCCASION_DETECTED", "OPTIONS_GENERATED", "DEFAULT_SELECTED")


def _busy(engine: sa.Engine, occasions: int = 600) -> None:
    """Enough occasions in the lead window of BUSY_DAY for a tick of several seconds."""
    seed_database(
        engine,
        generate_dataset(as_of=BUSY_DAY.date(), occasions=occasions, gifts=100, seed=21),
    )


def _runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        return [r.dagster_run for r in instance.get_run_records()]


def _processes_where(engine: sa.Engine, *conditions: sa.ColumnElement[bool]) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(gift_processes).where(*conditions)
        ).scalar()


def _left_behind(engine: sa.Engine) -> int:
    return _processes_where(
        engine,
        gift_processes.c.status.in_(LEFT_BEHIND),
        gift_processes.c.blocked_reason.is_(None),
    )


def _in_created(engine: sa.Engine) -> int:
    return _processes_where(engine, gift_processes.c.status == "CREATED")


def _when_a_run_has_moved_a_process(engine: sa.Engine, command: subprocess.Popen) -> None:
    """Wait until the tick has recorded a move (detection's, then its runs'): the command is
    then inside its work, before or inside a run."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert command.poll() is None, command.communicate()
        with engine.connect() as conn:
            if conn.execute(sa.select(process_transitions.c.id).limit(1)).first():
                return
        time.sleep(0.05)
    pytest.fail("the tick moved no process within 2 minutes")


def _error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


POOL_CLOSE_INTERRUPTED = """
import sqlite3, sys
import sqlalchemy as sa
from ivyi_pipeline.entrypoints.cli import silence_connection_pools
from ivyi_pipeline.entrypoints.local_runs import Stopped

class InterruptedOnClose(sqlite3.Connection):
    def close(self):
        raise Stopped(15)  # what the stop signal's handler raises, here while a pool closes

if sys.argv[1] == "after-a-stop":
    silence_connection_pools()
engine = sa.create_engine(
    "sqlite://",
    creator=lambda: sqlite3.connect(":memory:", factory=InterruptedOnClose),
    poolclass=sa.pool.NullPool,
)
try:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
except Stopped:
    print("stopped")
"""


@pytest.mark.parametrize("when", ["before-a-stop", "after-a-stop"])
def test_a_stop_landing_while_a_pool_closes_a_connection_prints_no_traceback(when):
    """The race stop signals met: the interrupt raised inside SQLAlchemy's connection close,
    which logs it with a traceback on its own child logger. Without a stop, pools still log."""
    result = subprocess.run(
        [sys.executable, "-c", POOL_CLOSE_INTERRUPTED, when], capture_output=True, text=True
    )

    assert result.stdout == "stopped\n", result.stderr
    if when == "after-a-stop":
        assert result.stderr == ""
    else:
        assert "Exception closing connection" in result.stderr


WEAKREF_CALLBACK_INTERRUPTED = """
import sys, weakref
from ivyi_pipeline.entrypoints import cli
from ivyi_pipeline.entrypoints.local_runs import request_stop


class Thing:
    pass


def stop_inside(_ref):  # the signal handler's interrupt, landing in a weakref callback
    request_stop(15)


def fail_inside(_ref):
    raise ValueError("a real finalizer bug")


cli.ignore_stops_in_finalizers()
thing = Thing()
ref = weakref.ref(thing, fail_inside if sys.argv[1] == "another-error" else stop_inside)
del thing
print("went on")
"""


@pytest.mark.parametrize("raised", ["the-stop", "another-error"])
def test_a_stop_landing_in_a_weakref_callback_prints_no_traceback(raised):
    """The other race stop signals met (SQLAlchemy's `_collection_gced`): Python cannot raise
    inside a weakref callback and prints "Exception ignored in". The stop is recorded anyway,
    so it is dropped; any other error there is still reported."""
    result = subprocess.run(
        [sys.executable, "-c", WEAKREF_CALLBACK_INTERRUPTED, raised], capture_output=True, text=True
    )

    assert result.stdout == "went on\n", result.stderr
    if raised == "the-stop":
        assert result.stderr == ""
    else:
        assert "Exception ignored in" in result.stderr
        assert "ValueError: a real finalizer bug" in result.stderr


@pytest.mark.parametrize(
    "sig",
    [signal.SIGTERM, pytest.param(signal.SIGKILL, marks=pytest.mark.slow)],
    ids=["sigterm", "sigkill"],
)
def test_a_stopped_or_killed_tick_leaves_no_run_started_and_the_next_one_finishes_its_work(
    sig, database_url, engine, tmp_path
):
    _busy(engine)
    ivyi = Deployment(database_url, tmp_path / "d")
    command = ivyi.start("tick", "--as-of", BUSY_DAY.isoformat())
    _when_a_run_has_moved_a_process(engine, command)
    os.kill(command.pid, sig)
    _, stderr = command.communicate(timeout=120)

    assert command.returncode == 128 + sig if sig == signal.SIGTERM else -sig
    if sig == signal.SIGTERM:
        line = _error_line(stderr)
        assert line.startswith("error: stopped by SIGTERM; its unfinished runs were marked FAILED")
        assert not [run for run in _runs(tmp_path / "d") if run.status in UNFINISHED]

    # What the stop left: a run it cut short, or processes detected and never run. A stop
    # that lands in a finalizer is taken when the run ends (cli.ignore_stops_in_finalizers),
    # so it can also leave nothing, and the next tick then has nothing of it to finish.
    left_work = _in_created(engine) > 0 or any(
        run.status in (*UNFINISHED, dg.DagsterRunStatus.FAILURE) for run in _runs(tmp_path / "d")
    )
    again = ivyi.run("tick", "--as-of", BUSY_DAY.isoformat())

    assert again.returncode == 0, again.stdout + again.stderr
    if left_work:
        assert "finished what an interrupted or killed ivyi command left" in again.stdout
    runs = _runs(tmp_path / "d")
    assert not [run.run_id for run in runs if run.status in UNFINISHED]
    # The run the signal ended (or the kill left) was executed again by the second tick.
    ended = [run for run in runs if run.status == dg.DagsterRunStatus.FAILURE]
    assert all(run.tags.get("ivyi/recovered_by") for run in ended), ended
    assert _left_behind(engine) == 0


def test_a_tick_whose_sqlite_file_is_deleted_fails_with_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    from ivyi_pipeline.db.migrate import upgrade

    upgrade(url)
    engine = get_engine(url)
    _busy(engine)
    ivyi = Deployment(url, tmp_path / "d")
    command = ivyi.start("tick", "--as-of", BUSY_DAY.isoformat())
    _when_a_run_has_moved_a_process(engine, command)
    (tmp_path / "ivyi.db").unlink()
    stdout, stderr = command.communicate(timeout=120)
    engine.dispose()

    assert command.returncode == 1, stdout + stderr
    line = _error_line(stderr)
    assert f"the database file {tmp_path / 'ivyi.db'} was deleted or replaced" in line, line
    assert "succeeded" not in stdout


def test_a_tick_that_fills_the_disk_fails_and_the_same_tick_after_freeing_it_finishes(tmp_path):
    mount = tmp_path / "tiny"
    unmount = mount_tiny_disk(mount, "8m")
    try:
        url = f"sqlite:///{mount / 'ivyi.db'}"
        from ivyi_pipeline.db.migrate import upgrade

        upgrade(url)
        engine = get_engine(url)
        _busy(engine)
        engine.dispose()
        used = sum(f.stat().st_size for f in mount.iterdir())
        subprocess.run(
            ["mount", "-o", f"remount,size={used // 1024 + 320}k", str(mount)], check=True
        )
        ivyi = Deployment(url, tmp_path / "d")

        full = ivyi.run("tick", "--as-of", BUSY_DAY.isoformat())
        assert full.returncode == 1, full.stdout + full.stderr
        assert "database or disk is full; free disk space" in _error_line(full.stderr)

        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
        freed = ivyi.run("tick", "--as-of", BUSY_DAY.isoformat())
        assert freed.returncode == 0, freed.stdout + freed.stderr
        assert "finished what an interrupted or killed ivyi command left" in freed.stdout
        assert _left_behind(get_engine(url)) == 0
        assert not [run for run in _runs(tmp_path / "d") if run.status in UNFINISHED]
        get_engine(url).dispose()
    finally:
        unmount()
