"""`python -m benchmarks.http_api`: confirmations through `ivyi serve` against `ivyi confirm`.

A bounded load test on a throwaway PostgreSQL database: 100 processes with an open decision
window, 10 confirmations of each (1,000 calls; the first of a process wins with 202, the other
nine get 409, as racing givers' apps would), sent by 20 concurrent clients over keep-alive
HTTP connections to `ivyi serve` (one uvicorn process). The baseline, measured in the same run
on another 100 processes of the same database: the same 1,000 calls as `ivyi confirm` command
lines, 20 at a time, as a platform without the API would have to make them. Reported: calls a
second (wall clock, first call sent to last answer) and the 50th/95th percentile of one call.
"""

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.api_server import Api, ivyi_serve
from benchmarks.harness import Env, throwaway_database
from benchmarks.report import Row, notes, table
from benchmarks.seeding import due_offsets, seed
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.orchestration.resources import GiftingSettings
from ivyi_pipeline.workflows.gifting_process import find, steps
from ivyi_pipeline.workflows.gifting_process.create import create_processes
from ivyi_pipeline.workflows.gifting_process.detection import detect_due_occurrences

OPENED = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
"""When the benchmark's decision windows open (they close 72 hours later)."""
SERVER_AS_OF = "2026-06-01T13:00:00Z"
"""The instant the server and the command lines act at: inside those windows."""


def open_windows(url: str, n: int) -> list[tuple[str, list[str]]]:
    """n synthetic occasions due at OPENED, walked by the real steps to DECISION_WINDOW_OPEN;
    (process id, its ranked gift ids best first) each."""
    rules = steps.GiftingRules()
    lead_days = GiftingSettings().lead_days
    seed(url, due_offsets(n, lead_days), as_of=OPENED)
    engine = get_engine(url)
    due, _cursor = detect_due_occurrences(engine, OPENED, None, lead_days)
    ids = create_processes(engine, due, OPENED)
    steps.start_workflow(engine, ids, OPENED)
    steps.generate_options(engine, ids, OPENED, rules)
    steps.rank_options(engine, ids, OPENED, rules)
    opened = steps.open_decision_window(engine, ids, OPENED, rules).advanced
    with engine.connect() as conn:
        return [(pid, find.ranked_gift_ids(conn, pid)) for pid in sorted(opened)]


SCENARIO = "HTTP API confirmations"
IVYI = str(Path(sys.executable).with_name("ivyi"))


def _calls(processes: Sequence[tuple[str, list[str]]], per_process: int, seed: int) -> list:
    """(process id, gift id) per call, every process `per_process` times, shuffled."""
    calls = [
        (pid, ranked[i % len(ranked)]) for pid, ranked in processes for i in range(per_process)
    ]
    random.Random(seed).shuffle(calls)
    return calls


def _drive(calls: list, clients: int, one_call: Callable[[str, str], int]) -> dict:
    """Send the calls from `clients` threads; wall time, per-call seconds, answers by status."""
    durations: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    feed = iter(calls)

    def client() -> None:
        while True:
            with lock:
                item = next(feed, None)
            if item is None:
                return
            started = time.perf_counter()
            status = one_call(*item)
            elapsed = time.perf_counter() - started
            with lock:
                durations.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    return {"wall": time.perf_counter() - started, "durations": durations, "statuses": statuses}


def _over_http(api: Api, calls: list, clients: int) -> dict:
    local = threading.local()

    def one_call(pid: str, gift: str) -> int:
        if not hasattr(local, "client"):
            local.client = api.client()
        response = local.client.post(
            f"/gifting-processes/{pid}/confirmation",
            json={"gift_id": gift},
            headers=api.headers(str(uuid.uuid4())),
        )
        return response.status_code

    return _drive(calls, clients, one_call)


def _through_cli(url: str, home: str, calls: list, clients: int) -> dict:
    env = {**os.environ, "IVYI_DATABASE_URL": url, "IVYI_HOME": home}

    def one_call(pid: str, gift: str) -> int:
        done = subprocess.run(
            [IVYI, "confirm", pid, gift, "--as-of", SERVER_AS_OF],
            env=env,
            capture_output=True,
            timeout=300,
        )
        return 202 if done.returncode == 0 else 409 if "confirmation" in done.stderr.decode() else 1

    return _drive(calls, clients, one_call)


def _rows(http: dict, cli: dict, calls: int) -> list[Row]:
    def rate(result: dict) -> float:
        return calls / result["wall"]

    def pct(result: dict, q: float) -> float:
        return float(np.percentile(result["durations"], q) * 1000)

    def answers(result: dict) -> str:
        return ", ".join(f"{n} x {status}" for status, n in sorted(result["statuses"].items()))

    return [
        Row(SCENARIO, "throughput over HTTP", rate(http), "calls/s", "",
            "`ivyi confirm`", rate(cli),
            notes=[f"HTTP answers: {answers(http)}; `ivyi confirm`: {answers(cli)}",
                   f"HTTP wall {http['wall']:.1f} s, `ivyi confirm` wall {cli['wall']:.1f} s"]),
        Row(SCENARIO, "p50 of one call over HTTP", pct(http, 50), "ms", "",
            "`ivyi confirm`", pct(cli, 50)),
        Row(SCENARIO, "p95 of one call over HTTP", pct(http, 95), "ms", "",
            "`ivyi confirm`", pct(cli, 95)),
    ]  # fmt: skip


def run(env: Env, processes: int, per_process: int, clients: int, cli_calls: int) -> list[Row]:
    """Seed 2 x `processes` open windows; drive the HTTP run, then the command-line baseline."""
    with throwaway_database(env, "ivyi_bench_http") as url, tempfile.TemporaryDirectory() as home:
        engine = get_engine(url)
        seeded = open_windows(url, n=2 * processes)
        http_calls = _calls(seeded[:processes], per_process, seed=1)
        cli_calls_list = _calls(seeded[processes:], per_process, seed=2)[:cli_calls]
        with ivyi_serve(url, Path(home) / "serve.log", as_of=SERVER_AS_OF) as api:
            http = _over_http(api, http_calls, clients)
        cli = _through_cli(url, home, cli_calls_list, clients)
        rows = _rows(http, cli, len(http_calls))
        rows[0].baseline = len(cli_calls_list) / cli["wall"]
        engine.dispose()
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the load test and print its table."""
    from benchmarks.__main__ import machine
    from benchmarks.harness import environment

    parser = argparse.ArgumentParser(prog="python -m benchmarks.http_api", description=__doc__)
    parser.add_argument("--processes", type=int, default=100)
    parser.add_argument("--per-process", type=int, default=10)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--cli-calls", type=int, default=1000, help="calls of the `ivyi confirm` baseline"
    )
    args = parser.parse_args(argv)
    print(machine(), file=sys.stderr)
    with environment(use_pgbouncer=False) as env:
        rows = run(env, args.processes, args.per_process, args.clients, args.cli_calls)
    print(table(rows))
    print(notes(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
