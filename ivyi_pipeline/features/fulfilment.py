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
