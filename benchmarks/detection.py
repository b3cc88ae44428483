"""Scenario 1: one detection tick with N occasions in the table and K of them newly due.

The table holds N occasions, none due today; K of them enter the lead window tomorrow. A
fresh process evaluates occasion_detection_sensor once as of today (the cursor's first
tick, untimed), then as of tomorrow (timed; the median of three, the processes it created
deleted in between), and records its peak memory. The same tick
over a table of N/10 occasions is the baseline: if the cost follows new work, not table
size, the two take about as long.
"""

import datetime as dt
import json
import statistics
import sys
import time

import numpy as np

from benchmarks.harness import Env, run_probe, throwaway_database
from benchmarks.report import Row
from benchmarks.seeding import AS_OF, later_offsets, seed

SCENARIO = "1 detection tick"
TARGET_SECONDS = 1.0
TARGET_PEAK_MB = 300.0
TARGET_SMALL_TABLE_SHARE = 2 / 3
REPEAT = 3


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def probe(url: str, repeat: int = REPEAT) -> dict:
    """In this process: the untimed first tick, then the timed one (median of `repeat`)."""
    import dagster as dg

    from ivyi_pipeline.orchestration.partitions import process_ids_of
    from ivyi_pipeline.orchestration.resources import Clock, GiftingSettings, IvyiDatabase
    from ivyi_pipeline.orchestration.sensors import occasion_detection_sensor

    # The sensor adds the partitions of what it creates to the instance it runs on.
    instance = dg.DagsterInstance.ephemeral()

    def evaluate(as_of: dt.datetime, cursor: str | None):
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            sensor_name=occasion_detection_sensor.name,
            resources={
                "ivyi_db": IvyiDatabase(url=url),
                "gifting": GiftingSettings(),
                "clock": Clock(as_of=as_of.isoformat()),
            },
        )
        return occasion_detection_sensor(context)

    imported_mb = _rss_mb("VmHWM")
    first = evaluate(AS_OF, None)
    first_tick_peak_mb = _rss_mb("VmHWM")
    before_mb = _rss_mb("VmRSS")
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = evaluate(AS_OF + dt.timedelta(days=1), first.cursor)
        times.append(time.perf_counter() - start)
        added = [k for r in result.dynamic_partitions_requests or [] for k in r.partition_keys]
        _forget(url, process_ids_of(added))
    # VmHWM, not getrusage's ru_maxrss, which execve keeps from the parent that seeded.
    peak_mb = _rss_mb("VmHWM")
    return {
        "seconds": statistics.median(times),
        "all_seconds": times,
        "peak_mb": peak_mb,
        "tick_mb": max(0.0, peak_mb - before_mb),
        "imported_mb": imported_mb,
        "first_tick_peak_mb": first_tick_peak_mb,
        "new_processes": len(added),
        "run_requests": len(result.run_requests or []),
    }


def _forget(url: str, process_ids: list[str]) -> None:
    """Delete the processes a timed tick created, so that the next repetition finds them again."""
    from ivyi_pipeline.db.engine import get_engine
    from ivyi_pipeline.db.schema import gift_processes, process_transitions

    with get_engine(url).begin() as conn:
        conn.execute(
            process_transitions.delete().where(process_transitions.c.process_id.in_(process_ids))
        )
        conn.execute(gift_processes.delete().where(gift_processes.c.id.in_(process_ids)))


def measure(env: Env, occasions: int, due: int) -> dict:
    """Seed a table of `occasions` with `due` entering the window tomorrow; probe one tick."""
    from ivyi_pipeline.orchestration.resources import GiftingSettings

    lead = GiftingSettings().lead_days
    offsets = np.concatenate(
        [np.full(due, lead + 1), later_offsets(occasions - due, lead, rng_seed=occasions)]
    )
    with throwaway_database(env, "ivyi_bench_detect") as url:
        seed(url, offsets)
        out = run_probe("benchmarks.detection", url)
    return json.loads(out.strip().splitlines()[-1])


def rows(env: Env, occasions: int, due: int) -> list[Row]:
    """The scenario's rows."""
    big = measure(env, occasions, due)
    small = measure(env, occasions // 10, due)
    checks = f"new processes {big['new_processes']:,} of {due:,} expected"
    seconds = Row(
        SCENARIO,
        f"sensor evaluation, {occasions:,} occasions, {due:,} newly due",
        big["seconds"],
        "s",
        target=f"< {TARGET_SECONDS:.0f} s",
        baseline_label=f"same tick, {occasions // 10:,} occasions",
        baseline=small["seconds"],
        met=big["seconds"] < TARGET_SECONDS,
        notes=[
            f"{checks}, {big['run_requests']} run requests; small table: "
            f"{small['new_processes']:,} new, {small['seconds']:.3f} s",
        ],
    )
    share = small["seconds"] / big["seconds"] if big["seconds"] else float("nan")
    return [
        seconds,
        Row(
            SCENARIO,
            f"tick time with N/10 occasions as a share of the time with N ({occasions:,})",
            share,
            "",
            target=f">= {TARGET_SMALL_TABLE_SHARE:.2f} (cost follows new work)",
            met=share >= TARGET_SMALL_TABLE_SHARE,
        ),
        Row(
            SCENARIO,
            "peak memory of the process that evaluates the sensor (imports included)",
            big["peak_mb"],
            "MB",
            target=f"< {TARGET_PEAK_MB:.0f} MB",
            baseline_label=f"same tick, {occasions // 10:,} occasions",
            baseline=small["peak_mb"],
            met=big["peak_mb"] < TARGET_PEAK_MB,
            notes=[f"the tick itself raised the peak by {big['tick_mb']:.1f} MB"],
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1])))
