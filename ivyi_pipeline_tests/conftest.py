"""Shared fixtures: a migrated domain database on SQLite and on PostgreSQL."""

import os
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.db.schema import metadata
from ivyi_pipeline.settings import RETRY_DELAY_ENV, Settings
from ivyi_pipeline.workflows.gifting_process.funnel_report import transition_instants

# Step retries after a transient error wait 0.01 s, 0.03 s, 0.07 s here instead of 0.5 s, 1.5 s,
# 3.5 s: set before any test starts a command, so every `ivyi` subprocess, daemon and code
# server inherits it. The test of the waits themselves runs on the default.
os.environ.setdefault(RETRY_DELAY_ENV, "0.01")

PG_ADMIN_URL = os.environ.get(
    "IVYI_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


def _pg_url(dbname: str) -> str:
    return (
        sa.engine.make_url(PG_ADMIN_URL).set(database=dbname).render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def postgres_database():
    """A throwaway PostgreSQL database for this test session, migrated once, dropped after."""
    name = f"ivyi_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    upgrade(url)
    yield url
    get_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with get_engine(url).begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A migrated, empty domain database; every test using it runs on both backends."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ivyi.db'}"
        upgrade(url)
        yield url
        get_engine(url).dispose()
    else:
        url = request.getfixturevalue("postgres_database")
        _truncate_all(url)
        yield url


@pytest.fixture
def engine(database_url) -> sa.Engine:
    """The engine of the per-test database."""
    return get_engine(database_url)


@pytest.fixture
def instance():
    """A throwaway Dagster instance (SQLite storage in a temporary folder)."""
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def ivyi_env(monkeypatch, tmp_path, database_url):
    """Environment for CLI tests: the test database and a fresh Dagster home."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    monkeypatch.setenv("IVYI_DATABASE_URL", database_url)
    monkeypatch.setenv("IVYI_HOME", str(tmp_path / "ivyi_home"))
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    return {"database_url": database_url, "dagster_home": dagster_home}


IVYI_COMMAND = Path(sys.executable).with_name("ivyi")


@pytest.fixture
def ivyi():
    """Run the installed `ivyi` command in a subprocess with the test's environment."""

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(IVYI_COMMAND), *args], capture_output=True, text=True, timeout=timeout
        )

    return run


DEMO_AS_OF = "2026-03-02T09:00:00Z"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> tuple[Settings, subprocess.CompletedProcess]:
    """`ivyi demo --reset` once per session, as a user runs it on the embedded default: no
    IVYI_DATABASE_URL nor DAGSTER_HOME, so SQLite and Dagster's instance under IVYI_HOME."""
    home = tmp_path_factory.mktemp("demo_home")
    env = {k: v for k, v in os.environ.items() if k not in ("IVYI_DATABASE_URL", "DAGSTER_HOME")}
    env["IVYI_HOME"] = str(home)
    result = subprocess.run(
        [str(IVYI_COMMAND), "demo", "--reset", "--as-of", DEMO_AS_OF],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    # The demo's own processes, read before any test adds one to the shared home (the browser
    # test adds a blocked process, and xdist runs the files in any order).
    database_url = f"sqlite:///{home / 'ivyi.db'}"
    if result.returncode == 0:
        engine = get_engine(database_url)
        with engine.connect() as conn:
            ids = conn.execute(sa.text("SELECT id FROM gift_processes")).scalars()
            result.process_ids = set(ids)
        result.funnel_instants = len(transition_instants(engine))
        engine.dispose()
    return Settings(home, database_url, home / "dagster_home"), result


@pytest.fixture(scope="session")
def demo_home(demo_run) -> Settings:
    """The session's demo home as `ivyi ui` prepares it: the demo's runs and checks, then the
    funnel materialized as of every simulated instant (unless the demo already did)."""
    from ivyi_pipeline.entrypoints.demo import materialize_funnel_history
    from ivyi_pipeline.instance import open_instance

    settings, result = demo_run
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVYI_HOME", str(settings.home))
        env.setenv("IVYI_DATABASE_URL", settings.database_url)
        env.setenv("DAGSTER_HOME", str(settings.dagster_home))
        with open_instance(settings) as instance:
            if instance.get_latest_materialization_event(dg.AssetKey("gifting_funnel")) is None:
                engine = get_engine(settings.database_url)
                materialize_funnel_history(instance, engine, lambda _: None)
    get_engine(settings.database_url).dispose()
    return settings


# How `-n 2 --dist loadfile` (the README's test command) shares out the files. xdist's own
# loadfile sends each file whole to a worker, the files with the most tests first; here the
# long files with few tests (a demo, a webserver, a daemon each) came last and one worker ran
# them while the other idled. So the units start longest first, as LONGEST_FIRST orders them
# (the rest after, in collection order, the unit tests last), and every file using the
# session's demo is one unit, so that one worker runs `ivyi demo` once instead of each worker.

DEMO_FILES = frozenset(
    f"ivyi_pipeline_tests/e2e/{name}.py"
    for name in (
        "test_cli_demo",
        "test_demo_follows_the_step_table",
        "test_no_personal_data",
        "test_ui_browser",
    )
)
DEMO_UNIT = "the session's demo"
LONGEST_FIRST = tuple(
    unit if unit == DEMO_UNIT else f"ivyi_pipeline_tests/{unit}.py"
    # Worker-seconds of each on this 2-core machine while another suite ran beside it.
    for unit in (
        "integration/test_derived_instance",  # 160 s
        "integration/test_cli_operator_clock",  # 170 s (its PostgreSQL variants slow apart)
        DEMO_UNIT,  # 110 s: `ivyi demo`, then the webserver and browser over it
        "e2e/test_cli_scenario",  # 95 s
        "integration/test_cli_operator_faults",  # 90 s
        "e2e/test_benchmarks_smoke",  # 33-47 s (its two benchmark runs side by side)
        "e2e/test_production_processes",  # 63 s
        "dagster/test_job",  # 53 s
        "integration/test_reliability_retries",  # 53 s
        "dagster/test_backfill",  # 47 s
        "e2e/test_reliability_crash",  # 43 s
        "e2e/test_celery_scale_out",  # 36 s
        "e2e/test_reliability_pg_restart",  # 33 s
        "dagster/test_checks",  # 31 s
        "e2e/test_ui_signals",  # 30 s
    )
)


def _unit(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return DEMO_UNIT if path in DEMO_FILES else path


@pytest.hookimpl(tryfirst=True)  # before `-m 'not slow'` deselects
def pytest_collection_modifyitems(config, items):
    """Longest units first (a stable sort: each file's tests stay together, in their order);
    the PostgreSQL variant of a `slow_on_postgres` test is `slow`."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database_url") == "postgres"
        if on_postgres and item.get_closest_marker("slow_on_postgres"):
            item.add_marker(pytest.mark.slow)
    first = {unit: rank for rank, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: first.get(_unit(item.nodeid), len(first)))
    strays = {
        item.nodeid.split("::", 1)[0]
        for item in items
        if "demo_run" in item.fixturenames and _unit(item.nodeid) != DEMO_UNIT
    }
    if strays:
        warnings.warn(
            f"{sorted(strays)} use the session's demo: add them to conftest.DEMO_FILES, or "
            "a second worker runs `ivyi demo` again",
            stacklevel=1,
        )


def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile as described above; any other --dist is xdist's own."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    config.option.loadscopereorder = False  # start the units in the order sorted above
    return Scheduling(config, log)
