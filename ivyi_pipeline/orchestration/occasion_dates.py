"""Daily partitions by occurrence date: the calendar occasion detection covers, on the one clock.

The calendar starts at the first occasion date (IVYI_FIRST_OCCASION_DATE, default 2025-01-01,
read when the definitions are built) and ends at "today" plus the lead window, where today is
the clock's: Dagster's time-window partitions end relative to the partition-loading context's
effective time (`dg.partition_loading_context`), which is the wall clock under the daemon and
the `--as-of` instant under the local driver (`ivyi_pipeline.entrypoints.local_runs` sets it). Data
ticked ahead of the wall clock (a simulation, the demo) holds dates beyond the wall clock's
end: `ivyi ui` passes the data's clock (the last tick's instant) to the webserver and the
daemon as IVYI_DATA_CLOCK, and the calendar then ends that many days further on.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import dagster as dg

from ivyi_pipeline import settings
from ivyi_pipeline.clock import utcnow
from ivyi_pipeline.domain.occurrences import lead_window_end
from ivyi_pipeline.errors import InvalidInput
from ivyi_pipeline.workflows.gifting_process.detection import DetectionCursor

DEFAULT_FIRST_OCCASION_DATE = date(2025, 1, 1)
OCCASION_DETECTION = dg.AssetKey("occasion_detection")
COVERED_BY = "covered_by"


def first_occasion_date() -> date:
    """The calendar's first date: IVYI_FIRST_OCCASION_DATE (YYYY-MM-DD), else 2025-01-01."""
    return settings.first_occasion_date() or DEFAULT_FIRST_OCCASION_DATE


def days_ahead(now: datetime | None = None) -> int:
    """How many days IVYI_DATA_CLOCK (the data's clock, ISO) is ahead of the wall clock; 0 unset."""
    clock = settings.data_clock()
    if clock is None:
        return 0
    return max(0, (clock.date() - (now or utcnow()).date()).days)


def occasion_dates_partitions(
    first: date, lead_days: int, ahead: int = 0
) -> dg.DailyPartitionsDefinition:
    """Dates from `first` up to the clock's today's `lead_window_end` (the furthest detection
    looks, with the same lead days), `ahead` days further on when the data's clock is ahead of
    the wall clock: the partition after today's is its first end offset."""
    return dg.DailyPartitionsDefinition(
        start_date=first.isoformat(), end_offset=lead_days + 1 + ahead
    )


def check_range(start: date, end: date, as_of: datetime, first: date, lead_days: int) -> None:
    """Refuse a range that is empty or not made of occasion dates as of `as_of` (the calendar
    from `first` to the end of the lead window of `lead_days`)."""
    if end < start:
        raise InvalidInput(f"--to {end} is before --from {start}")
    if start < first:
        raise InvalidInput(
            f"--from {start} precedes the first occasion date {first}; "
            f"set {settings.FIRST_DATE_ENV} to an earlier date"
        )
    last = lead_window_end(as_of.date(), lead_days)
    if end > last:
        raise InvalidInput(
            f"--to {end} is after the last occasion date {last} as of {as_of:%Y-%m-%d}"
        )


def days_between(start: date, end: date) -> list[date]:
    """Every date in [start, end]."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


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
