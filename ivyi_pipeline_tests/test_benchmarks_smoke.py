"""Smoke test of `python -m benchmarks`: the smallest size runs end to end (no timings checked)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import SCENARIOS

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.postgres


def _benchmark_code_servers() -> set[int]:
    """Pids of live `dagster api grpc` servers of the latency scenario's code location."""
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if b"api\0grpc" in cmdline and b"benchmarks.latency_location" in cmdline:
            pids.add(int(entry.name))
    return pids


def test_the_smallest_benchmark_prints_a_numeric_row_for_every_scenario(tmp_path):
    out = tmp_path / "rows.json"
    servers_before = _benchmark_code_servers()
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
    assert _benchmark_code_servers() <= servers_before
