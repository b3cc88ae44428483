"""Helpers of the reliability tests: run the job on a test database, snapshot its tables."""

import datetime as dt

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.db.schema import (
    gift_options,
    gift_processes,
    inbox_events,
    orders,
    process_transitions,
    ranked_decisions,
    simulated_provider_orders,
)
from ivyi_pipeline.orchestration.assets import gifting_process
from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.resources import (
    Clock,
    GiftingSettings,
    IvyiDatabase,
    SimulatedFulfilment,
)
from ivyi_pipeline.orchestration.sensors import gifting_sensors
from ivyi_pipeline_tests.factories import AT, make_gift, make_process

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def definitions(database_url: str, fulfilment: SimulatedFulfilment | None = None):
    """The project's definitions on this database, with a chosen simulated provider."""
    return dg.Definitions(
        assets=[gifting_process],
        jobs=[gifting_process_job],
        sensors=gifting_sensors,
        resources={
            "ivyi_db": IvyiDatabase(url=database_url),
            "gifting": GiftingSettings(),
            "fulfilment": fulfilment or SimulatedFulfilment(),
            "clock": Clock(),
        },
    )


def run_job(instance, defs, process_ids, at: dt.datetime = AT):
    """Execute gifting_process_job over one process or a contiguous range of them."""
    # Partitions are ordered by insertion: add them sorted so that the range covers them all.
    instance.add_dynamic_partitions("gift_processes", sorted(process_ids))
    job = defs.resolve_job_def("gifting_process_job")
    tags = {"ivyi/as_of": at.isoformat()}
    if len(process_ids) == 1:
        return job.execute_in_process(
            instance=instance,
            partition_key=process_ids[0],
            tags=tags,
            run_config=QUIET,
            raise_on_error=False,
        )
    keys = sorted(process_ids)
    tags |= {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }
    return job.execute_in_process(
        instance=instance, tags=tags, run_config=QUIET, raise_on_error=False
    )


def confirmed_processes(engine: sa.Engine, n: int) -> list[str]:
    """n processes in CONFIRMED with a selected gift, ready to be ordered."""
    gift = make_gift(engine, price_cents=2500)
    ids = [make_process(engine, status="CONFIRMED") for _ in range(n)]
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id.in_(ids))
            .values(selected_gift_id=gift)
        )
    return sorted(ids)


def events_of(result, event_type: dg.DagsterEventType) -> list:
    """The run's events of one type."""
    return [e for e in result.all_events if e.event_type == event_type]


COMPARED = {
    "gift_processes": (
        gift_processes,
        [
            "id",
            "status",
            "selected_gift_id",
            "window_opens_at",
            "window_closes_at",
            "blocked_reason",
        ],
    ),
    "gift_options": (gift_options, ["process_id", "gift_id", "category", "price_cents"]),
    "ranked_decisions": (ranked_decisions, ["process_id", "rank", "gift_id", "score"]),
    "process_transitions": (
        process_transitions,
        ["process_id", "from_status", "to_status", "event"],
    ),
    "inbox_events": (inbox_events, ["process_id", "kind", "gift_id", "outcome"]),
    "orders": (
        orders,
        [
            "process_id",
            "gift_id",
            "idempotency_key",
            "provider_order_id",
            "price_cents",
            "placed_at",
            "shipped_at",
            "delivered_at",
        ],
    ),
    "simulated_provider_orders": (
        simulated_provider_orders,
        ["idempotency_key", "provider_order_id", "gift_id"],
    ),
}
"""The tables a run writes, and the columns compared (surrogate ids and audit times left out)."""


TIMES = {"window_opens_at", "window_closes_at", "placed_at", "shipped_at", "delivered_at"}
"""Instants that follow the tick that happened to move a process, left out when `timeless`."""


def snapshot(engine: sa.Engine, timeless: bool = False) -> dict[str, list[tuple]]:
    """Every compared table as a sorted list of rows (duplicates kept, so they show)."""
    found = {}
    with engine.connect() as conn:
        for name, (table, columns) in COMPARED.items():
            kept = [c for c in columns if not (timeless and c in TIMES)]
            rows = conn.execute(sa.select(*(table.c[c] for c in kept))).all()
            found[name] = sorted((tuple(r) for r in rows), key=repr)
    return found
