"""A confirmed gift that went out of stock before it was ordered: the best-ranked gift still in
stock is ordered instead; with none in stock the process waits, blocked, until stock returns."""

import datetime as dt

import sqlalchemy as sa

from ivyi_pipeline.db.schema import (
    gift_processes,
    gifts,
    orders,
    process_transitions,
    simulated_provider_orders,
)
from ivyi_pipeline.features.fulfilment import SimulatedFulfilmentProvider
from ivyi_pipeline.workflows.gifting_process import steps
from ivyi_pipeline.workflows.gifting_process.confirm import record_confirmation
from ivyi_pipeline_tests.factories import AT
from ivyi_pipeline_tests.integration.test_reliability_concurrency import (
    _open_window_with_ranked_gifts,
)

HOUR = dt.timedelta(hours=1)


def _confirmed(engine, choice: int = 0) -> tuple[str, list[str]]:
    """A process whose giver confirmed its ranked gift number `choice` (0 is the best)."""
    pid, ranked = _open_window_with_ranked_gifts(engine, 3)
    record_confirmation(engine, pid, ranked[choice], AT + HOUR)
    assert steps.confirm_selection(engine, [pid], AT + 2 * HOUR).advanced == [pid]
    return pid, ranked


def _sell_out(engine, gift_ids: list[str], in_stock: bool = False) -> None:
    with engine.begin() as conn:
        conn.execute(gifts.update().where(gifts.c.id.in_(gift_ids)).values(in_stock=in_stock))


def _state(engine, pid: str):
    with engine.connect() as conn:
        process = conn.execute(
            sa.select(
                gift_processes.c.status,
                gift_processes.c.selected_gift_id,
                gift_processes.c.blocked_reason,
            ).where(gift_processes.c.id == pid)
        ).one()
        order = conn.execute(sa.select(orders.c.gift_id).where(orders.c.process_id == pid)).first()
        provider = conn.execute(
            sa.select(simulated_provider_orders.c.gift_id).where(
                simulated_provider_orders.c.idempotency_key == pid
            )
        ).first()
        reason = conn.execute(
            sa.select(process_transitions.c.reason).where(
                process_transitions.c.process_id == pid,
                process_transitions.c.to_status == "ORDERED",
            )
        ).scalar()
    return process, order and order.gift_id, provider and provider.gift_id, reason


def test_a_sold_out_confirmed_gift_is_replaced_by_the_best_ranked_gift_in_stock(engine):
    pid, ranked = _confirmed(engine, choice=0)
    _sell_out(engine, [ranked[0]])

    report = steps.place_order(engine, [pid], AT + 3 * HOUR, SimulatedFulfilmentProvider(engine))

    process, ordered, at_provider, reason = _state(engine, pid)
    assert report.advanced == [pid]
    assert (process.status, process.selected_gift_id) == ("ORDERED", ranked[1])
    assert ordered == at_provider == ranked[1]
    assert reason == steps.SOLD_OUT_REPLACED


def test_a_confirmed_gift_in_stock_is_ordered_as_confirmed(engine):
    pid, ranked = _confirmed(engine, choice=2)
    _sell_out(engine, [ranked[0]])

    steps.place_order(engine, [pid], AT + 3 * HOUR, SimulatedFulfilmentProvider(engine))

    process, ordered, _, reason = _state(engine, pid)
    assert (process.status, process.selected_gift_id, ordered) == ("ORDERED", ranked[2], ranked[2])
    assert reason is None


def test_with_every_ranked_gift_sold_out_the_process_waits_blocked_until_stock_returns(engine):
    pid, ranked = _confirmed(engine, choice=1)
    _sell_out(engine, ranked)
    provider = SimulatedFulfilmentProvider(engine)

    blocked = steps.place_order(engine, [pid], AT + 3 * HOUR, provider)

    process, ordered, at_provider, _ = _state(engine, pid)
    assert blocked.advanced == []
    assert blocked.blocked == {
        pid: "the selected gift and every other ranked gift are out of stock"
    }
    assert (process.status, process.selected_gift_id) == ("CONFIRMED", ranked[1])
    assert process.blocked_reason == blocked.blocked[pid]
    assert ordered is None
    assert at_provider is None

    _sell_out(engine, [ranked[1]], in_stock=True)
    steps.place_order(engine, [pid], AT + 4 * HOUR, provider)

    process, ordered, _, reason = _state(engine, pid)
    assert (process.status, process.selected_gift_id, ordered) == ("ORDERED", ranked[1], ranked[1])
    assert process.blocked_reason is None
    assert reason is None
