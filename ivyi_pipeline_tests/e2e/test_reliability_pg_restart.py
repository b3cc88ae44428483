"""PostgreSQL restarts: a throwaway cluster stopped and started again under a batch `ivyi tick`.

The cluster (initdb in a temp folder, its own port; never the shared server) holds both the
domain database and the Dagster instance's storage (dagster-postgres). Every trial copies one
seeded database, starts a tick over it and, a seeded 0 to 1 s after the tick has written a
seeded number of transitions, stops the cluster (`fast`, or `immediate`: a crash), keeps it
down a seeded 0 to 3 s and starts it again. The tick must succeed, or fail with exit status 1
and a last line naming the outage or the failed run, without a Python traceback. A tick 61
minutes later (past the reconciler's hour, which re-drives the processes of a failed run) must
succeed and leave the tables of the same two ticks uninterrupted, with no duplicate rows
(compared as in test_reliability_crash.py). The default suite runs one trial; `pytest -m slow`
runs 14 more.
"""

import json
import os
import random
import signal
import time

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.schema import process_transitions
from ivyi_pipeline_tests.reliability import Deployment, difference
from ivyi_pipeline_tests.throwaway_cluster import Cluster, pg_cluster  # noqa: F401 (fixture)

pytestmark = pytest.mark.postgres

DAY = "2026-06-01"
AS_OF = f"{DAY}T09:00:00Z"
NEXT_TICK = f"{DAY}T10:01:00Z"
OCCASIONS = 400
DATA_SEED = 11
TEMPLATE = "ivyi_restart_template"
FAST_TRIALS = range(1)
SLOW_TRIALS = range(1, 15)
TICK_TIMEOUT = 300
UNCAUGHT = "Traceback (most recent call last)"


def _deployment(cluster: Cluster, name: str, home) -> Deployment:
    """Fresh databases `name` (a copy of the template) and `name`_dagster, and a Dagster home."""
    cluster.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    cluster.execute(f'CREATE DATABASE "{name}_dagster"')
    dagster_yaml = (
        "storage:\n"
        "  postgres:\n"
        f"    postgres_url: {json.dumps(cluster.url(f'{name}_dagster'))}\n"
        "run_retries:\n"
        "  enabled: true\n"
        "  max_retries: 2\n"
        "telemetry:\n"
        "  enabled: false\n"
    )
    return Deployment(cluster.url(name), home, dagster_yaml)


def _transitions(url: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            count = sa.select(sa.func.count()).select_from(process_transitions)
            return conn.execute(count).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def seeded_cluster(pg_cluster, tmp_path_factory):  # noqa: F811 (the imported fixture)
    """The throwaway cluster with a seeded template database, copied by every trial."""
    pg_cluster.execute(f'CREATE DATABASE "{TEMPLATE}"')
    seeder = Deployment(pg_cluster.url(TEMPLATE), tmp_path_factory.mktemp("template") / "home")
    seeded = seeder.run(
        "seed", "--occasions", str(OCCASIONS), "--seed", str(DATA_SEED), "--as-of", DAY
    )
    assert seeded.returncode == 0, seeded.stderr
    return pg_cluster


@pytest.fixture(scope="module")
def reference(seeded_cluster, tmp_path_factory):
    """(tables, transitions after the first tick) of the two ticks, uninterrupted."""
    deployment = _deployment(
        seeded_cluster, "ivyi_reference", tmp_path_factory.mktemp("reference") / "home"
    )
    ticked = deployment.run("tick", "--as-of", AS_OF)
    assert ticked.returncode == 0, ticked.stdout + ticked.stderr
    first = _transitions(deployment.url)
    ticked = deployment.run("tick", "--as-of", NEXT_TICK)
    assert ticked.returncode == 0, ticked.stdout + ticked.stderr
    tables = deployment.tables()
    assert len(tables["gift_processes"]) > 10, "the data set should need ranged runs"
    return tables, first


def _felt(deployment: Deployment) -> str:
    """How the restart showed in Dagster: failed runs and step retries, over all runs."""
    with dg.DagsterInstance.from_config(deployment.env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
        retries = sum(
            event.dagster_event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
            for run in runs
            for event in instance.all_logs(run.run_id)
            if event.dagster_event
        )
        failed = sum(run.status == dg.DagsterRunStatus.FAILURE for run in runs)
    return f"{len(runs)} runs, {failed} failed, {retries} step retries"


def _restart_when(cluster: Cluster, url: str, tick, threshold: int, rng: random.Random) -> str:
    """Restart the cluster a while after the tick has written `threshold` transitions."""
    written = 0
    while tick.poll() is None and written < threshold:
        time.sleep(0.1)
        written = _transitions(url)
    time.sleep(rng.uniform(0.0, 0.3))
    mode, down = rng.choice(["fast", "immediate"]), round(rng.uniform(0.0, 3.0), 1)
    # A restart after the tick has ended would test nothing: the threshold (at most 90% of
    # the first tick's transitions) leaves the tick its last steps and checks to run.
    assert tick.poll() is None, f"the tick ended before {threshold} transitions were written"
    cluster.restart(mode, down_for=down)
    return f"{mode} restart, down {down} s, {written} transitions in"


def restart_under_a_tick(cluster: Cluster, reference, tmp_path, trial: int) -> str:
    """One seeded trial; returns what happened, for the figures in RELIABILITY.md."""
    expected, first = reference
    rng = random.Random(f"pg-restart-{trial}")
    threshold = rng.randint(1, max(1, int(first * 0.9)))
    deployment = _deployment(cluster, f"ivyi_restart_{trial}", tmp_path / "home")
    started = time.monotonic()
    tick = deployment.start("tick", "--as-of", AS_OF)
    try:
        restart = _restart_when(cluster, deployment.url, tick, threshold, rng)
        out, err = tick.communicate(timeout=TICK_TIMEOUT)
        took = time.monotonic() - started
    finally:
        if tick.poll() is None:
            os.killpg(tick.pid, signal.SIGKILL)
            tick.communicate()
    assert UNCAUGHT not in err, err
    last = err.strip().splitlines()[-1].strip() if err.strip() else ""
    if tick.returncode != 0:
        assert tick.returncode == 1, out + err
        assert last.startswith(("error: database unavailable: ", "failed run: ")), err
    again = deployment.run("tick", "--as-of", NEXT_TICK)
    assert again.returncode == 0, again.stdout + again.stderr
    assert UNCAUGHT not in again.stderr
    tables = deployment.tables()
    assert tables == expected, difference(tables, expected)
    outcome = "exit 0" if tick.returncode == 0 else f"exit 1 ({last[:60]})"
    return (
        f"trial {trial}: {restart}; tick {outcome} after {took:.1f} s;"
        f" {_felt(deployment)}; converged"
    )


@pytest.mark.parametrize("trial", FAST_TRIALS)
def test_a_cluster_restarted_under_a_tick_converges_on_the_next_tick(
    seeded_cluster, reference, tmp_path, trial
):
    print(restart_under_a_tick(seeded_cluster, reference, tmp_path, trial))


@pytest.mark.slow
@pytest.mark.parametrize("trial", SLOW_TRIALS)
def test_many_cluster_restarts_under_ticks_all_converge(seeded_cluster, reference, tmp_path, trial):
    print(restart_under_a_tick(seeded_cluster, reference, tmp_path, trial))
