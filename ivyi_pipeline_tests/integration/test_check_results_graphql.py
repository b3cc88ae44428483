"""Each process's check results as the UI reads them: Dagster's GraphQL over a real instance.

One ranged run over a blocked process and a healthy one, then the queries the asset check's
Partitions tab sends (partition statuses, one partition's executions) through dagster-graphql
on a code server loaded from the project's workspace.yaml.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.orchestration.partitions import partition_keys_for
from ivyi_pipeline_tests.dagster_runs import execute_gifting_job
from ivyi_pipeline_tests.factories import make_gift, make_new_process

REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
OCCURRENCE = dt.date(2026, 6, 15)

CHECK_STATUSES = """query Checks($asset: [String!]!) {
  assetNodeOrError(assetKey: {path: $asset}) { ... on AssetNode {
    assetChecksOrError { ... on AssetChecks { checks {
      name
      partitionDefinition { name }
      partitionStatuses { ... on AssetCheckDefaultPartitionStatuses {
        succeededPartitions failedPartitions skippedPartitions inProgressPartitions } }
    } } } } } }"""
PARTITION_EXECUTIONS = """query Executions($asset: [String!]!, $check: String!, $key: String!) {
  assetCheckExecutions(assetKey: {path: $asset}, checkName: $check, partition: $key, limit: 10) {
    runId status evaluation { partition severity description success
      targetMaterialization { runId } } } }"""
PARTITION_METADATA = """query State($key: String!) {
  assetOrError(assetKey: {path: ["gift_process_state"]}) { ... on Asset {
    assetMaterializations(partitions: [$key], limit: 1) { runId
      metadataEntries { label ... on TextMetadataEntry { text } } } } } }"""


@pytest.fixture(scope="module")
def checked_run(tmp_path_factory):
    """A blocked and a healthy process run as one range; a GraphQL context on the instance.

    `blocked` and `healthy` are the processes' partition keys.
    """
    home = tmp_path_factory.mktemp("check_results")
    url = f"sqlite:///{home / 'ivyi.db'}"
    upgrade(url)
    engine = get_engine(url)
    for category, price in (("books", 2000), ("games", 3000)):
        make_gift(engine, category=category, price_cents=price)
    blocked = make_new_process(engine, OCCURRENCE, budget_cents=1000)
    healthy = make_new_process(engine, OCCURRENCE + dt.timedelta(days=1))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVYI_DATABASE_URL", url)
        env.setenv("IVYI_HOME", str(home))
        (home / "dagster_home").mkdir()
        with dg.instance_for_test(temp_dir=str(home / "dagster_home")) as instance:
            result = execute_gifting_job(instance, url, (blocked, healthy), AS_OF)
            assert result.success
            with define_out_of_process_context(
                str(REPO / "workspace.yaml"), None, instance
            ) as context:
                keys = partition_keys_for(engine, [blocked, healthy])
                yield {
                    "context": context,
                    "run_id": result.run_id,
                    "blocked": keys[blocked],
                    "healthy": keys[healthy],
                }
    engine.dispose()


def _query(context, query: str, **variables) -> dict:
    """One query as the webserver serves it: inside the request context it enters."""
    with context:
        result = execute_dagster_graphql(context, query, variables)
    assert not result.errors, result.errors
    return result.data


def _checks(context, asset: str) -> dict[str, dict]:
    node = _query(context, CHECK_STATUSES, asset=[asset])["assetNodeOrError"]
    return {check["name"]: check for check in node["assetChecksOrError"]["checks"]}


def test_only_the_failing_process_partition_is_red_and_nothing_reads_skipped(checked_run):
    context, blocked = (checked_run[k] for k in ("context", "blocked"))

    checks = (
        _checks(context, "gift_options")
        | _checks(context, "ranked_decisions")
        | _checks(context, "gift_process_state")
    )

    assert set(checks) == {
        "options_not_empty",
        "options_affordable_and_in_stock",
        "ranks_without_gaps",
        "selected_gift_is_ranked",
    }
    for check in checks.values():
        assert check["partitionDefinition"] is not None
        statuses = check["partitionStatuses"]
        # No check is planned by a run: no process reads skipped or in progress.
        assert statuses["skippedPartitions"] == []
        assert statuses["inProgressPartitions"] == []
        # Passing verdicts live in the partition's metadata, not in check rows.
        assert statuses["succeededPartitions"] == []
    assert checks["options_not_empty"]["partitionStatuses"]["failedPartitions"] == [blocked]
    for name in ("options_affordable_and_in_stock", "ranks_without_gaps"):
        assert checks[name]["partitionStatuses"]["failedPartitions"] == []


def test_a_blocked_process_partition_shows_its_failing_check_with_the_reason(checked_run):
    context, run_id, blocked = (checked_run[k] for k in ("context", "run_id", "blocked"))

    (execution,) = _query(
        context,
        PARTITION_EXECUTIONS,
        asset=["gift_options"],
        check="options_not_empty",
        key=blocked,
    )["assetCheckExecutions"]

    assert execution["runId"] == run_id
    assert execution["status"] == "FAILED"
    evaluation = execution["evaluation"]
    assert evaluation["partition"] == blocked
    assert evaluation["severity"] == "WARN"
    assert evaluation["description"].startswith("options are non-empty: fails: blocked:")
    assert "budget" in evaluation["description"]
    assert evaluation["targetMaterialization"]["runId"] == run_id


def test_a_healthy_process_partition_shows_its_passes_in_its_metadata(checked_run):
    context, run_id, healthy = (checked_run[k] for k in ("context", "run_id", "healthy"))

    for asset, check in (
        ("gift_options", "options_not_empty"),
        ("gift_options", "options_affordable_and_in_stock"),
        ("ranked_decisions", "ranks_without_gaps"),
    ):
        executions = _query(context, PARTITION_EXECUTIONS, asset=[asset], check=check, key=healthy)[
            "assetCheckExecutions"
        ]
        assert executions == []
    node = _query(context, PARTITION_METADATA, key=healthy)["assetOrError"]
    (materialization,) = node["assetMaterializations"]
    assert materialization["runId"] == run_id
    entries = {e["label"]: e.get("text") for e in materialization["metadataEntries"]}
    assert entries["rule: options_not_empty"] == "options are non-empty: passes."
    assert entries["rule: ranks_without_gaps"] == "ranks are 1..n without gaps: passes."
    assert entries["rule: selected_gift_is_ranked"].endswith("does not apply to it yet.")
