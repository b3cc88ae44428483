"""Failure bookkeeping: the processes a failed run left behind get its step and error."""

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.ops import op_name_of_key, step_of_key
from ivyi_pipeline.orchestration.partitions import partition_order, process_ids_of
from ivyi_pipeline.orchestration.run_log import CAUSE, ERRORS_RECORDED, PERMANENT_FAULT
from ivyi_pipeline.workflows.gifting_process import failure_reasons, redrive


def run_process_ids(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[str]:
    """The processes a run covered: its partition, or every partition of its range."""
    if run.tags.get("dagster/partition"):
        return process_ids_of([run.tags["dagster/partition"]])
    start, end = run.tags.get(tags.RANGE_START), run.tags.get(tags.RANGE_END)
    if not start or not end:
        return []
    keys = list(partition_order(instance))
    if start not in keys or end not in keys:
        return []
    return process_ids_of(keys[keys.index(start) : keys.index(end) + 1])


def _step_errors(instance, engine, run, covered) -> tuple[dict[str, str], int]:
    """({process id: error} of the failed steps that did not book their own, failed steps)."""
    errors: dict[str, str] = {}
    records = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.step_failure_data
        values = data.user_failure_data.metadata if data.user_failure_data else {}
        if ERRORS_RECORDED in values and values[ERRORS_RECORDED].value is True:
            continue
        step, op_name = step_of_key(event.step_key), op_name_of_key(event.step_key)
        message = _in_words(op_name, data)
        permanent = PERMANENT_FAULT in values and values[PERMANENT_FAULT].value is True
        for pid in redrive.not_advanced(engine, covered, step):
            error = f"run {run.run_id[:8]}, step {op_name}: {message}"
            errors[pid] = redrive.permanent(error) if permanent else error
    return errors, len(records)


RETRY_REQUESTS = ("RetryRequested", "RetryRequestedFromPolicy")


def _in_words(op_name: str, data) -> str:
    """The step's failure as the process's story tells it, never Dagster's exception class.

    `retry_only_transient`'s failure carries its cause in words; another `dg.Failure` its
    description; any other error (a transient one that outlived its retries) is worded from
    its class and message.
    """
    what = failure_reasons.what_failed(op_name)
    user = data.user_failure_data
    if user is not None and CAUSE in user.metadata:
        return f"{what}: {user.metadata[CAUSE].value}"
    if user is not None and user.description:
        return user.description.strip()
    if data.error is None:
        return f"{what}: the step failed"
    error = data.error
    # Past its last retry the step fails with Dagster's retry request ("Exceeded max_retries");
    # what failed is its cause.
    while error.cls_name in RETRY_REQUESTS and error.cause is not None:
        error = error.cause
    return f"{what}: {failure_reasons.cause_of_class(error.cls_name, error.message)}"


def record_run_failure(
    instance: dg.DagsterInstance, engine: sa.Engine, run: dg.DagsterRun, reason: str | None = None
) -> dict[str, str]:
    """Store why the run failed on each process it left behind; return what was stored here.

    A step that failed for named processes has already stored each one's own error (see
    `run_log.record`); a step that failed as a whole (an exception) is booked here on
    the processes it left in its source states, and a run that failed before any step on
    every unfinished process it covered.
    """
    covered = run_process_ids(instance, run)
    errors, failed_steps = _step_errors(instance, engine, run, covered)
    if not failed_steps:
        why = reason or "the run failed before any step reported an error"
        errors = {
            pid: f"run {run.run_id[:8]}: {why}"
            for pid in redrive.not_advanced(engine, covered, None)
        }
    redrive.record_errors(engine, errors)
    return errors
