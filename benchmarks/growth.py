"""Scenario 6: scenario 2 at three sizes, and how many dynamic partitions stay live.

Each size runs on fresh databases, so the figure shows how the cost per process grows
with the number of processes (and of partitions) in one push. The partition row is a
policy figure, not a measurement: live partitions after a year at a steady rate.
"""

from benchmarks.harness import Env
from benchmarks.report import Row
from benchmarks.throughput import Measurement, measure_pipeline

SCENARIO = "6 growth"
TARGET_GROWTH = 1.2
DAILY_PROCESSES = 10_000
COMFORT_LIMIT = 100_000
# Detection -> window open (same day) -> window closes (72 h) -> ordered, shipped (+1 d),
# delivered (+2 d): a process needs its partition for about six days.
LIFECYCLE_DAYS = 6


def live_partitions(days: int, retention_days: int | None) -> int:
    """Live partitions after `days` at DAILY_PROCESSES a day, retiring after the retention."""
    if retention_days is None:
        return DAILY_PROCESSES * days
    return DAILY_PROCESSES * min(days, LIFECYCLE_DAYS + retention_days)


def rows(
    env: Env, sizes: list[int], batch_size: int, measured: dict[int, Measurement]
) -> list[Row]:
    """The scenario's rows; `measured` holds scenario 2's result to reuse at its size."""
    results = {}
    for size in sorted(sizes):
        results[size] = measured.get(size) or measure_pipeline(env, size, batch_size)
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
    year = live_partitions(365, None)
    out.append(
        Row(
            SCENARIO,
            f"live partitions after a year at {DAILY_PROCESSES:,} processes a day, no retirement",
            float(year),
            "",
            target=f"< {COMFORT_LIMIT:,}",
            baseline_label="retired 3 days after completion",
            baseline=float(live_partitions(365, 3)),
            met=year < COMFORT_LIMIT,
            notes=[
                "retirement is not implemented; see BENCHMARKS.md for the retention policy "
                f"(live = {DAILY_PROCESSES:,} x ({LIFECYCLE_DAYS} days of lifecycle + retention))"
            ],
        )
    )
    return out
