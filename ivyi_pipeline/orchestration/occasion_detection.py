"""The occasion-date asset: per occurrence date, every occurrence has a process or a reason."""

from datetime import date, timedelta

import dagster as dg
import pandas as pd

from ivyi_pipeline.orchestration.occasion_dates import (
    COVERED_BY,
    OCCASION_DETECTION,
    days_ahead,
    occasion_dates_partitions,
)
from ivyi_pipeline.orchestration.partitions import ensure_process_partitions
from ivyi_pipeline.orchestration.resources import GiftingSettings, IvyiDatabase
from ivyi_pipeline.orchestration.run_scope import as_of
from ivyi_pipeline.workflows.gifting_process.backfill_policy import BackfillResult, backfill_missed

SOURCE = "occasion_detection backfill"
SKIPPED_PREVIEW = 50


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


def build_occasion_detection(first: date, lead_days: int) -> dg.AssetsDefinition:
    """The asset over the calendar that starts at `first` and reaches as far as detection
    looks with `lead_days`, from the data's clock when it is ahead (see occasion_dates)."""

    @dg.multi_asset(
        name="occasion_detection",
        specs=[
            dg.AssetSpec(
                OCCASION_DETECTION,
                group_name="gifting",
                kinds={"sql"},
                description=(
                    "Per occurrence date: every occurrence has a process, or a reason why not."
                ),
            )
        ],
        partitions_def=occasion_dates_partitions(first, lead_days, days_ahead()),
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def occasion_detection(
        context: dg.AssetExecutionContext, ivyi_db: IvyiDatabase, gifting: GiftingSettings
    ) -> dg.MaterializeResult:
        """Every occurrence dated on these days has a gift process, or a recorded reason why not."""
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date() - timedelta(days=1)
        policy = gifting.belated_policy()
        engine = ivyi_db.get_engine()
        result = backfill_missed(engine, start, end, as_of(context), policy)
        if result.new_process_ids:
            ensure_process_partitions(context.instance, result.new_process_ids, engine)
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

    return occasion_detection
