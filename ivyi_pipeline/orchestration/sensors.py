"""Sensors: occasion detection, and the external events that move a process on."""

import dagster as dg

from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.occasion_dates import coverage_events, newly_covered
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.orchestration.resources import (
    Clock,
    FulfilmentService,
    GiftingSettings,
    IvyiDatabase,
)
from ivyi_pipeline.orchestration.run_requests import plan_runs
from ivyi_pipeline.workflows.gifting_process import due
from ivyi_pipeline.workflows.gifting_process.create import create_processes
from ivyi_pipeline.workflows.gifting_process.detection import (
    DetectionCursor,
    detect_due_occurrences,
)
from ivyi_pipeline.workflows.gifting_process.events import GiftingProcessEvent as Event

SENSOR_DEFAULTS = {
    "job": gifting_process_job,
    "minimum_interval_seconds": 30,
    "default_status": dg.DefaultSensorStatus.RUNNING,
}


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
    stalled = due.stalled_in_created(engine, now)
    covered_days = newly_covered(context.cursor, cursor, now.date())
    covered = coverage_events(covered_days, "occasion_detection_sensor")
    if not new_ids and not stalled:
        return dg.SensorResult(
            skip_reason="no new occurrence in the lead window",
            cursor=cursor.serialize(),
            asset_events=covered,
        )
    created = {pid: (o.occasion_id, "CREATED") for pid, o in zip(new_ids, found, strict=True)}
    runs = plan_runs(
        new_ids,
        Event.START_WORKFLOW,
        now,
        new_ids,
        gifting.batch_size,
        gifting.single_runs_up_to,
        created,
    )
    runs += plan_runs(list(stalled), Event.START_WORKFLOW, now, None, 0, 0, stalled)
    return dg.SensorResult(
        run_requests=runs,
        cursor=cursor.serialize(),
        dynamic_partitions_requests=[
            gift_processes_partitions.build_add_request(new_ids + sorted(stalled))
        ],
        asset_events=covered,
    )


def _event_runs(context, gifting: GiftingSettings, now, ids, event, due_processes):
    if not ids:
        return dg.SkipReason(f"no process is due for {event}")
    order = None
    if len(ids) > gifting.single_runs_up_to:
        order = context.instance.get_dynamic_partitions(gift_processes_partitions.name)
    return plan_runs(
        ids, event, now, order, gifting.batch_size, gifting.single_runs_up_to, due_processes
    )


@dg.sensor(**SENSOR_DEFAULTS)
def decision_window_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
):
    """Processes whose decision window has expired get the top-ranked option selected."""
    now = clock.now()
    expired = due.expired_windows(ivyi_db.get_engine(), now)
    return _event_runs(context, gifting, now, list(expired), Event.DECISION_WINDOW_OPEN, expired)


@dg.sensor(**SENSOR_DEFAULTS)
def confirmation_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
):
    """A giver's confirmation in the inbox moves its process to CONFIRMED and on."""
    now = clock.now()
    pending = due.pending_confirmations(ivyi_db.get_engine(), now)
    return _event_runs(context, gifting, now, list(pending), Event.OPTION_CONFIRMED, pending)


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
    return _event_runs(context, gifting, now, list(updated), Event.FULFILMENT_UPDATED, updated)


gifting_sensors = [
    occasion_detection_sensor,
    decision_window_sensor,
    confirmation_sensor,
    fulfilment_sensor,
]
