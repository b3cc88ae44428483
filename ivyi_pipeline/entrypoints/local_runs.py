"""The local driver: `ivyi tick`, `batch`, `backfill-missed` and `redrive` where no daemon runs.

It sits on top of the definitions (nothing in them imports it) and uses Dagster's public API
only: sensors and the daily schedule are evaluated with `build_sensor_context` /
`build_schedule_context`, runs are executed with `execute_in_process`. What the driver keeps
about itself lives in the domain database (`pipeline_state`), so a new DAGSTER_HOME carries on:

- `local_runs/cursor/<sensor>`: each sensor's cursor (a missing one is rebuilt from the domain
  data: detection re-reads the lead window and skips occurrences that have a process);
- `local_runs/last_tick_as_of`: the clock of the last tick; a tick earlier than it is refused;
- `local_runs/driver`: the id of the last command that ran, whether it finished, and the ids
  of earlier ones that died (SIGKILL, a lost machine) whose runs were not yet recovered.

One command runs at a time per domain database (`driver_lock`: a PostgreSQL advisory lock,
or a file lock beside a SQLite file; both die with the process). Every run a command executes
carries its id (tag `ivyi/local_run`). So, under the lock, a run that is unfinished and carries
another command's id belongs to a command that died: it is executed again with its own tags
(as Dagster's run retries would) and, for run keys, counts as failed. Steps are idempotent
(guarded writes, one order per process), so nothing is done twice. The dead run itself stays
STARTED in Dagster's run history: no public API marks it failed, and it is never read again.
"""

import fcntl
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.clock import parse_as_of, to_db, utcnow
from ivyi_pipeline.db.engine import is_postgres
from ivyi_pipeline.db.schema import pipeline_state
from ivyi_pipeline.entrypoints.progress import Progress
from ivyi_pipeline.errors import IvyiError
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.failures import record_run_failure
from ivyi_pipeline.orchestration.jobs import OCCASION_DETECTION_JOB, gifting_process_job
from ivyi_pipeline.orchestration.occasion_dates import check_range
from ivyi_pipeline.orchestration.partitions import ensure_process_partitions
from ivyi_pipeline.orchestration.resources import Clock
from ivyi_pipeline.orchestration.schedules import DAILY_SCHEDULE
from ivyi_pipeline.orchestration.sensors import occasion_backfill_sensor
from ivyi_pipeline.workflows.gifting_process import redrive as redrive_rules
from ivyi_pipeline.workflows.gifting_process.backfill_policy import Outcome

QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""The event log keeps everything; the terminal hears only the command's own lines (a failed
step's error and traceback are in the run's event log, its one-line reason in the process's
last_error). IVYI_DEBUG=1 lets Dagster's warnings and errors through (debug_console)."""


