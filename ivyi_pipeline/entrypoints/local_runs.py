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
another command's id belongs to a command that died: it is marked FAILED
(`dagster_internals.mark_run_failed`) and executed again with its own tags (as Dagster's run retries
would), and, for run keys, counts as failed. A command that is stopped (SIGTERM, Ctrl-C) or
fails marks its own unfinished runs FAILED (`ivyi/interrupted`) and is not marked finished, so
the next command executes them again too, and runs the CREATED processes it left. Steps are
idempotent (guarded writes, one order per process), so nothing is done twice.
"""

import contextlib
import io
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.clock import parse_instant
from ivyi_pipeline.db.engine import is_postgres
from ivyi_pipeline.db.locks import driver_lock
from ivyi_pipeline.db.pipeline_state import read_state, write_state
from ivyi_pipeline.domain.events import GiftingProcessEvent as Event
from ivyi_pipeline.entrypoints.progress import Progress
from ivyi_pipeline.errors import EnvironmentProblem, IvyiError
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.dagster_internals import mark_run_failed
from ivyi_pipeline.orchestration.failures import record_run_failure
from ivyi_pipeline.orchestration.funnel import report_funnel
from ivyi_pipeline.orchestration.jobs import OCCASION_DETECTION_JOB, gifting_process_job
from ivyi_pipeline.orchestration.occasion_dates import check_range
from ivyi_pipeline.orchestration.occasion_gaps import SENSOR as OCCASION_GAPS_SENSOR
from ivyi_pipeline.orchestration.partitions import ensure_process_partitions, partition_order
from ivyi_pipeline.orchestration.resources import Clock
from ivyi_pipeline.orchestration.run_log import ENVIRONMENT_FAULT, NO_RUN_RETRY
from ivyi_pipeline.orchestration.run_requests import plan_runs
from ivyi_pipeline.orchestration.schedules import DAILY_SCHEDULE
from ivyi_pipeline.orchestration.sensors import gifting_funnel_sensor, occasion_backfill_sensor
from ivyi_pipeline.settings import debug
from ivyi_pipeline.workflows.gifting_process import data_clock, due
from ivyi_pipeline.workflows.gifting_process import redrive as redrive_rules
from ivyi_pipeline.workflows.gifting_process.backfill_policy import Outcome

QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""The event log keeps everything; the terminal hears only the command's own lines (a failed
step's error and traceback are in the run's event log, its one-line reason in the process's
last_error). IVYI_DEBUG=1 lets Dagster's warnings and errors through (debug_console)."""


