"""What an analyst reads after `ivyi tick` on data ticked ahead of the wall clock, both backends.

Through the real CLI (in process, on a fresh Dagster home): the funnel refreshed by the tick
as of its instant, listing every open window; the `no_missed_dates` check telling the one
missed date from the quiet ones, and passing once a backfill recorded why it got no process;
the funnel materialized as from the UI (no as-of tag) counting as of the data's clock.
"""

import datetime as dt

import dagster as dg
import pytest
from click.testing import CliRunner

from ivyi_pipeline.definitions import defs
from ivyi_pipeline.entrypoints.cli import main
from ivyi_pipeline.orchestration import funnel
from ivyi_pipeline.orchestration.occasion_dates import OCCASION_DETECTION
from ivyi_pipeline.orchestration.occasion_gaps import MISSED_DATES_CHECK
from ivyi_pipeline_tests.factories import make_gift, make_occasion, make_preference, make_user

TICK = dt.datetime.combine(
    dt.datetime.now(dt.UTC).date() + dt.timedelta(days=90), dt.time(9), tzinfo=dt.UTC
)
"""Ahead of the wall clock, as a simulation ticks."""
TICKED = f"{TICK:%Y-%m-%d %H:%M}Z"
MISSED = TICK.date() - dt.timedelta(days=19)
"""An occasion recorded 40 days before its occurrence, which no detection ever covered."""
RECORDED_TOO_LATE = TICK.date() - dt.timedelta(days=55)
"""An occasion recorded 51 days after its occurrence: no process was possible; quiet."""
WINDOWS = 5
SHOWN = 2


def _naive(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8))


def _one_off(engine, day: dt.date, recorded: dt.datetime | None = None) -> str:
    recipient = make_user(engine)
    make_preference(engine, recipient, "games", 0.9)
    extra = {"created_at": recorded} if recorded else {}
    return make_occasion(engine, recipient_id=recipient, date=day, recurs_yearly=False, **extra)


def _tick_scenario(engine, monkeypatch) -> dict:
    """One tick as of TICK over WINDOWS upcoming occasions, a missed one and a quiet one."""
    monkeypatch.setattr(funnel, "TABLE_ROWS", SHOWN)
    for category, price in (("games", 2000), ("books", 3000), ("games", 2500)):
        make_gift(engine, category=category, price_cents=price)
    upcoming = [_one_off(engine, TICK.date() + dt.timedelta(days=4 + i)) for i in range(WINDOWS)]
    missed = _one_off(engine, MISSED, _naive(MISSED - dt.timedelta(days=40)))
    _one_off(engine, RECORDED_TOO_LATE, _naive(RECORDED_TOO_LATE + dt.timedelta(days=51)))
    outcome = CliRunner().invoke(main, ["tick", "--as-of", TICK.isoformat()])
    assert outcome.exit_code == 0, outcome.output
    return {"upcoming": upcoming, "missed": missed}


@pytest.fixture
def ticked(engine, ivyi_env, monkeypatch) -> dict:
    """The scenario on the test's database (both backends) and a fresh Dagster home."""
    return _tick_scenario(engine, monkeypatch)


def _latest_funnel(instance: dg.DagsterInstance) -> dict:
    (record,) = instance.fetch_materializations(funnel.GIFTING_FUNNEL, limit=1).records
    return record.asset_materialization.metadata