def debug_console() -> dict | None:
    """With IVYI_DEBUG set, Dagster's console logger at WARNING (the event log's problems)."""
    if os.environ.get("IVYI_DEBUG"):
        return {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    return None


MAX_ROUNDS = 12
CURSOR = "local_runs/cursor/{}"
LAST_TICK_AS_OF = "local_runs/last_tick_as_of"
DRIVER = "local_runs/driver"
LOCK_KEY = 0x1F1D1  # the advisory lock of the local driver on a PostgreSQL domain database
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
KEPT_DAGSTER_TAGS = {
    "dagster/sensor_name",
    "dagster/schedule_name",
    "dagster/run_key",
    "dagster/asset_partition_range_start",
    "dagster/asset_partition_range_end",
}
REDRIVE = "redrive"


class ClockWentBack(IvyiError):
    """A tick whose --as-of is earlier than the last tick's."""


@dataclass
class LocalRunSummary:
    """What one local command did: its counts and the runs it executed."""

    counts: dict[str, int] = field(default_factory=dict)
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_run_keys: int = 0
    recovered: int = 0

    @property
    def ok(self) -> bool:
        """True when no run failed."""
        return not self.failed


# --- what the driver keeps in the domain database ---


def read_state(engine: sa.Engine, name: str) -> str | None:
    """A value the pipeline keeps about itself, or None."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(pipeline_state.c.value).where(pipeline_state.c.name == name)
        ).scalar()


def write_state(engine: sa.Engine, name: str, value: str) -> None:
    """Store a value (insert or replace); callers hold the driver lock."""
    row = {"value": value, "updated_at": to_db(utcnow())}
    with engine.begin() as conn:
        updated = conn.execute(
            pipeline_state.update().where(pipeline_state.c.name == name).values(row)
        )
        if not updated.rowcount:
            conn.execute(pipeline_state.insert().values(name=name, **row))


@contextmanager
def driver_lock(engine: sa.Engine) -> Iterator[None]:
    """One local command at a time on this domain database; released when the process dies.

    PostgreSQL: a transaction-level advisory lock held by a connection of its own (it also
    works through pgbouncer in transaction mode). SQLite: an exclusive flock on a file beside
    the database file (an in-memory database has nobody to share with).
    """
    if is_postgres(engine):
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with nullcontext():
            yield
        return
    with open(Path(f"{database}.local-runs.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- one command ---


class LocalDriver:
    """One `ivyi` command's runs: executed here, booked, and recoverable if it dies."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        defs: dg.Definitions,
        as_of: datetime,
        progress: Progress | None = None,
    ):
        self.instance, self.defs, self.as_of = instance, defs, as_of
        self.engine = defs.resources["ivyi_db"].get_engine()
        self.id = uuid.uuid4().hex
        self.summary = LocalRunSummary()
        self.progress = progress or Progress("", enabled=False)

    @contextmanager
    def session(self, forward_only: bool = False) -> Iterator["LocalDriver"]:
        """Hold the driver lock, recover what dead commands left, set the calendar's clock.

        `forward_only` (a tick): refuse, before anything changes, a clock earlier than the
        last tick's, and remember this tick's.
        """
        with driver_lock(self.engine), dg.partition_loading_context(effective_dt=self.as_of):
            if forward_only:
                self._move_clock_forward()
            self._start()
            try:
                yield self
            except Exception:
                self._finish()  # its runs have ended; an interrupt or a kill leaves them to recover
                raise
            self._finish()

    def _move_clock_forward(self) -> None:
        last = read_state(self.engine, LAST_TICK_AS_OF)
        if last and self.as_of < parse_as_of(last):
            raise ClockWentBack(
                f"tick as of {self.as_of.isoformat()} is earlier than the last tick's {last}; "
                "nothing changed (ticks only move forward: give a later --as-of)"
            )
        write_state(self.engine, LAST_TICK_AS_OF, self.as_of.isoformat())

    def _finish(self) -> None:
        write_state(self.engine, DRIVER, json.dumps({"id": self.id, "finished": True}))

    def _start(self) -> None:
        state = json.loads(read_state(self.engine, DRIVER) or "{}")
        dead = list(state.get("dead", []))
        if state.get("id") and not state.get("finished"):
            dead.append(state["id"])
        write_state(self.engine, DRIVER, json.dumps({"id": self.id, "dead": dead}))
        for command in dead:
            self._recover(command)
        write_state(self.engine, DRIVER, json.dumps({"id": self.id}))

    def _recover(self, command: str) -> None:
        """Execute again each run a dead command left unfinished, with its own tags."""
        records = self.instance.get_run_records(
            filters=dg.RunsFilter(tags={tags.LOCAL_RUN: command}, statuses=UNFINISHED)
        )
        for record in reversed(records):
            run = record.dagster_run
            kept = {
                k: v
                for k, v in run.tags.items()
                if not k.startswith("dagster/") or k in KEPT_DAGSTER_TAGS
            }
            self.progress.add_due(processes_in(kept, run.tags.get("dagster/partition")))
            self.execute(run.job_name, kept, run.tags.get("dagster/partition"))
            self.summary.recovered += 1

    def execute(
        self, job_name: str, run_tags: dict[str, str], partition_key: str | None = None
    ) -> dg.ExecuteInProcessResult:
        """Execute a job in this process, then book the result (a gifting failure's errors)."""
        result = self.defs.resolve_job_def(job_name).execute_in_process(
            instance=self.instance,
            partition_key=partition_key,
            tags={**run_tags, tags.LOCAL_RUN: self.id},
            run_config=debug_console() or QUIET_CONSOLE,
            raise_on_error=False,
        )
        (self.summary.succeeded if result.success else self.summary.failed).append(result.run_id)
        self.progress.run_finished(processes_in(run_tags, partition_key))
        if not result.success and job_name == gifting_process_job.name:
            # What the failure sensor does for the daemon's runs.
            record_run_failure(self.instance, self.engine, result.dagster_run)
        return result

    def already_ran(self, sensor_name: str, run_key: str) -> bool:
        """True when a run with this key succeeded, is running, or failed past the run retries.

        A failed run is executed again, like the daemon's run retries (`run_retries` in
        dagster.yaml); an unfinished run of another local command is dead and counts as failed.
        """
        records = self.instance.get_run_records(
            filters=dg.RunsFilter(
                tags={"dagster/sensor_name": sensor_name, "dagster/run_key": run_key}
            ),
        )
        failures = 0
        for record in records:
            run = record.dagster_run
            if run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
                failures += 1
            elif run.is_finished or tags.LOCAL_RUN not in run.tags:
                return True  # succeeded, or the daemon's run in progress
            elif run.tags[tags.LOCAL_RUN] != self.id:
                failures += 1  # left unfinished by a command that died
        retries = self.instance.run_retries_max_retries if self.instance.run_retries_enabled else 0
        return failures > retries

    def evaluate(self, sensor: dg.SensorDefinition) -> tuple[list[dg.RunRequest], str | None]:
        """The sensor's run requests as of the driver's clock; its events and partitions applied."""
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=read_state(self.engine, CURSOR.format(sensor.name)),
            definitions=self.defs,
            sensor_name=sensor.name,
            resources={**(self.defs.resources or {}), "clock": Clock(as_of=self.as_of.isoformat())},
        )
        result = sensor(context)
        if isinstance(result, dg.SensorResult):
            for event in result.asset_events or []:
                self.instance.report_runless_asset_event(event)
            for request in result.dynamic_partitions_requests or []:
                if isinstance(request, dg.AddDynamicPartitionsRequest):
                    self.instance.add_dynamic_partitions(
                        request.partitions_def_name, list(request.partition_keys)
                    )
            return list(result.run_requests or []), result.cursor or context.cursor
        if isinstance(result, list):
            return result, context.cursor
        return [], context.cursor

    def tick_rounds(self, sensor_names: Sequence[str] | None = None) -> None:
        """Evaluate each sensor once, run what it asks, and repeat until nothing more is due."""
        sensors = [
            s
            for s in self.defs.sensors
            if (sensor_names is None or s.name in sensor_names)
            and not isinstance(s, dg.RunStatusSensorDefinition)
        ]
        for _ in range(MAX_ROUNDS):
            launched = 0
            for sensor in sensors:
                requests, cursor = self.evaluate(sensor)
                self.progress.add_due(sum(processes_in(r.tags, r.partition_key) for r in requests))
                for request in requests:
                    if request.run_key and self.already_ran(sensor.name, request.run_key):
                        self.summary.skipped_run_keys += 1
                        self.progress.add_due(-processes_in(request.tags, request.partition_key))
                        continue
                    run_tags = {
                        **request.tags,
                        "dagster/sensor_name": sensor.name,
                        "dagster/run_key": request.run_key or "",
                    }
                    self.execute(gifting_process_job.name, run_tags, request.partition_key)
                    launched += 1
                if cursor is not None:
                    write_state(self.engine, CURSOR.format(sensor.name), cursor)
            if not launched:
                break


