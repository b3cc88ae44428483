"""Resources: the domain database, the fulfilment provider, the business rules and the clock.

Every default lives on its resource's field; `resources_from_environment` is how the
definitions configure them from the environment when they are built.
"""

from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.clock import parse_instant
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.domain.decision_window import WindowPolicy
from ivyi_pipeline.domain.options import DEFAULT_MAX_OPTIONS
from ivyi_pipeline.domain.ranking import DEFAULT_TOP_N
from ivyi_pipeline.features.fulfilment import FulfilmentProvider, SimulatedFulfilmentProvider
from ivyi_pipeline.settings import (
    DATABASE_URL_ENV,
    Settings,
    belated_grace_days,
    database_url_set,
)
from ivyi_pipeline.workflows.gifting_process.backfill_policy import (
    DEFAULT_GRACE_DAYS,
    BelatedPolicy,
)
from ivyi_pipeline.workflows.gifting_process.detection import DEFAULT_LEAD_DAYS
from ivyi_pipeline.workflows.gifting_process.steps import GiftingRules

DEFAULT_BATCH_SIZE = 500
"""Most processes one gifting run covers (the nightly batch's ranges, a backfill's runs)."""


class IvyiDatabase(dg.ConfigurableResource):
    """The domain database at `url`; None is the embedded default, the SQLite file in IVYI_HOME.

    The definitions pass `dg.EnvVar("IVYI_DATABASE_URL")` when it is set, so Dagster reads the
    URL (and any password in it) where the resource is used and shows only the variable's name.
    The embedded default is located when the engine is first needed, as `ivyi` commands do, so
    a process that sets its environment after importing the definitions still finds it.
    """

    url: str | None = None

    def get_engine(self) -> sa.Engine:
        """The pooled engine, created on first use."""
        # Dagster resolves the EnvVar when it initializes the resource for a run or a sensor;
        # a caller holding the definitions' own instance (the local driver) resolves it here.
        url = self.url.get_value() if isinstance(self.url, dg.EnvVar) else self.url
        return get_engine(url or Settings.from_env().database_url)


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
    window_hours: int = WindowPolicy.hours_open
    window_days_before: int = WindowPolicy.days_before
    max_options: int = DEFAULT_MAX_OPTIONS
    top_n: int = DEFAULT_TOP_N
    batch_size: int = DEFAULT_BATCH_SIZE
    single_runs_up_to: int = 10
    grace_days: int = DEFAULT_GRACE_DAYS

    def rules(self) -> GiftingRules:
        """The rules the steps apply."""
        return GiftingRules(
            WindowPolicy(self.window_hours, self.window_days_before), self.max_options, self.top_n
        )

    def belated_policy(self) -> BelatedPolicy:
        """Backfill policy: a belated process up to `grace_days` after the occurrence."""
        return BelatedPolicy(self.grace_days, self.lead_days)


class Clock(dg.ConfigurableResource):
    """'Now' for sensors: the wall clock, or the fixed instant `as_of` (ISO-8601)."""

    as_of: str | None = None

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return parse_instant(self.as_of)


def resources_from_environment() -> dict[str, dg.ConfigurableResource]:
    """The resources the definitions bind, configured from the environment as they are built.

    IVYI_DATABASE_URL is passed as a `dg.EnvVar`; IVYI_BELATED_GRACE_DAYS is read now (an
    `InvalidInput` names a bad value). Everything else takes its resource's defaults.
    """
    database = (
        IvyiDatabase(url=dg.EnvVar(DATABASE_URL_ENV)) if database_url_set() else IvyiDatabase()
    )
    grace_days = belated_grace_days()
    return {
        "ivyi_db": database,
        "gifting": GiftingSettings(
            grace_days=DEFAULT_GRACE_DAYS if grace_days is None else grace_days
        ),
        "fulfilment": SimulatedFulfilment(),
        "clock": Clock(),
    }
