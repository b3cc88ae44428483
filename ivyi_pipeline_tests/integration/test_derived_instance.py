"""Dagster's instance is derived from the domain database: lost, raced or broken, it heals.

Issue 12's faults: a DAGSTER_HOME lost (or its partitions deleted) mid-lifecycle, four first
ticks at once on a brand-new home, a corrupt home, a backfill as of a future and a past date,
500 failures in one run, a tick back in time. `pytest -m slow` runs the long variants.
"""

import datetime as dt
import shutil
import signal
import sqlite3
import subprocess
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.db.pipeline_state import read_state
from ivyi_pipeline.db.schema import gift_processes, pipeline_state
from ivyi_pipeline.definitions import build_definitions
from ivyi_pipeline.entrypoints.cli import main
from ivyi_pipeline.entrypoints.local_runs import ClockWentBack, Stopped, backfill, tick
from ivyi_pipeline.features.fulfilment import ProviderError, SimulatedFulfilmentProvider
from ivyi_pipeline.instance import EMBEDDED_CONFIG, LOCK_FILE, open_instance
from ivyi_pipeline.orchestration.failures import record_run_failure
from ivyi_pipeline.orchestration.occasion_dates import OCCASION_DETECTION
from ivyi_pipeline.orchestration.partitions import (
    ensure_process_partitions,
    gift_processes_partitions,
)
from ivyi_pipeline.orchestration.resources import IvyiDatabase, SimulatedFulfilment
from ivyi_pipeline.settings import FIRST_DATE_ENV, Settings
from ivyi_pipeline.workflows.gifting_process.create import process_id_for
from ivyi_pipeline_tests.conftest import IVYI_COMMAND, PG_ADMIN_URL, _pg_url
from ivyi_pipeline_tests.factories import make_gift, make_occasion
from ivyi_pipeline_tests.reliability import (
    Deployment,
    confirmed_processes,
    converged_tables,
    run_job,
    signal_only_in_the_wakeup_pipe,
    snapshot,
)

PRODUCTION_DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"
START = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
DAYS = 8
LOSE_ON_DAY = 3


def definitions_on(url: str, **resources) -> dg.Definitions:
    """The project's definitions (every sensor and schedule) on this domain database."""
    defs = build_definitions()
    return dg.Definitions(
        assets=list(defs.assets or []),
        asset_checks=list(defs.asset_checks or []),
        jobs=list(defs.jobs or []),
        sensors=list(defs.sensors or []),
        schedules=list(defs.schedules or []),
        resources={**(defs.resources or {}), "ivyi_db": IvyiDatabase(url=url), **resources},
    )


def _statuses(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(gift_processes.c.id, gift_processes.c.status)).all())


# --- a copy of one seeded domain database per run, on SQLite or PostgreSQL ---


def _seed(engine) -> None:
    for price in (1500, 2500, 3500):
        make_gift(engine, price_cents=price)
    for offset in (1, 2, 3):
        make_occasion(engine, date=START.date() + dt.timedelta(days=offset), recurs_yearly=False)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def seeded_copies(request, tmp_path_factory):
    """A function giving a new copy of one seeded domain database (its URL) at each call."""
    made: list[str] = []
    tmp_path = tmp_path_factory.mktemp("seeded")
    if request.param == "sqlite":
        template = tmp_path / "template.db"
        upgrade(f"sqlite:///{template}")
        _seed(get_engine(f"sqlite:///{template}"))
        get_engine(f"sqlite:///{template}").dispose()

        def copy() -> str:
            target = tmp_path / f"copy_{len(made)}.db"
            shutil.copyfile(template, target)
            made.append(f"sqlite:///{target}")
            return made[-1]

        yield copy
    else:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        template = f"ivyi_heal_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{template}"'))
        upgrade(_pg_url(template))
        _seed(get_engine(_pg_url(template)))
        get_engine(_pg_url(template)).dispose()

        def copy() -> str:
            name = f"{template}_{len(made)}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            made.append(name)
            return _pg_url(name)

        yield copy
        for name in [*made, template]:
            get_engine(_pg_url(name)).dispose()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    for url in made:
        if url.startswith("sqlite"):
            get_engine(url).dispose()


def _lifecycle(url: str, home: Path, monkeypatch, fault=None) -> dict:
    """Tick once a day; `fault(home)` strikes before the tick of LOSE_ON_DAY (a new home?)."""
    defs = definitions_on(url)
    for day in range(DAYS):
        if fault and day == LOSE_ON_DAY:
            home = fault(home, url) or home
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        with open_instance(Settings(home.parent, url, home)) as instance:
            assert tick(instance, defs, START + dt.timedelta(days=day)).ok
    return snapshot(get_engine(url))


