"""Scale-out: a ranged batch through dagster-celery workers equals the same batch run locally."""

import datetime as dt
import json
import os
import shutil
import subprocess
import uuid

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.data.db_write import seed_database
from ivyi_pipeline.data.synthetic import generate_dataset
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.db.schema import gift_processes, metadata
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.celery_executor import LOCAL_BROKER
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.settings import CELERY_BROKER_ENV, CELERY_QUEUE_ENV
from ivyi_pipeline.workflows.gifting_process.create import create_processes
from ivyi_pipeline.workflows.gifting_process.detection import detect_due_occurrences
from ivyi_pipeline_tests.deployment import (
    PRODUCTION_DAGSTER_YAML,
    REPO_ROOT,
    Services,
    executable,
    port_open,
    throwaway_database,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

AS_OF = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
LEAD_DAYS = 21
WORKERS = ("ivyi-a", "ivyi-b")
START_TIMEOUT = 120
RUN_TIMEOUT = 300
SEEDED_TABLES = {"users", "relationships", "occasions"}
CELERY_CONFIG_DIR = REPO_ROOT / "deploy" / "celery"


@pytest.fixture(scope="module", autouse=True)
def rabbitmq():
    """The local RabbitMQ broker (.ci/run starts it); skip with the reason when it is down."""
    if not port_open(5672):
        pytest.skip("RabbitMQ is not listening on 127.0.0.1:5672 (rabbitmq-server -detached)")


def _seed(url: str) -> list[str]:
    """The same synthetic data set and the same due processes in every database it is given."""
    upgrade(url)
    engine = get_engine(url)
    seed_database(engine, generate_dataset(as_of=AS_OF.date(), occasions=150, seed=5))
    found, _ = detect_due_occurrences(engine, AS_OF, None, LEAD_DAYS)
    return sorted(create_processes(engine, found, AS_OF))


def _tables(url: str) -> dict[str, list[tuple]]:
    """Every domain table's rows, sorted, without the seeding's own wall-clock timestamps."""
    with get_engine(url).connect() as conn:
        return {
            table.name: sorted(
                tuple(map(repr, row)) for row in conn.execute(sa.select(*_compared(table)))
            )
            for table in metadata.sorted_tables
        }


def _compared(table: sa.Table) -> list[sa.Column]:
    """The columns a run writes or reads; the seeded rows' created_at and the pipeline's own
    facts' updated_at (data set origin) are the seeding's clock."""
    seeded = table.name in SEEDED_TABLES
    return [
        column
        for column in table.columns
        if not (seeded and column.name == "created_at")
        and not (table.name == "pipeline_state" and column.name == "updated_at")
    ]


@pytest.fixture
def databases():
    """Dagster storage, and one domain database for each of the two runs, all throwaway."""
    with (
        throwaway_database("ivyi_celery_dagster") as dagster_url,
        throwaway_database("ivyi_celery_domain") as celery_url,
        throwaway_database("ivyi_local_domain") as local_url,
    ):
        yield {"dagster": dagster_url, "celery": celery_url, "local": local_url}
        for url in (celery_url, local_url):
            get_engine(url).dispose()


@pytest.fixture
def instance(tmp_path, monkeypatch, databases):
    """The production dagster.yaml on the throwaway PostgreSQL storage."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PRODUCTION_DAGSTER_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", databases["dagster"])
    monkeypatch.setenv("IVYI_HOME", str(tmp_path / "ivyi_home"))
    with dg.DagsterInstance.get() as instance:
        yield instance


@pytest.fixture
def workers(tmp_path, instance, databases):
    """Two dagster-celery workers on a queue of their own, stopped (process groups) after."""
    env = {
        **os.environ,
        "IVYI_DATABASE_URL": databases["celery"],
        CELERY_BROKER_ENV: LOCAL_BROKER,
        CELERY_QUEUE_ENV: f"ivyi-test-{uuid.uuid4().hex[:8]}",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(CELERY_CONFIG_DIR), os.environ.get("PYTHONPATH")) if p
        ),
    }
    running = Services(tmp_path, env)
    try:
        for name in WORKERS:
            running.start(
                name,
                [executable("celery"), "-A", "dagster_celery.app", "worker"]
                + ["-n", f"{name}@%h", "-Q", env[CELERY_QUEUE_ENV], "--concurrency", "1"]
                + ["--prefetch-multiplier", "1", "--loglevel", "INFO", "--without-gossip"],
            )
        wait_for(
            lambda: running.check_alive() or all(" ready." in running.tail(n) for n in WORKERS),
            START_TIMEOUT,
            "the celery workers did not get ready",
            running.tails,
        )
        yield running
    finally:
        running.stop()


def _range_tags(process_ids: list[str]) -> dict[str, str]:
    return {
        tags.RANGE_START: process_ids[0],
        tags.RANGE_END: process_ids[-1],
        tags.EVENT: "start-workflow",
        tags.AS_OF: AS_OF.isoformat(),
        tags.BATCH_SIZE: str(len(process_ids)),
    }


def _run_through_celery(workers: Services, process_ids: list[str]) -> None:
    """`dagster job execute` of the celery job over the range, as an operator would."""
    command = [executable("dagster"), "job", "execute", "-m", "ivyi_pipeline.definitions"]
    command += ["-j", "gifting_process_celery_job", "--tags", json.dumps(_range_tags(process_ids))]
    result = subprocess.run(
        command,
        env=workers.env,
        cwd=workers.log_dir,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + workers.tails()


def test_a_batch_through_two_celery_workers_equals_the_same_batch_run_in_process(
    instance, databases, workers, monkeypatch
):
    process_ids = _seed(databases["celery"])
    assert _seed(databases["local"]) == process_ids
    assert len(process_ids) >= 5
    instance.add_dynamic_partitions(gift_processes_partitions.name, process_ids)

    _run_through_celery(workers, process_ids)
    monkeypatch.setenv("IVYI_DATABASE_URL", databases["local"])
    local = defs.resolve_job_def("gifting_process_job").execute_in_process(
        instance=instance, tags=_range_tags(process_ids)
    )

    celery_runs = instance.get_runs(dg.RunsFilter(job_name="gifting_process_celery_job"))
    assert [run.status for run in celery_runs] == [dg.DagsterRunStatus.SUCCESS]
    run = celery_runs[0]
    events = [record.event_log_entry for record in instance.get_records_for_run(run.run_id).records]
    dagster_events = [e.dagster_event for e in events if e.dagster_event]
    step_keys = {e.step_key for e in dagster_events if e.event_type_value == "STEP_SUCCESS"}
    hosts = {
        e.step_key: e.engine_event_data.metadata["Celery worker"].value
        for e in dagster_events
        if e.event_type_value == "ENGINE_EVENT"
        and e.engine_event_data
        and "Celery worker" in e.engine_event_data.metadata
    }
    orchestrator = {e.pid for e in dagster_events if e.event_type_value == "RUN_START"}
    step_pids = {e.pid for e in dagster_events if e.event_type_value == "STEP_START"}
    assert local.success
    assert len(step_keys) >= 9
    assert set(hosts) == step_keys
    assert {host.split("@")[0] for host in hosts.values()} == set(WORKERS)
    assert not step_pids & orchestrator
    assert len(step_pids) == len(WORKERS)
    with get_engine(databases["celery"]).connect() as conn:
        statuses = {str(s) for s in conn.execute(sa.select(gift_processes.c.status)).scalars()}
    assert "DECISION_WINDOW_OPEN" in statuses
    assert not statuses & {"CREATED", "OCCASION_DETECTED", "OPTIONS_GENERATED"}
    assert _tables(databases["celery"]) == _tables(databases["local"])