def _latest_check(instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    key = dg.AssetCheckKey(OCCASION_DETECTION, MISSED_DATES_CHECK)
    record = instance.get_latest_asset_check_evaluation_record(key)
    return record.event.dagster_event.event_specific_data


def test_after_a_tick_ahead_of_the_wall_clock_the_funnel_and_the_missed_dates_read_right(
    ticked,
):
    """One scenario a backend (its set-up is the expensive part), read in the order an
    analyst would: the funnel, the gap check, the funnel from the UI, then a backfill."""
    with dg.DagsterInstance.get() as instance:
        funnel_records = instance.fetch_materializations(funnel.GIFTING_FUNNEL, limit=10).records
        evaluation = _latest_check(instance)
        covered = instance.get_materialized_partitions(OCCASION_DETECTION)
        # What *Materialize* in the UI launches: the job, with no ivyi/as_of tag.
        result = defs.resolve_job_def("gifting_funnel_job").execute_in_process(instance=instance)
        from_ui = result.get_asset_materialization_events()[0].materialization.metadata

    # The tick refreshed the funnel once (not per run or process), listing every open window.
    (record,) = funnel_records
    metadata = record.asset_materialization.metadata
    assert metadata["as_of"].value == TICKED
    assert metadata["refreshed_by"].value == "ivyi tick"
    assert metadata["processes"].value == WINDOWS
    assert metadata["open_windows"].value == WINDOWS
    assert metadata["open_windows_not_listed"].value == WINDOWS - SHOWN
    rows = [row.data for row in metadata["open_windows_soonest"].value.records]
    assert len(rows) == SHOWN
    assert [row["window_closes_at"] for row in rows] == sorted(r["window_closes_at"] for r in rows)
    assert {row["occurrence_date"] for row in rows} <= {
        (TICK.date() + dt.timedelta(days=4 + i)).isoformat() for i in range(WINDOWS)
    }
    assert all(row["hours_left"] > 0 for row in rows)

    # The missed date fails the check; every other uncovered past date is quiet, the occasion
    # recorded too late for any process included.
    assert evaluation.passed is False
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["missed_dates"].value == 1
    assert evaluation.metadata["missed_occurrences"].value == 1
    (row,) = [record.data for record in evaluation.metadata["missed"].value.records]
    assert row == {"occurrence_date": MISSED.isoformat(), "occurrences": 1, "missed": 1}
    assert f"from {MISSED} to {MISSED}" in evaluation.description
    past = (TICK.date() - dt.date(2025, 1, 1)).days
    uncovered = past - len({d for d in covered if d < TICK.date().isoformat()})
    assert evaluation.metadata["quiet_uncovered_dates"].value == uncovered - 1
    assert MISSED.isoformat() not in covered
    assert RECORDED_TOO_LATE.isoformat() not in covered
    # Under the tick's clock the calendar reaches the data's dates, beyond the wall clock's.
    assert (TICK.date() + dt.timedelta(days=21)).isoformat() in covered

    # From the UI (no as-of tag) the funnel counts as of the data's clock, not the wall's.
    assert dt.datetime.now(dt.UTC) < TICK
    assert from_ui["as_of"].value == TICKED
    assert from_ui["processes"].value == WINDOWS

    # A backfill records why the missed date got no process (too old); the check passes.
    day, later = MISSED.isoformat(), (TICK + dt.timedelta(minutes=30)).isoformat()
    outcome = CliRunner().invoke(
        main, ["backfill-missed", "--from", day, "--to", day, "--as-of", later]
    )
    assert outcome.exit_code == 0, outcome.output
    with dg.DagsterInstance.get() as instance:
        after = _latest_check(instance)
        (coverage,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(OCCASION_DETECTION, asset_partitions=[day]), limit=1
        ).records
    assert coverage.asset_materialization.metadata["skipped_too_old"].value == 1
    assert after.passed is True
    assert after.metadata["missed_dates"].value == 0


# --- the same, as the webserver serves it (Dagster's GraphQL over the instance), SQLite ---

CHECK_EXECUTIONS = """query Executions($asset: [String!]!, $check: String!) {
  assetCheckExecutions(assetKey: {path: $asset}, checkName: $check, limit: 1) {
    status evaluation { success description
      metadataEntries { label ... on IntMetadataEntry { intValue } } } } }"""
PARTITION_STATUSES = """query Statuses($asset: [String!]!) {
  assetNodeOrError(assetKey: {path: $asset}) { ... on AssetNode {
    assetPartitionStatuses { ... on TimePartitionStatuses {
      ranges { status startKey endKey } } } } } }"""
LATEST_TABLE = """query Latest($asset: [String!]!, $partitions: [String!]) {
  assetOrError(assetKey: {path: $asset}) { ... on Asset {
    assetMaterializations(partitions: $partitions, limit: 1) {
      metadataEntries { label
        ... on TableMetadataEntry { table { records schema { columns { name } } } }
        ... on IntMetadataEntry { intValue } } } } } }"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The ticked data on SQLite, read through a GraphQL context on a code server whose
    calendar reaches the data's clock (IVYI_DATA_CLOCK, as `ivyi ui` passes it)."""
    from dagster_graphql.test.utils import define_out_of_process_context

    from ivyi_pipeline.db.engine import get_engine
    from ivyi_pipeline.db.migrate import upgrade
    from ivyi_pipeline_tests.integration.test_check_results_graphql import REPO

    home = tmp_path_factory.mktemp("analyst_views")
    url = f"sqlite:///{home / 'ivyi.db'}"
    upgrade(url)
    engine = get_engine(url)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVYI_DATABASE_URL", url)
        env.setenv("IVYI_HOME", str(home))
        env.setenv("DAGSTER_HOME", str(home / "dagster_home"))
        (home / "dagster_home").mkdir()
        env.setenv("IVYI_DATA_CLOCK", TICK.isoformat())
        _tick_scenario(engine, env)
        with dg.DagsterInstance.get() as instance:
            with define_out_of_process_context(
                str(REPO / "workspace.yaml"), None, instance
            ) as context:
                yield {"context": context, "engine": engine}
    engine.dispose()


def _query(context, query: str, **variables) -> dict:
    from dagster_graphql.test.utils import execute_dagster_graphql

    with context:
        result = execute_dagster_graphql(context, query, variables)
    assert not result.errors, result.errors
    return result.data


def _entries(entries: list[dict]) -> dict[str, dict]:
    return {entry["label"]: entry for entry in entries}


def test_the_ui_shows_the_missed_date_red_and_missing_and_the_data_dates_covered(served):
    context = served["context"]

    (execution,) = _query(
        context, CHECK_EXECUTIONS, asset=["occasion_detection"], check=MISSED_DATES_CHECK
    )["assetCheckExecutions"]
    ranges = _query(context, PARTITION_STATUSES, asset=["occasion_detection"])["assetNodeOrError"][
        "assetPartitionStatuses"
    ]["ranges"]

    assert execution["status"] == "FAILED"
    assert execution["evaluation"]["success"] is False
    assert _entries(execution["evaluation"]["metadataEntries"])["missed_dates"]["intValue"] == 1
    materialized = [(r["startKey"], r["endKey"]) for r in ranges if r["status"] == "MATERIALIZED"]
    last = (TICK.date() + dt.timedelta(days=21)).isoformat()
    assert (TICK.date().isoformat(), last) in materialized  # beyond the wall clock's calendar
    assert not any(start <= MISSED.isoformat() <= end for start, end in materialized)


def test_the_ui_shows_gift_names_beside_their_ids_and_every_open_window(served):
    context, engine = served["context"], served["engine"]
    from ivyi_pipeline.workflows.gifting_process.status import process_statuses

    key = process_statuses(engine)[0]["partition_key"]

    (options,) = _query(context, LATEST_TABLE, asset=["gift_options"], partitions=[key])[
        "assetOrError"
    ]["assetMaterializations"]
    (ranked,) = _query(context, LATEST_TABLE, asset=["ranked_decisions"], partitions=[key])[
        "assetOrError"
    ]["assetMaterializations"]
    (funnel_view,) = _query(context, LATEST_TABLE, asset=["gifting_funnel"], partitions=None)[
        "assetOrError"
    ]["assetMaterializations"]

    for materialization, label in ((options, "options"), (ranked, "ranking")):
        table = _entries(materialization["metadataEntries"])[label]["table"]
        columns = [column["name"] for column in table["schema"]["columns"]]
        assert columns[columns.index("gift_id") + 1] == "gift_name"
        assert all('"gift_name": "Test ' in record for record in table["records"])
    funnel_entries = _entries(funnel_view["metadataEntries"])
    assert funnel_entries["open_windows"]["intValue"] == WINDOWS
    assert len(funnel_entries["open_windows_soonest"]["table"]["records"]) == SHOWN


DEFINITION_COLUMNS = """query Columns($asset: [String!]!) {
  assetNodeOrError(assetKey: {path: $asset}) { ... on AssetNode {
    metadataEntries { label
      ... on TableSchemaMetadataEntry { schema { columns { name } } } } } } }"""


def test_the_columns_are_declared_once_on_the_asset_not_on_every_partition(served):
    """Each option and ranking table's columns show on the asset's page from its definition;
    a partition's materialization does not store them again (issue 20: bytes per process)."""
    context, engine = served["context"], served["engine"]
    from ivyi_pipeline.workflows.gifting_process.status import process_statuses

    key = process_statuses(engine)[0]["partition_key"]
    for asset, label, first in (
        ("gift_options", "options", "gift_id"),
        ("ranked_decisions", "ranking", "rank"),
    ):
        node = _query(context, DEFINITION_COLUMNS, asset=[asset])["assetNodeOrError"]
        schema = _entries(node["metadataEntries"])["dagster/column_schema"]["schema"]
        declared = [column["name"] for column in schema["columns"]]
        (latest,) = _query(context, LATEST_TABLE, asset=[asset], partitions=[key])["assetOrError"][
            "assetMaterializations"
        ]
        entries = _entries(latest["metadataEntries"])
        shown = [column["name"] for column in entries[label]["table"]["schema"]["columns"]]

        assert declared[0] == first
        assert "gift_name" in declared
        assert shown == declared
        assert "dagster/column_schema" not in entries
        assert entries["dagster/row_count"]["intValue"] >= len(entries[label]["table"]["records"])
