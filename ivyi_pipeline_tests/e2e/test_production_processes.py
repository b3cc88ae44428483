"""Production shape on loopback: code server, daemon and webserver as processes on PostgreSQL."""

import datetime as dt
import os
import shutil

import pytest
import sqlalchemy as sa
import yaml

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline_tests.deployment import (
    HOST,
    PRODUCTION_DAGSTER_YAML,
    GraphQL,
    Services,
    executable,
    free_port,
    port_open,
    throwaway_database,
    wait_for,
)
from ivyi_pipeline_tests.factories import make_gift, make_occasion

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

LOCATION = "ivyi_pipeline"
REPOSITORY = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
SCHEDULE = "daily_gifting_schedule"
OCCASIONS = 3
START_TIMEOUT = 180
WORK_TIMEOUT = 240

WORKSPACE = """load_from:
  - grpc_server:
      host: {host}
      port: {port}
      location_name: {location}
"""

RUNS = """{ runsOrError(limit: 200) { __typename ... on Runs { results {
  runId status jobName tags { key value } } } } }"""
LOCATION_STATUS = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
INSTANCE = """{ instance { runQueuingSupported runQueueConfig { maxConcurrentRuns }
  daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"""
SENSORS = """query($repo: RepositorySelector!) { sensorsOrError(repositorySelector: $repo) {
  __typename ... on Sensors { results { name sensorState { status } } } } }"""
SCHEDULE_TICKS = """query($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    __typename ... on Schedule { scheduleState { status ticks(limit: 10) { status } } } } }"""
SCHEDULE_DRY_RUN = """mutation($selector: ScheduleSelector!, $timestamp: Float) {
  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) { __typename
    ... on DryRunInstigationTick { evaluationResult {
      skipReason runRequests { runKey } error { message } } }
    ... on PythonError { message } } }"""


@pytest.fixture
def domain_url():
    """A throwaway PostgreSQL database for the domain data, migrated."""
    with throwaway_database("ivyi_prod_domain") as url:
        upgrade(url)
        yield url
        get_engine(url).dispose()


@pytest.fixture
def dagster_pg_url():
    """A throwaway PostgreSQL database for Dagster's storage."""
    with throwaway_database("ivyi_prod_dagster") as url:
        yield url


@pytest.fixture
def occasions(domain_url) -> list[str]:
    """Occasions ten days from today (inside the lead window) and gifts to choose from."""
    engine = get_engine(domain_url)
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=10)
    for price in (1500, 2500, 3500):
        make_gift(engine, price_cents=price)
    return [make_occasion(engine, date=day, recurs_yearly=False) for _ in range(OCCASIONS)]


def _statuses(url: str) -> dict[str, str]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(sa.select(gift_processes.c.occasion_id, gift_processes.c.status))
        return {occasion_id: status for occasion_id, status in rows}


def _daemon_runs(graphql: GraphQL) -> list[dict]:
    """Runs a sensor or a schedule of the daemon created, with their tags as a dict."""
    runs = graphql.query(RUNS)["runsOrError"]["results"]
    for run in runs:
        run["tags"] = {tag["key"]: tag["value"] for tag in run["tags"]}
    return [
        run
        for run in runs
        if "dagster/sensor_name" in run["tags"] or "dagster/schedule_name" in run["tags"]
    ]


