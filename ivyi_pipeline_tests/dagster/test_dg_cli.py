"""Dagster's own `dg` CLI recognises the project: `dg list defs` lists the code location's
definitions and `dg check defs` loads them, from the repository root as a user runs them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ivyi_pipeline.definitions import defs

REPO = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).with_name("dg")


@pytest.fixture
def dg(tmp_path, monkeypatch):
    """Run `dg` in the repository root on a throwaway embedded default (IVYI_HOME, DAGSTER_HOME)."""
    monkeypatch.setenv("IVYI_HOME", str(tmp_path / "ivyi_home"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "ivyi_home" / "dagster_home"))
    monkeypatch.delenv("IVYI_DATABASE_URL", raising=False)
    (tmp_path / "ivyi_home" / "dagster_home").mkdir(parents=True)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(DG), *args], cwd=REPO, capture_output=True, text=True, timeout=180
        )

    return run


def test_dg_list_defs_lists_every_job_sensor_schedule_and_asset_of_the_definitions(dg):
    result = dg("list", "defs", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    listed = json.loads(result.stdout)
    repository = defs.get_repository_def()
    assert {job["name"] for job in listed["jobs"]} >= {
        "gifting_process_job",
        "gifting_process_celery_job",
        "occasion_detection_job",
        "gifting_funnel_job",
        "dagster_retention_job",
    }
    assert {job["name"] for job in listed["jobs"]} == {
        job.name for job in repository.get_all_jobs() if not job.name.startswith("__")
    }
    assert {s["name"] for s in listed["sensors"]} == {s.name for s in repository.sensor_defs}
    assert {s["name"] for s in listed["schedules"]} == {s.name for s in repository.schedule_defs}
    assert {a["asset_key"] for a in listed["assets"]} == {
        key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()
    }
    assert {"gift_options", "occasion_detection", "gifting_funnel"} <= {
        a["asset_key"] for a in listed["assets"]
    }


def test_dg_check_defs_loads_the_definitions_without_an_error(dg):
    result = dg("check", "defs")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr
