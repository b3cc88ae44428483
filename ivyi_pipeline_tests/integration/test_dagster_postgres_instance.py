"""`ivyi tick` on a Dagster instance whose storage is PostgreSQL (dagster-postgres)."""

import datetime as dt
import json
import uuid

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_postgres import PostgresRunStorage

from ivyi_pipeline.orchestration.partitions import process_ids_of
from ivyi_pipeline_tests.conftest import PG_ADMIN_URL
from ivyi_pipeline_tests.factories import make_gift, make_occasion

pytestmark = pytest.mark.postgres

TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def dagster_postgres_url():
    """A throwaway PostgreSQL database for the Dagster instance's storage, dropped after."""
    name = f"ivyi_dagster_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_instance_home(ivyi_env, dagster_postgres_url):
    """DAGSTER_HOME holding a dagster.yaml that stores runs, events and schedules in PostgreSQL."""
    home = ivyi_env["dagster_home"]
    (home / "dagster.yaml").write_text(
        "storage:\n"
        "  postgres:\n"
        f"    postgres_url: {json.dumps(dagster_postgres_url)}\n"
        "telemetry:\n"
        "  enabled: false\n"
    )
    return home


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_tick_records_its_runs_with_ivyi_tags_in_a_postgres_dagster_instance(
    postgres_instance_home, engine, ivyi
):
    occasions = [
        make_occasion(engine, date=TODAY + dt.timedelta(days=days), recurs_yearly=False)
        for days in (5, 10, 21)
    ]
    make_gift(engine, price_cents=2500)

    first = ivyi("tick", "--as-of", "2026-06-01T09:00:00Z")
    second = ivyi("tick", "--as-of", "2026-06-01T09:00:00Z")

    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 run(s) succeeded, 0 failed" in first.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 run(s) succeeded" in second.stdout
    status = json.loads(ivyi("status", "--json").stdout)
    process_of = {entry["process_id"]: entry["occasion_id"] for entry in status}
    assert sorted(process_of.values()) == sorted(occasions)
    assert not (postgres_instance_home / "history").exists()
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        runs = instance.get_runs()
        keys = instance.get_dynamic_partitions("gift_processes")
        assert set(process_ids_of(keys)) == set(process_of)
        assert {entry["partition_key"] for entry in status} == set(keys)
    assert len(runs) == 3
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    for run in runs:
        assert run.job_name == "gifting_process_job"
        assert run.tags["ivyi/event"] == "start-workflow"
        assert run.tags["ivyi/as_of"] == "2026-06-01T09:00:00+00:00"
        pid = run.tags["ivyi/process_id"]
        assert process_ids_of([run.tags["dagster/partition"]]) == [pid]
        assert run.tags["ivyi/occasion_id"] == process_of[pid]
    assert {run.tags["ivyi/process_id"] for run in runs} == set(process_of)