@pytest.fixture
def services(tmp_path, domain_url, dagster_pg_url, occasions):
    """Code server, webserver and daemon on loopback, started on seeded data; stopped after."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PRODUCTION_DAGSTER_YAML, home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": dagster_pg_url,
        "IVYI_DATABASE_URL": domain_url,
        "IVYI_HOME": str(tmp_path / "ivyi_home"),
        "IVYI_DAILY_SCHEDULE_CRON": "* * * * *",
    }
    grpc_port, web_port = free_port(), free_port()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(WORKSPACE.format(host=HOST, port=grpc_port, location=LOCATION))
    running = Services(tmp_path, env)
    try:
        running.start(
            "code_server",
            [executable("dagster"), "api", "grpc", "-m", "ivyi_pipeline.definitions"]
            + ["-h", HOST, "-p", str(grpc_port)],
        )
        wait_for(
            lambda: running.check_alive() or port_open(grpc_port),
            START_TIMEOUT,
            "the code server did not listen",
            running.tails,
        )
        running.start("daemon", [executable("dagster-daemon"), "run", "-w", str(workspace)])
        running.start(
            "webserver",
            [executable("dagster-webserver"), "-w", str(workspace)]
            + ["-h", HOST, "-p", str(web_port)],
        )
        graphql = GraphQL(web_port)
        wait_for(
            lambda: running.check_alive() or graphql.ready(),
            START_TIMEOUT,
            "the webserver did not answer",
            running.tails,
        )
        yield running, graphql
    finally:
        running.stop()


def _schedule_state(graphql: GraphQL) -> dict:
    selector = {**REPOSITORY, "scheduleName": SCHEDULE}
    answer = graphql.query(SCHEDULE_TICKS, {"selector": selector})
    return answer["scheduleOrError"]["scheduleState"]


def _schedule_dry_run(graphql: GraphQL) -> dict:
    """The schedule evaluated now in the deployed code server, as the UI's "Test schedule"
    does (the daemon's tick calls the same code server); no run is launched."""
    selector = {**REPOSITORY, "scheduleName": SCHEDULE}
    variables = {"selector": selector, "timestamp": dt.datetime.now(dt.UTC).timestamp()}
    answer = graphql.query(SCHEDULE_DRY_RUN, variables)["scheduleDryRun"]
    assert answer["__typename"] == "DryRunInstigationTick", answer
    return answer["evaluationResult"]


# The daemon ticks the every-minute schedule only at the next minute's start: 0 to 60 s of
# waiting (30 on average) beside the sensors' few seconds. So the default suite has the
# schedule evaluated in the code server on request and sees it RUNNING under a healthy
# scheduler daemon; `-m slow` waits for the daemon's own tick.
@pytest.mark.parametrize(
    "schedule_proof", ["dry-run", pytest.param("daemon-tick", marks=pytest.mark.slow)]
)
def test_the_daemon_launches_sensor_runs_that_open_decision_windows_seen_through_graphql(
    services, domain_url, occasions, schedule_proof
):
    running, graphql = services

    def work_done():
        running.check_alive()
        statuses = _statuses(domain_url)
        runs = _daemon_runs(graphql)
        ticks = _schedule_state(graphql)["ticks"]
        opened = statuses == dict.fromkeys(occasions, "DECISION_WINDOW_OPEN")
        finished = all(run["status"] in {"SUCCESS", "FAILURE", "CANCELED"} for run in runs)
        evaluated = schedule_proof == "dry-run" or {"SUCCESS", "SKIPPED"} & {
            tick["status"] for tick in ticks
        }
        return opened and runs and finished and evaluated and (runs, ticks)

    def explain():
        return f"processes: {_statuses(domain_url)}\n{running.tails()}"

    runs, ticks = wait_for(work_done, WORK_TIMEOUT, "the processes did not advance", explain)

    location = graphql.query(LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
    instance = graphql.query(INSTANCE)["instance"]
    sensors = graphql.query(SENSORS, {"repo": REPOSITORY})["sensorsOrError"]["results"]
    daemons = {d["daemonType"]: d["healthy"] for d in instance["daemonHealth"]["allDaemonStatuses"]}
    sensor_states = {sensor["name"]: sensor["sensorState"]["status"] for sensor in sensors}
    assert [(e["name"], e["loadStatus"]) for e in location] == [(LOCATION, "LOADED")]
    assert location[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation"
    assert instance["runQueuingSupported"]
    limit = yaml.safe_load(PRODUCTION_DAGSTER_YAML.read_text())["run_coordinator"]["config"]
    assert instance["runQueueConfig"]["maxConcurrentRuns"] == limit["max_concurrent_runs"]
    for daemon in ("SENSOR", "SCHEDULER", "QUEUED_RUN_COORDINATOR", "MONITORING"):
        assert daemons.get(daemon), daemons
    assert sensor_states["occasion_detection_sensor"] == "RUNNING"
    assert _schedule_state(graphql)["status"] == "RUNNING"
    assert "FAILURE" not in {tick["status"] for tick in ticks}
    if schedule_proof == "dry-run":
        evaluation = _schedule_dry_run(graphql)
        assert evaluation["error"] is None, evaluation["error"]
        assert evaluation["skipReason"] or evaluation["runRequests"], evaluation
    assert {run["status"] for run in runs} == {"SUCCESS"}
    assert {run["jobName"] for run in runs} == {"gifting_process_job"}
    assert any("dagster/sensor_name" in run["tags"] for run in runs), runs
    assert _statuses(domain_url) == dict.fromkeys(occasions, "DECISION_WINDOW_OPEN")
