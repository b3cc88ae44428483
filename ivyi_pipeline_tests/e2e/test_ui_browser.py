"""End to end: dagster-webserver on a demo instance, its GraphQL API, and the UI in Chromium."""

import datetime as dt
import os
import urllib.parse
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks.webserver import dagster_webserver, post_graphql
from ivyi_pipeline.clock import from_db
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.instance import open_instance
from ivyi_pipeline.orchestration.partitions import partition_keys_for, process_ids_of
from ivyi_pipeline.workflows.gifting_process.funnel_report import transition_instants
from ivyi_pipeline.workflows.gifting_process.status import process_statuses
from ivyi_pipeline_tests.dagster_runs import execute_gifting_job
from ivyi_pipeline_tests.factories import (
    make_occasion,
    make_process,
    make_relationship,
    make_user,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BLOCKED_OCCASION = "blocked, one/β"
STARTUP_SECONDS = 300
PAGE_TIMEOUT_MS = 120_000
GIFTING_SENSORS = {
    "occasion_detection_sensor",
    "decision_window_sensor",
    "confirmation_sensor",
    "fulfilment_sensor",
}
CHECKS = {
    "gift_options": {"options_not_empty", "options_affordable_and_in_stock"},
    "ranked_decisions": {"ranks_without_gaps"},
    "gift_process_state": {"selected_gift_is_ranked"},
}

REPOSITORY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  location { name } jobs { name } sensors { name } schedules { name } } } } }"""
ASSETS = """{ assetNodes { assetKey { path } isPartitioned
  partitionStats { numMaterialized numPartitions }
  assetChecksOrError { ... on AssetChecks { checks { name } } } } }"""
CHECK_EXECUTIONS = """query Executions($asset: [String!]!, $check: String!) {
  assetCheckExecutions(assetKey: {path: $asset}, checkName: $check, limit: 100000) {
    runId status partition } }"""
RUNS = """query Runs($job: String!) { runsOrError(filter: {pipelineName: $job}, limit: 1000) {
  ... on Runs { results { runId status tags { key value } } } } }"""
PARTITIONS = """{ assetNodeOrError(assetKey: {path: ["gift_options"]}) { ... on AssetNode {
  partitionKeysByDimension { partitionKeys } } } }"""
FUNNEL = """{ assetOrError(assetKey: {path: ["gifting_funnel"]}) { ... on Asset {
  assetMaterializations(limit: 1000) { runId } } } }"""


def _graphql(base: str, query: str, **variables) -> dict:
    payload = post_graphql(base, query, **variables)
    assert "errors" not in payload, payload.get("errors")
    return payload["data"]


@pytest.fixture(scope="module")
def blocked(demo_home) -> dict:
    """One more process on the demo instance, blocked: no gift fits its one-cent budget.

    Its occasion id holds a comma, a space, a slash and a Greek letter, so its partition key
    shows them escaped. Added by this module before its webserver starts; the funnel history
    it is compared with is the demo's, counted before.
    """
    engine = get_engine(demo_home.database_url)
    instants = transition_instants(engine)
    as_of = from_db(instants[-1])
    day = as_of.date() + dt.timedelta(days=14)
    recipient = make_user(engine)
    relationship = make_relationship(engine, recipient_id=recipient, budget_cents=1)
    occasion = make_occasion(
        engine, id=BLOCKED_OCCASION, relationship_id=relationship, date=day, recurs_yearly=False
    )
    process_id = make_process(engine, occasion, day, at=as_of)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVYI_HOME", str(demo_home.home))
        env.setenv("IVYI_DATABASE_URL", demo_home.database_url)
        env.setenv("DAGSTER_HOME", str(demo_home.dagster_home))
        with open_instance(demo_home) as instance:
            result = execute_gifting_job(instance, demo_home.database_url, (process_id,), as_of)
    assert result.success
    return {
        "process_id": process_id,
        "key": partition_keys_for(engine, [process_id])[process_id],
        "run_id": result.run_id,
        "funnel_instants": len(instants),
    }


@pytest.fixture(scope="module")
def webserver(demo_home, blocked):
    """dagster-webserver on a free loopback port, over the demo instance; stopped afterwards."""
    ARTIFACTS.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(demo_home.dagster_home),
        "IVYI_HOME": str(demo_home.home),
        "IVYI_DATABASE_URL": demo_home.database_url,
    }
    with dagster_webserver(
        ["-w", str(REPO / "workspace.yaml")],
        env,
        ARTIFACTS / "webserver.log",
        STARTUP_SECONDS,
        REPO,
    ) as (base, _startup):
        yield base


def _tags(run: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def test_the_graphql_api_serves_the_job_sensors_schedules_assets_checks_runs_and_partitions(
    webserver, demo_home, blocked
):
    (repo,) = _graphql(webserver, REPOSITORY)["repositoriesOrError"]["nodes"]
    assert repo["location"]["name"] == "ivyi_pipeline"
    assert {"gifting_process_job", "gifting_funnel_job"} <= {j["name"] for j in repo["jobs"]}
    assert GIFTING_SENSORS <= {s["name"] for s in repo["sensors"]}
    assert "gifting_funnel_daily" in {s["name"] for s in repo["schedules"]}

    assets = {
        "/".join(node["assetKey"]["path"]): node
        for node in _graphql(webserver, ASSETS)["assetNodes"]
    }
    assert {"gift_options", "ranked_decisions", "gift_process_state", "gifting_funnel"} <= set(
        assets
    )
    runs = _graphql(webserver, RUNS, job="gifting_process_job")["runsOrError"]["results"]
    with get_engine(demo_home.database_url).connect() as conn:
        process_ids = set(conn.execute(sa.select(gift_processes.c.id)).scalars())
    for asset, names in CHECKS.items():
        checks = assets[asset]["assetChecksOrError"]["checks"]
        assert {c["name"] for c in checks} == names
        for name in names:
            executions = _graphql(webserver, CHECK_EXECUTIONS, asset=[asset], check=name)
            found = executions["assetCheckExecutions"]
            assert {e["runId"] for e in found} <= {run["runId"] for run in runs}
            # No run plans a check: nothing reads skipped, and a process has a result on its
            # own partition only where a rule fails (the blocked one); ranged runs record a
            # summary without a partition.
            assert all(e["status"] != "SKIPPED" for e in found), (asset, name)
            partitions = {e["partition"] for e in found} - {None}
            assert partitions <= {blocked["key"]}, (asset, name)
            assert set(process_ids_of(partitions)) <= process_ids

    keys = _graphql(webserver, PARTITIONS)["assetNodeOrError"]["partitionKeysByDimension"]
    # One key per process, the one `ivyi status --json` names.
    assert sorted(keys[0]["partitionKeys"]) == sorted(
        partition_keys_for(get_engine(demo_home.database_url), process_ids).values()
    )
    assert blocked["key"] in keys[0]["partitionKeys"]
    stats = assets["gift_options"]["partitionStats"]
    assert stats["numMaterialized"] == stats["numPartitions"] == len(process_ids)

    assert runs
    assert {run["status"] for run in runs} == {"SUCCESS"}
    demo_runs = [run for run in runs if run["runId"] != blocked["run_id"]]
    assert all("ivyi/event" in _tags(run) and "ivyi/outcome" in _tags(run) for run in demo_runs)
    funnel = _graphql(webserver, FUNNEL)["assetOrError"]["assetMaterializations"]
    assert len(funnel) == blocked["funnel_instants"]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page with a wide viewport and generous timeouts for a loaded machine."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    yield page
    context.close()


def _open(page, url: str, *expected: str) -> None:
    """Go to url and wait until each expected text shows."""
    page.goto(url)
    for text in expected:
        page.get_by_text(text, exact=False).first.wait_for()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _story_run(base: str) -> dict:
    """A single-process run that took a new process to its open decision window."""
    runs = _graphql(base, RUNS, job="gifting_process_job")["runsOrError"]["results"]
    for run in runs:
        tags = _tags(run)
        if "ivyi/process_id" in tags and "DECISION_WINDOW_OPEN" in tags.get("ivyi/outcome", ""):
            return {"run_id": run["runId"], **tags}
    pytest.fail("no single-process run opened a decision window")


def test_the_runs_list_reads_as_a_story_of_events_and_outcomes(webserver, page):
    _open(
        page, f"{webserver}/runs?q%5B0%5D=job%3Agifting_process_job", "ivyi/outcome", "ivyi/event"
    )

    text = page.inner_text("body")
    assert "fulfilment-updated" in text
    assert "COMPLETED" in text
    _shot(page, "runs")


def test_one_run_shows_its_process_its_steps_and_what_they_did(webserver, page):
    run = _story_run(webserver)
    process_id = run["ivyi/process_id"]

    _open(page, f"{webserver}/runs/{run['run_id']}", process_id, "gifting_process_job")
    page.get_by_placeholder("Filter…").fill("advanced")
    page.keyboard.press("Enter")
    page.get_by_text("start_workflow: 1 advanced").wait_for()

    text = page.inner_text("body")
    assert "Success" in text
    assert "gifting_process_job" in text
    for step in ("generate_options", "rank_options", "open_decision_window"):
        assert f"{step}: 1 advanced" in text
    assert "select_default: 0 advanced, 1 waiting" in text
    _shot(page, "run")


def _partition(base: str, asset: str, key: str) -> str:
    return f"{base}/assets/{asset}?view=partitions&partition={urllib.parse.quote(key)}"


def test_the_gift_options_asset_shows_each_options_price_and_category_and_its_checks(
    webserver, page
):
    process_id = _story_run(webserver)["ivyi/process_id"]

    key = _story_run(webserver)["dagster/partition"]
    _open(page, _partition(webserver, "gift_options", key), "option_count", "generated_at")
    text = page.inner_text("body")
    for expected in (process_id, "price_cents", "category", "affinity", "budget_cents"):
        assert expected in text
    _shot(page, "gift_options")

    _open(page, f"{webserver}/assets/gift_options?view=checks", "options_not_empty")
    text = page.inner_text("body")
    assert "options_affordable_and_in_stock" in text
    assert "Skipped" not in text


def test_the_ranked_decisions_asset_shows_every_score_component(webserver, page):
    key = _story_run(webserver)["dagster/partition"]
    _open(page, _partition(webserver, "ranked_decisions", key), "ranking", "top_score")

    text = page.inner_text("body")
    for column in ("affinity_score", "price_fit", "occasion_fit", "novelty", "score_formula"):
        assert column in text
    _shot(page, "ranked_decisions")


def test_a_process_partition_shows_where_it_stands_and_how_it_got_there(webserver, page):
    key = _story_run(webserver)["dagster/partition"]
    _open(page, _partition(webserver, "gift_process_state", key), "history", "COMPLETED")

    text = page.inner_text("body")
    for expected in ("selected_gift_id", "window_closes_at", "DECISION_WINDOW_OPEN"):
        assert expected in text
    assert "occurrence entered the lead window" in text
    _shot(page, "gift_process_state")


def test_the_funnel_asset_shows_statuses_and_plots_their_history(webserver, page):
    _open(page, f"{webserver}/assets/gifting_funnel", "windows_closing_24h", "processes as of")

    text = page.inner_text("body")
    for key in ("status_completed", "median_hours_decision_window_open", "open_windows_soonest"):
        assert key in text
    _shot(page, "gifting_funnel")

    page.get_by_role("button", name="Plots").click()
    page.locator("canvas").first.wait_for()
    page.get_by_text("status_completed", exact=True).scroll_into_view_if_needed()
    _shot(page, "gifting_funnel_plots")


def _check_partition(page, base: str, asset: str, check: str, key: str) -> str:
    """Open a check's Partitions tab, search for one partition key, open it; its text."""
    _open(page, f"{base}/assets/{asset}?view=checks&checkDetail={check}", check)
    page.get_by_role("tab", name="Partitions", exact=True).last.click()
    page.get_by_placeholder("Filter by partition…").fill(key)
    # The list row names its key in a tooltip (the text itself may be truncated in the middle).
    page.locator(f'[data-tooltip="{key}"]').first.click()
    page.get_by_text("Latest execution").wait_for()
    page.mouse.move(0, 0)  # away from the row's tooltip before a screenshot
    return page.inner_text("body")


