"""What a run tells and books: its story (outcome tag, log lines), each step's failures per
process, and which errors a retry may cure. What it covers and when: run_scope.py."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from ivyi_pipeline import settings
from ivyi_pipeline.domain.states import STEPS
from ivyi_pipeline.faults import database_error, is_permanent, is_retryable, what_to_fix
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.run_scope import process_ids
from ivyi_pipeline.workflows.gifting_process import failure_reasons, redrive
from ivyi_pipeline.workflows.gifting_process.step_report import StepReport

DETAIL_LIMIT = 20
ERROR_LIMIT = 500

CAUSE = "cause"
"""Failure metadata of a step that failed as a whole: why, in the process's words."""
ERRORS_RECORDED = "errors_recorded"
"""Failure metadata of a step that wrote each failed process's own error before raising."""
PERMANENT_FAULT = "permanent_fault"
"""Failure metadata of a step that failed on a fault no retry cures: its processes wait for a
re-drive (`redrive.PERMANENT`)."""
ENVIRONMENT_FAULT = "environment_fault"
"""Failure metadata of a step the database refused for a reason no retry cures until someone
fixes it (a full disk, a read-only file, a missing table): the line that says what to fix.
The local driver stops its command on it; the processes are not marked (nothing is wrong
with them)."""
NO_RUN_RETRY = {"dagster/retry_on_asset_or_op_failure": "false"}
"""Run tag Dagster's run retries read when a run fails: a permanent step failure is not
retried by the daemon either (the op's retry policy already did not retry it)."""

RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=0.5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""Transient errors only: 0.5 s, 1.5 s, 3.5 s (each +/- up to 0.5 s), then the op fails. The
first delay is IVYI_RETRY_DELAY_SECONDS when set (`retry_only_transient` asks for each retry
with it); the ops carry this policy for what escapes that guard."""


def retry_wait(retry: int) -> float:
    """Seconds to wait before retry number `retry` (1 for the first), by RETRY_POLICY with the
    configured first delay; read when asked, so a changed setting needs no new definitions."""
    delay = settings.retry_delay_seconds()
    if delay is None:
        return RETRY_POLICY.calculate_delay(retry)
    return dg.RetryPolicy(
        max_retries=RETRY_POLICY.max_retries,
        delay=delay,
        backoff=RETRY_POLICY.backoff,
        jitter=RETRY_POLICY.jitter,
    ).calculate_delay(retry)


MAX_OUTCOME = 240
ENTERS = {step.name: step.moves_to for step in STEPS if step.moves_to is not None}
"""The status each step moves its processes to, by step name (from the step table)."""
LAST_STEP = STEPS[-1].name


def _sentences(report: StepReport) -> tuple[list[str], list[str], list[str]]:
    """(info, warning, error) sentences, one per process, each naming the process id."""
    step = report.step
    info = [f"Process {pid} waits in {step}: {why}." for pid, why in report.waiting.items()]
    info += [f"Process {pid} no longer exists; {step} skipped it." for pid in report.missing]
    warnings = [
        f"Process {pid} is blocked in {step}: {why}." for pid, why in report.blocked.items()
    ]
    errors = [
        f"Process {e.process_id} was refused in {step}: "
        f"{e.current} -> {e.target} is not allowed by the gifting state machine."
        for e in report.refused
    ]
    errors += [f"Process {pid} failed in {step}: {why}." for pid, why in report.failed.items()]
    return info, warnings, errors


def _outcome_fragment(report: StepReport, many: bool) -> str | None:
    def counted(text: str, n: int) -> str:
        return f"{text} ×{n}" if many else text

    parts = []
    if report.advanced and report.step in ENTERS:
        parts.append(counted(str(ENTERS[report.step]), len(report.advanced)))
    if report.blocked:
        only = next(iter(report.blocked.values()))
        parts.append(counted("blocked", len(report.blocked)) if many else f"blocked: {only}")
    if report.refused or report.failed:
        parts.append(counted(f"failed in {report.step}", len(report.refused) + len(report.failed)))
    if not parts and report.waiting:
        only = next(iter(report.waiting.values()))
        parts.append(counted("waiting", len(report.waiting)) if many else f"waits: {only}")
    return ", ".join(parts) or None


def tell_story(context: dg.OpExecutionContext, report: StepReport) -> None:
    """Extend the run's `ivyi/outcome` tag, e.g. `OPTIONS_GENERATED → DECISION_WINDOW_OPEN`."""
    many = len(process_ids(context)) > 1
    fragment = _outcome_fragment(report, many)
    if fragment is None and report.step != LAST_STEP:
        return
    run = context.instance.get_run_by_id(context.run_id)
    told = run.tags.get(tags.OUTCOME, "") if run else ""
    if fragment is None:
        if told:
            return
        fragment = "no change"
    if told.endswith(fragment):
        return
    story = f"{told} → {fragment}" if told else fragment
    if len(story) > MAX_OUTCOME:
        story = story[: MAX_OUTCOME - 1] + "…"
    context.instance.add_run_tags(context.run_id, {tags.OUTCOME: story})