def processes_in(run_tags: dict[str, str], partition_key: str | None) -> int:
    """How many processes a gifting run covers: its range's size, or 1 for one partition."""
    if tags.BATCH_SIZE in run_tags:
        return int(run_tags[tags.BATCH_SIZE])
    return 1 if partition_key or tags.PROCESS_ID in run_tags else 0


# --- the commands ---


def tick(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    as_of: datetime,
    sensor_names: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> LocalRunSummary:
    """`ivyi tick`: evaluate the sensors as of `as_of` and execute the runs they request.

    A tick earlier than the last one changes nothing and raises ClockWentBack: sensor cursors
    and the calendar only move forward.
    """
    driver = LocalDriver(instance, defs, as_of, progress)
    with driver.session(forward_only=True):
        driver.tick_rounds(sensor_names)
    return driver.summary


def batch(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    as_of: datetime,
    progress: Progress | None = None,
) -> LocalRunSummary:
    """`ivyi batch`: evaluate the daily schedule as of `as_of` and execute its runs here."""
    driver = LocalDriver(instance, defs, as_of, progress)
    with driver.session():
        schedule = defs.resolve_schedule_def(DAILY_SCHEDULE)
        # Exited: the instance the context opens from its ref would otherwise stay open, and
        # stay Dagster's current definitions state storage after this call.
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=as_of, resources=defs.resources
        ) as context:
            requests = schedule(context)
        requests = requests if isinstance(requests, list) else []
        driver.summary.counts = {"runs": len(requests)}
        driver.progress.add_due(sum(processes_in(r.tags, r.partition_key) for r in requests))
        for request in requests:
            run_tags = {**request.tags, "dagster/schedule_name": schedule.name}
            driver.execute(gifting_process_job.name, run_tags, request.partition_key)
    return driver.summary


