"""Scenario 3: one occasion inserted -> DECISION_WINDOW_OPEN, with dagster-daemon running.

The daemon runs as a subprocess against the benchmark's PostgreSQL instance (queued run
coordinator, default run launcher: a process per run) and loads
benchmarks.latency_location. Trials are sequential: insert one occasion due in ten days,
then poll the domain database until its process's decision window is open. The baseline,
measured in the same run, is an empty job's launch-to-success latency (from Dagster's own
run timestamps) on the same daemon.
"""

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import numpy as np
import sqlalchemy as sa

from benchmarks.harness import (
    REPO_ROOT,
    Env,
    dagster_instance,
    subprocess_env,
    throwaway_database,
)
from benchmarks.report import Row
from benchmarks.seeding import later_offsets, seed
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import gift_processes, occasions, relationships
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.resources import GiftingSettings
from ivyi_pipeline.workflows.gifting_process.create import process_id_for

SCENARIO = "3 per-process latency"
TARGET_OVER_BASELINE_S = 2.0
TRIAL_TIMEOUT_S = 180.0
SENSOR_INTERVAL = 1
MAX_BASELINE_RUNS = 10
WORKSPACE = f"""\
load_from:
  - python_module:
      module_name: benchmarks.latency_location
      location_name: ivyi_benchmark
      working_directory: {REPO_ROOT}
"""


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


class Daemon:
    """dagster-daemon in its own process group, stopped (the whole group) on exit."""

    def __init__(self, home: str, domain_url: str, sensors: str = "occasion_detection_sensor"):
        self.home = home
        self.env = subprocess_env(
            DAGSTER_HOME=home,
            IVYI_DATABASE_URL=domain_url,
            IVYI_HOME=str(Path(home) / "ivyi"),
            IVYI_BENCH_SENSOR_INTERVAL=str(SENSOR_INTERVAL),
            IVYI_BENCH_SENSORS=sensors,
        )
        self.workspace = Path(home) / "workspace.yaml"
        self.workspace.write_text(WORKSPACE)
        self.log_path = Path(home) / "daemon.log"

    def __enter__(self) -> "Daemon":
        self._log = open(self.log_path, "w")  # closed in __exit__
        self.process = subprocess.Popen(
            [_bin("dagster-daemon"), "run", "-w", str(self.workspace)],
            cwd=self.home,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        _stop_code_servers(self.home)
        self._log.close()

    def tail(self, chars: int = 3000) -> str:
        """The end of the daemon's log, for error messages."""
        return self.log_path.read_text()[-chars:]

    def launch_empty_run(self) -> str:
        """Submit bench_empty_job to the run queue with the dagster CLI; its run id."""
        run_id = str(uuid.uuid4())
        subprocess.run(
            [_bin("dagster"), "job", "launch", "-w", str(self.workspace)]
            + ["-j", "bench_empty_job", "--run-id", run_id],
            cwd=self.home,
            env=self.env,
            check=True,
            capture_output=True,
        )
        return run_id


def code_servers_of(marker: str) -> list[int]:
    """Pids of `dagster api grpc` servers whose command line names marker (Linux: /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(args).decode(errors="replace")
        if "dagster api grpc" in text and marker in text:
            pids.append(int(entry.name))
    return pids


def _stop_code_servers(home: str) -> None:
    """Stop the code servers the daemon started: they run in their own sessions, so stopping
    the daemon's process group leaves them behind (seen: one per run, alive for hours)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = code_servers_of(home)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while pids and time.monotonic() < deadline and code_servers_of(home):
            time.sleep(0.2)


def _wait_for_run(instance: dg.DagsterInstance, run_id: str, timeout: float) -> dg.RunRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = instance.get_run_record_by_id(run_id)
        if record and record.dagster_run.is_finished and record.end_time:
            return record
        time.sleep(0.1)
    raise TimeoutError(f"run {run_id} did not finish within {timeout:.0f} s")


def _insert_occasion(url: str, relationship: tuple[str, str], day: dt.date) -> str:
    occasion_id = str(uuid.uuid4())
    with get_engine(url).begin() as conn:
        conn.execute(
            occasions.insert().values(
                id=occasion_id,
                relationship_id=relationship[0],
                recipient_id=relationship[1],
                kind="OTHER",
                date=day,
                recurs_yearly=False,
                month_day=day.month * 100 + day.day,
            )
        )
    return occasion_id


def _wait_for_window(url: str, process_id: str, timeout: float) -> None:
    query = sa.select(gift_processes.c.status).where(gift_processes.c.id == process_id)
    deadline = time.monotonic() + timeout
    with get_engine(url).connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(query).scalar() == "DECISION_WINDOW_OPEN":
                return
            conn.rollback()
            time.sleep(0.05)
    raise TimeoutError(f"process {process_id} did not open its window within {timeout:.0f} s")


def _trial(url, instance, relationship) -> dict[str, float]:
    """One occasion through detection to an open window: total, detection and run latency."""
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=10)
    inserted = time.time()
    occasion_id = _insert_occasion(url, relationship, day)
    process_id = process_id_for(occasion_id, day)
    _wait_for_window(url, process_id, TRIAL_TIMEOUT_S)
    total = time.time() - inserted
    records = instance.get_run_records(
        filters=dg.RunsFilter(tags={tags.PROCESS_ID: process_id}), limit=1
    )
    out = {"total": total, "detection": float("nan"), "run": float("nan")}
    if records:
        record = _wait_for_run(instance, records[0].dagster_run.run_id, TRIAL_TIMEOUT_S)
        out["detection"] = record.create_timestamp.timestamp() - inserted
        out["run"] = record.end_time - record.create_timestamp.timestamp()
    return out


