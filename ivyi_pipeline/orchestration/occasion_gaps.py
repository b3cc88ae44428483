"""Missed occasion dates at a glance: the `no_missed_dates` check on `occasion_detection`.

The calendar's partitions that no detection covered show as missing in the UI, whether an
occasion was really missed there or the date was quiet (hundreds of dates before the data
began). The check tells them apart: it fails, red on the asset, while a past date has an
occurrence that should have had a process and has none (`workflows/gifting_process/
occasion_gaps.py` says when), listing the latest of those dates; it passes, with the count of
quiet uncovered dates, when there is none. One check evaluation per audit: at the end of
`ivyi tick`, `batch` and `backfill-missed`, and under the daemon from `occasion_gaps_sensor`
when the day, the calendar's coverage or the occasions changed (a backfill launched from the
UI covers dates). No run plans it (`occasion_detection_job` selects the asset without it), so
a failed backfill turns it neither red nor grey; executing it from the UI audits as of the
data's clock. Its cost in Dagster is one event per audit, whatever the volume or history.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from ivyi_pipeline.clock import parse_instant
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.metadata_tables import metadata_table
from ivyi_pipeline.orchestration.occasion_dates import OCCASION_DETECTION, days_between
from ivyi_pipeline.orchestration.resources import Clock, GiftingSettings, IvyiDatabase
from ivyi_pipeline.workflows.gifting_process.data_clock import data_now
from ivyi_pipeline.workflows.gifting_process.occasion_gaps import (
    DateAudit,
    audit_dates,
)

MISSED_DATES_CHECK = "no_missed_dates"
MISSED_ROWS = 50
"""Missed dates listed in the check's table, the latest first; the rest are counted."""
SENSOR = "occasion_gaps_sensor"

MISSED_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("occurrence_date", "string"),
        dg.TableColumn("occurrences", "int"),
        dg.TableColumn("missed", "int", description="should have had a process, have none"),
    ]
)


@dataclass(frozen=True)
class GapAudit:
    """The past dates of the calendar no detection covered, missed and quiet, as of a day."""

    today: date
    first: date
    uncovered: list[DateAudit]

    @property
    def missed(self) -> list[DateAudit]:
        """The missed dates, the latest first."""
        return sorted((a for a in self.uncovered if a.is_missed), key=lambda a: a.day, reverse=True)

    def verdict(self) -> dict:
        """The check's outcome: passed, severity, description and metadata."""
        missed = self.missed
        quiet = len(self.uncovered) - len(missed)
        occurrences = sum(a.missed for a in missed)
        table = pd.DataFrame(
            [
                {"occurrence_date": a.day, "occurrences": a.occurrences, "missed": a.missed}
                for a in missed
            ],
            columns=["occurrence_date", "occurrences", "missed"],
        )
        metadata = {
            "as_of_date": dg.MetadataValue.text(self.today.isoformat()),
            "missed_dates": dg.MetadataValue.int(len(missed)),
            "missed_occurrences": dg.MetadataValue.int(occurrences),
            "quiet_uncovered_dates": dg.MetadataValue.int(quiet),
            "missed_dates_not_listed": dg.MetadataValue.int(max(0, len(missed) - MISSED_ROWS)),
            "missed": metadata_table(table, MISSED_SCHEMA, MISSED_ROWS),
        }
        if missed:
            earliest, latest = missed[-1].day, missed[0].day
            description = (
                f"{len(missed)} past date(s) from {earliest} to {latest} have {occurrences} "
                "occurrence(s) without a process and no recorded reason: backfill them "
                f"(`ivyi backfill-missed --from {earliest} --to {latest}`, or Materialize "
                "those dates); every other missing date is quiet"
            )
        else:
            description = (
                f"no past date since {self.first} was missed; the {quiet} missing past date(s) "
                "are quiet (no occurrence, or none that could have had a process)"
            )
        return {
            "passed": not missed,
            "severity": dg.AssetCheckSeverity.ERROR,
            "description": description,
            "metadata": metadata,
        }

    def evaluation(self) -> dg.AssetCheckEvaluation:
        """The verdict as a runless check evaluation (from a sensor or an `ivyi` command)."""
        return dg.AssetCheckEvaluation(
            asset_key=OCCASION_DETECTION, check_name=MISSED_DATES_CHECK, **self.verdict()
        )


def gap_audit(
    instance: dg.DagsterInstance, engine: sa.Engine, today: date, first: date, grace_days: int
) -> GapAudit:
    """Audit the past dates of the calendar [first, today) that no detection covered."""
    covered = instance.get_materialized_partitions(OCCASION_DETECTION)
    past = days_between(first, today - timedelta(days=1)) if today > first else []
    uncovered = [day for day in past if day.isoformat() not in covered]
    return GapAudit(today, first, audit_dates(engine, uncovered, grace_days))


def build_missed_dates_check(first: date) -> dg.AssetChecksDefinition:
    """The check over the calendar that starts at `first`."""

    @dg.asset_check(
        asset=OCCASION_DETECTION,
        name=MISSED_DATES_CHECK,
        description=(
            "No past occurrence date was missed: every occurrence that could have had a "
            "process has one, or a backfill recorded why not; lists the missed dates."
        ),
    )
    def no_missed_dates(
        context: dg.AssetCheckExecutionContext,
        ivyi_db: IvyiDatabase,
        gifting: GiftingSettings,
        clock: Clock,
    ) -> dg.AssetCheckResult:
        """Audit the calendar as of the run's `ivyi/as_of` tag, else the data's clock."""
        engine = ivyi_db.get_engine()
        tagged = context.run.tags.get(tags.AS_OF)
        at = parse_instant(tagged) if tagged else data_now(engine, clock.now())
        audit = gap_audit(context.instance, engine, at.date(), first, gifting.grace_days)
        return dg.AssetCheckResult(**audit.verdict())

    return no_missed_dates
