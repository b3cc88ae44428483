"""Asset checks on each process's options, ranking and choice, recorded on its own partition.

The checks are partitioned like their assets (one partition per process; a preview feature of
Dagster 1.13). They are check specs of the `gifting_process` multi-asset, evaluated by the last
op of every run: a separate `@asset_check` would be skipped by every run that does not
materialize its asset. A ranged run has no single partition key, so the op does not return
`AssetCheckResult`s (Dagster would take their partition from the run's one `dagster/partition`
tag); it yields one `AssetCheckEvaluation` per check and process the rule judged, on that
process's partition, pointing at the partition's materialization of this run. A process a rule
does not apply to in this run (no options yet; stock, which is judged only when options are
generated) gets no result and its partition shows the check as skipped by the run. A ranged
run also records, per check, one summary without a partition that lists the failing processes.
"""

import warnings
from collections.abc import Iterator, Sequence

import dagster as dg

from ivyi_pipeline.orchestration.dagster_internals import partition_check_evaluation
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.orchestration.resources import IvyiDatabase
from ivyi_pipeline.orchestration.run_context import as_of, partition_keys_by_process
from ivyi_pipeline.workflows.gifting_process import quality
from ivyi_pipeline.workflows.gifting_process.quality import QualityReport

SHOWN_IDS = 50
TARGETS_PER_QUERY = 500
PROBLEM_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("process_id", "string"),
        dg.TableColumn("severity", "string"),
        dg.TableColumn("problem", "string"),
    ]
)


def _partitioned_check(name: str, asset: str, description: str) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():
        # Partitioned asset checks are a preview feature of the pinned Dagster (1.13.27).
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name, asset=asset, description=description, partitions_def=gift_processes_partitions
        )


OPTIONS_NOT_EMPTY = _partitioned_check(
    "options_not_empty",
    "gift_options",
    "The process has options once it reached option generation (WARN when blocked).",
)
OPTIONS_AFFORDABLE_AND_IN_STOCK = _partitioned_check(
    "options_affordable_and_in_stock",
    "gift_options",
    "Options are within budget and in stock when generated (judged by the generating run).",
)
RANKS_WITHOUT_GAPS = _partitioned_check(
    "ranks_without_gaps",
    "ranked_decisions",
    "The process's ranked options are numbered 1..n and are all among its options.",
)
SELECTED_GIFT_IS_RANKED = _partitioned_check(
    "selected_gift_is_ranked",
    "gift_process_state",
    "The process's selected gift, default or confirmed, is one of its ranked options.",
)
GIFTING_CHECK_SPECS = [
    OPTIONS_NOT_EMPTY,
    OPTIONS_AFFORDABLE_AND_IN_STOCK,
    RANKS_WITHOUT_GAPS,
    SELECTED_GIFT_IS_RANKED,
]
OUTPUT_NAMES = [spec.get_python_identifier() for spec in GIFTING_CHECK_SPECS]


def _severity(report: QualityReport, process_id: str | None = None) -> dg.AssetCheckSeverity:
    errors = report.errors if process_id is None else report.errors.keys() & {process_id}
    return dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN


def process_results(
    spec: dg.AssetCheckSpec,
    report: QualityReport,
    key_of: dict[str, str],
    targets: dict[str, dg.EventLogRecord],
) -> Iterator[dg.AssetCheckEvaluation]:
    """One result per process the rule judged, on the process's own partition."""
    failing = report.failing
    for pid in report.checked:
        yield partition_check_evaluation(
            spec,
            partition=key_of[pid],
            passed=pid not in failing,
            severity=_severity(report, pid) if pid in failing else dg.AssetCheckSeverity.ERROR,
            description=report.verdict(pid),
            metadata={"process_id": pid},
            target=targets.get(key_of[pid]),
        )


def run_summary(spec: dg.AssetCheckSpec, report: QualityReport) -> dg.AssetCheckEvaluation:
    """The result of one check over the whole run, failing process ids in its metadata."""
    failing = report.failing
    problems = [
        dg.TableRecord(
            {
                "process_id": pid,
                "severity": "ERROR" if pid in report.errors else "WARN",
                "problem": why,
            }
        )
        for pid, why in list(failing.items())[:SHOWN_IDS]
    ]
    return dg.AssetCheckEvaluation(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=report.passed,
        severity=_severity(report),
        description=report.summary(),
        metadata={
            "processes_checked": dg.MetadataValue.int(len(report.checked)),
            "failing_processes": dg.MetadataValue.int(len(failing)),
            "failing_process_ids": dg.MetadataValue.text(", ".join(sorted(failing)) or "none"),
            "problems": dg.MetadataValue.table(problems, schema=PROBLEM_SCHEMA),
        },
    )


def latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Sequence[str]
) -> dict[str, dg.EventLogRecord]:
    """Each listed partition's latest materialization of the asset: one query per 500."""
    latest: dict[str, dg.EventLogRecord] = {}
    for start in range(0, len(partitions), TARGETS_PER_QUERY):
        chunk = list(partitions[start : start + TARGETS_PER_QUERY])
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=chunk), limit=len(chunk)
        ).records
        for record in records:  # newest first
            latest.setdefault(record.partition_key, record)
    return latest


@dg.op(
    ins={"after": dg.In(dg.Nothing)},
    out={name: dg.Out(dg.Nothing) for name in OUTPUT_NAMES},
)
def check_gifting_process(context: dg.OpExecutionContext, ivyi_db: IvyiDatabase):
    """Evaluate the four checks on every process of the run, after its last step."""
    engine, key_of = ivyi_db.get_engine(), partition_keys_by_process(context)
    ids = list(key_of)
    reports = [
        quality.options_present(engine, ids),
        quality.options_affordable_and_in_stock(engine, ids, as_of(context)),
        quality.ranks_without_gaps(engine, ids),
        quality.selected_gift_ranked(engine, ids),
    ]
    targets: dict[dg.AssetKey, dict[str, dg.EventLogRecord]] = {}
    for spec, report in zip(GIFTING_CHECK_SPECS, reports, strict=True):
        if not report.passed:
            context.log.warning(report.summary())
        if report.checked and spec.asset_key not in targets:
            targets[spec.asset_key] = latest_materializations(
                context.instance, spec.asset_key, list(key_of.values())
            )
        yield from process_results(spec, report, key_of, targets.get(spec.asset_key, {}))
        if len(ids) > 1:
            yield run_summary(spec, report)
        yield dg.Output(None, spec.get_python_identifier())
