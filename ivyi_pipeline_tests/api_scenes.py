"""Domain states the HTTP API tests and benchmark start from: open windows, closed ones, orders."""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from ivyi_pipeline.db.schema import orders
from ivyi_pipeline.features.fulfilment import SimulatedFulfilmentProvider
from ivyi_pipeline.workflows.gifting_process import find, steps
from ivyi_pipeline.workflows.gifting_process.confirm import record_confirmation
from ivyi_pipeline_tests.factories import make_occasion, make_process

OPENED = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
"""When the scenes' decision windows open (they close 72 hours later)."""
SERVER_AS_OF = "2026-06-01T13:00:00Z"
"""The instant the test servers act at (`ivyi serve --as-of`): inside those windows."""
SERVER_NOW = dt.datetime(2026, 6, 1, 13, 0, tzinfo=dt.UTC)
OCCURRENCE = dt.date(2026, 6, 10)


def open_windows(
    engine: sa.Engine, n: int = 1, at: dt.datetime = OPENED, occurrence: dt.date = OCCURRENCE
) -> list[tuple[str, list[str]]]:
    """n processes of one-off occasions, walked by the real steps to DECISION_WINDOW_OPEN at
    `at`; (process id, its ranked gift ids best first) each."""
    ids = [
        make_process(
            engine, make_occasion(engine, date=occurrence, recurs_yearly=False), occurrence, at=at
        )
        for _ in range(n)
    ]
    _walk_to_open_window(engine, ids, at)
    with engine.connect() as conn:
        return [(pid, find.ranked_gift_ids(conn, pid)) for pid in ids]


def _walk_to_open_window(engine: sa.Engine, ids: Sequence[str], at: dt.datetime) -> None:
    rules = steps.GiftingRules()
    steps.start_workflow(engine, ids, at)
    steps.generate_options(engine, ids, at, rules)
    steps.rank_options(engine, ids, at, rules)
    report = steps.open_decision_window(engine, ids, at, rules)
    assert sorted(report.advanced) == sorted(ids), report


def closed_window(engine: sa.Engine) -> tuple[str, list[str]]:
    """A process still DECISION_WINDOW_OPEN whose window closed before SERVER_NOW."""
    ((pid, ranked),) = open_windows(
        engine, at=dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC), occurrence=dt.date(2026, 5, 29)
    )
    return pid, ranked


ORDERED_AT = dt.datetime(2026, 6, 1, 12, 30, tzinfo=dt.UTC)


def ordered(engine: sa.Engine, at: dt.datetime = ORDERED_AT) -> tuple[str, str]:
    """A process ORDERED at `at` from a provider that ships only ten days later; (process id,
    provider order id)."""
    ((pid, ranked),) = open_windows(engine)
    record_confirmation(engine, pid, ranked[0], at)
    steps.confirm_selection(engine, [pid], at)
    provider = SimulatedFulfilmentProvider(engine, ship_after=dt.timedelta(days=10))
    report = steps.place_order(engine, [pid], at, provider)
    assert report.advanced == [pid], report
    with engine.connect() as conn:
        order_id = conn.execute(
            sa.select(orders.c.provider_order_id).where(orders.c.process_id == pid)
        ).scalar_one()
    return pid, order_id
