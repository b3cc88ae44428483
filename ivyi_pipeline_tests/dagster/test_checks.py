"""Rules on options, ranks and choices: every verdict on the process's partition, a check
result only where a rule fails, on the failing process's own partition."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes, gifts, ranked_decisions, relationships
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.checks import GIFTING_CHECK_KEYS, VERDICT_PREFIX
from ivyi_pipeline.orchestration.partitions import (
    partition_keys_for,
    process_ids_of,
)
from ivyi_pipeline.orchestration.resources import IvyiDatabase
from ivyi_pipeline.workflows.gifting_process import quality
from ivyi_pipeline_tests.dagster_runs import execute_gifting_job
from ivyi_pipeline_tests.factories import (
    make_gift,
    make_new_process,
    make_process,
)

AS_OF = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
OCCURRENCE = dt.date(2026, 6, 15)
CHECKS = {
    "options_not_empty",
    "options_affordable_and_in_stock",
    "ranks_without_gaps",
    "selected_gift_is_ranked",
}


@pytest.fixture
def catalogue(engine) -> list[str]:
    """Three in-stock gifts between 20 and 45 euros, and one out of stock."""
    make_gift(engine, category="books", price_cents=1500, in_stock=False)
    return [
        make_gift(engine, category=category, price_cents=price)
        for category, price in (("books", 2000), ("games", 3000), ("home", 4500))
    ]


@pytest.fixture
def run(instance, database_url):
    """Execute gifting_process_job on the test database over the given processes."""

    def execute(*process_ids: str, as_of: dt.datetime = AS_OF) -> dg.ExecuteInProcessResult:
        return execute_gifting_job(instance, database_url, process_ids, as_of)

    return execute


def _by_partition(
    result: dg.ExecuteInProcessResult,
) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """Each process's own check results, by (check name, process id), each on its partition."""
    found = {}
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.partition is not None:
            pid = evaluation.metadata["process_id"].value
            assert process_ids_of([evaluation.partition]) == [pid]
            key = (evaluation.check_name, pid)
            assert key not in found, f"two results for {key}"
            found[key] = evaluation
    return found


def _summaries(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.partition is None}


def _latest_materialization(instance, asset_key: dg.AssetKey, partition: str):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    ).records
    return records[0]


def _verdicts(instance, engine, process_id: str) -> dict[str, str]:
    """Every rule's verdict in the metadata of the process's latest state materialization."""
    key = partition_keys_for(engine, [process_id])[process_id]
    record = _latest_materialization(instance, dg.AssetKey("gift_process_state"), key)
    metadata = record.asset_materialization.metadata
    return {k.removeprefix(VERDICT_PREFIX): v.value for k, v in metadata.items() if k in RULE_KEYS}


RULE_KEYS = {VERDICT_PREFIX + name for name in CHECKS}


@pytest.mark.usefixtures("catalogue")
def test_a_healthy_process_shows_every_verdict_on_its_partition_and_records_no_check_result(
    engine, run, instance
):
    process_id = make_new_process(engine, OCCURRENCE)

    result = run(process_id)

    assert result.success
    # Nothing fails: no check result at all, so nothing per process is written to the checks.
    assert result.get_asset_check_evaluations() == []
    assert _verdicts(instance, engine, process_id) == {
        "options_not_empty": "options are non-empty: passes.",
        "options_affordable_and_in_stock": "options are affordable and in stock: passes.",
        "ranks_without_gaps": "ranks are 1..n without gaps: passes.",
        # The giver is still choosing: the rule does not apply, it is neither failed nor skipped.
        "selected_gift_is_ranked": (
            "the selected gift is one of the ranked options: does not apply to it yet."
        ),
    }