def test_a_blocked_process_partition_shows_its_failing_check_and_why(webserver, page, blocked):
    key = blocked["key"]

    text = _check_partition(page, webserver, "gift_options", "options_not_empty", key)

    assert "Failed" in text
    assert "options are non-empty: fails: blocked:" in text
    assert "budget" in text
    _shot(page, "gift_options_checks")


def test_a_healthy_process_partition_shows_every_rule_passing_in_its_state(webserver, page):
    key = _story_run(webserver)["dagster/partition"]

    _open(page, _partition(webserver, "gift_process_state", key), "rule: ranks_without_gaps")

    text = page.inner_text("body")
    assert "ranks are 1..n without gaps: passes." in text
    assert "options are non-empty: passes." in text
    assert "rules_failing" in text
    page.get_by_text("rule: options_not_empty", exact=True).scroll_into_view_if_needed()
    _shot(page, "gift_process_state_verdicts")


def _listed_keys(page, known: set[str]) -> set[str]:
    """The partition keys the Partitions list shows (its rows name their key in a tooltip)."""
    tooltips = page.locator("[data-tooltip]").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('data-tooltip'))"
    )
    return set(tooltips) & known


def test_typing_an_occasion_id_or_a_date_finds_exactly_its_processes(webserver, page, demo_home):
    run = _story_run(webserver)
    key, occasion_id = run["dagster/partition"], run["ivyi/occasion_id"]
    entries = process_statuses(get_engine(demo_home.database_url))
    known = {entry["partition_key"] for entry in entries}
    of_occasion = {e["partition_key"] for e in entries if e["occasion_id"] == occasion_id}
    day = key.split(".")[0]
    search = page.get_by_placeholder("Filter by name…")

    _open(page, f"{webserver}/assets/gift_process_state?view=partitions", "Partitions")
    search.fill(occasion_id)
    page.locator(f'[data-tooltip="{key}"]').first.wait_for()
    assert _listed_keys(page, known) == of_occasion
    page.locator(f'[data-tooltip="{key}"]').first.click()
    page.get_by_text("history").first.wait_for()
    text = page.inner_text("body")
    assert run["ivyi/process_id"] in text
    assert occasion_id in text
    page.mouse.move(0, 0)  # away from the row's tooltip before the screenshot
    _shot(page, "gift_process_state_search")

    search.fill(day)
    page.wait_for_timeout(500)
    on_that_day = {k for k in known if k.startswith(day + ".")}
    assert _listed_keys(page, known) == on_that_day
