"""ivyi_pipeline/ and the benchmarks reach Dagster through its public API only.

The one exception is contained in orchestration/dagster_internals.py (per-partition metadata
and check-result pointers that 1.13.27 offers no public way for); test_dagster_internals.py
fails when the pinned Dagster changes under it.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "ivyi_pipeline" / "orchestration" / "dagster_internals.py"
PRIVATE = [
    re.compile(r"\bdagster\._"),  # private modules: dagster._core, dagster._utils, ...
    re.compile(r"\._metadata_accumulator\b"),
    re.compile(r"\._raw_fn\b"),
    re.compile(r"\.run_storage\b"),
    re.compile(r"\.event_log_storage\b"),
    re.compile(r"\breport_run_failed\b"),
    re.compile(r"\bget_cursor_values\b|\bset_cursor_values\b"),
    re.compile(r"ivyi/tick_(pid|host)"),
]


def _offences(paths) -> list[str]:
    found = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            found += [
                f"{path}:{number}: {line.strip()}" for pattern in PRIVATE if pattern.search(code)
            ]
    return found


def test_no_private_dagster_access_outside_the_one_adapter():
    sources = [
        path
        for folder in ("ivyi_pipeline", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ADAPTER
    ]
    assert len(sources) > 50
    assert _offences(sources) == []


def test_the_scan_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from dagster._core.storage import x\nstep._metadata_accumulator = 1\n")
    assert len(_offences([sample])) == 2


def test_the_adapter_is_where_the_private_access_lives():
    assert _offences([ADAPTER])