def _lose_the_home(home: Path, _url: str) -> None:
    shutil.rmtree(home)


def _delete_every_partition(home: Path, _url: str) -> None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for key in instance.get_dynamic_partitions(gift_processes_partitions.name):
            instance.delete_dynamic_partition(gift_processes_partitions.name, key)


@pytest.fixture
def postgres_dagster_home(tmp_path, monkeypatch):
    """A function making a DAGSTER_HOME with the production dagster.yaml on a new database."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ivyi_dagster_{uuid.uuid4().hex[:10]}"

    def make(_old_home: Path, _url: str) -> Path:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        monkeypatch.setenv("DAGSTER_PG_URL", _pg_url(name))
        home = tmp_path / "moved" / "dh"
        home.mkdir(parents=True)
        shutil.copyfile(PRODUCTION_DAGSTER_YAML, home / "dagster.yaml")
        return home

    yield make
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _forget_the_sensor_cursors(_home: Path, url: str) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(
            pipeline_state.delete().where(pipeline_state.c.name.like("local_runs/cursor/%"))
        )


@pytest.fixture(scope="module")
def uninterrupted(seeded_copies, tmp_path_factory) -> dict:
    """The compared tables after the lifecycle without a fault (once per backend)."""
    with pytest.MonkeyPatch.context() as env:
        home = tmp_path_factory.mktemp("reference") / "dh"
        return _lifecycle(seeded_copies(), home, env)


def _heals(seeded_copies, expected, tmp_path, monkeypatch, fault) -> None:
    url = seeded_copies()
    found = _lifecycle(url, tmp_path / "faulty" / "dh", monkeypatch, fault)

    statuses = _statuses(get_engine(url))
    assert len(statuses) == 3
    assert set(statuses.values()) == {"COMPLETED"}
    assert found == expected


def test_a_dagster_home_lost_mid_lifecycle_ends_as_an_uninterrupted_run_would(
    seeded_copies, uninterrupted, tmp_path, monkeypatch
):
    _heals(seeded_copies, uninterrupted, tmp_path, monkeypatch, _lose_the_home)


@pytest.mark.postgres
def test_moving_from_the_embedded_instance_to_postgresql_mid_lifecycle(
    seeded_copies, uninterrupted, tmp_path, monkeypatch, postgres_dagster_home, request
):
    if request.node.callspec.params["seeded_copies"] == "sqlite":
        pytest.skip("the move is tested with production's shape: both databases on PostgreSQL")
    _heals(seeded_copies, uninterrupted, tmp_path, monkeypatch, postgres_dagster_home)


@pytest.mark.slow
def test_sensor_cursors_lost_mid_lifecycle_are_rebuilt_from_the_domain_data(
    seeded_copies, uninterrupted, tmp_path, monkeypatch
):
    _heals(seeded_copies, uninterrupted, tmp_path, monkeypatch, _forget_the_sensor_cursors)


@pytest.mark.slow
def test_partitions_deleted_by_hand_mid_lifecycle_heal_at_the_next_tick(
    seeded_copies, uninterrupted, tmp_path, monkeypatch
):
    _heals(seeded_copies, uninterrupted, tmp_path, monkeypatch, _delete_every_partition)


# --- concurrent first use of a brand-new home ---


def _concurrent_first_ticks(tmp_path: Path, trial: int) -> None:
    url = f"sqlite:///{tmp_path / f'trial{trial}.db'}"
    upgrade(url)
    _seed(get_engine(url))
    deployment = Deployment(url, tmp_path / f"home{trial}")
    # A brand-new IVYI_HOME with the embedded default instance: not even its folder exists.
    del deployment.env["DAGSTER_HOME"]
    home = Path(deployment.env["IVYI_HOME"]) / "dagster_home"
    ticks = [deployment.start("tick", "--as-of", START.isoformat()) for _ in range(4)]
    outputs = [t.communicate(timeout=300) for t in ticks]
    for t, (out, err) in zip(ticks, outputs, strict=True):
        assert t.returncode == 0, out + err
        assert "Traceback" not in err
    again = deployment.run("tick", "--as-of", (START + dt.timedelta(hours=1)).isoformat())
    assert again.returncode == 0, again.stdout + again.stderr
    runs_db = home / "history" / "runs.db"
    with sqlite3.connect(runs_db) as conn:
        heads = conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0]
    assert heads == 1
    engine = get_engine(url)
    statuses = _statuses(engine)
    assert len(statuses) == 3
    assert set(statuses.values()) == {"ORDERED"}  # windows of 1-3 days ahead close at once
    converged_tables(engine)  # no duplicate options, decisions, orders or history rows
    engine.dispose()


@pytest.mark.parametrize("trial", range(2))
def test_four_first_ticks_at_once_on_a_brand_new_home_leave_it_usable(tmp_path, trial):
    _concurrent_first_ticks(tmp_path, trial)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(2, 10))
def test_many_trials_of_four_first_ticks_at_once(tmp_path, trial):
    _concurrent_first_ticks(tmp_path, trial)


# --- a broken DAGSTER_HOME: one clear line ---


def _garbage_runs_db(home: Path) -> None:
    (home / "history" / "runs.db").write_bytes(b"\x13not a database" * 200)


def _two_alembic_heads(home: Path) -> None:
    with sqlite3.connect(home / "history" / "runs.db") as conn:
        conn.execute("INSERT INTO alembic_version VALUES ('0123456789ab')")


def _older_schema(home: Path) -> None:
    """Storage of a Dagster from before dynamic partitions (its index has no such table)."""
    with sqlite3.connect(home / "history" / "runs" / "index.db") as conn:
        conn.execute("DROP TABLE dynamic_partitions")


def _runs_db_replaced_by_a_folder(home: Path) -> None:
    runs_db = home / "history" / "runs.db"
    runs_db.unlink()
    runs_db.mkdir()


@pytest.fixture
def local_env(tmp_path, monkeypatch):
    """A SQLite domain database and a DAGSTER_HOME, both in the test's folder."""
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    upgrade(url)
    monkeypatch.setenv("IVYI_DATABASE_URL", url)
    monkeypatch.setenv("IVYI_HOME", str(tmp_path / "ivyi_home"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    shutil.copyfile(EMBEDDED_CONFIG, tmp_path / "dagster_home" / "dagster.yaml")
    yield tmp_path / "dagster_home"
    get_engine(url).dispose()


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_garbage_runs_db, "cannot be opened"),
        (_two_alembic_heads, "another Dagster schema version"),
        (_older_schema, "another Dagster schema version"),
        (_runs_db_replaced_by_a_folder, "cannot be opened"),
    ],
)
def test_a_broken_dagster_home_gives_one_clear_line_and_no_traceback(local_env, damage, says):
    runner = CliRunner()
    first = runner.invoke(main, ["tick", "--as-of", START.isoformat()])
    assert first.exit_code == 0, first.output
    damage(local_env)

    done = subprocess.run(
        [str(IVYI_COMMAND), "tick", "--as-of", (START + dt.timedelta(days=1)).isoformat()],
        capture_output=True,
        text=True,
    )

    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: the Dagster instance in DAGSTER_HOME=")
    assert str(local_env) in line
    assert says in line
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("pg_url", "says"),
    [
        (None, "reads the environment variable DAGSTER_PG_URL, which is not set or empty; set"),
        ("not a url", "names a storage URL that is not a database URL"),
        (
            _pg_url("ivyi_no_such_database"),
            'names a PostgreSQL database that does not exist (database "ivyi_no_such_database"',
        ),
    ],
    ids=["unset", "not a URL", "no such database"],
)
def test_a_bad_dagster_pg_url_is_one_line_naming_it_and_the_home_is_left_as_it_is(
    local_env, monkeypatch, pg_url, says
):
    # The production dagster.yaml reads DAGSTER_PG_URL: what is wrong is the variable, so the
    # line must not advise moving the home aside (the next command would then run on SQLite).
    shutil.copyfile(PRODUCTION_DAGSTER_YAML, local_env / "dagster.yaml")
    config = (local_env / "dagster.yaml").read_text()
    if pg_url is None:
        monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    else:
        monkeypatch.setenv("DAGSTER_PG_URL", pg_url)

    done = subprocess.run(
        [str(IVYI_COMMAND), "tick", "--as-of", START.isoformat()], capture_output=True, text=True
    )

    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert says in line
    assert "mv " not in line
    assert "Traceback" not in done.stdout + done.stderr
    assert {p.name for p in local_env.iterdir()} <= {"dagster.yaml", LOCK_FILE}
    assert (local_env / "dagster.yaml").read_text() == config


