"""Asset checks on options, ranks and choices: they run with the job and name failing processes."""

import datetime as dt

import dagster as dg
import pytest

from ivyi_pipeline.db.schema import gift_processes, gifts, ranked_decisions, relationships
from ivyi_pipeline.orchestration.partitions import process_ids_of
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


@pytest.mark.usefixtures("catalogue")
def test_a_run_that_generates_options_records_each_check_on_the_process_partition(
    engine, run, instance
):
    process_id = make_new_process(engine, OCCURRENCE)

    result = run(process_id)

    assert result.success
    results = _by_partition(result)
    judged = {"options_not_empty", "options_affordable_and_in_stock", "ranks_without_gaps"}
    assert set(results) == {(name, process_id) for name in judged}
    assert all(e.passed for e in results.values())
    assert results["options_not_empty", process_id].description == (
        "options are non-empty: passes."
    )
    # A single-process run needs no summary: its process's results are the whole story.
    assert _summaries(result) == {}
    for evaluation in results.values():
        target = evaluation.target_materialization_data
        latest = _latest_materialization(instance, evaluation.asset_key, evaluation.partition)
        assert (target.run_id, target.storage_id) == (result.run_id, latest.storage_id)


@pytest.mark.usefixtures("catalogue")
def test_a_ranged_run_records_a_result_per_process_and_a_summary_per_check(engine, run):
    ids = sorted(make_new_process(engine, OCCURRENCE + dt.timedelta(days=i)) for i in range(3))

    result = run(*ids)

    results = _by_partition(result)
    for name in ("options_not_empty", "options_affordable_and_in_stock", "ranks_without_gaps"):
        assert {pid for check, pid in results if check == name} == set(ids)
    summaries = _summaries(result)
    assert set(summaries) == CHECKS
    assert summaries["options_not_empty"].metadata["processes_checked"].value == 3
    assert summaries["selected_gift_is_ranked"].metadata["processes_checked"].value == 0
    # At most one result per check and process, plus one summary per check and run.
    assert len(result.get_asset_check_evaluations()) <= len(CHECKS) * (len(ids) + 1)


@pytest.mark.usefixtures("catalogue")
def test_a_later_run_judges_stock_only_for_options_it_generated(engine, run):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    with engine.begin() as conn:
        conn.execute(gifts.update().values(in_stock=False))

    results = _by_partition(run(process_id, as_of=AS_OF + dt.timedelta(hours=1)))

    assert set(results) == {
        ("options_not_empty", process_id),
        ("ranks_without_gaps", process_id),
    }
    assert all(e.passed for e in results.values())


@pytest.mark.usefixtures("catalogue")
def test_a_blocked_process_fails_the_non_empty_check_on_its_partition_beside_a_healthy_one(
    engine, run
):
    blocked = make_new_process(engine, OCCURRENCE, budget_cents=1000)
    healthy = make_new_process(engine, OCCURRENCE + dt.timedelta(days=1))

    result = run(blocked, healthy)

    assert result.success
    results = _by_partition(result)
    failing = results["options_not_empty", blocked]
    assert not failing.passed
    assert failing.severity == dg.AssetCheckSeverity.WARN
    assert failing.description.startswith("options are non-empty: fails: blocked:")
    assert "budget" in failing.description
    assert results["options_not_empty", healthy].passed
    summary = _summaries(result)["options_not_empty"]
    assert summary.metadata["failing_process_ids"].value == blocked


@pytest.mark.usefixtures("catalogue")
def test_a_selected_gift_outside_the_ranking_fails_the_selection_check_on_its_partition(
    engine, run
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
    assert unranked in check.description


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
