"""Smoke test of the code location: Definitions load, resolve by name and validate."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from ivyi_pipeline.definitions import defs

REPO = Path(__file__).resolve().parents[1]
GIFTING_SENSORS = (
    "occasion_detection_sensor",
    "decision_window_sensor",
    "confirmation_sensor",
    "fulfilment_sensor",
)
GIFTING_ASSETS = ("gift_options", "ranked_decisions", "gift_process_state")


def test_the_definitions_load_into_a_repository():
    repository = defs.get_repository_def()

    assert repository.has_job("gifting_process_job")
    for sensor in GIFTING_SENSORS:
        assert repository.has_sensor_def(sensor), sensor


def test_the_gifting_job_materializes_the_three_assets_per_process_in_process():
    job = defs.resolve_job_def("gifting_process_job")

    assert job.partitions_def == dg.DynamicPartitionsDefinition(name="gift_processes")
    assert job.executor_def.name == "in_process"
    assert job.asset_layer.selected_asset_keys == {dg.AssetKey(name) for name in GIFTING_ASSETS}


def test_the_four_gifting_sensors_resolve_by_name_and_target_the_gifting_job():
    for name in GIFTING_SENSORS:
        sensor = defs.resolve_sensor_def(name)
        assert sensor.job_name == "gifting_process_job", name
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, name


def test_the_gifting_assets_resolve_by_name_with_group_kinds_and_description():
    graph = defs.resolve_asset_graph()

    for name in GIFTING_ASSETS:
        node = graph.get(dg.AssetKey(name))
        assert node.partitions_def == dg.DynamicPartitionsDefinition(name="gift_processes")
        assert node.group_name == "gifting", name
        assert node.kinds, name
        assert node.description, name


def test_every_job_sensor_and_schedule_resolves_by_name():
    repository = defs.get_repository_def()

    for job in repository.get_all_jobs():
        assert defs.resolve_job_def(job.name).name == job.name
    for sensor in repository.sensor_defs:
        assert defs.resolve_sensor_def(sensor.name).name == sensor.name
    for schedule in repository.schedule_defs:
        assert defs.resolve_schedule_def(schedule.name).name == schedule.name


def test_dagster_validates_the_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("IVYI_HOME", str(tmp_path / "ivyi_home"))
    (tmp_path / "dagster_home").mkdir()
    dagster = Path(sys.executable).with_name("dagster")

    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
