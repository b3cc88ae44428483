"""The gifting process job run in process: one partition, ranges, re-runs, refusals and blocks."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.schema import (
    gift_options,
    gift_processes,
    inbox_events,
    orders,
    process_transitions,
    ranked_decisions,
    relationships,
    simulated_provider_orders,
)
from ivyi_pipeline.orchestration.checks import GIFTING_CHECK_SPECS
from ivyi_pipeline.orchestration.partitions import process_ids_of
from ivyi_pipeline.workflows.gifting_process.confirm import record_confirmation
from ivyi_pipeline_tests.dagster_runs import execute_gifting_job
from ivyi_pipeline_tests.factories import (
    make_confirmation,
    make_gift,
    make_new_process,
    make_process,
)

AS_OF = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
OCCURRENCE = dt.date(2026, 6, 15)
COUNTED = (
    gift_options,
    ranked_decisions,
    orders,
    process_transitions,
    inbox_events,
    simulated_provider_orders,
)


@pytest.fixture
def catalogue(engine) -> list[str]:
    """A few in-stock gifts between 15 and 45 euros, and one out of stock."""
    make_gift(engine, category="books", price_cents=1500, in_stock=False)
    return [
        make_gift(engine, category=category, price_cents=price)
        for category, price in (("books", 2000), ("games", 3000), ("food", 1500), ("home", 4500))
    ]


@pytest.fixture
def run(instance, database_url):
    """Execute gifting_process_job on the test database, for one process or a range."""

    def execute(*process_ids: str, as_of: dt.datetime = AS_OF) -> dg.ExecuteInProcessResult:
        return execute_gifting_job(instance, database_url, process_ids, as_of)

    return execute


def _process(engine, process_id: str):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(gift_processes).where(gift_processes.c.id == process_id)
        ).one()


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in COUNTED
        }


def _materialized(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dict]:
    """Each materialization's metadata by (asset, process id); each on its process's key."""
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        pid = materialization.metadata["process_id"].value
        assert process_ids_of([materialization.partition]) == [pid]
        found[(materialization.asset_key.to_user_string(), pid)] = materialization.metadata
    return found


@pytest.mark.usefixtures("catalogue")
def test_one_run_takes_a_new_process_to_an_open_decision_window_and_materializes_it(engine, run):
    process_id = make_new_process(engine, OCCURRENCE)

    result = run(process_id)

    assert result.success
    row = _process(engine, process_id)
    assert row.status == "DECISION_WINDOW_OPEN"
    assert row.window_closes_at == to_db(AS_OF + dt.timedelta(hours=72))
    materialized = _materialized(result)
    assert set(materialized) == {
        (asset, process_id) for asset in ("gift_options", "ranked_decisions", "gift_process_state")
    }
    options = materialized[("gift_options", process_id)]
    assert options["option_count"].value == 4
    ranking = materialized[("ranked_decisions", process_id)]["ranking"].value
    assert [record.data["rank"] for record in ranking.records] == [1, 2, 3, 4]
    assert ranking.records[0].data["category"] == "games"
    state = materialized[("gift_process_state", process_id)]
    assert state["status"].value == "DECISION_WINDOW_OPEN"


@pytest.mark.usefixtures("catalogue")
def test_re_running_a_partition_duplicates_no_option_decision_order_or_history_row(engine, run):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    stages = [
        (AS_OF + dt.timedelta(days=4), "ORDERED"),
        (AS_OF + dt.timedelta(days=8), "COMPLETED"),
    ]

    for as_of, status in stages:
        assert run(process_id, as_of=as_of).success
        after_first = _counts(engine)
        assert run(process_id, as_of=as_of).success
        assert _counts(engine) == after_first
        assert _process(engine, process_id).status == status

    assert _counts(engine) == {
        "gift_options": 4,
        "ranked_decisions": 4,
        "orders": 1,
        "process_transitions": 9,
        "inbox_events": 2,
        "simulated_provider_orders": 1,
    }


@pytest.mark.usefixtures("catalogue")
def test_a_run_that_generates_and_ranks_nothing_materializes_only_the_state(engine, run, instance):
    first_id, later_id = (
        make_new_process(engine, OCCURRENCE + dt.timedelta(days=i)) for i in (0, 1)
    )
    first = run(first_id, later_id)
    assert first.success

    # The window expires: the default is selected and ordered, no option is generated or ranked.
    expiry = run(first_id, later_id, as_of=AS_OF + dt.timedelta(days=4))

    assert expiry.success
    assert _process(engine, first_id).status == "ORDERED"
    assert set(_materialized(expiry)) == {
        ("gift_process_state", first_id),
        ("gift_process_state", later_id),
    }
    # The options and ranking each partition shows are still the first run's; the expiry run
    # judges them again: its verdicts are in each state partition's metadata, and no rule fails,
    # so it records no check result on any partition.
    assert [e for e in expiry.get_asset_check_evaluations() if e.partition is not None] == []
    for pid in (first_id, later_id):
        state = _materialized(expiry)[("gift_process_state", pid)]
        assert state["rule: options_not_empty"].value == ("options are non-empty: passes.")
        assert state["rule: selected_gift_is_ranked"].value.endswith("passes.")


@pytest.mark.usefixtures("catalogue")
def test_a_ranged_run_advances_every_process_and_materializes_each_partition(engine, run):
    process_ids = [make_new_process(engine, OCCURRENCE + dt.timedelta(days=i)) for i in range(3)]

    result = run(*process_ids)

    assert result.success
    assert {_process(engine, pid).status for pid in process_ids} == {"DECISION_WINDOW_OPEN"}
    materialized = _materialized(result)
    assert set(materialized) == {
        (asset, pid)
        for asset in ("gift_options", "ranked_decisions", "gift_process_state")
        for pid in process_ids
    }
    # Each partition carries its own process's metadata, not its neighbour's.
    for i, pid in enumerate(process_ids):
        state = materialized[("gift_process_state", pid)]
        assert state["occurrence_date"].value == str(OCCURRENCE + dt.timedelta(days=i))
        assert materialized[("gift_options", pid)]["option_count"].value == 4
        assert materialized[("ranked_decisions", pid)]["ranked_count"].value == 4


@pytest.mark.parametrize("status", ["SHIPPED", "COMPLETED"])
def test_a_forbidden_transition_fails_the_step_and_leaves_the_process_unchanged(
    engine, run, status
):
    process_id = make_process(engine, status=status)
    make_confirmation(engine, process_id, make_gift(engine), to_db(AS_OF))
    before = _process(engine, process_id)

    result = run(process_id)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key.endswith("confirm_selection")
    assert f"{status} -> CONFIRMED is not allowed" in str(failure.step_failure_data.error)
    after = _process(engine, process_id)
    # The step books the refusal on the process itself (its last_error, a permanent fault that
    # waits for a re-drive); nothing else changes.
    assert after.last_error == (
        "permanent fault, not retried until `ivyi redrive`: "
        f"run {result.run_id[:8]}, step confirm_selection: {status} -> CONFIRMED is not allowed"
    )
    unchanged = {**after._asdict(), "last_error": before.last_error}
    assert unchanged == before._asdict()


def test_a_failed_run_turns_no_check_red_and_leaves_none_in_progress(engine, run, instance):
    process_id = make_process(engine, status="SHIPPED")
    make_confirmation(engine, process_id, make_gift(engine), to_db(AS_OF))

    result = run(process_id)

    assert not result.success
    check_keys = [spec.key for spec in GIFTING_CHECK_SPECS]
    # No run plans a check, so a run that failed leaves no "Execution failed" behind it.
    assert instance.event_log_storage.get_asset_check_partition_info(check_keys) == []


@pytest.mark.usefixtures("catalogue")
def test_a_step_whose_window_is_still_open_ends_the_run_successfully_with_nothing_changed(
    engine, run
):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    before, counts = _process(engine, process_id), _counts(engine)

    result = run(process_id, as_of=AS_OF + dt.timedelta(hours=1))

    assert result.success
    assert _process(engine, process_id) == before
    assert _counts(engine) == counts


@pytest.mark.usefixtures("catalogue")
def test_a_process_whose_relationship_was_deleted_is_blocked_without_failing_the_others(
    engine, run
):
    healthy, orphaned = sorted(
        make_new_process(engine, OCCURRENCE + dt.timedelta(days=i)) for i in range(2)
    )
    with engine.begin() as conn:
        rel_id = conn.execute(
            sa.select(gift_processes.c.relationship_id).where(gift_processes.c.id == orphaned)
        ).scalar_one()
        conn.execute(
            relationships.update()
            .where(relationships.c.id == rel_id)
            .values(deleted_at=to_db(AS_OF))
        )

    result = run(healthy, orphaned)

    assert result.success
    blocked = _process(engine, orphaned)
    assert blocked.status == "CREATED"
    assert "was deleted" in blocked.blocked_reason
    assert _process(engine, healthy).status == "DECISION_WINDOW_OPEN"


@pytest.mark.usefixtures("catalogue")
def test_a_budget_too_small_for_any_gift_blocks_the_process_with_the_reason(engine, run):
    process_id = make_new_process(engine, OCCURRENCE, budget_cents=1000)

    result = run(process_id)

    assert result.success
    row = _process(engine, process_id)
    assert row.status == "OCCASION_DETECTED"
    assert "budget" in row.blocked_reason
    metadata = _materialized(result)[("gift_options", process_id)]
    assert metadata["option_count"].value == 0
    assert "budget" in metadata["blocked_reason"].value


@pytest.mark.usefixtures("catalogue")
def test_a_belated_process_skips_the_closed_window_and_is_ordered_in_one_run(engine, run):
    process_id = make_new_process(engine, AS_OF.date() - dt.timedelta(days=2))

    assert run(process_id).success

    row = _process(engine, process_id)
    assert row.status == "ORDERED"
    assert row.window_closes_at == row.window_opens_at == to_db(AS_OF)


@pytest.mark.usefixtures("catalogue")
def test_the_givers_confirmation_is_ordered_instead_of_the_top_ranked_gift(engine, run):
    process_id = make_new_process(engine, OCCURRENCE)
    assert run(process_id).success
    with engine.connect() as conn:
        last = conn.execute(
            sa.select(ranked_decisions.c.gift_id)
            .where(ranked_decisions.c.process_id == process_id)
            .order_by(ranked_decisions.c.rank.desc())
        ).first()[0]
    record_confirmation(engine, process_id, last, AS_OF + dt.timedelta(hours=1))

    assert run(process_id, as_of=AS_OF + dt.timedelta(hours=1)).success

    assert (_process(engine, process_id).status, _process(engine, process_id).selected_gift_id) == (
        "ORDERED",
        last,
    )
    with engine.connect() as conn:
        assert conn.execute(sa.select(orders.c.gift_id)).scalar_one() == last