def debug_console() -> dict | None:
    """With IVYI_DEBUG set, Dagster's console logger at WARNING (the event log's problems)."""
    if debug():
        return {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    return None


MAX_ROUNDS = 12
CURSOR = "local_runs/cursor/{}"
LAST_TICK_AS_OF = data_clock.LAST_TICK_AS_OF
DRIVER = "local_runs/driver"
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
VIEW_SENSORS = (gifting_funnel_sensor.name, OCCASION_GAPS_SENSOR)
"""Sensors that describe the data rather than run it: evaluated once a command, at its end."""


class ClockWentBack(IvyiError):
    """A tick whose --as-of is earlier than the last tick's."""


class DatabaseFileGone(IvyiError):
    """The SQLite file was deleted or replaced while a command wrote to it."""


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGINT asked the command to stop (a KeyboardInterrupt, so it unwinds alike).

    `signum` is None when the signal reached Dagster's own handler inside a run.
    """

    def __init__(self, signum: int | None):
        super().__init__(signum)
        self.signum = signum


def _environment_fault(result: dg.ExecuteInProcessResult) -> str | None:
    """What to fix when a step failed on a fault of the environment (`ENVIRONMENT_FAULT`)."""
    for event in result.all_events:
        data = event.step_failure_data if event.is_step_failure else None
        values = data.user_failure_data.metadata if data and data.user_failure_data else {}
        if ENVIRONMENT_FAULT in values:
            return str(values[ENVIRONMENT_FAULT].value)
    return None


def _interrupted(result: dg.ExecuteInProcessResult) -> bool:
    """True when a signal interrupted one of the run's steps."""
    return any(
        event.is_step_failure
        and event.step_failure_data.error is not None
        and event.step_failure_data.error.cls_name == "DagsterExecutionInterruptedError"
        for event in result.all_events
    )


_STOP: list[int] = []
"""The signal that asked this process to stop; Dagster may swallow the interrupt it raised
inside a run (the run ends FAILED), so the driver checks it after every run."""


_SIGNALS: list[int] = []
"""A pipe the CLI asks Python to write each received signal's number to (`set_wakeup_fd`),
whichever handler runs: inside a run Dagster's own handler takes the signal."""


def watch_signals(read_fd: int | None = None) -> bool:
    """Read received signal numbers from this (non-blocking) pipe; True while none is set."""
    if read_fd is not None and not _SIGNALS:
        _SIGNALS.append(read_fd)
    return not _SIGNALS


def _received_signal() -> int | None:
    if not _SIGNALS:
        return None
    try:
        received = os.read(_SIGNALS[0], 64)
    except BlockingIOError:
        return None
    return received[-1] if received else None


def stop_signal() -> int | None:
    """The signal that asked this process to stop (the CLI's handler or Dagster's), if any."""
    return _STOP[0] if _STOP else _received_signal()


def request_stop(signum: int) -> None:
    """Called by the CLI's signal handler: stop after (or inside) the current run."""
    _STOP.append(signum)
    raise Stopped(signum)


INTERRUPTED = "ivyi/interrupted"
RECOVERED_BY = "ivyi/recovered_by"
NO_DAGSTER_RETRY = {"dagster/max_retries": "0"}
"""The local driver executes a dead command's runs again itself; Dagster's run retries leave
the runs it marks FAILED."""


@dataclass
class LocalRunSummary:
    """What one local command did: its counts and the runs it executed."""

    counts: dict[str, int] = field(default_factory=dict)
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_run_keys: int = 0
    recovered: int = 0
    ended_dead: int = 0
    last_run: str | None = None

    @property
    def ok(self) -> bool:
        """True when no run failed."""
        return not self.failed


# --- what the driver keeps in the domain database ---


def _file_identity(engine: sa.Engine) -> tuple[int, int] | None:
    """(device, inode) of a SQLite database file; None for PostgreSQL or an in-memory one."""
    database = engine.url.database
    if is_postgres(engine) or not database or database == ":memory:":
        return None
    try:
        found = os.stat(database)
    except FileNotFoundError:
        return (-1, -1)
    return found.st_dev, found.st_ino


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
            self._file = _file_identity(self.engine)
            if forward_only:
                self._move_clock_forward()
            self._start()
            try:
                yield self
                self.check_database_file()
            except BaseException as exc:
                # Interrupted (SIGTERM, Ctrl-C) or failed (a full disk, a lost database): its
                # runs in flight end FAILED now, and, the command not being marked finished,
                # the next one executes them again.
                self._end_unfinished(exc)
                raise
            self._finish()

    def check_database_file(self) -> None:
        """Refuse to go on when the SQLite file was deleted or replaced since the start."""
        if self._file is not None and _file_identity(self.engine) != self._file:
            raise DatabaseFileGone(
                f"the database file {self.engine.url.database} was deleted or replaced while "
                "this command ran, so what it wrote since is lost; restore the file (or run "
                "`ivyi db upgrade` for a new one), then run the command again"
            )

    def _end_unfinished(self, exc: BaseException) -> None:
        """Mark this command's unfinished runs FAILED, best effort (the fault may persist)."""
        stopped = isinstance(exc, KeyboardInterrupt | dg.DagsterExecutionInterruptedError)
        why = "was stopped" if stopped else "failed"
        try:
            records = self.instance.get_run_records(
                filters=dg.RunsFilter(tags={tags.LOCAL_RUN: self.id}, statuses=UNFINISHED)
            )
            for record in records:
                run = record.dagster_run
                self.instance.add_run_tags(run.run_id, {INTERRUPTED: "true", **NO_DAGSTER_RETRY})
                mark_run_failed(
                    self.instance,
                    run,
                    f"the ivyi command that executed this run {why} before the run ended; "
                    "the next ivyi command executes it again",
                )
        except Exception:  # noqa: BLE001, S110 - the command's own error is the one to report
            pass

    def _move_clock_forward(self) -> None:
        last = read_state(self.engine, LAST_TICK_AS_OF)
        if last and self.as_of < parse_instant(last):
            raise ClockWentBack(
                f"tick as of {self.as_of.isoformat()} is earlier than the last tick's {last}; "
                "nothing changed (ticks only move forward: give a later --as-of, or, if that "
                "tick's clock was wrong, move it back with `ivyi clock reset --to INSTANT`)"
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
        if dead:
            self._start_left_in_created()
        write_state(self.engine, DRIVER, json.dumps({"id": self.id}))

    def _start_left_in_created(self) -> None:
        """Run the processes a dead command created but never ran (it died between the two).

        Detection does not find them again (they have a process) and the sensor re-requests
        CREATED processes only after `due.STALL_AFTER`; a command repeated at once with the
        same --as-of would otherwise leave them until a later tick.
        """
        waiting = due.left_in_created(self.engine, self.as_of)
        if not waiting:
            return
        gifting = self.defs.resources["gifting"]
        ids = sorted(waiting)
        keys = ensure_process_partitions(self.instance, ids, self.engine)
        order = partition_order(self.instance) if len(ids) > gifting.single_runs_up_to else None
        requests = plan_runs(
            ids,
            Event.START_WORKFLOW,
            self.as_of,
            order,
            gifting.batch_size,
            gifting.single_runs_up_to,
            waiting,
            keys,
        )
        for request in requests:
            self.execute(gifting_process_job.name, dict(request.tags), request.partition_key)
            self.summary.recovered += 1

    def _recover(self, command: str) -> None:
        """Mark FAILED each run a dead command left unfinished, and execute it again.

        Also the runs it marked FAILED itself while it was being stopped. The old run is
        tagged with the command that recovered it, so a recovery that dies too is not
        executed twice; Dagster's run retries leave it (`dagster/max_retries` 0).
        """
        unfinished = self.instance.get_run_records(
            filters=dg.RunsFilter(tags={tags.LOCAL_RUN: command}, statuses=UNFINISHED)
        )
        interrupted = self.instance.get_run_records(
            filters=dg.RunsFilter(
                tags={tags.LOCAL_RUN: command, INTERRUPTED: "true"},
                statuses=[dg.DagsterRunStatus.FAILURE],
            )
        )
        records = sorted(unfinished + interrupted, key=lambda r: r.create_timestamp)
        for record in records:
            run = record.dagster_run
            if run.tags.get(RECOVERED_BY):
                continue
            self.instance.add_run_tags(run.run_id, {RECOVERED_BY: self.id, **NO_DAGSTER_RETRY})
            if run.status in UNFINISHED:
                mark_run_failed(
                    self.instance,
                    run,
                    "the ivyi command that executed this run ended (killed) before the run "
                    f"did; ivyi command {self.id[:8]} executes it again",
                )
            kept = {
                k: v
                for k, v in run.tags.items()
                if (not k.startswith("dagster/") or k in KEPT_DAGSTER_TAGS)
                and k not in (INTERRUPTED, RECOVERED_BY)
            }
            self.progress.add_due(processes_in(kept, run.tags.get("dagster/partition")))
            self.execute(run.job_name, kept, run.tags.get("dagster/partition"))
            self.summary.recovered += 1
        self.summary.ended_dead += len(unfinished)

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
        received = stop_signal()
        if received is not None or _interrupted(result):
            # Dagster's own handler took the signal: it turned it into a failure of the run,
            # or, landing between steps, only noted it and forgot it when the run ended (the
            # wakeup pipe still has it). Stop here, as the signal asked, and leave an
            # unfinished run to the next command.
            if not result.success:
                self.instance.add_run_tags(result.run_id, {INTERRUPTED: "true", **NO_DAGSTER_RETRY})
            raise Stopped(received)
        (self.summary.succeeded if result.success else self.summary.failed).append(result.run_id)
        self.progress.run_finished(processes_in(run_tags, partition_key))
        self.summary.last_run = result.run_id
        fault = None if result.success else _environment_fault(result)
        if fault is not None:
            # Every later run would fail alike: stop, and leave this run to the next command.
            self.instance.add_run_tags(result.run_id, {INTERRUPTED: "true", **NO_DAGSTER_RETRY})
            raise EnvironmentProblem(
                f"the database refused a step of run {result.run_id[:8]}: {fault}, then run "
                "the command again (it finishes what this one left)"
            )
        if not result.success and job_name == gifting_process_job.name:
            # What the failure sensor does for the daemon's runs.
            record_run_failure(self.instance, self.engine, result.dagster_run)
        self.check_database_file()
        return result

    def already_ran(self, sensor_name: str, run_key: str) -> bool:
        """True when a run with this key succeeded, is running, or failed past the run retries.

        A failed run is executed again, like the daemon's run retries (`run_retries` in
        dagster.yaml), unless it failed on a permanent fault (`NO_RUN_RETRY`); an unfinished
        run of another local command is dead and counts as failed.
        """
        records = self.instance.get_run_records(
            filters=dg.RunsFilter(
                tags={"dagster/sensor_name": sensor_name, "dagster/run_key": run_key}
            ),
        )
        failures = 0
        for record in records:
            run = record.dagster_run
            if run.status == dg.DagsterRunStatus.FAILURE and all(
                run.tags.get(k) == v for k, v in NO_RUN_RETRY.items()
            ):
                return True  # a permanent fault: it waits for `ivyi redrive`
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
            and s.name not in VIEW_SENSORS
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

    def refresh_views(self, command: str, funnel: bool = True, gaps: bool = True) -> None:
        """Once per command, after its runs: the funnel as of its instant, the gap audit.

        Each view is refreshed where the definitions hold its sensor (the project's do; a
        benchmark's or a test's that leave the sensor out leave the view out too).
        """
        held = {sensor.name: sensor for sensor in self.defs.sensors or []}
        if funnel and gifting_funnel_sensor.name in held:
            report_funnel(self.instance, self.engine, self.as_of, f"ivyi {command}")
        if gaps and OCCASION_GAPS_SENSOR in held:
            sensor = held[OCCASION_GAPS_SENSOR]
            _, cursor = self.evaluate(sensor)
            if cursor is not None:
                write_state(self.engine, CURSOR.format(sensor.name), cursor)


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
    funnel: bool = True,
    progress: Progress | None = None,
) -> LocalRunSummary:
    """`ivyi tick`: evaluate the sensors as of `as_of` and execute the runs they request.

    A tick earlier than the last one changes nothing and raises ClockWentBack: sensor cursors
    and the calendar only move forward. A whole tick (no `sensor_names`) ends by refreshing
    the funnel (unless `funnel` is False: the demo records its own history) and the gap audit.
    """
    driver = LocalDriver(instance, defs, as_of, progress)
    with driver.session(forward_only=True):
        driver.tick_rounds(sensor_names)
        if sensor_names is None:
            driver.refresh_views("tick", funnel=funnel)
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
        with (
            dg.build_schedule_context(
                instance=instance, scheduled_execution_time=as_of, resources=defs.resources
            ) as context,
            contextlib.nullcontext() if debug() else contextlib.redirect_stderr(io.StringIO()),
        ):
            # The schedule's `context.log` line is for the daemon's tick log; outside it,
            # Dagster prints it to stderr, where a command prints only its own lines
            # (IVYI_DEBUG=1 lets it, and any warning of the evaluation, through).
            requests = schedule(context)
        requests = requests if isinstance(requests, list) else []
        driver.summary.counts = {"runs": len(requests)}
        driver.progress.add_due(sum(processes_in(r.tags, r.partition_key) for r in requests))
        for request in requests:
            run_tags = {**request.tags, "dagster/schedule_name": schedule.name}
            driver.execute(gifting_process_job.name, run_tags, request.partition_key)
        driver.refresh_views("batch")
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
        driver.refresh_views("backfill-missed")
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
        driver.refresh_views("redrive", gaps=False)
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