@pytest.mark.usefixtures("catalogue")
def test_a_ranged_run_records_failures_only_and_a_summary_per_check(engine, run):
    ids = sorted(make_new_process(engine, OCCURRENCE + dt.timedelta(days=i)) for i in range(3))

    result = run(*ids)

    assert _by_partition(result) == {}
    summaries = _summaries(result)
    assert set(summaries) == CHECKS
    assert summaries["options_not_empty"].metadata["processes_checked"].value == 3
    assert summaries["selected_gift_is_ranked"].metadata["processes_checked"].value == 0
    assert all(summary.passed for summary in summaries.values())
    # What the run records for the checks does not grow with its processes: a summary a check.
    assert len(result.get_asset_check_evaluations()) == len(CHECKS)


@pytest.mark.usefixtures("catalogue")
def test_a_run_plans_no_check_so_a_process_is_never_skipped(engine, run, instance):
    process_id = make_new_process(engine, OCCURRENCE)

    result = run(process_id)

    planned = instance.get_records_for_run(
        result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
    ).records
    assert planned == []


@pytest.mark.usefixtures("catalogue")
def test_a_later_run_judges_stock_only_for_options_it_generated(engine, run, instance):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    with engine.begin() as conn:
        conn.execute(gifts.update().values(in_stock=False))

    result = run(process_id, as_of=AS_OF + dt.timedelta(hours=1))

    assert _by_partition(result) == {}
    verdicts = _verdicts(instance, engine, process_id)
    # Judged when its options were generated, not again: the verdict says so, not "yet".
    assert verdicts["options_affordable_and_in_stock"] == (
        "options are affordable and in stock: judged only by the run that generated its "
        "options (an earlier materialization of this partition), or not yet."
    )
    assert verdicts["options_not_empty"].endswith("passes.")


@pytest.mark.usefixtures("catalogue")
def test_a_blocked_process_fails_the_non_empty_check_on_its_partition_beside_a_healthy_one(
    engine, run, instance
):
    blocked = make_new_process(engine, OCCURRENCE, budget_cents=1000)
    healthy = make_new_process(engine, OCCURRENCE + dt.timedelta(days=1))

    result = run(blocked, healthy)

    assert result.success
    results = _by_partition(result)
    assert set(results) == {("options_not_empty", blocked)}
    failing = results["options_not_empty", blocked]
    assert not failing.passed
    assert failing.severity == dg.AssetCheckSeverity.WARN
    assert failing.description.startswith("options are non-empty: fails: blocked:")
    assert "budget" in failing.description
    target = failing.target_materialization_data
    latest = _latest_materialization(instance, failing.asset_key, failing.partition)
    assert (target.run_id, target.storage_id) == (result.run_id, latest.storage_id)
    assert _verdicts(instance, engine, blocked)["options_not_empty"] == failing.description
    assert _verdicts(instance, engine, healthy)["options_not_empty"].endswith("passes.")
    summary = _summaries(result)["options_not_empty"]
    assert summary.metadata["failing_process_ids"].value == blocked


@pytest.mark.usefixtures("catalogue")
def test_a_later_run_records_a_failure_that_still_holds_again(engine, run, instance):
    blocked = make_new_process(engine, OCCURRENCE, budget_cents=1000)
    first = run(blocked)

    later = run(blocked, as_of=AS_OF + dt.timedelta(days=1))

    for result in (first, later):
        assert not _by_partition(result)["options_not_empty", blocked].passed
    evaluation = _by_partition(later)["options_not_empty", blocked]
    latest = _latest_materialization(instance, evaluation.asset_key, evaluation.partition)
    assert evaluation.target_materialization_data.storage_id == latest.storage_id


@pytest.mark.usefixtures("catalogue")
def test_a_selected_gift_outside_the_ranking_fails_the_selection_check_on_its_partition(
    engine, run, instance
):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    unranked = make_gift(engine, category="food", price_cents=9900)
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id == process_id)
            .values(selected_gift_id=unranked)
        )

    result = run(process_id, as_of=AS_OF + dt.timedelta(hours=1))
    check = _by_partition(result)["selected_gift_is_ranked", process_id]

    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    with engine.connect() as conn:
        ranked = conn.execute(
            sa.select(sa.func.count()).where(ranked_decisions.c.process_id == process_id)
        ).scalar()
    assert ranked > 0
    assert f"selected gift {unranked} is not among its {ranked} ranked options" in (
        check.description
    )
    # It points at the state this very run materialized: the UI shows it as current.
    latest = _latest_materialization(instance, check.asset_key, check.partition)
    assert check.target_materialization_data.storage_id == latest.storage_id
    assert latest.run_id == result.run_id


