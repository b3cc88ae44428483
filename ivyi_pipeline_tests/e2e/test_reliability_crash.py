"""Crashes: SIGKILL of a batch `ivyi tick` at a seeded random instant, then a tick again.

Every trial copies one seeded PostgreSQL database, starts a tick over it, waits until a
gifting run has moved a process (a transition past the creation: the tick is inside a run),
kills the tick a seeded instant later (well before the uninterrupted tick would have ended),
asserts it was still running, ticks again 11 minutes later (past the 10 minutes after which
CREATED processes count as stalled) and compares every table the pipeline writes with those
of the same two ticks uninterrupted (surrogate ids, audit times and the instants that follow
the re-driving tick aside).
Processes of a recipient with another process in the window are compared by status only:
their options exclude gifts already ordered for that recipient, so they depend on which of
them a run happened to order first (a batching effect, not a crash effect).
`pytest -m slow` runs the long variant (21 more trials; the default suite runs one).
"""

import os
import random
import signal
import time
import uuid

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import process_transitions
from ivyi_pipeline_tests.conftest import PG_ADMIN_URL, _pg_url
from ivyi_pipeline_tests.reliability import Deployment, difference

pytestmark = pytest.mark.postgres

DAY = "2026-06-01"
AS_OF = f"{DAY}T09:00:00Z"
NEXT_TICK = f"{DAY}T09:11:00Z"
OCCASIONS = 400
DATA_SEED = 11
FAST_TRIALS = range(1)
SLOW_TRIALS = range(1, 22)
KILL_WITHIN = 0.5
"""Kill at most this share of the reference tick's remaining time after its first run moved."""
MARKER_TIMEOUT = 300


def _admin(sql: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(sql))
    admin.dispose()


def _fresh_database(template: str | None = None) -> str:
    name = f"ivyi_crash_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _drop(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory):
    """A PostgreSQL database with the schema and a seeded data set, copied by every trial."""
    name = _fresh_database()
    deployment = Deployment(_pg_url(name), tmp_path_factory.mktemp("template") / "home")
    seeded = deployment.run(
        "seed", "--occasions", str(OCCASIONS), "--seed", str(DATA_SEED), "--as-of", DAY
    )
    assert seeded.returncode == 0, seeded.stderr
    get_engine(deployment.url).dispose()
    yield name
    _drop(name)


def _a_run_moved_a_process(url: str) -> bool:
    """True once a gifting run has made a transition past the creation."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(process_transitions.c.id)
                    .where(process_transitions.c.from_status.is_not(None))
                    .limit(1)
                ).first()
                is not None
            )
    finally:
        engine.dispose()


def _wait_for_a_moved_process(url: str, tick) -> float:
    """Seconds until a run of the tick moved a process; fails if the tick ends first."""
    started = time.monotonic()
    while not _a_run_moved_a_process(url):
        assert tick.poll() is None, "the tick ended before any run moved a process"
        assert time.monotonic() - started < MARKER_TIMEOUT, "no run moved a process"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def reference(seeded_template, tmp_path_factory):
    """(tables, seconds from the first moved process to the tick's end) of an uninterrupted tick."""
    name = _fresh_database(seeded_template)
    deployment = Deployment(_pg_url(name), tmp_path_factory.mktemp("reference") / "home")
    started = time.monotonic()
    tick = deployment.start("tick", "--as-of", AS_OF)
    moved_after = _wait_for_a_moved_process(deployment.url, tick)
    out, err = tick.communicate()
    remaining = time.monotonic() - started - moved_after
    assert tick.returncode == 0, out + err
    ticked = deployment.run("tick", "--as-of", NEXT_TICK)
    assert ticked.returncode == 0, ticked.stdout + ticked.stderr
    tables = deployment.tables()
    _drop(name)
    assert len(tables["gift_processes"]) > 10, "the data set should need ranged runs"
    assert remaining > 1.0, "the tick should run long enough after its first step to be killed"
    return tables, remaining


def kill_and_recover(seeded_template, reference, tmp_path, trial: int) -> str:
    """One seeded trial: kill a tick inside its runs; returns when the kill landed."""
    expected, remaining = reference
    rng = random.Random(f"sigkill-{trial}")
    delay = rng.uniform(0.0, KILL_WITHIN * remaining)
    name = _fresh_database(seeded_template)
    try:
        deployment = Deployment(_pg_url(name), tmp_path / "home")
        tick = deployment.start("tick", "--as-of", AS_OF)
        moved_after = _wait_for_a_moved_process(deployment.url, tick)
        time.sleep(delay)
        assert tick.poll() is None, f"the tick ended before the kill at {delay:.1f}s"
        os.killpg(tick.pid, signal.SIGKILL)
        tick.communicate()
        assert tick.returncode == -signal.SIGKILL
        again = deployment.run("tick", "--as-of", NEXT_TICK)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "Traceback" not in again.stderr
        tables = deployment.tables()
        assert tables == expected, difference(tables, expected)
        return f"killed {delay:.1f}s after a run first moved a process ({moved_after:.1f}s in)"
    finally:
        _drop(name)


@pytest.mark.parametrize("trial", FAST_TRIALS)
def test_a_tick_killed_at_a_random_instant_converges_on_the_next_tick(
    seeded_template, reference, tmp_path, trial
):
    print(kill_and_recover(seeded_template, reference, tmp_path, trial))


@pytest.mark.slow
@pytest.mark.parametrize("trial", SLOW_TRIALS)
def test_many_ticks_killed_at_random_instants_all_converge(
    seeded_template, reference, tmp_path, trial
):
    print(kill_and_recover(seeded_template, reference, tmp_path, trial))


def test_two_ticks_at_once_end_as_one_tick_would(seeded_template, reference, tmp_path):
    expected, _ = reference
    name = _fresh_database(seeded_template)
    try:
        deployment = Deployment(_pg_url(name), tmp_path / "home")
        # Two first uses of a fresh embedded instance race on Dagster's own SQLite schema
        # migration; production's instance (PostgreSQL storage) is created once, beforehand.
        with dg.DagsterInstance.from_config(deployment.env["DAGSTER_HOME"]):
            pass
        ticks = [deployment.start("tick", "--as-of", AS_OF) for _ in range(2)]
        outputs = [tick.communicate() for tick in ticks]
        for tick, (out, err) in zip(ticks, outputs, strict=True):
            assert tick.returncode == 0, out + err
        again = deployment.run("tick", "--as-of", NEXT_TICK)
        assert again.returncode == 0, again.stdout + again.stderr
        tables = deployment.tables()
        assert tables == expected, difference(tables, expected)
    finally:
        _drop(name)
