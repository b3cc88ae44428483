"""Celery settings a dagster-celery worker loads: the same broker and backend as the job's.

dagster_celery.app imports a top-level module named `dagster_celery_config` when one is on
PYTHONPATH; put this folder there and every worker reads IVYI_CELERY_BROKER_URL and
IVYI_CELERY_BACKEND_URL from its environment, like the run that submits the steps.
"""

from ivyi_pipeline.orchestration.celery_executor import broker_url as _broker_url
from ivyi_pipeline.orchestration.celery_executor import result_backend as _result_backend

broker_url = _broker_url()
result_backend = _result_backend()
broker_connection_retry_on_startup = True
worker_prefetch_multiplier = 1