def check_backfill_range(defs: dg.Definitions, start: date, end: date, as_of: datetime) -> None:
    """Refuse a range that is empty or outside the occasion-date calendar as of `as_of`."""
    job = defs.resolve_job_def(OCCASION_DETECTION_JOB)
    lead_days = defs.resources["gifting"].lead_days
    check_range(start, end, as_of, job.partitions_def.start.date(), lead_days)


def backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    start: date,
    end: date,
    as_of: datetime,
    progress: Progress | None = None,
) -> LocalRunSummary:
    """`ivyi backfill-missed`: one detection run over [start, end], then the runs it needs."""
    check_backfill_range(defs, start, end, as_of)
    driver = LocalDriver(instance, defs, as_of, progress)
    with driver.session():
        result = driver.execute(
            OCCASION_DETECTION_JOB,
            {
                tags.RANGE_START: start.isoformat(),
                tags.RANGE_END: end.isoformat(),
                tags.AS_OF: as_of.isoformat(),
            },
        )
        counts = {str(outcome): 0 for outcome in Outcome}
        for event in result.get_asset_materialization_events():
            values = event.materialization.metadata
            for key in counts:
                if key in values:
                    counts[key] += int(values[key].value)
        driver.summary.counts = counts
        if result.success:
            driver.tick_rounds([occasion_backfill_sensor.name])
    return driver.summary


def redrive(
    instance: dg.DagsterInstance, defs: dg.Definitions, process_id: str, as_of: datetime
) -> LocalRunSummary:
    """`ivyi redrive`: clear a process's last error and run the gifting job on it now."""
    driver = LocalDriver(instance, defs, as_of)
    with driver.session():
        redrive_rules.clear_error(driver.engine, process_id)
        key = ensure_process_partitions(instance, [process_id], driver.engine)[process_id]
        driver.execute(
            gifting_process_job.name,
            {tags.PROCESS_ID: process_id, tags.EVENT: REDRIVE, tags.AS_OF: as_of.isoformat()},
            key,
        )
    return driver.summary


__all__ = [
    "QUIET_CONSOLE",
    "ClockWentBack",
    "LocalRunSummary",
    "backfill",
    "batch",
    "redrive",
    "tick",
]
