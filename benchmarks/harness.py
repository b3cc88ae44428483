"""What every scenario shares: throwaway databases, a Dagster instance on PostgreSQL, timing."""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from benchmarks import pgbouncer
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade

ADMIN_URL = os.environ.get(
    "IVYI_BENCH_PG_URL",
    os.environ.get("IVYI_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
)

INSTANCE_YAML = """\
storage:
  postgres:
    postgres_url: "{url}"
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 8
    dequeue_interval_seconds: {dequeue_interval}
    tag_concurrency_limits:
      - key: "ivyi/process_id"
        value:
          applyLimitPerUniqueValue: true
        limit: 1
local_artifact_storage:
  module: dagster.core.storage.root
  class: LocalArtifactStorage
  config:
    base_dir: "{home}"
compute_logs:
  module: dagster.core.storage.local_compute_log_manager
  class: LocalComputeLogManager
  config:
    base_dir: "{home}/compute_logs"
telemetry:
  enabled: false
"""


# Dagster's own switches for fewer event-log writes (read from the environment at each
# write, by every process that executes runs): one INSERT per batch of materializations
# and one planned event per asset and run instead of one per partition.
BATCHED_EVENTS = {
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
}


@dataclass
class Env:
    """Where a benchmark runs: the PostgreSQL server, and pgbouncer's port when one is up."""

    admin_url: str = ADMIN_URL
    pgbouncer_port: int | None = None
    batched_events: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def events_label(self) -> str:
        """How Dagster writes its event log in this run."""
        if not self.batched_events:
            return (
                "Dagster event writes: default (one write per event, planned event per partition)"
            )
        return (
            "Dagster event writes: batched ("
            + ", ".join(f"{k}={v}" for k, v in BATCHED_EVENTS.items())
            + ")"
        )

    def dagster_url(self, database_url: str) -> str:
        """The URL Dagster's storage uses: through pgbouncer when it runs, psycopg2 always."""
        url = database_url.replace("postgresql://", "postgresql+psycopg2://", 1)
        if self.pgbouncer_port is None:
            return url
        return pgbouncer.via_pgbouncer(url, self.pgbouncer_port)

    @property
    def storage_label(self) -> str:
        """How Dagster reaches PostgreSQL in this run."""
        if self.pgbouncer_port is None:
            why = "--no-pgbouncer" if pgbouncer.binary() else "pgbouncer not installed"
            return f"dagster-postgres straight on PostgreSQL ({why})"
        return f"dagster-postgres through pgbouncer (transaction pooling, :{self.pgbouncer_port})"


@contextmanager
def _environ(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the block."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def environment(use_pgbouncer: bool = True, batched_events: bool = True) -> Iterator[Env]:
    """The benchmark environment; starts pgbouncer when it is installed and wanted."""
    env = Env(batched_events=batched_events)
    with ExitStack() as stack:
        if batched_events:
            stack.enter_context(_environ(BATCHED_EVENTS))
        else:
            stack.enter_context(_environ(dict.fromkeys(BATCHED_EVENTS)))
        if use_pgbouncer and pgbouncer.binary():
            env.pgbouncer_port = stack.enter_context(pgbouncer.pgbouncer(env.admin_url))
        elif use_pgbouncer:
            env.notes.append(
                "pgbouncer is not installed: Dagster storage goes straight to PostgreSQL "
                f"(install it with `{pgbouncer.INSTALL_HINT}`)"
            )
        else:
            env.notes.append("--no-pgbouncer: Dagster storage goes straight to PostgreSQL")
        yield env


def database_url(admin_url: str, name: str) -> str:
    """The URL of database name on admin_url's server."""
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def settle(env: Env) -> None:
    """Write out what earlier work left in PostgreSQL's WAL (`CHECKPOINT`) before a timed push,
    so that a checkpoint of one push's writes does not land inside the next one's timing (the
    floor, run right after ours, measured 2.5 and 3.9 ms a process a run apart without it).
    Needs a superuser (the benchmarks' admin URL is one); without one the run's notes say so."""
    admin = sa.create_engine(env.admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("CHECKPOINT"))
    except sa.exc.DBAPIError as error:
        note = f"CHECKPOINT before timed pushes refused ({type(error.orig).__name__}): not settled"
        if note not in env.notes:
            env.notes.append(note)
    finally:
        admin.dispose()


@contextmanager
def throwaway_database(env: Env, prefix: str, migrate: bool = True) -> Iterator[str]:
    """A fresh PostgreSQL database (migrated to our schema unless told not to), dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(env.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = database_url(env.admin_url, name)
    try:
        if migrate:
            upgrade(url)
        yield url
    finally:
        get_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def dagster_instance(
    env: Env, dequeue_interval: int = 1
) -> Iterator[tuple[dg.DagsterInstance, str]]:
    """A Dagster instance on a throwaway PostgreSQL database; yields it and its DAGSTER_HOME."""
    with throwaway_database(env, "ivyi_bench_dagster", migrate=False) as url:
        with tempfile.TemporaryDirectory(prefix="ivyi_bench_home_") as home:
            Path(home, "dagster.yaml").write_text(
                INSTANCE_YAML.format(
                    url=env.dagster_url(url), dequeue_interval=dequeue_interval, home=home
                )
            )
            instance = dg.DagsterInstance.from_config(home)
            try:
                yield instance, home
            finally:
                instance.dispose()


def count_events(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, int]:
    """Event log records of these runs, by Dagster event type (log lines as 'LOG')."""
    counts: dict[str, int] = {}
    for run_id in run_ids:
        cursor = None
        while True:
            conn = instance.get_records_for_run(run_id, cursor=cursor, limit=5000)
            for record in conn.records:
                entry = record.event_log_entry
                kind = entry.dagster_event_type.value if entry.dagster_event_type else "LOG"
                counts[kind] = counts.get(kind, 0) + 1
            if not conn.has_more:
                break
            cursor = conn.cursor
    return counts


REPO_ROOT = Path(__file__).resolve().parent.parent


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment, with the repository on PYTHONPATH so that `benchmarks` imports."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def run_probe(module: str, *args: str, timeout: float = 1800) -> str:
    """Run `python -m module args` in a fresh process; its stdout, or its stderr in the error."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode:
        raise RuntimeError(f"{module} exited with {out.returncode}:\n{out.stderr[-4000:]}")
    return out.stdout


class Stopwatch:
    """Elapsed wall-clock seconds of a with-block."""

    def __enter__(self) -> "Stopwatch":
        self.seconds = 0.0
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start
