"""Backfills of missed occasions: an asset by occurrence date, its job and its follow-up sensor."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import dagster as dg
import pandas as pd

from ivyi_pipeline.domain.events import GiftingProcessEvent as Event
from ivyi_pipeline.errors import InvalidInput
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.occasion_dates import (
    COVERED_BY,
    FIRST_OCCASION_DATE,
    OCCASION_DETECTION,
    last_occasion_date,
    occasion_dates_partitions,
)
from ivyi_pipeline.orchestration.partitions import (
    add_process_partitions,
    gift_processes_partitions,
)
from ivyi_pipeline.orchestration.resources import Clock, GiftingSettings, IvyiDatabase
from ivyi_pipeline.orchestration.run_context import as_of
from ivyi_pipeline.orchestration.run_requests import plan_runs
from ivyi_pipeline.orchestration.ticking import QUIET_CONSOLE, tick
from ivyi_pipeline.workflows.gifting_process.backfill_policy import (
    BackfillResult,
    Outcome,
    backfill_missed,
    waiting_to_start,
)

SOURCE = "occasion_detection backfill"
SKIPPED_PREVIEW = 50
CREATED_KEYS = (str(Outcome.CREATED), str(Outcome.BELATED))
FETCH_LIMIT = 1000


def _describe_day(result: BackfillResult, day: date) -> dict[str, object]:
    counts = result.counts(day)
    values: dict[str, object] = {
        COVERED_BY: SOURCE,
        "found": dg.MetadataValue.int(sum(counts.values())),
        **{key: dg.MetadataValue.int(n) for key, n in counts.items()},
        "as_of": result.as_of.isoformat(),
    }
    skipped = result.skipped(day)
    if skipped:
        frame = pd.DataFrame(
            [
                {"occasion_id": e.occasion_id, "outcome": str(e.outcome), "reason": e.reason}
                for e in skipped
            ]
        )
        values["skipped"] = dg.MetadataValue.md(
            frame.head(SKIPPED_PREVIEW).to_markdown(index=False)
        )
    return values


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            OCCASION_DETECTION,
            group_name="gifting",
            kinds={"sql"},
            description="Per occurrence date: every occurrence has a process, or a reason why not.",
        )
    ],
    partitions_def=occasion_dates_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def occasion_detection(
    context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
) -> dg.MaterializeResult:
    """Every occurrence dated on these days has a gift process, or a recorded reason why not."""
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date() - timedelta(days=1)
    policy = gifting.belated_policy()
    result = backfill_missed(ivyi_db.get_engine(), start, end, as_of(context), policy)
    new_ids = result.new_process_ids
    if new_ids:
        add_process_partitions(context.instance, new_ids)
    for day in result.days():
        context.add_asset_metadata(_describe_day(result, day), partition_key=day.isoformat())
    totals = ", ".join(f"{key}={n}" for key, n in result.counts().items())
    context.log.info(
        "occurrences dated %s .. %s as of %s (grace %d days): %s",
        start,
        end,
        result.as_of.isoformat(),
        policy.grace_days,
        totals,
    )
    return dg.MaterializeResult()


occasion_detection_job = dg.define_asset_job(
    "occasion_detection_job",
    selection=dg.AssetSelection.assets(occasion_detection),
    partitions_def=occasion_dates_partitions,
    executor_def=dg.in_process_executor,
    description="Detect the occurrences of a date range that have no process (a backfill).",
)


def _created_on(record: dg.EventLogRecord) -> date | None:
    """The date of a backfill's materialization that created processes, else None."""
    materialization = record.asset_materialization
    if materialization is None or not record.partition_key:
        return None
    values = materialization.metadata
    created = sum(int(values[key].value) for key in CREATED_KEYS if key in values)
    return date.fromisoformat(record.partition_key) if created else None


@dg.sensor(
    job=gifting_process_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def occasion_backfill_sensor(
    context: dg.SensorEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    clock: Clock,
):
    """Processes a backfill of occasion_detection created get their gifting runs, in batches."""
    found = context.instance.fetch_materializations(
        OCCASION_DETECTION, limit=FETCH_LIMIT, cursor=context.cursor, ascending=True
    )
    cursor = found.cursor if found.records else context.cursor
    days = sorted({day for record in found.records if (day := _created_on(record))})
    waiting = waiting_to_start(ivyi_db.get_engine(), days) if days else {}
    if not waiting:
        return dg.SensorResult(skip_reason="no backfill created new processes", cursor=cursor)
    now = clock.now()
    order = None
    if len(waiting) > gifting.single_runs_up_to:
        order = context.instance.get_dynamic_partitions(gift_processes_partitions.name)
    runs = plan_runs(
        list(waiting),
        Event.START_WORKFLOW,
        now,
        order,
        gifting.batch_size,
        gifting.single_runs_up_to,
        waiting,
    )
    return dg.SensorResult(run_requests=runs, cursor=cursor)


@dataclass
class BackfillSummary:
    """What an in-process backfill did: outcomes over the range, and its runs."""

    counts: dict[str, int] = field(default_factory=dict)
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no run failed."""
        return not self.failed


def check_range(start: date, end: date) -> None:
    """Refuse a range that is empty or not made of occasion-date partitions."""
    if end < start:
        raise InvalidInput(f"--to {end} is before --from {start}")
    if start < FIRST_OCCASION_DATE:
        raise InvalidInput(f"--from {start} precedes the first occasion date {FIRST_OCCASION_DATE}")
    if end > last_occasion_date():
        raise InvalidInput(f"--to {end} is after the last occasion date {last_occasion_date()}")


def run_backfill(
    instance: dg.DagsterInstance, defs: dg.Definitions, start: date, end: date, when: datetime
) -> BackfillSummary:
    """Backfill [start, end] in this process: one detection run, then the gifting runs it needs."""
    check_range(start, end)
    result = defs.resolve_job_def(occasion_detection_job.name).execute_in_process(
        instance=instance,
        tags={
            tags.RANGE_START: start.isoformat(),
            tags.RANGE_END: end.isoformat(),
            tags.AS_OF: when.isoformat(),
        },
        run_config=QUIET_CONSOLE,
        raise_on_error=False,
    )
    summary = BackfillSummary(counts={str(outcome): 0 for outcome in Outcome})
    (summary.succeeded if result.success else summary.failed).append(result.run_id)
    for event in result.get_asset_materialization_events():
        values = event.materialization.metadata
        for key in summary.counts:
            if key in values:
                summary.counts[key] += int(values[key].value)
    if not result.success:
        return summary
    ticked = tick(instance, defs, when, sensor_names=[occasion_backfill_sensor.name])
    summary.succeeded += ticked.succeeded
    summary.failed += ticked.failed
    return summary
