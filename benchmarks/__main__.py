"""`python -m benchmarks`: run the scenarios at a size and print one table of figures."""

import argparse
import json
import os
import platform
import shlex
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from importlib.metadata import version

from benchmarks import SIZES
from benchmarks.harness import environment
from benchmarks.report import Row, notes, table, unavailable

SCENARIOS = {
    1: "detection tick",
    2: "batch throughput",
    3: "per-process latency (daemon)",
    4: "ranking",
    5: "backfill",
    6: "growth",
    7: "steady-state week",
    8: "confirmation latency (daemon)",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument(
        "--processes",
        type=int,
        help="processes for scenario 2 and 5, and new processes a day for scenario 7; "
        "scenario 6 then runs N/10, N and 5N",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=500,
        help="processes per ranged run (0: one range for all); default 500",
    )
    parser.add_argument(
        "--growth",
        help="comma-separated process counts for scenario 6's pipeline runs (default: the "
        "size's; Dagster's partition check still runs at the size's counts)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(map(str, SCENARIOS)),
        help="comma-separated scenario numbers to run, e.g. 1,2,4 (default: all)",
    )
    parser.add_argument(
        "--no-pgbouncer", action="store_true", help="Dagster storage straight on PostgreSQL"
    )
    parser.add_argument(
        "--dagster-events",
        choices=["batched", "default"],
        default="batched",
        help="batched: Dagster's batched event writes (the recommended production setting); "
        "default: Dagster's defaults",
    )
    parser.add_argument(
        "--week-daily", type=int, help="scenario 7's new processes a day (default: the size's)"
    )
    parser.add_argument(
        "--week-plain-floor-only",
        action="store_true",
        help="scenario 7 without its second baseline (the floor recording the same check "
        "results): a quarter of a full-size week's time",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
    return parser


def machine() -> str:
    """Cores, memory, load and versions: the context every figure needs."""
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {total_kb / 1024**2:.1f} GiB RAM, load {load}; "
        f"Python {platform.python_version()}, dagster {version('dagster')}, "
        f"dagster-postgres {version('dagster-postgres')}"
    )


def _run(number: int, fn) -> list[Row]:
    started = time.perf_counter()
    print(f"-- scenario {number}: {SCENARIOS[number]} ...", file=sys.stderr, flush=True)
    try:
        rows = fn()
    except Exception as error:  # one failure must not hide the rest
        traceback.print_exc()
        rows = [unavailable(f"{number} {SCENARIOS[number]}", "failed", f"{error!r}"[:500])]
    print(
        f"   scenario {number} took {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return rows


def _scenarios(env, size, args) -> dict[int, Callable[[], list[Row]]]:
    """Each scenario's rows, by number, as a call on this run's environment and size."""
    from benchmarks import (
        backfill,
        confirmation,
        detection,
        growth,
        latency,
        ranking,
        throughput,
        week,
    )

    measured = {}

    def scenario_2():
        found, ours = throughput.rows(env, size.processes, args.batch_size)
        measured[size.processes] = ours
        return found

    def scenario_5():
        ours = measured.get(size.processes)
        sensor_ms = ours.ms_per_process if ours and ours.processes else None
        return backfill.rows(env, size.backfill_occasions, args.batch_size, sensor_ms)

    def scenario_6():
        sizes = [int(n) for n in args.growth.split(",")] if args.growth else list(size.growth)
        return growth.rows(env, sizes, args.batch_size, measured, list(SIZES[args.size].growth))

    return {
        1: lambda: detection.rows(env, size.detection_occasions, size.detection_due),
        2: scenario_2,
        3: lambda: latency.rows(env, size.latency_trials, size.daemon_warm_up),
        4: lambda: ranking.rows(size.catalogue_gifts, size.ranked_processes, size.candidates),
        5: scenario_5,
        6: scenario_6,
        7: lambda: week.rows(
            env,
            size.week_daily,
            size.week_days,
            args.batch_size,
            checked_floor=not args.week_plain_floor_only,
        ),
        8: lambda: confirmation.rows(env, size.confirmation_trials, size.daemon_warm_up),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios and print the table; 1 when a scenario failed."""
    args = _parser().parse_args(argv)
    size = SIZES[args.size]
    if args.processes:
        size = size.with_processes(args.processes)
    if args.week_daily:
        size = replace(size, week_daily=args.week_daily)
    chosen = {int(n) for n in args.scenarios.split(",") if n.strip()}
    rows: list[Row] = []
    command = "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:])
    with environment(
        use_pgbouncer=not args.no_pgbouncer, batched_events=args.dagster_events == "batched"
    ) as env:
        print(f"{command}\n{machine()}\n{env.storage_label}\n{env.events_label}", flush=True)
        for note in env.notes:
            print(f"NOTE: {note}", flush=True)
        shown = len(env.notes)
        for number, scenario in _scenarios(env, size, args).items():
            if number in chosen:
                rows += _run(number, scenario)
    print()
    print(table(rows))
    for note in env.notes[shown:]:  # what a scenario found about the environment
        print(f"NOTE: {note}")
    print()
    print(notes(rows))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {
                    "command": command,
                    "machine": machine(),
                    "storage": env.storage_label,
                    "events": env.events_label,
                    "environment_notes": env.notes,
                    "rows": [row.as_dict() for row in rows],
                },
                out,
                indent=2,
                default=str,
            )
    failed = [row for row in rows if row.figure == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
