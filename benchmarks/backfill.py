"""Scenario 5: a backfill of B missed occasions through issue 4's entry point.

B occasions whose occurrences fall in the next weeks never got a process (the daemon was
down). One call of `run_backfill` (what `ivyi backfill-missed` runs) covers their dates:
one run of the `occasion_detection` asset over the date range, then the gifting runs its
follow-up sensor plans in batches. The baseline is scenario 2's detection tick for the same
number of processes, scaled, when scenario 2 ran in the same invocation.
"""

import datetime as dt

from benchmarks.harness import Env, Stopwatch, dagster_instance, throwaway_database
from benchmarks.report import Row, unavailable
from benchmarks.seeding import AS_OF, due_offsets, seed
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.orchestration.resources import GiftingSettings
from ivyi_pipeline.workflows.gifting_process.status import funnel

SCENARIO = "5 backfill"
TARGET_SECONDS_PER_10K = 180.0
TARGET_RUNS = 25


def _entry_point():
    """issue 4's service function and its sensor, or None while they have not landed."""
    try:
        from ivyi_pipeline.entrypoints.local_runs import backfill as run_backfill
        from ivyi_pipeline.orchestration.sensors import occasion_backfill_sensor
    except ImportError:
        return None
    return run_backfill, occasion_backfill_sensor


def rows(env: Env, occasions: int, batch_size: int, sensor_ms: float | None) -> list[Row]:
    """The scenario's rows; `sensor_ms` is scenario 2's ms per process, when it ran."""
    from benchmarks.throughput import pipeline_definitions

    entry = _entry_point()
    if entry is None:
        return [unavailable(SCENARIO, "backfill of missed occasions", "not available yet")]
    run_backfill, backfill_sensor = entry
    lead = GiftingSettings().lead_days
    offsets = due_offsets(occasions, lead)
    start = AS_OF.date() + dt.timedelta(days=int(offsets.min()))
    end = AS_OF.date() + dt.timedelta(days=int(offsets.max()))
    with (
        throwaway_database(env, "ivyi_bench_backfill") as url,
        dagster_instance(env) as (
            instance,
            _,
        ),
    ):
        seed(url, offsets)
        defs = pipeline_definitions(url, batch_size, sensors=[backfill_sensor])
        with Stopwatch() as watch:
            summary = run_backfill(instance, defs, start, end, AS_OF)
        statuses = funnel(get_engine(url))
    runs = len(summary.succeeded) + len(summary.failed)
    seconds_target = TARGET_SECONDS_PER_10K * occasions / 10_000
    baseline = sensor_ms * occasions / 1000 if sensor_ms else None
    return [
        Row(
            SCENARIO,
            f"backfill of {occasions:,} missed occasions ({start} .. {end}), seconds",
            watch.seconds,
            "s",
            target=f"< {seconds_target:,.0f} s (3 min per 10,000)",
            baseline_label="scenario 2's tick, same count" if baseline else "",
            baseline=baseline,
            met=watch.seconds < seconds_target,
            notes=[
                f"outcomes {summary.counts}; statuses after {statuses}; "
                f"failed runs {len(summary.failed)}"
            ],
        ),
        Row(
            SCENARIO,
            f"runs for {occasions:,} missed occasions",
            float(runs),
            "",
            target=f"<= {TARGET_RUNS}",
            met=runs <= TARGET_RUNS,
        ),
    ]
