"""Fulfilment providers: who ships the gift. A real provider implements FulfilmentProvider."""

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ivyi_pipeline.clock import from_db, to_db
from ivyi_pipeline.db.engine import insert_ignoring_conflicts
from ivyi_pipeline.db.schema import simulated_provider_orders
from ivyi_pipeline.errors import IvyiError


class ProviderError(IvyiError):
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


class SimulatedFulfilmentProvider(FulfilmentProvider):
    """Ships one day after the order and delivers two days after shipping, by the clock."""

    def __init__(
        self,
        engine: sa.Engine,
        ship_after: timedelta = timedelta(days=1),
        deliver_after: timedelta = timedelta(days=2),
    ):
        self.engine, self.ship_after, self.deliver_after = engine, ship_after, deliver_after

    def place_order(self, idempotency_key: str, gift_id: str, at: datetime) -> str:
        row = {
            "idempotency_key": idempotency_key,
            "provider_order_id": f"SIM-{idempotency_key}",
            "gift_id": gift_id,
            "placed_at": to_db(at),
        }
        with self.engine.begin() as conn:
            conn.execute(insert_ignoring_conflicts(self.engine, simulated_provider_orders), [row])
        return row["provider_order_id"]

    def tracking(self, idempotency_keys: Sequence[str], as_of: datetime) -> dict[str, Tracking]:
        table = simulated_provider_orders
        found: dict[str, Tracking] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(idempotency_keys), 500):
                chunk = list(idempotency_keys[start : start + 500])
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