def test_a_dagster_home_that_is_a_file_gives_one_clear_line(local_env):
    shutil.rmtree(local_env)
    local_env.write_text("not a folder")

    done = CliRunner().invoke(main, ["tick"])

    assert done.exit_code == 1
    assert done.output.strip() == (
        f"error: DAGSTER_HOME {local_env} is a file, not a folder; point DAGSTER_HOME at a folder"
    )


def test_an_empty_embedded_dagster_yaml_is_rewritten(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'ivyi.db'}", tmp_path / "dh")
    (tmp_path / "dh").mkdir()
    (tmp_path / "dh" / "dagster.yaml").write_text("")
    try:
        with open_instance(settings) as instance:
            assert instance.run_retries_enabled
    finally:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert "run_retries" in (tmp_path / "dh" / "dagster.yaml").read_text()


# --- one clock for the calendar ---


def _covered(instance) -> set[str]:
    records = instance.fetch_materializations(OCCASION_DETECTION, limit=5000).records
    return {r.partition_key for r in records}


def test_a_backfill_as_of_a_future_date_covers_that_dates_whole_range(
    instance, engine, database_url
):
    as_of = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)
    make_gift(engine, price_cents=2500)
    belated_day, ahead_day = dt.date(2027, 2, 20), dt.date(2027, 3, 15)
    belated = make_occasion(engine, date=belated_day, recurs_yearly=False)
    ahead = make_occasion(engine, date=ahead_day, recurs_yearly=False)
    url = database_url

    summary = backfill(
        instance, definitions_on(url), dt.date(2027, 1, 1), dt.date(2027, 3, 22), as_of
    )

    assert summary.ok
    assert (summary.counts["belated"], summary.counts["created"]) == (1, 1)
    statuses = _statuses(engine)
    assert statuses[process_id_for(belated, belated_day)] == "ORDERED"
    assert statuses[process_id_for(ahead, ahead_day)] == "DECISION_WINDOW_OPEN"
    days = (dt.date(2027, 3, 22) - dt.date(2027, 1, 1)).days + 1
    assert len(_covered(instance)) == days
    assert "2027-03-22" in _covered(instance)


