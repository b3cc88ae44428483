"""Profile scenario 2's detection tick with pyinstrument: where one push of P processes goes.

    python -m benchmarks.profile --processes 500 --out benchmarks/results/profile.txt
    python -m benchmarks.profile --week-daily 1000 --days 7 --out week.txt   # scenario 7 instead

Seeds P due occasions on throwaway databases (through pgbouncer when it is installed, with
Dagster's batched event writes, like `python -m benchmarks`), then profiles the one tick
that runs them all. Writes pyinstrument's text report (and an HTML one next to it), and
prints the wall time, the machine's load and the split of the stack sampler.
"""

import argparse
import os
import sys
from pathlib import Path

from benchmarks.harness import Stopwatch, dagster_instance, environment, throwaway_database
from benchmarks.sampler import StackSampler
from benchmarks.seeding import AS_OF, due_offsets, seed
from benchmarks.throughput import pipeline_definitions
from ivyi_pipeline.entrypoints.local_runs import tick
from ivyi_pipeline.orchestration.resources import GiftingSettings
from ivyi_pipeline.orchestration.sensors import occasion_detection_sensor


def main(argv: list[str] | None = None) -> int:
    """Profile one tick; 0 when every run succeeded."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--processes", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--out", default="profile.txt", help="text report; .html beside it")
    parser.add_argument(
        "--all-frames", action="store_true", help="show library frames too (Dagster, SQLAlchemy)"
    )
    parser.add_argument(
        "--week-daily",
        type=int,
        help="profile scenario 7's week instead (its runs, retention and confirmations) at "
        "this many new processes a day",
    )
    parser.add_argument("--days", type=int, default=7, help="the week's days (--week-daily)")
    args = parser.parse_args(argv)
    from pyinstrument import Profiler  # a test extra: only this module needs it

    if args.week_daily:
        return _profile_week(args, Profiler)

    with (
        environment() as env,
        throwaway_database(env, "ivyi_bench_profile") as url,
        dagster_instance(env) as (instance, _),
    ):
        seed(url, due_offsets(args.processes, GiftingSettings().lead_days))
        defs = pipeline_definitions(url, args.batch_size)
        load_before = os.getloadavg()
        profiler = Profiler(interval=0.001)
        with StackSampler() as sampler, Stopwatch() as watch:
            profiler.start()
            summary = tick(instance, defs, AS_OF, sensor_names=[occasion_detection_sensor.name])
            profiler.stop()
        load_after = os.getloadavg()
    out = Path(args.out)
    out.write_text(profiler.output_text(unicode=True, show_all=args.all_frames))
    out.with_suffix(".html").write_text(profiler.output_html())
    print(
        f"{args.processes} processes: {watch.seconds:.2f} s, "
        f"{1000 * watch.seconds / args.processes:.2f} ms a process; "
        f"runs ok {len(summary.succeeded)}, failed {len(summary.failed)}; "
        f"load {load_before[0]:.2f} -> {load_after[0]:.2f} (1 min)\n"
        f"{env.storage_label}\nsampler: {sampler.summary(watch.seconds)}\n"
        + ", ".join(
            f"{k} {v * 1000 * watch.seconds / args.processes:.2f} ms"
            for k, v in sampler.shares().items()
        )
        + f"\nreport: {out}",
    )
    return 1 if summary.failed else 0


def _profile_week(args, profiler_class) -> int:
    """The whole of `benchmarks.week.run_week` under pyinstrument; 0 when no run failed."""
    from benchmarks.week import run_week

    with environment() as env:
        profiler = profiler_class(interval=0.001)
        with Stopwatch() as watch:
            profiler.start()
            week = run_week(env, args.week_daily, args.days, args.batch_size)
            profiler.stop()
    out = Path(args.out)
    out.write_text(profiler.output_text(unicode=True, show_all=args.all_frames))
    out.with_suffix(".html").write_text(profiler.output_html())
    failed = sum(day.failed_runs for day in week.days)
    print(
        f"week of {args.days} days at {args.week_daily} a day: {watch.seconds:.0f} s, "
        f"{week.partition_steps:,} process-steps, "
        f"{1000 * week.seconds / max(week.partition_steps, 1):.2f} ms a process-step "
        f"(timed days only); runs failed {failed}\n{env.storage_label}\nreport: {out}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
