"""The code location: Definitions load and validate, every sensor and schedule evaluates,
and configuration reaches the resources by variable name."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ivyi_pipeline.definitions import defs
from ivyi_pipeline.entrypoints.local_runs import VIEW_SENSORS
from ivyi_pipeline.errors import InvalidInput
from ivyi_pipeline.orchestration.celery_executor import LOCAL_BACKEND, celery_executor_config
from ivyi_pipeline.orchestration.resources import Clock, resources_from_environment
from ivyi_pipeline.settings import CELERY_BACKEND_ENV, CELERY_BROKER_ENV

REPO = Path(__file__).resolve().parents[2]
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


AS_OF = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)


def test_every_sensor_and_schedule_targets_a_job_the_definitions_hold():
    repository = defs.get_repository_def()
    jobs = {job.name for job in repository.get_all_jobs()}

    for sensor in repository.sensor_defs:
        if isinstance(sensor, dg.RunStatusSensorDefinition):
            continue  # it watches runs and requests none
        if sensor.name in VIEW_SENSORS:
            assert not sensor.targets, sensor.name  # it reports asset events, never a run
            continue
        targets = [target.job_name for target in sensor.targets]
        assert targets, f"{sensor.name} targets no job"
        assert set(targets) <= jobs, sensor.name
    for schedule in repository.schedule_defs:
        assert schedule.job_name in jobs, schedule.name
    assert len(repository.sensor_defs) >= 7
    assert len(repository.schedule_defs) >= 3


def test_every_sensor_and_schedule_evaluates_on_an_empty_database_without_an_error(
    ivyi_env, monkeypatch
):
    """Each evaluates with the resources the definitions bind from the environment."""
    resources = {**resources_from_environment(), "clock": Clock(as_of=AS_OF.isoformat())}
    evaluated = []
    with dg.instance_for_test() as instance:
        for sensor in defs.get_repository_def().sensor_defs:
            if isinstance(sensor, dg.RunStatusSensorDefinition):
                continue  # evaluated on a failed run: test_reliability_failures.py
            # Exited, so the instance a context opens from its ref does not outlive the test
            # as Dagster's current definitions state storage (it broke test_schedule.py later).
            with dg.build_sensor_context(
                instance=instance, definitions=defs, resources=resources
            ) as context:
                result = sensor(context)
            requests = result.run_requests if isinstance(result, dg.SensorResult) else []
            assert isinstance(result, dg.SkipReason) or not requests, sensor.name
            evaluated.append(sensor.name)
        for schedule in defs.get_repository_def().schedule_defs:
            with dg.build_schedule_context(
                instance=instance, scheduled_execution_time=AS_OF, resources=resources
            ) as context:
                result = schedule.evaluate_tick(context)
            assert result.skip_message or result.run_requests is not None, schedule.name
            evaluated.append(schedule.name)
    assert "occasion_detection_sensor" in evaluated
    assert "daily_gifting_schedule" in evaluated


def test_the_database_url_is_bound_by_its_variable_name_and_read_where_it_is_used(
    monkeypatch, tmp_path
):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("IVYI_DATABASE_URL", url)

    database = resources_from_environment()["ivyi_db"]

    assert isinstance(database.url, dg.EnvVar)
    assert database.url.env_var_name == "IVYI_DATABASE_URL"
    assert str(database.get_engine().url) == url


def test_without_a_database_url_the_embedded_default_is_used(monkeypatch, tmp_path):
    monkeypatch.delenv("IVYI_DATABASE_URL", raising=False)
    monkeypatch.setenv("IVYI_HOME", str(tmp_path / "home"))

    database = resources_from_environment()["ivyi_db"]

    assert database.url is None
    assert str(database.get_engine().url) == f"sqlite:///{tmp_path / 'home' / 'ivyi.db'}"


def test_the_grace_period_is_read_when_the_definitions_are_built(monkeypatch):
    monkeypatch.setenv("IVYI_BELATED_GRACE_DAYS", "3")
    assert resources_from_environment()["gifting"].belated_policy().grace_days == 3

    monkeypatch.setenv("IVYI_BELATED_GRACE_DAYS", "three")
    with pytest.raises(InvalidInput, match="IVYI_BELATED_GRACE_DAYS='three'"):
        resources_from_environment()

    monkeypatch.delenv("IVYI_BELATED_GRACE_DAYS")
    assert resources_from_environment()["gifting"].belated_policy().grace_days == 14


def test_the_celery_executor_names_the_broker_variable_instead_of_holding_its_url(monkeypatch):
    monkeypatch.setenv(CELERY_BROKER_ENV, "pyamqp://ivyi:" + "hidden@broker.internal//")
    monkeypatch.delenv(CELERY_BACKEND_ENV, raising=False)

    config = celery_executor_config()

    assert config["broker"] == {"env": CELERY_BROKER_ENV}
    assert config["backend"] == LOCAL_BACKEND
    assert "hidden" not in json.dumps(config)


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