def test_a_backfill_as_of_a_past_date_before_the_default_first_date(
    instance, engine, database_url, monkeypatch
):
    monkeypatch.setenv(FIRST_DATE_ENV, "2024-06-01")
    as_of = dt.datetime(2024, 12, 20, 9, tzinfo=dt.UTC)
    make_gift(engine, price_cents=2500)
    day = dt.date(2024, 12, 10)
    occasion = make_occasion(engine, date=day, recurs_yearly=False)
    url = database_url

    summary = backfill(instance, definitions_on(url), dt.date(2024, 12, 1), day, as_of)

    assert summary.ok
    assert summary.counts["belated"] == 1
    assert _statuses(engine) == {process_id_for(occasion, day): "ORDERED"}
    assert _covered(instance) == {f"2024-12-{d:02d}" for d in range(1, 11)}


def test_a_backfill_before_the_configured_first_date_is_refused(ivyi_env, ivyi, monkeypatch):
    done = ivyi("backfill-missed", "--from", "2024-12-01", "--to", "2024-12-10")

    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: --from 2024-12-01 precedes the first occasion date 2025-01-01; "
        f"set {FIRST_DATE_ENV} to an earlier date"
    )


def test_detection_as_of_a_future_date_records_coverage_of_every_date_it_looked_at(
    instance, database_url
):
    as_of = dt.datetime(2028, 1, 10, 9, tzinfo=dt.UTC)
    url = database_url

    assert tick(instance, definitions_on(url), as_of).ok

    expected = {(as_of.date() + dt.timedelta(days=i)).isoformat() for i in range(22)}
    assert _covered(instance) == expected


def test_a_tick_back_in_time_changes_nothing_and_says_so(ivyi_env, engine):
    make_gift(engine, price_cents=2500)
    make_occasion(engine, date=START.date() + dt.timedelta(days=5), recurs_yearly=False)
    runner = CliRunner()
    later = START + dt.timedelta(days=1)
    assert runner.invoke(main, ["tick", "--as-of", later.isoformat()]).exit_code == 0
    before = snapshot(engine)
    state = read_state(engine, "local_runs/last_tick_as_of")
    make_occasion(engine, date=START.date() + dt.timedelta(days=2), recurs_yearly=False)

    done = runner.invoke(main, ["tick", "--as-of", START.isoformat()])

    assert done.exit_code == 1
    assert done.output.strip() == (
        f"error: tick as of {START.isoformat()} is earlier than the last tick's "
        f"{later.isoformat()}; nothing changed (ticks only move forward: give a later --as-of, "
        "or, if that tick's clock was wrong, move it back with `ivyi clock reset --to INSTANT`)"
    )
    assert snapshot(engine) == before
    assert read_state(engine, "local_runs/last_tick_as_of") == state
    with dg.DagsterInstance.get() as instance:
        assert len(instance.get_run_records()) == 1


