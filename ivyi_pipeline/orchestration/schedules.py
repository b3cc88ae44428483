"""The nightly batch: the day's work in bulk, as a bounded number of ranged runs."""

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from ivyi_pipeline.clock import utcnow
from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.occasion_dates import report_coverage
from ivyi_pipeline.orchestration.partitions import (
    add_process_partitions,
    gift_processes_partitions,
)
from ivyi_pipeline.orchestration.resources import FulfilmentService, GiftingSettings, IvyiDatabase
from ivyi_pipeline.orchestration.run_requests import plan_runs
from ivyi_pipeline.orchestration.ticking import QUIET_CONSOLE
from ivyi_pipeline.workflows.gifting_process.batch import DailyWork, daily_work

DEFAULT_CRON = "0 6 * * *"
CRON_ENV = "IVYI_DAILY_SCHEDULE_CRON"
BATCH_EVENT = "daily-batch"


def daily_cron() -> str:
    """The schedule's cron (UTC): IVYI_DAILY_SCHEDULE_CRON, read when the code location loads."""
    return os.environ.get(CRON_ENV, "").strip() or DEFAULT_CRON


def batch_run_requests(
    instance: dg.DagsterInstance, work: DailyWork, gifting: GiftingSettings
) -> list[dg.RunRequest]:
    """Add the partitions the due processes lack, then cover them in ranged runs of a batch each.

    A schedule cannot return dynamic partition requests (only sensors can), and a ranged run
    needs its partitions to exist, so they are added here, on the instance, before planning.
    """
    name = gift_processes_partitions.name
    missing = sorted(set(work.due) - set(instance.get_dynamic_partitions(name)))
    if missing:
        add_process_partitions(instance, missing)
    return plan_runs(
        list(work.due),
        BATCH_EVENT,
        work.as_of,
        instance.get_dynamic_partitions(name),
        gifting.batch_size,
        0,
        work.due,
    )


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dg.schedule(
    name="daily_gifting_schedule",
    cron_schedule=daily_cron(),
    execution_timezone="UTC",
    job=gifting_process_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_gifting_schedule(
    context: dg.ScheduleEvaluationContext,
    ivyi_db: IvyiDatabase,
    gifting: GiftingSettings,
    fulfilment: FulfilmentService,
):
    """Safety net under the sensors: detect, expire, confirm, order, sync and retry, in bulk."""
    now = _aware(context.scheduled_execution_time or utcnow())
    engine = ivyi_db.get_engine()
    work = daily_work(engine, now, fulfilment.provider(engine), gifting.lead_days)
    report_coverage(context.instance, *work.covered_dates(), source="daily_gifting_schedule")
    counts = ", ".join(f"{reason}={n}" for reason, n in work.counts().items())
    context.log.info("daily batch as of %s: %s", now.isoformat(), counts)
    if not work.due:
        return dg.SkipReason(f"nothing is due as of {now.isoformat()}")
    return batch_run_requests(context.instance, work, gifting)


@dataclass
class BatchSummary:
    """What one in-process evaluation of the daily schedule did."""

    counts: dict[str, int] = field(default_factory=dict)
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no run failed."""
        return not self.failed


def run_batch(instance: dg.DagsterInstance, defs: dg.Definitions, when: datetime) -> BatchSummary:
    """Evaluate the daily schedule as of `when` and execute its runs here, where no daemon runs."""
    schedule = defs.resolve_schedule_def(daily_gifting_schedule.name)
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources=defs.resources
    )
    requests = schedule(context)
    summary = BatchSummary(counts={"runs": len(requests) if isinstance(requests, list) else 0})
    job = defs.resolve_job_def(gifting_process_job.name)
    for request in requests if isinstance(requests, list) else []:
        result = job.execute_in_process(
            instance=instance,
            tags={**request.tags, "dagster/schedule_name": schedule.name},
            run_config=QUIET_CONSOLE,
            raise_on_error=False,
        )
        (summary.succeeded if result.success else summary.failed).append(result.run_id)
    return summary