def daemon_trials(
    daemon: Daemon,
    instance: dg.DagsterInstance,
    trial: Callable[[int], dict[str, float]],
    trials: int,
    baseline_runs: int,
    warm_up: bool = True,
) -> dict:
    """On a started daemon: a warm-up trial (-1; without it, the first trial includes the
    daemon's start-up), trials 0..trials-1, then `baseline_runs` empty runs' launch-to-success;
    any failure comes with the end of the daemon's log."""
    try:
        started = time.monotonic()
        warmed_up = None
        if warm_up:  # the daemon starts, ticks once
            trial(-1)
            warmed_up = time.monotonic() - started
        results = [trial(i) for i in range(trials)]
        empty = []
        for _ in range(baseline_runs):
            record = _wait_for_run(instance, daemon.launch_empty_run(), TRIAL_TIMEOUT_S)
            empty.append(record.end_time - record.create_timestamp.timestamp())
    except Exception as error:
        raise RuntimeError(f"{error}\ndaemon log:\n{daemon.tail()}") from error
    return {"trials": results, "empty": empty, "warm_up": warmed_up}


def warm_up_note(warm_up: float | None) -> str:
    """What the figures leave out: the daemon's start-up and first trial, or nothing."""
    if warm_up is None:
        return "no warm-up (the first trial includes the daemon's start-up)"
    return f"daemon start-up and first trial {warm_up:.0f} s (not counted)"


def _p(values: list[float], q: float) -> float:
    clean = [v for v in values if not np.isnan(v)]
    return float(np.percentile(clean, q)) if clean else float("nan")


def measure(env: Env, trials: int, warm_up: bool = True) -> dict:
    """Start the daemon, run the trials and the empty runs; their latencies."""
    lead = GiftingSettings().lead_days
    now = dt.datetime.now(dt.UTC)
    with (
        throwaway_database(env, "ivyi_bench_latency") as url,
        dagster_instance(env) as (instance, home),
    ):
        seed(url, later_offsets(max(2 * trials + 10, 50), lead), as_of=now)
        with get_engine(url).connect() as conn:
            rels = conn.execute(
                sa.select(relationships.c.id, relationships.c.recipient_id)
                .order_by(relationships.c.id)
                .limit(trials + 1)
            ).all()
        with Daemon(home, url) as daemon:
            return daemon_trials(
                daemon,
                instance,
                lambda i: _trial(url, instance, rels[i % len(rels)]),
                trials,
                baseline_runs=min(trials, MAX_BASELINE_RUNS),
                warm_up=warm_up,
            )


def rows(env: Env, trials: int, warm_up: bool = True) -> list[Row]:
    """The scenario's rows."""
    m = measure(env, trials, warm_up)
    total = [t["total"] for t in m["trials"]]
    detection = [t["detection"] for t in m["trials"]]
    run = [t["run"] for t in m["trials"]]
    p50, base50 = _p(total, 50), _p(m["empty"], 50)
    breakdown = (
        f"p50 insert -> run queued {_p(detection, 50):.2f} s (sensor interval "
        f"{SENSOR_INTERVAL} s; the daemon's sensor loop wakes every 5 s), gifting run queued -> "
        f"success p50 {_p(run, 50):.2f} s; {len(m['empty'])} empty runs; "
        f"{warm_up_note(m['warm_up'])}"
    )
    return [
        Row(
            SCENARIO,
            f"p50 occasion inserted -> DECISION_WINDOW_OPEN ({trials} processes, daemon)",
            p50,
            "s",
            target=f"<= baseline + {TARGET_OVER_BASELINE_S:.0f} s",
            baseline_label="empty run, launch -> success",
            baseline=base50,
            met=p50 - base50 <= TARGET_OVER_BASELINE_S,
            notes=[breakdown],
        ),
        Row(
            SCENARIO,
            f"p95 occasion inserted -> DECISION_WINDOW_OPEN ({trials} processes, daemon)",
            _p(total, 95),
            "s",
            baseline_label="empty run, launch -> success",
            baseline=_p(m["empty"], 95),
        ),
    ]
