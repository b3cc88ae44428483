"""The code location: every Dagster definition of the gifting pipeline, assembled."""

import dagster as dg

from ivyi_pipeline.orchestration.assets import gifting_process
from ivyi_pipeline.orchestration.failures import gifting_failure_sensor, reconciler_sensor
from ivyi_pipeline.orchestration.funnel import (
    gifting_funnel,
    gifting_funnel_job,
    gifting_funnel_schedule,
)
from ivyi_pipeline.orchestration.jobs import gifting_process_job
from ivyi_pipeline.orchestration.resources import (
    Clock,
    GiftingSettings,
    IvyiDatabase,
    SimulatedFulfilment,
)
from ivyi_pipeline.orchestration.sensors import gifting_sensors

defs = dg.Definitions(
    assets=[gifting_process, gifting_funnel],
    jobs=[gifting_process_job, gifting_funnel_job],
    schedules=[gifting_funnel_schedule],
    sensors=[*gifting_sensors, reconciler_sensor, gifting_failure_sensor],
    resources={
        "ivyi_db": IvyiDatabase(),
        "gifting": GiftingSettings(),
        "fulfilment": SimulatedFulfilment(),
        "clock": Clock(),
    },
)
