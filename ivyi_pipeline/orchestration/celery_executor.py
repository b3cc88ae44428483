"""The Celery executor of `gifting_process_celery_job` (jobs.py): batches beyond one box.

The job has the graph and partitions of `gifting_process_job`; each step becomes a Celery task
that a worker (`celery -A dagster_celery.app worker`, see deploy/celery) executes in its own
process, on any machine that reaches the broker, the Dagster storage and the domain database.
The ops pass only Nothing outputs, so the default fs_io_manager (which the executor requires to
be persistent) never writes a file.
"""

from dagster_celery import celery_executor

from ivyi_pipeline import settings
from ivyi_pipeline.settings import CELERY_BACKEND_ENV, CELERY_BROKER_ENV

LOCAL_BROKER = "pyamqp://guest@127.0.0.1:5672//"
LOCAL_BACKEND = "rpc://"
DEFAULT_QUEUE = "dagster"


def broker_url() -> str:
    """The Celery broker: IVYI_CELERY_BROKER_URL, else the local RabbitMQ (guest, loopback)."""
    return settings.celery_broker_url() or LOCAL_BROKER


def result_backend() -> str:
    """The Celery result backend: IVYI_CELERY_BACKEND_URL, else RabbitMQ replies (rpc://)."""
    return settings.celery_backend_url() or LOCAL_BACKEND


def queue() -> str:
    """The queue steps are sent to and workers listen on: IVYI_CELERY_QUEUE, else dagster's."""
    return settings.celery_queue() or DEFAULT_QUEUE


def _url_source(env: str, value: str | None, default: str) -> str | dict[str, str]:
    """An executor URL: the variable by name when it is set, else the local default.

    Dagster reads a `{"env": ...}` source when the run starts, so neither the URL nor a
    password in it lands in the run's config, and workers and run read the same variable.
    """
    return {"env": env} if value else default


def celery_executor_config() -> dict:
    """The executor's config, as the definitions are built: broker, backend and queue."""
    return {
        "broker": _url_source(CELERY_BROKER_ENV, settings.celery_broker_url(), LOCAL_BROKER),
        "backend": _url_source(CELERY_BACKEND_ENV, settings.celery_backend_url(), LOCAL_BACKEND),
        "config_source": {
            "broker_connection_retry_on_startup": True,
            "task_default_queue": queue(),
        },
    }


gifting_celery_executor = celery_executor.configured(celery_executor_config(), name="ivyi_celery")
