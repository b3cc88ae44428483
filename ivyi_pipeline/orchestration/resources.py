"""Resources: the domain database, the fulfilment provider, the business rules and the clock."""

from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.clock import parse_as_of
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.domain.decision_window import WindowPolicy
from ivyi_pipeline.features.fulfilment import FulfilmentProvider, SimulatedFulfilmentProvider
from ivyi_pipeline.settings import Settings
from ivyi_pipeline.workflows.gifting_process.backfill_policy import (
    BelatedPolicy,
    grace_days_from_env,
)
from ivyi_pipeline.workflows.gifting_process.detection import DEFAULT_LEAD_DAYS
from ivyi_pipeline.workflows.gifting_process.steps import GiftingRules


class IvyiDatabase(dg.ConfigurableResource):
    """The domain database: `url`, else IVYI_DATABASE_URL, else the local SQLite file."""

    url: str | None = None

    def get_engine(self) -> sa.Engine:
        """The pooled engine, created on first use."""
        return get_engine(self.url or Settings.from_env().database_url)


class FulfilmentService(dg.ConfigurableResource):
    """Base of fulfilment resources; a real provider subclasses this."""

    def provider(self, engine: sa.Engine) -> FulfilmentProvider:
        """The provider client."""
        raise NotImplementedError


class SimulatedFulfilment(FulfilmentService):
    """Ships `ship_after_hours` after the order, delivers `deliver_after_hours` later.

    `failure_rate` (0 to 1) of order calls fail transiently, reproducibly from `seed`.
    """

    ship_after_hours: int = 24
    deliver_after_hours: int = 48
    failure_rate: float = 0.0
    seed: int = 0

    def provider(self, engine: sa.Engine) -> FulfilmentProvider:
        return SimulatedFulfilmentProvider(
            engine,
            timedelta(hours=self.ship_after_hours),
            timedelta(hours=self.deliver_after_hours),
            failure_rate=self.failure_rate,
            seed=self.seed,
        )


class GiftingSettings(dg.ConfigurableResource):
    """Business rules and batch sizes, with the issue's defaults."""

    lead_days: int = DEFAULT_LEAD_DAYS
    window_hours: int = 72
    window_days_before: int = 3
    max_options: int = 50
    top_n: int = 10
    batch_size: int = 500
    single_runs_up_to: int = 10
    grace_days: int | None = None

    def rules(self) -> GiftingRules:
        """The rules the steps apply."""
        return GiftingRules(
            WindowPolicy(self.window_hours, self.window_days_before), self.max_options, self.top_n
        )

    def belated_policy(self) -> BelatedPolicy:
        """Backfill policy: grace `grace_days`, else IVYI_BELATED_GRACE_DAYS, else 14 days."""
        grace = grace_days_from_env() if self.grace_days is None else self.grace_days
        return BelatedPolicy(grace, self.lead_days)


class Clock(dg.ConfigurableResource):
    """'Now' for sensors: the wall clock, or the fixed instant `as_of` (ISO-8601)."""

    as_of: str | None = None

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return parse_as_of(self.as_of)
