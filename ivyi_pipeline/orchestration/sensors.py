"""Every sensor: occasion detection, the events that move a process on, backfills, failures,
the funnel and the occasion-gaps audit.

Each sensor that asks Dagster to run processes first ensures their partitions exist
(`ensure_process_partitions`), so an instance that lost them carries on at the next tick.
"""

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from ivyi_pipeline.clock import parse_instant
from ivyi_pipeline.domain.events import GiftingProcessEvent as Event
from ivyi_pipeline.orchestration.failures import record_run_failure
from ivyi_pipeline.orchestration.funnel import funnel_as_of, funnel_materialization
from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.occasion_dates import (
    OCCASION_DETECTION,
    coverage_events,
    newly_covered,
)
from ivyi_pipeline.orchestration.occasion_gaps import SENSOR as OCCASION_GAPS_SENSOR
from ivyi_pipeline.orchestration.occasion_gaps import gap_audit
from ivyi_pipeline.orchestration.partitions import (
    ensure_process_partitions,
    gift_processes_partitions,
    partition_order,
)
from ivyi_pipeline.orchestration.resources import (
    Clock,
    FulfilmentService,
    GiftingSettings,
    IvyiDatabase,
)
from ivyi_pipeline.orchestration.run_requests import plan_runs
from ivyi_pipeline.workflows.gifting_process import due, redrive
from ivyi_pipeline.workflows.gifting_process.backfill_policy import Outcome, waiting_to_start
from ivyi_pipeline.workflows.gifting_process.create import create_processes
from ivyi_pipeline.workflows.gifting_process.data_clock import data_now
from ivyi_pipeline.workflows.gifting_process.detection import (
    DetectionCursor,
    detect_due_occurrences,
)
from ivyi_pipeline.workflows.gifting_process.occasion_gaps import latest_occasion_recorded

SENSOR_DEFAULTS = {
    "job": gifting_process_job,
    "minimum_interval_seconds": 30,
    "default_status": dg.DefaultSensorStatus.RUNNING,
}
RECONCILE = "reconcile"
CREATED_KEYS = (str(Outcome.CREATED), str(Outcome.BELATED))
FETCH_LIMIT = 1000


def runs_for(
    context,
    engine,
    gifting: GiftingSettings,
    now: datetime,
    due_processes: Mapping[str, tuple[str, str]],
    event: str,
    ranged: bool = True,
) -> list[dg.RunRequest]:
    """Ensure the due processes' partitions, then plan their runs (ranges beyond a few)."""
    ids = sorted(due_processes)
    keys = ensure_process_partitions(context.instance, ids, engine)
    order = None
    if ranged and len(ids) > gifting.single_runs_up_to:
        order = partition_order(context.instance)
    return plan_runs(
        ids,
        event,
        now,
        order,
        gifting.batch_size,
        gifting.single_runs_up_to,
        due_processes,
        keys,
    )


@dg.sensor(**SENSOR_DEFAULTS)
def occasion_detection_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
):
    """Give every occurrence entering the lead window a process, a partition and a run."""
    now, engine = clock.now(), ivyi_db.get_engine()
    found, cursor = detect_due_occurrences(
        engine, now, DetectionCursor.parse(context.cursor), gifting.lead_days
    )
    new_ids = create_processes(engine, found, now)
    stalled = due.stalled_in_created(engine, now) | due.started_on_request(engine)
    stalled = {pid: due_to for pid, due_to in stalled.items() if pid not in frozenset(new_ids)}
    covered_days = newly_covered(context.cursor, cursor, now.date())
    covered = coverage_events(covered_days, "occasion_detection_sensor")
    if not new_ids and not stalled:
        return dg.SensorResult(
            skip_reason="no new occurrence in the lead window",
            cursor=cursor.serialize(),
            asset_events=covered,
        )
    created = {pid: (o.occasion_id, "CREATED") for pid, o in zip(new_ids, found, strict=True)}
    named = new_ids + sorted(stalled)
    keys = ensure_process_partitions(context.instance, named, engine)
    runs = plan_runs(
        new_ids,
        Event.START_WORKFLOW,
        now,
        [keys[pid] for pid in new_ids],
        gifting.batch_size,
        gifting.single_runs_up_to,
        created,
        keys,
    )
    runs += plan_runs(list(stalled), Event.START_WORKFLOW, now, None, 0, 0, stalled, keys)
    return dg.SensorResult(
        run_requests=runs,
        cursor=cursor.serialize(),
        # Already added above; the request tells the daemon and the UI which keys are new.
        dynamic_partitions_requests=[
            gift_processes_partitions.build_add_request([keys[pid] for pid in named])
        ],
        asset_events=covered,
    )


