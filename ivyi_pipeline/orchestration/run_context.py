"""What an op needs from its run: the processes it covers and the instant it acts at."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.clock import parse_as_of, utcnow
from ivyi_pipeline.features.fulfilment import ProviderError
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.workflows.gifting_process.report import StepReport

DETAIL_LIMIT = 20
ERROR_LIMIT = 500

RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=0.5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""Transient errors only: 0.5 s, 1 s, 2 s (each +/- up to its own length), then the op fails."""


def process_ids(context: dg.OpExecutionContext) -> list[str]:
    """The gift processes of this run: its partition, or every partition of its range."""
    return list(context.partition_keys)


def as_of(context: dg.OpExecutionContext) -> datetime:
    """The instant the run acts at: the `ivyi/as_of` tag its sensor set, else now."""
    tagged = context.run.tags.get(tags.AS_OF)
    return parse_as_of(tagged) if tagged else utcnow()


def record(context: dg.OpExecutionContext, report: StepReport) -> None:
    """Log what the step did, a sentence per process while readable; fail on refusals."""
    log = context.log
    log.info(report.summary())
    details = [
        *(f"process {pid} waits: {why}" for pid, why in report.waiting.items()),
        *(f"process {pid} is blocked: {why}" for pid, why in report.blocked.items()),
        *(f"process {pid} no longer exists; nothing to do" for pid in report.missing),
    ]
    for line in details[:DETAIL_LIMIT]:
        log.info(line)
    if len(details) > DETAIL_LIMIT:
        log.info(
            "%d more processes wait or are blocked; see `ivyi status`", len(details) - DETAIL_LIMIT
        )
    problems = [str(error) for error in report.refused] + [
        f"process {pid}: {why}" for pid, why in report.failed.items()
    ]
    for problem in problems:
        log.error(problem)
    if problems:
        raise dg.Failure(
            description=f"{report.step} refused or failed {len(problems)} process(es): "
            + "; ".join(problems[:DETAIL_LIMIT]),
            metadata={"process_ids": ", ".join(sorted(_ids(report)))[:2000]},
            # Provider failures are transient and the step retries only what did not advance;
            # a refused transition would be refused again, so it is never retried.
            allow_retries=not report.refused,
        )


def is_transient(exc: BaseException) -> bool:
    """True for errors a retry can cure: lost connections, locks, timeouts, provider hiccups."""
    if isinstance(exc, ProviderError | sa.exc.OperationalError | sa.exc.TimeoutError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def describe_error(exc: BaseException) -> str:
    """One short line naming the error, without SQL parameters."""
    original = getattr(exc, "orig", None) or exc
    first_line = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first_line}"[:ERROR_LIMIT]


@contextmanager
def retry_only_transient() -> Iterator[None]:
    """Let transient errors reach the op's retry policy; fail at once on anything else."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        raise dg.Failure(
            description=f"not retried: {describe_error(exc)}", allow_retries=False
        ) from exc


def _ids(report: StepReport) -> set[str]:
    return {e.process_id for e in report.refused if e.process_id} | set(report.failed)
