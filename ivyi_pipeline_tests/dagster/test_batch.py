"""The nightly batch over more processes than one batch: few ranged runs, every partition shown."""

import datetime as dt

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.partitions import process_ids_of
from ivyi_pipeline.orchestration.resources import GiftingSettings, IvyiDatabase
from ivyi_pipeline.orchestration.run_requests import MAX_RANGE, plan_runs, range_size
from ivyi_pipeline.orchestration.schedules import DAILY_SCHEDULE
from ivyi_pipeline_tests.factories import make_gift, make_occasion

SIX_AM = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)
PROCESSES, BATCH = 12, 5


def _materialized(instance, asset: str) -> set[str]:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records
    return set(process_ids_of(record.partition_key for record in records))


def test_twelve_due_processes_with_a_batch_of_five_run_as_three_ranged_runs(
    instance, engine, database_url
):
    for price in (1500, 2500, 3500):
        make_gift(engine, price_cents=price)
    for i in range(PROCESSES):
        make_occasion(engine, date=dt.date(2026, 6, 5 + i), recurs_yearly=False)
    resources = {
        **defs.resources,
        "ivyi_db": IvyiDatabase(url=database_url),
        "gifting": GiftingSettings(batch_size=BATCH),
    }
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=SIX_AM, resources=resources
    ) as context:
        requests = defs.resolve_schedule_def(DAILY_SCHEDULE)(context)

    assert len(requests) == 3
    assert [int(r.tags[tags.BATCH_SIZE]) for r in requests] == [5, 5, 2]
    job = defs.resolve_job_def("gifting_process_job")
    for request in requests:
        result = job.execute_in_process(
            instance=instance,
            tags=request.tags,
            resources={"ivyi_db": IvyiDatabase(url=database_url)},
        )
        assert result.success
    assert len(instance.get_run_records()) == 3
    with engine.connect() as conn:
        rows = conn.execute(sa.select(gift_processes.c.id, gift_processes.c.status)).all()
    ids = {pid for pid, _ in rows}
    assert len(ids) == PROCESSES
    assert {status for _, status in rows} == {"DECISION_WINDOW_OPEN"}
    for asset in ("gift_options", "ranked_decisions", "gift_process_state"):
        assert _materialized(instance, asset) == ids, asset


def test_a_ranged_run_never_spans_more_partitions_than_the_batch_size():
    order = [f"p{i:03d}" for i in range(100)]
    due = order[:7] + order[50:53] + [order[99]]

    # Process ids that are their own partition keys, as on an instance of the former scheme.
    requests = plan_runs(due, "daily-batch", SIX_AM, order, 5, 0, keys={p: p for p in due})

    ranges = [(r.tags[tags.RANGE_START], r.tags[tags.RANGE_END]) for r in requests]
    assert ranges == [("p000", "p004"), ("p005", "p006"), ("p050", "p052"), ("p099", "p099")]


def test_ranges_widen_with_the_live_keys_so_the_reads_a_process_pays_stay_the_same():
    order = [f"p{i:05d}" for i in range(8_000)]

    requests = plan_runs(order, "daily-batch", SIX_AM, order, 100, 0, keys={p: p for p in order})

    # 8,000 live keys: a range spans 8,000 / 40 = 200 of them, not the configured 100.
    assert {r.tags[tags.BATCH_SIZE] for r in requests} == {"200"}
    assert len(requests) == 40
    assert range_size(100, 8_000) == 200
    assert range_size(500, 10_000) == 500
    assert range_size(500, 200_000) == MAX_RANGE
