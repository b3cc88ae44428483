"""Fulfilment providers: who ships the gift. A real provider implements FulfilmentProvider."""

import abc
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ivyi_pipeline.clock import from_db, to_db
from ivyi_pipeline.db.engine import insert_ignoring_conflicts
from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.db.schema import inbox_events, orders, simulated_provider_orders
from ivyi_pipeline.domain.enums import InboxKind
from ivyi_pipeline.errors import InvalidInput, NotFound, TransientError


class ProviderError(TransientError):
    """The fulfilment provider failed; transient, safe to retry with the same key."""


@dataclass(frozen=True)
class Tracking:
    """What the provider knows of one order at a given time."""

    provider_order_id: str
    shipped_at: datetime | None
    delivered_at: datetime | None


class FulfilmentProvider(abc.ABC):
    """Places orders idempotently and reports their progress."""

    @abc.abstractmethod
    def place_order(self, idempotency_key: str, gift_id: str, at: datetime) -> str:
        """Place (or find again) the order for this key; return the provider's order id."""

    @abc.abstractmethod
    def tracking(self, idempotency_keys: Sequence[str], as_of: datetime) -> dict[str, Tracking]:
        """Progress of the keyed orders as known at as_of; unknown keys are left out."""


_FAULTS: dict[int, random.Random] = {}
_FAULTS_LOCK = threading.Lock()


def _draw(seed: int) -> float:
    """The next number of the process-wide sequence for this seed: reproducible per process."""
    with _FAULTS_LOCK:
        return _FAULTS.setdefault(seed, random.Random(seed)).random()


class SimulatedFulfilmentProvider(FulfilmentProvider):
    """Ships one day after the order and delivers two days after shipping, by the clock.

    With `failure_rate` > 0, that share of order calls raises ProviderError, half of them
    before the order is stored and half after (the reply was lost), drawn from `seed`.
    """

    def __init__(
        self,
        engine: sa.Engine,
        ship_after: timedelta = timedelta(days=1),
        deliver_after: timedelta = timedelta(days=2),
        failure_rate: float = 0.0,
        seed: int = 0,
    ):
        self.engine, self.ship_after, self.deliver_after = engine, ship_after, deliver_after
        self.failure_rate, self.seed = failure_rate, seed

    def _maybe_fail(self, before_storing: bool) -> None:
        if self.failure_rate <= 0:
            return
        draw = _draw(self.seed)
        if draw < self.failure_rate and (draw < self.failure_rate / 2) == before_storing:
            when = "before" if before_storing else "after"
            raise ProviderError(f"simulated provider outage ({when} storing the order)")

    def place_order(self, idempotency_key: str, gift_id: str, at: datetime) -> str:
        self._maybe_fail(before_storing=True)
        row = {
            "idempotency_key": idempotency_key,
            "provider_order_id": f"SIM-{idempotency_key}",
            "gift_id": gift_id,
            "placed_at": to_db(at),
        }
        with self.engine.begin() as conn:
            insert_ignoring_conflicts(conn, simulated_provider_orders, [row])
        self._maybe_fail(before_storing=False)
        return row["provider_order_id"]

    def tracking(self, idempotency_keys: Sequence[str], as_of: datetime) -> dict[str, Tracking]:
        table = simulated_provider_orders
        found: dict[str, Tracking] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(idempotency_keys):
                rows = conn.execute(
                    sa.select(
                        table.c.idempotency_key, table.c.provider_order_id, table.c.placed_at
                    ).where(table.c.idempotency_key.in_(chunk))
                )
                for key, order_id, placed_at in rows:
                    shipped = from_db(placed_at) + self.ship_after
                    delivered = shipped + self.deliver_after
                    found[key] = Tracking(
                        order_id,
                        shipped if shipped <= as_of else None,
                        delivered if delivered <= as_of else None,
                    )
        return found


CARRIER_KINDS = {"shipped": InboxKind.SHIPPED, "delivered": InboxKind.DELIVERED}
"""The carrier's update names (POST /fulfilment-events) and the inbox events they become."""


@dataclass(frozen=True)
class CarrierUpdate:
    """A carrier's update as recorded: the order's process, and whether it was new."""

    process_id: str
    provider_order_id: str
    kind: InboxKind
    occurred_at: datetime
    recorded: bool


def record_carrier_update(
    conn: sa.Connection, provider_order_id: str, event: str, occurred_at: datetime
) -> CarrierUpdate:
    """Put a carrier's shipped/delivered update of an order into its process's inbox.

    The fulfilment path (`with_carrier_reports`) then applies it as it applies the provider's
    own tracking. A second update of the same kind for the order changes nothing (the first
    stands). NotFound for an unknown order; InvalidInput for an update dated before the order.
    """
    kind = CARRIER_KINDS[event]
    order = conn.execute(
        sa.select(orders.c.process_id, orders.c.placed_at).where(
            orders.c.provider_order_id == provider_order_id
        )
    ).first()
    if order is None:
        raise NotFound(f"order {provider_order_id} does not exist; send the order id we placed")
    if occurred_at < from_db(order.placed_at):
        raise InvalidInput(
            f"occurred_at {occurred_at:%Y-%m-%dT%H:%M:%SZ} is before order {provider_order_id} "
            f"was placed ({from_db(order.placed_at):%Y-%m-%dT%H:%M:%SZ}); send the carrier's time"
        )
    existing = conn.execute(
        sa.select(inbox_events.c.id).where(
            inbox_events.c.process_id == order.process_id, inbox_events.c.kind == kind.value
        )
    ).first()
    if existing is None:
        insert_ignoring_conflicts(
            conn,
            inbox_events,
            [
                {
                    "process_id": order.process_id,
                    "kind": kind.value,
                    "received_at": to_db(occurred_at),
                }
            ],
        )
    return CarrierUpdate(
        order.process_id, provider_order_id, kind, occurred_at, recorded=existing is None
    )


def with_carrier_reports(
    engine: sa.Engine, tracking: dict[str, Tracking], process_ids: Sequence[str], as_of: datetime
) -> dict[str, Tracking]:
    """The provider's tracking of these processes' orders, with the carrier's updates (inbox
    events received by as_of) merged in: the earliest report of each stamp wins, and a
    delivery implies the parcel shipped."""
    reported: dict[str, dict[InboxKind, datetime]] = {}
    with engine.connect() as conn:
        for chunk in chunks(process_ids):
            rows = conn.execute(
                sa.select(
                    inbox_events.c.process_id, inbox_events.c.kind, inbox_events.c.received_at
                ).where(
                    inbox_events.c.process_id.in_(chunk),
                    inbox_events.c.kind.in_([InboxKind.SHIPPED.value, InboxKind.DELIVERED.value]),
                    inbox_events.c.received_at <= to_db(as_of),
                )
            )
            for pid, kind, received_at in rows:
                reported.setdefault(pid, {})[InboxKind(kind)] = from_db(received_at)
    if not reported:
        return tracking
    merged = dict(tracking)
    for pid, kinds in reported.items():
        known = tracking.get(pid)
        delivered = _earliest(known and known.delivered_at, kinds.get(InboxKind.DELIVERED))
        shipped = _earliest(known and known.shipped_at, kinds.get(InboxKind.SHIPPED), delivered)
        merged[pid] = Tracking(known.provider_order_id if known else "", shipped, delivered)
    return merged


def _earliest(*stamps: datetime | None) -> datetime | None:
    found = [stamp for stamp in stamps if stamp]
    return min(found) if found else None
