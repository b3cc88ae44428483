"""Daily partitions by occurrence date: the dates occasion detection has covered, and gaps."""

from collections.abc import Iterable
from datetime import date, timedelta

import dagster as dg

from ivyi_pipeline.clock import utcnow
from ivyi_pipeline.workflows.gifting_process.detection import DEFAULT_LEAD_DAYS, DetectionCursor

FIRST_OCCASION_DATE = date(2025, 1, 1)
OCCASION_DETECTION = dg.AssetKey("occasion_detection")
COVERED_BY = "covered_by"

# Dates exist up to today + the lead window: the furthest detection looks ahead.
occasion_dates_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_OCCASION_DATE.isoformat(), end_offset=DEFAULT_LEAD_DAYS + 1
)


def last_occasion_date() -> date:
    """The last occasion-date partition: today plus the lead window."""
    return utcnow().date() + timedelta(days=DEFAULT_LEAD_DAYS)


def days_between(start: date, end: date) -> list[date]:
    """Every date in [start, end] that is an occasion-date partition now."""
    last = min(end, last_occasion_date())
    first = max(start, FIRST_OCCASION_DATE)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def coverage_events(days: Iterable[date], source: str) -> list[dg.AssetMaterialization]:
    """A materialization of each date's partition, saying which detection covered it."""
    return [
        dg.AssetMaterialization(
            asset_key=OCCASION_DETECTION,
            partition=day.isoformat(),
            description=f"occurrences dated {day.isoformat()} were detected by {source}",
            metadata={COVERED_BY: source},
        )
        for day in days
    ]


def report_coverage(instance: dg.DagsterInstance, start: date, end: date, source: str) -> None:
    """Record that detection covered [start, end], for callers that cannot return asset events."""
    for event in coverage_events(days_between(start, end), source):
        instance.report_runless_asset_event(event)


def newly_covered(previous: str | None, current: DetectionCursor, today: date) -> list[date]:
    """The dates a detection tick looked at for the first time, from its old and new cursors."""
    before = DetectionCursor.parse(previous)
    first = today if before is None else max(today, before.horizon + timedelta(days=1))
    return days_between(first, current.horizon)
