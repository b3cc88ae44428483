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


def test_the_smallest_benchmark_prints_a_numeric_row_for_every_scenario(tmp_path):
    out = tmp_path / "rows.json"
    servers_before = set(code_servers_of(LATENCY_LOCATION))
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "smoke", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "| scenario" in result.stdout
    rows = json.loads(out.read_text())["rows"]
    for number in SCENARIOS:
        mine = [row for row in rows if row["scenario"].startswith(f"{number} ")]
        assert mine, f"scenario {number} printed no row"
        for row in mine:
            assert isinstance(row["value"], int | float), row
            assert not math.isnan(row["value"]), row
            assert row["figure"] in result.stdout
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