def _event_runs(context, engine, gifting: GiftingSettings, now, event, due_processes):
    if not due_processes:
        return dg.SkipReason(f"no process is due for {event}")
    return runs_for(context, engine, gifting, now, due_processes, event)


@dg.sensor(**SENSOR_DEFAULTS)
def decision_window_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
):
    """Processes whose decision window has expired get the top-ranked option selected."""
    now, engine = clock.now(), ivyi_db.get_engine()
    expired = due.expired_windows(engine, now)
    return _event_runs(context, engine, gifting, now, Event.DECISION_WINDOW_OPEN, expired)


@dg.sensor(**SENSOR_DEFAULTS)
def confirmation_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
):
    """A giver's confirmation in the inbox moves its process to CONFIRMED and on."""
    now, engine = clock.now(), ivyi_db.get_engine()
    pending = due.pending_confirmations(engine, now)
    return _event_runs(context, engine, gifting, now, Event.OPTION_CONFIRMED, pending)


@dg.sensor(**SENSOR_DEFAULTS)
def fulfilment_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
    fulfilment: FulfilmentService,
):
    """Orders the provider has shipped or delivered since, and confirmed gifts to order."""
    now, engine = clock.now(), ivyi_db.get_engine()
    updated = due.fulfilment_due(engine, now, fulfilment.provider(engine))
    return _event_runs(context, engine, gifting, now, Event.FULFILMENT_UPDATED, updated)


@dg.sensor(
    job=gifting_process_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def reconciler_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
):
    """Re-drive processes that sit past their state's deadline, at most once an hour each."""
    now, engine = clock.now(), ivyi_db.get_engine()
    stuck = redrive.stuck_processes(engine, now)
    if not stuck:
        return dg.SkipReason("no process sits past its deadline")
    hour = f"{now:%Y-%m-%dT%H}"
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{request.run_key}@{hour}",
                partition_key=request.partition_key,
                tags=request.tags,
            )
            for request in runs_for(context, engine, gifting, now, stuck, RECONCILE)
        ]
    )


def _created_on(record: dg.EventLogRecord) -> date | None:
    """The date of a backfill's materialization that created processes, else None."""
    materialization = record.asset_materialization
    if materialization is None or not record.partition_key:
        return None
    values = materialization.metadata
    created = sum(int(values[key].value) for key in CREATED_KEYS if key in values)
    return date.fromisoformat(record.partition_key) if created else None


def backfill_cursor(instance: dg.DagsterInstance, cursor: str | None) -> int:
    """The storage id the backfill sensor read up to, 0 when it must read from the start.

    The cursor names an event of this instance (its storage id and timestamp); after a new
    or replaced DAGSTER_HOME that event is not there, and reading every materialization again
    is safe: which processes still wait is decided by the domain database.
    """
    if not cursor:
        return 0
    try:
        seen = json.loads(cursor)
        storage_id, timestamp = int(seen["storage_id"]), float(seen["timestamp"])
    except (ValueError, KeyError, TypeError):
        return 0
    found = instance.fetch_materializations(
        dg.AssetRecordsFilter(OCCASION_DETECTION, storage_ids=[storage_id]), limit=1
    ).records
    return storage_id if found and found[0].timestamp == timestamp else 0


