"""How often a ranged run reads every live partition key, and what its range size buys.

    python -m benchmarks.range_reads --live 80000,200000 --batch-sizes 500,2000

For each number of live keys L and range size B, on throwaway PostgreSQL databases (Dagster
through pgbouncer with batched events, like `python -m benchmarks`): L - B filler keys are added
to `gift_processes` (then `ANALYZE`), then B due occasions are seeded and one detection tick
runs them as one ranged run of B processes (detection -> DECISION_WINDOW_OPEN). Every full read
of the live keys (`get_dynamic_partitions` of the instance) is counted
during the tick, with the seconds it took. The baseline is the same tick at the smallest L.
Printed as a table: reads per run, seconds in them, ms per process and its ratio to the
baseline.
"""

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
import yaml

from benchmarks.harness import Stopwatch, dagster_instance, environment, throwaway_database
from benchmarks.seeding import AS_OF, due_offsets, seed
from benchmarks.throughput import pipeline_definitions
from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.entrypoints.local_runs import tick
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.orchestration.resources import GiftingSettings
from ivyi_pipeline.orchestration.sensors import occasion_detection_sensor

FILLER_CHUNK = 50_000


class ReadCounter:
    """Counts and times the full reads of a partitions definition's keys by an instance."""

    def __init__(self, instance):
        self.instance, self.calls, self.seconds = instance, 0, 0.0
        self.original = instance.get_dynamic_partitions

    def __enter__(self) -> "ReadCounter":
        def counted(partitions_def_name: str):
            start = time.perf_counter()
            try:
                return self.original(partitions_def_name)
            finally:
                self.calls += 1
                self.seconds += time.perf_counter() - start

        self.instance.get_dynamic_partitions = counted
        return self

    def __exit__(self, *exc) -> None:
        self.instance.get_dynamic_partitions = self.original


def analyze(home: str) -> None:
    """Fresh planner statistics for Dagster's tables, as production's autovacuum keeps them."""
    config = yaml.safe_load(Path(home, "dagster.yaml").read_text())
    engine = sa.create_engine(
        config["storage"]["postgres"]["postgres_url"],
        poolclass=sa.pool.NullPool,
        isolation_level="AUTOCOMMIT",
    )
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def measure(env, live: int, batch: int) -> dict:
    """One ranged run of `batch` new processes beside `live - batch` other live keys."""
    with throwaway_database(env, "ivyi_bench_ranges") as url, dagster_instance(env) as (inst, home):
        filler = sorted(f"2027-01-01.filler-{uuid.uuid4()}" for _ in range(live - batch))
        for chunk in chunks(filler, FILLER_CHUNK):
            inst.add_dynamic_partitions(gift_processes_partitions.name, chunk)
        seed(url, due_offsets(batch, GiftingSettings().lead_days))
        analyze(home)
        defs = pipeline_definitions(url, batch)
        with ReadCounter(inst) as reads, Stopwatch() as watch:
            summary = tick(inst, defs, AS_OF, sensor_names=[occasion_detection_sensor.name])
        runs = len(summary.succeeded) + len(summary.failed)
        return {
            "live": live,
            "batch": batch,
            "runs": runs,
            "failed_runs": len(summary.failed),
            "seconds": round(watch.seconds, 2),
            "ms_per_process": round(1000 * watch.seconds / batch, 2),
            "reads": reads.calls,
            "reads_per_run": round(reads.calls / max(runs, 1), 1),
            "read_seconds": round(reads.seconds, 2),
            "read_ms_per_process": round(1000 * reads.seconds / batch, 2),
            "load_1m": round(os.getloadavg()[0], 2),
        }


def main(argv: list[str] | None = None) -> int:
    """Print the table; 0 when every run succeeded."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.range_reads", description=__doc__)
    parser.add_argument("--live", default="10000,80000,200000")
    parser.add_argument("--batch-sizes", default="500,2000")
    parser.add_argument("--json", help="also write the results as JSON to this path")
    args = parser.parse_args(argv)
    lives = sorted(int(n) for n in args.live.split(","))
    batches = [int(n) for n in args.batch_sizes.split(",")]
    results = []
    with environment() as env:
        print(f"{env.storage_label}; {env.events_label}", file=sys.stderr)
        for batch in batches:
            for live in lives:
                results.append(measure(env, live, batch))
                print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print("| live keys | range | reads a run | s in reads | ms a process | ratio | load |")
    print("|---|---|---|---|---|---|---|")
    for batch in batches:
        rows = [r for r in results if r["batch"] == batch]
        base = rows[0]["ms_per_process"]
        for r in rows:
            print(
                f"| {r['live']:,} | {batch:,} | {r['reads_per_run']} | {r['read_seconds']} | "
                f"{r['ms_per_process']} | {r['ms_per_process'] / base:.2f}x | {r['load_1m']} |"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["failed_runs"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