def record(context: dg.OpExecutionContext, report: StepReport) -> None:
    """Log what the step did, a sentence per process while readable; fail on refusals."""
    log = context.log
    if report.advanced or report.waiting or report.blocked or report.refused or report.failed:
        log.info(report.summary())
    else:
        log.debug(report.summary())
    info, warnings, errors = _sentences(report)
    for line in info[:DETAIL_LIMIT]:
        log.info(line)
    if len(info) > DETAIL_LIMIT:
        log.info("%d more processes wait or are gone; see `ivyi status`", len(info) - DETAIL_LIMIT)
    for line in warnings[:DETAIL_LIMIT]:
        log.warning(line)
    if len(warnings) > DETAIL_LIMIT:
        log.warning(
            "%d more processes are blocked; see `ivyi status`", len(warnings) - DETAIL_LIMIT
        )
    for line in errors[:DETAIL_LIMIT]:
        log.error(line)
    if len(errors) > DETAIL_LIMIT:
        # Each one's own error is in its last_error (below), whatever their number.
        log.error("%d more processes failed; see `ivyi status`", len(errors) - DETAIL_LIMIT)
    tell_story(context, report)
    if errors:
        failed = _errors_by_process(context, report)
        final = bool(report.refused) or context.retry_number >= RETRY_POLICY.max_retries
        if report.refused:
            context.instance.add_run_tags(context.run_id, NO_RUN_RETRY)
        if final:
            # Each process's own error goes to the domain database here, whatever their number;
            # the failure bookkeeping then skips this step (ERRORS_RECORDED).
            redrive.record_errors(context.resources.ivyi_db.get_engine(), failed)
        more = f" (and {len(errors) - 1} more, see the log above)" if len(errors) > 1 else ""
        raise dg.Failure(
            description=errors[0] + more,
            metadata={"failed_processes": len(failed), ERRORS_RECORDED: final},
            # Provider failures are transient and the step retries only what did not advance;
            # a refused transition would be refused again, so it is never retried.
            allow_retries=not report.refused,
        )


def _errors_by_process(context: dg.OpExecutionContext, report: StepReport) -> dict[str, str]:
    """{process id: `run <id>, step <step>: <why>`} of every process the step failed."""
    where = f"run {context.run_id[:8]}, step {report.step}"
    errors = {
        e.process_id: redrive.permanent(f"{where}: {e.current} -> {e.target} is not allowed")
        for e in report.refused
        if e.process_id
    }
    errors |= {pid: f"{where}: {why}" for pid, why in report.failed.items()}
    return errors


def describe_error(exc: BaseException) -> str:
    """One short line naming the error, without SQL parameters."""
    original = getattr(exc, "orig", None) or exc
    first_line = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first_line}"[:ERROR_LIMIT]


def _retry(context: dg.OpExecutionContext) -> dg.RetryRequested:
    """What the op's retry policy would raise (the error it retries stays the cause, and
    Dagster fails the step past the last retry), with the configured delay."""
    return dg.RetryRequested(
        max_retries=RETRY_POLICY.max_retries,
        seconds_to_wait=retry_wait(context.retry_number + 1),
    )


@contextmanager
def retry_only_transient(context: dg.OpExecutionContext | None = None) -> Iterator[None]:
    """Retry transient errors (and a `dg.Failure` that allows retries) by RETRY_POLICY with the
    configured first delay; fail at once on anything else.

    The failure says why in the process's words (`the database refused it (check constraint
    ...); not retried`, metadata CAUSE), which the failure bookkeeping prefixes with what the
    step could not do (`order could not be placed: ...`); the original exception stays its
    cause, with its traceback, in the event log. A permanent fault fails the step once: the
    run is tagged so that Dagster's run retries leave it, and the failure bookkeeping marks its
    processes as waiting for a re-drive.
    """
    try:
        yield
    except dg.Failure as failure:
        if context is None or not failure.allow_retries:
            raise
        raise _retry(context) from failure  # as the op's policy would, with the set delay
    except Exception as exc:
        fault = database_error(exc)
        if fault is not None and is_permanent(fault[0]):
            raise dg.Failure(
                description=f"not retried: {describe_error(exc)}",
                allow_retries=False,
                metadata={ENVIRONMENT_FAULT: f"{fault[0]}; {what_to_fix(fault[0])}"},
            ) from exc
        if is_retryable(exc):
            if context is None:
                raise
            raise _retry(context) from exc
        if context is not None:
            context.instance.add_run_tags(context.run_id, NO_RUN_RETRY)
        cause = f"{failure_reasons.cause_of(exc)}; not retried"
        raise dg.Failure(
            description=cause,
            allow_retries=False,
            metadata={CAUSE: cause, PERMANENT_FAULT: True},
        ) from exc
