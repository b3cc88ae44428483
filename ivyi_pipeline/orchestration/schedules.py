"""Every schedule: the nightly batch of the day's work in bulk, the daily funnel, and Dagster's
own retention."""

from datetime import UTC, datetime

import dagster as dg

from ivyi_pipeline import settings
from ivyi_pipeline.clock import utcnow
from ivyi_pipeline.errors import InvalidInput
from ivyi_pipeline.orchestration.jobs import (
    dagster_retention_job,
    gifting_funnel_job,
    gifting_process_job,
)
from ivyi_pipeline.orchestration.occasion_dates import report_coverage
from ivyi_pipeline.orchestration.partitions import ensure_process_partitions, partition_order
from ivyi_pipeline.orchestration.resources import FulfilmentService, GiftingSettings, IvyiDatabase
from ivyi_pipeline.orchestration.run_requests import plan_runs
from ivyi_pipeline.workflows.gifting_process.batch import DailyWork, daily_work

DEFAULT_CRON = "0 6 * * *"
BATCH_EVENT = "daily-batch"
DAILY_SCHEDULE = "daily_gifting_schedule"


def daily_cron() -> str:
    """The schedule's cron (UTC): IVYI_DAILY_SCHEDULE_CRON, read when the definitions are built."""
    return settings.daily_schedule_cron() or DEFAULT_CRON


def batch_run_requests(
    instance: dg.DagsterInstance, engine, work: DailyWork, gifting: GiftingSettings
) -> list[dg.RunRequest]:
    """Ensure the due processes' partitions, then cover them in ranged runs of a batch each.

    A schedule cannot return dynamic partition requests (only sensors can), and a ranged run
    needs its partitions to exist, so they are added here, on the instance, before planning.
    """
    keys = ensure_process_partitions(instance, sorted(work.due), engine)
    return plan_runs(
        list(work.due),
        BATCH_EVENT,
        work.as_of,
        partition_order(instance),
        gifting.batch_size,
        0,
        work.due,
        keys,
    )


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def build_daily_gifting_schedule(cron: str) -> dg.ScheduleDefinition:
    """The daily batch on `cron` (UTC); `daily_cron()` reads the configured one. A cron Dagster
    refuses is bad input (InvalidInput naming IVYI_DAILY_SCHEDULE_CRON), not a bug."""
    try:
        return _daily_gifting_schedule(cron)
    except dg.DagsterInvalidDefinitionError as exc:
        if "cron" not in str(exc).lower():
            raise
        raise InvalidInput(
            f"{settings.DAILY_CRON_ENV}={cron!r} is not a cron schedule Dagster accepts; give "
            f"five fields (minute hour day month weekday, UTC), e.g. {DEFAULT_CRON!r}"
        ) from None


def _daily_gifting_schedule(cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=DAILY_SCHEDULE,
        cron_schedule=cron,
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
        report_coverage(context.instance, *work.covered_dates(), source=DAILY_SCHEDULE)
        counts = ", ".join(f"{reason}={n}" for reason, n in work.counts().items())
        context.log.info("daily batch as of %s: %s", now.isoformat(), counts)
        if not work.due:
            return dg.SkipReason(f"nothing is due as of {now.isoformat()}")
        return batch_run_requests(context.instance, engine, work, gifting)

    return daily_gifting_schedule


dagster_retention_schedule = dg.ScheduleDefinition(
    name="dagster_retention_schedule",
    job=dagster_retention_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

gifting_funnel_schedule = dg.ScheduleDefinition(
    name="gifting_funnel_daily",
    job=gifting_funnel_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 06:00 UTC: the funnel as of the data's clock (a safety net).",
)