@dg.sensor(**SENSOR_DEFAULTS)
def occasion_backfill_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
):
    """Processes a backfill of occasion_detection created get their gifting runs, in batches."""
    after = backfill_cursor(context.instance, context.cursor)
    found = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(OCCASION_DETECTION, after_storage_id=after),
        limit=FETCH_LIMIT,
        ascending=True,
    ).records
    cursor = context.cursor
    if found:
        last = found[-1]
        cursor = json.dumps({"storage_id": last.storage_id, "timestamp": last.timestamp})
    days = sorted({day for record in found if (day := _created_on(record))})
    engine = ivyi_db.get_engine()
    waiting = waiting_to_start(engine, days) if days else {}
    if not waiting:
        return dg.SensorResult(skip_reason="no backfill created new processes", cursor=cursor)
    runs = runs_for(context, engine, gifting, clock.now(), waiting, Event.START_WORKFLOW)
    return dg.SensorResult(run_requests=runs, cursor=cursor)


@dg.run_failure_sensor(
    monitored_jobs=[gifting_process_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def gifting_failure_sensor(context: dg.RunFailureSensorContext, ivyi_db: IvyiDatabase):
    """A failed gifting run: its failed step and error become the processes' last_error."""
    errors = record_run_failure(context.instance, ivyi_db.get_engine(), context.dagster_run)
    context.log.info(
        "recorded the failure of run %s on %d process(es)", context.dagster_run.run_id, len(errors)
    )


REFRESH_EVERY = timedelta(hours=1)
"""Under the daemon, an idle funnel is reported again once the clock moved on this much."""
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def _last_finished(instance: dg.DagsterInstance, after: float) -> float | None:
    """The update time of the newest run that finished after `after` (a timestamp), if any."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=FINISHED, updated_after=datetime.fromtimestamp(after, tz=UTC)
        ),
        limit=1,
        order_by="update_timestamp",
        ascending=False,
    )
    return records[0].update_timestamp.timestamp() if records else None


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def gifting_funnel_sensor(context: dg.SensorEvaluationContext, ivyi_db: IvyiDatabase, clock: Clock):
    """After runs finished (or an hour of the clock), the funnel once, as of the data's clock."""
    seen = json.loads(context.cursor) if context.cursor else {}
    engine = ivyi_db.get_engine()
    at = funnel_as_of(engine, clock)
    finished = _last_finished(context.instance, float(seen.get("finished", 0)))
    last = parse_instant(seen["as_of"]) if seen.get("as_of") else None
    if finished is None and last is not None and at - last < REFRESH_EVERY:
        return dg.SkipReason("no run finished and the funnel is less than an hour old")
    cursor = {"finished": finished or seen.get("finished", 0), "as_of": at.isoformat()}
    return dg.SensorResult(
        asset_events=[funnel_materialization(engine, at, "gifting_funnel_sensor")],
        cursor=json.dumps(cursor),
    )


def _coverage_mark(instance: dg.DagsterInstance) -> int:
    """The storage id of the calendar's latest coverage (0 before any)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(OCCASION_DETECTION), limit=1
    ).records
    return records[0].storage_id if records else 0


def build_occasion_gaps_sensor(first: date) -> dg.SensorDefinition:
    """The audit under the daemon, once the day, the coverage or the occasions changed."""

    @dg.sensor(
        name=OCCASION_GAPS_SENSOR,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def occasion_gaps_sensor(
        context: dg.SensorEvaluationContext,
        ivyi_db: IvyiDatabase,
        gifting: GiftingSettings,
        clock: Clock,
    ):
        """Evaluate `no_missed_dates` when the day, the coverage or the occasions changed."""
        engine = ivyi_db.get_engine()
        today = (clock.now() if clock.as_of else data_now(engine, clock.now())).date()
        mark = json.dumps(
            {
                "today": today.isoformat(),
                "covered": _coverage_mark(context.instance),
                "occasions": latest_occasion_recorded(engine),
            }
        )
        if mark == context.cursor:
            return dg.SkipReason("nothing changed since the last audit")
        audit = gap_audit(context.instance, engine, today, first, gifting.grace_days)
        return dg.SensorResult(asset_events=[audit.evaluation()], cursor=mark)

    return occasion_gaps_sensor


gifting_sensors = [
    occasion_detection_sensor,
    decision_window_sensor,
    confirmation_sensor,
    fulfilment_sensor,
]
all_sensors = [
    *gifting_sensors,
    reconciler_sensor,
    gifting_failure_sensor,
    occasion_backfill_sensor,
]
