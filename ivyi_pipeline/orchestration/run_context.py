"""What an op needs from its run: the processes it covers and the instant it acts at."""

from datetime import datetime

import dagster as dg

from ivyi_pipeline.clock import parse_as_of, utcnow
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.workflows.gifting_process.report import StepReport

DETAIL_LIMIT = 20


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
        )


def _ids(report: StepReport) -> set[str]:
    return {e.process_id for e in report.refused if e.process_id} | set(report.failed)