def test_a_tick_back_in_time_raises_before_touching_the_instance(instance, database_url):
    url = database_url
    defs = definitions_on(url)
    tick(instance, defs, START + dt.timedelta(days=1))
    runs = len(instance.get_run_records())

    with pytest.raises(ClockWentBack):
        tick(instance, defs, START)

    assert len(instance.get_run_records()) == runs


def test_a_stop_signal_dagster_only_noted_stops_the_tick_after_that_run(
    instance, database_url, monkeypatch
):
    """Between two steps Dagster's own handler only notes an interrupt, and forgets it when the
    run ends, which then succeeds. The signal still reached the wakeup pipe the CLI watches
    (`set_wakeup_fd`), so the tick stops after that run instead of running on."""
    _seed(get_engine(database_url))
    defs = definitions_on(database_url)
    with (
        signal_only_in_the_wakeup_pipe(monkeypatch, signal.SIGINT),
        pytest.raises(Stopped) as stopped,
    ):
        tick(instance, defs, START)

    assert stopped.value.signum == signal.SIGINT
    (record,) = instance.get_run_records()  # no run after the one the signal arrived in
    assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
    assert tick(instance, defs, START).ok  # the next tick does the rest
    assert len(instance.get_run_records()) > 1


# --- failure bookkeeping at any batch size ---


class _ProviderDown(SimulatedFulfilmentProvider):
    def place_order(self, idempotency_key: str, gift_id: str, at: dt.datetime) -> str:
        raise ProviderError("service unavailable")


class ProviderOutage(SimulatedFulfilment):
    """A provider that refuses every order (an outage longer than the step's retries)."""

    def provider(self, engine: sa.Engine) -> SimulatedFulfilmentProvider:
        return _ProviderDown(engine, dt.timedelta(hours=24), dt.timedelta(hours=48))


def _failing_range_books_each_process(engine, database_url, processes: int) -> None:
    ids = confirmed_processes(engine, processes)
    defs = definitions_on(database_url, fulfilment=ProviderOutage())
    with dg.instance_for_test() as instance:
        result = run_job(instance, defs, ids)
        # What the failure sensor (or the local driver) does after a failed run.
        record_run_failure(instance, engine, result.dagster_run)

    assert not result.success
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                sa.select(gift_processes.c.id, gift_processes.c.last_error).where(
                    gift_processes.c.id.in_(ids)
                )
            ).all()
        )
    assert len(rows) == processes
    run = result.run_id[:8]
    for pid in ids:
        assert rows[pid] == (
            f"run {run}, step place_order: fulfilment provider error: service unavailable"
        )


def test_80_processes_failing_in_one_ranged_run_each_get_their_own_last_error(engine, database_url):
    # Past about 52 the old 2,000-character id list was cut; 80 shows it in a sixth the time.
    _failing_range_books_each_process(engine, database_url, 80)


@pytest.mark.slow
def test_500_processes_failing_in_one_ranged_run_each_get_their_own_last_error(
    engine, database_url
):
    _failing_range_books_each_process(engine, database_url, 500)


# --- ensuring partitions costs what the named processes cost, not what the table holds ---


def _statements_of(fn) -> list[str]:
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):
        sent.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    return sent


def test_ensuring_partitions_reads_only_the_named_keys_whatever_the_table_holds(instance):
    def occurrences(n: int) -> dict[str, tuple[str, dt.date]]:
        """{process id: (occasion id, date)} of n made-up processes, read by no database."""
        return {str(uuid.uuid4()): (uuid.uuid4().hex, dt.date(2026, 6, 15)) for _ in range(n)}

    def ensure_ten() -> list[str]:
        ten = occurrences(10)
        return _statements_of(lambda: ensure_process_partitions(instance, list(ten), ten))

    few = ensure_ten()
    many_processes = occurrences(5000)
    ensure_process_partitions(instance, list(many_processes), many_processes)
    many = ensure_ten()

    assert len(many) == len(few)
    reads = [s for s in many if "FROM dynamic_partitions" in s]
    assert reads
    assert all(" IN (" in s for s in reads)