@pytest.mark.usefixtures("catalogue")
def test_a_gap_in_the_ranks_is_reported_with_the_ranks_found(engine, run):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    with engine.begin() as conn:
        conn.execute(
            ranked_decisions.delete().where(
                ranked_decisions.c.process_id == process_id, ranked_decisions.c.rank == 2
            )
        )

    report = quality.ranks_without_gaps(engine, [process_id])

    assert report.errors == {process_id: "ranks are 1, 3, not 1..2 without gaps"}


@pytest.mark.usefixtures("catalogue")
def test_a_ranked_gift_that_is_not_an_option_is_reported_by_id(engine, run):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    stray = make_gift(engine, category="games", price_cents=1000)
    with engine.begin() as conn:
        conn.execute(
            ranked_decisions.update()
            .where(ranked_decisions.c.process_id == process_id, ranked_decisions.c.rank == 3)
            .values(gift_id=stray)
        )

    report = quality.ranks_without_gaps(engine, [process_id])

    assert report.errors == {process_id: f"ranked gift {stray} is not one of its options"}


def test_an_open_window_without_a_ranking_is_an_error(engine):
    process_id = make_process(engine, status="DECISION_WINDOW_OPEN")
    waiting = make_process(engine, status="OPTIONS_GENERATED")

    report = quality.ranks_without_gaps(engine, [process_id, waiting])

    assert report.checked == [process_id]
    assert report.errors == {
        process_id: "is DECISION_WINDOW_OPEN but its options were never ranked"
    }


@pytest.mark.usefixtures("catalogue")
def test_stock_and_budget_are_judged_for_options_generated_at_the_given_instant_only(engine, run):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    with engine.begin() as conn:
        conn.execute(gifts.update().values(in_stock=False))
        conn.execute(relationships.update().values(budget_cents=2500))

    later = quality.options_affordable_and_in_stock(engine, [process_id], AS_OF + dt.timedelta(1))
    at_generation = quality.options_affordable_and_in_stock(engine, [process_id], AS_OF)

    assert later.passed
    assert later.checked == []
    assert at_generation.checked == [process_id]
    problem = at_generation.errors[process_id]
    assert "out of stock" in problem
    assert "over the budget of 2500 cents" in problem


def test_a_process_past_generation_without_options_is_an_error_not_a_warning(engine):
    process_id = make_process(engine, status="DECISION_WINDOW_OPEN")

    report = quality.options_present(engine, [process_id])

    assert report.errors == {process_id: "is DECISION_WINDOW_OPEN but has no gift options"}


@pytest.mark.usefixtures("catalogue")
def test_running_the_rules_on_demand_judges_the_partition_by_every_rule(
    engine, run, instance, database_url
):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    key = partition_keys_for(engine, [process_id])[process_id]
    # What the UI launches for "Execute checks" on one partition: the checks alone.
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection=set(GIFTING_CHECK_KEYS)
    )

    result = job.execute_in_process(
        instance=instance,
        tags={"dagster/partition": key, tags.AS_OF: AS_OF.isoformat()},
        resources={"ivyi_db": IvyiDatabase(url=database_url)},
    )

    assert result.success
    verdicts = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(verdicts) == CHECKS
    assert all(e.passed and e.partition == key for e in verdicts.values())
    assert verdicts["ranks_without_gaps"].description == "ranks are 1..n without gaps: passes."
    assert verdicts["selected_gift_is_ranked"].description.endswith("does not apply to it yet.")
