"""The gifting job with its steps spread over dagster-celery workers, for batches beyond one box.

Same graph and partitions as `gifting_process_job`; each step becomes a Celery task that a
worker (`celery -A dagster_celery.app worker`, see deploy/celery) executes in its own process,
on any machine that reaches the broker, the Dagster storage and the domain database. The ops
pass only Nothing outputs, so the default fs_io_manager (which the executor requires to be
persistent) never writes a file.
"""

import os

import dagster as dg
from dagster_celery import celery_executor

from ivyi_pipeline.orchestration.assets import gifting_process
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions

BROKER_ENV = "IVYI_CELERY_BROKER_URL"
BACKEND_ENV = "IVYI_CELERY_BACKEND_URL"
QUEUE_ENV = "IVYI_CELERY_QUEUE"
LOCAL_BROKER = "pyamqp://guest@127.0.0.1:5672//"
LOCAL_BACKEND = "rpc://"
DEFAULT_QUEUE = "dagster"


def broker_url() -> str:
    """The Celery broker: IVYI_CELERY_BROKER_URL, else the local RabbitMQ (guest, loopback)."""
    return os.environ.get(BROKER_ENV) or LOCAL_BROKER


def result_backend() -> str:
    """The Celery result backend: IVYI_CELERY_BACKEND_URL, else RabbitMQ replies (rpc://)."""
    return os.environ.get(BACKEND_ENV) or LOCAL_BACKEND


def queue() -> str:
    """The queue steps are sent to and workers listen on: IVYI_CELERY_QUEUE, else dagster's."""
    return os.environ.get(QUEUE_ENV) or DEFAULT_QUEUE


def _from_environment(_config: dict) -> dict:
    """Executor config read when the run starts, so no URL (nor password) lands in run config."""
    return {
        "broker": broker_url(),
        "backend": result_backend(),
        "config_source": {
            "broker_connection_retry_on_startup": True,
            "task_default_queue": queue(),
        },
    }


gifting_celery_executor = celery_executor.configured(
    _from_environment, name="ivyi_celery", config_schema={}
)

gifting_process_celery_job = dg.define_asset_job(
    "gifting_process_celery_job",
    selection=dg.AssetSelection.assets(gifting_process),
    partitions_def=gift_processes_partitions,
    executor_def=gifting_celery_executor,
    description="The gifting job with each step executed by a dagster-celery worker.",
)
