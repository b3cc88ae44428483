"""Smoke test of `python -m benchmarks`: the smallest size runs end to end (no timings checked)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import SCENARIOS
from benchmarks.latency import code_servers_of

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres
LATENCY_LOCATION = "benchmarks.latency_location"  # the module its daemon's code server loads


# The two daemon scenarios spend their time waiting for the daemon's ticks, so they run in a
# second `python -m benchmarks` beside the others (each run has its own throwaway databases and
# pgbouncer port): the test takes the longer of the two instead of their sum.
DAEMON_SCENARIOS = (3, 8)


def test_the_smallest_benchmark_prints_a_numeric_row_for_every_scenario(tmp_path):
    servers_before = set(code_servers_of(LATENCY_LOCATION))
    groups = [
        [n for n in SCENARIOS if n not in DAEMON_SCENARIOS],
        [n for n in SCENARIOS if n in DAEMON_SCENARIOS],
    ]
    runs = []
    for index, group in enumerate(groups):
        out, log = tmp_path / f"rows_{index}.json", tmp_path / f"run_{index}"
        command = [sys.executable, "-m", "benchmarks", "--size", "smoke", "--json", str(out)]
        command += ["--scenarios", ",".join(map(str, group))]
        # Files, not pipes: neither run may block on a pipe that nobody reads yet.
        with open(f"{log}.out", "w") as stdout, open(f"{log}.err", "w") as stderr:
            process = subprocess.Popen(command, cwd=REPO, stdout=stdout, stderr=stderr)
        runs.append((process, out, log))
    try:
        for process, _, _ in runs:
            process.wait(timeout=900)
    finally:
        for process, _, _ in runs:
            if process.poll() is None:
                process.kill()

    stdout = ""
    for process, _, log in runs:
        assert process.returncode == 0, Path(f"{log}.err").read_text()[-4000:]
        mine = Path(f"{log}.out").read_text()
        assert "| scenario" in mine
        stdout += mine
    rows = [row for _, out, _ in runs for row in json.loads(out.read_text())["rows"]]
    for number in SCENARIOS:
        mine = [row for row in rows if row["scenario"].startswith(f"{number} ")]
        assert mine, f"scenario {number} printed no row"
        for row in mine:
            assert isinstance(row["value"], int | float), row
            assert not math.isnan(row["value"]), row
            assert row["figure"] in stdout
    # The daemon's code server runs in its own session: the benchmark must stop it too.
    assert set(code_servers_of(LATENCY_LOCATION)) <= servers_before


def test_the_http_api_load_test_prints_throughput_and_p95_against_ivyi_confirm():
    command = [sys.executable, "-m", "benchmarks.http_api", "--processes", "2"]
    command += ["--per-process", "3", "--clients", "2", "--cli-calls", "2"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stderr[-4000:]
    for figure in ("throughput over HTTP", "p95 of one call over HTTP"):
        (line,) = [
            row for row in result.stdout.splitlines() if row.startswith("|") and figure in row
        ]
        assert "n/a" not in line
    assert "HTTP answers: 2 x 202, 4 x 409" in result.stdout
