"""Scenario 6: scenario 2 at three sizes, and how many dynamic partitions stay live.

Each size runs on fresh databases, so the figure shows how the cost per process grows
with the number of processes (and of partitions) in one push. The partition row is a
policy figure, not a measurement: live partitions after a year at a steady rate.
"""

import os
import statistics
import sys
import time
import uuid

import dagster as dg

from benchmarks.harness import Env, dagster_instance
from benchmarks.report import Row
from benchmarks.throughput import Measurement, measure_pipeline
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.orchestration.retention import RetentionConfig
from ivyi_pipeline.orchestration.run_requests import range_size

SCENARIO = "6 growth"
TARGET_GROWTH = 1.2
DAILY_PROCESSES = 10_000
COMFORT_LIMIT = 100_000
# Detection -> window open (same day) -> window closes (72 h) -> ordered, shipped (+1 d),
# delivered (+2 d): a process needs its partition for about six days.
LIFECYCLE_DAYS = 6
# Full reads of the live keys in one ranged run, counted by benchmarks.range_reads on 1.13.27
# (13 while the checks were planned with the graph asset).
RESOLUTIONS_PER_RUN = 7


def live_partitions(days: int, retention_days: int | None) -> int:
    """Live partitions after `days` at DAILY_PROCESSES a day, retiring after the retention."""
    if retention_days is None:
        return DAILY_PROCESSES * days
    return DAILY_PROCESSES * min(days, LIFECYCLE_DAYS + retention_days)


def range_resolution_ms(env: Env, sizes: list[int], batch_size: int) -> dict[int, float]:
    """Median ms to resolve a run's partition range, per number of live partitions.

    A dynamic range is resolved by reading every partition from storage. Dagster does it
    6 times per ranged run of our 3-asset graph (planning the assets' materializations, then
    each asset output), and so does its no-op floor; the pipeline adds one
    (`process_ids`, once per run). Per process that is ~7 x this figure / the range's size
    (`run_requests.range_size`: it widens with the live keys).
    """
    out = {}
    with dagster_instance(env) as (instance, _):
        keys: list[str] = []
        for size in sorted(sizes):
            fresh = sorted(str(uuid.uuid4()) for _ in range(size - len(keys)))
            instance.add_dynamic_partitions(gift_processes_partitions.name, fresh)
            keys += fresh
            batch = fresh[: batch_size or len(fresh)]
            key_range = dg.PartitionKeyRange(batch[0], batch[-1])
            times = []
            for _ in range(15):
                start = time.perf_counter()
                with dg.partition_loading_context(dynamic_partitions_store=instance):
                    gift_processes_partitions.get_partition_keys_in_range(key_range)
                times.append(time.perf_counter() - start)
            out[size] = 1000 * statistics.median(times)
    return out


def rows(
    env: Env,
    sizes: list[int],
    batch_size: int,
    measured: dict[int, Measurement],
    check_sizes: list[int] | None = None,
) -> list[Row]:
    """The scenario's rows; `measured` holds scenario 2's result to reuse at its size.

    The pipeline runs at `sizes`; range resolution is timed at `check_sizes`
    (by default the same), which can be larger since it costs seconds, not hours.
    """
    results = {}
    for size in sorted(sizes):
        results[size] = measured.get(size) or measure_pipeline(env, size, batch_size)
        # Printed as it goes: a 100,000-process push takes most of an hour on 2 cores.
        print(
            f"   {size:,} processes: {results[size].ms_per_process:.1f} ms a process, "
            f"load {os.getloadavg()[0]:.1f}",
            file=sys.stderr,
            flush=True,
        )
    smallest = results[min(results)]
    out = []
    for size, m in results.items():
        growth = m.ms_per_process / smallest.ms_per_process
        split = m.split_ms()
        out.append(
            Row(
                SCENARIO,
                f"ms per process at {size:,} processes ({m.runs} runs)",
                m.ms_per_process,
                "ms",
                target=f"<= {TARGET_GROWTH}x the smallest" if m is not smallest else "",
                baseline_label=f"{smallest.processes:,} processes",
                baseline=smallest.ms_per_process,
                met=None if m is smallest else growth <= TARGET_GROWTH,
                notes=[
                    "ms per process: "
                    + ", ".join(f"{name} {value:.1f}" for name, value in split.items()),
                    f"events per process {m.events_per_process:.2f}",
                ],
            )
        )
    resolutions = range_resolution_ms(env, check_sizes or sizes, batch_size)
    first = min(resolutions)
    per_run = RESOLUTIONS_PER_RUN
    for size, ms in resolutions.items():
        span = min(range_size(batch_size, size), size) if batch_size else size
        out.append(
            Row(
                SCENARIO,
                f"resolving a run's partition range, {size:,} live partitions",
                ms,
                "ms",
                target="small per process",
                baseline_label=f"{first:,} partitions",
                baseline=resolutions[first],
                notes=[
                    f"~{per_run} per run (Dagster's {per_run - 1}, ours 1): "
                    f"{per_run * ms / span:.2f} ms per process at {size:,} in ranges of {span:,}"
                ],
            )
        )
    retention = RetentionConfig().partition_retention_days
    year = live_partitions(365, retention)
    out.append(
        Row(
            SCENARIO,
            f"live partitions after a year at {DAILY_PROCESSES:,} processes a day, "
            f"completed ones retired after {retention} days",
            float(year),
            "",
            target=f"< {COMFORT_LIMIT:,}",
            baseline_label="no retirement",
            baseline=float(live_partitions(365, None)),
            met=year < COMFORT_LIMIT,
            notes=[
                "dagster_retention_job (daily) retires them, test_retention checks it; "
                f"live = {DAILY_PROCESSES:,} x ({LIFECYCLE_DAYS} days of lifecycle + retention)"
            ],
        )
    )
    return out
